/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devaddrd --local: the daemon's own user may change reservations even
 * outside the configured group (it owns the state directory anyway), the
 * read-only socket stays read-only, and owner-may-mutate=false takes that
 * back.  Run as root, the program becomes nobody first: root may change
 * anything, which proves nothing. */
#include "config.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"
#include "tests/common/da-test-user.h"

#define NO_GROUP "[daemon]\ngroup=devaddr-test-no-such-group\n"

static DaTestDaemon *
start (const char *config)
{
  DaTestDaemon *devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;

  da_test_daemon_set_config (devaddrd, config);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error->message);
  return devaddrd;
}

START_TEST (test_owner_may_mutate)
{
  g_autoptr (DaTestDaemon) devaddrd = start (NO_GROUP);
  g_autoptr (DaTestClient) rw = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (DaTestClient) ro = da_test_client_connect (devaddrd->ro_socket_path, NULL);
  g_autoptr (JsonNode) created = NULL, reserved = NULL, vms = NULL;
  g_autoptr (JsonObject) refused = NULL;

  ck_assert (rw != NULL && ro != NULL);
  created = da_test_client_call_ok (rw, "vm.create", "{\"vm\":\"vm1\"}");
  reserved = da_test_client_call_ok (rw, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
  /* the read-only socket is read-only for the owner too */
  refused = da_test_client_call_error (ro, "vm.delete", "{\"vm\":\"vm1\"}");
  ck_assert_str_eq (da_test_error_reason (refused), "read-only");
  vms = da_test_client_call_ok (ro, "vm.list", NULL);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (vms)), 1);
}
END_TEST

START_TEST (test_owner_opt_out)
{
  g_autoptr (DaTestDaemon) devaddrd = start (NO_GROUP "owner-may-mutate=false\n");
  g_autoptr (DaTestClient) rw = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (JsonObject) refused = NULL;
  g_autoptr (JsonNode) vms = NULL;

  ck_assert (rw != NULL);
  refused = da_test_client_call_error (rw, "vm.create", "{\"vm\":\"vm1\"}");
  ck_assert_str_eq (da_test_error_reason (refused), "permission-denied");
  /* questions are still answered, and nothing was made */
  vms = da_test_client_call_ok (rw, "vm.list", NULL);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (vms)), 0);
}
END_TEST

/* a config without a group of its own keeps the test's group: the group,
 * not the owner rule, lets this one in */
START_TEST (test_group_without_owner)
{
  g_autoptr (DaTestDaemon) devaddrd = start ("[daemon]\nowner-may-mutate=false\n");
  g_autoptr (DaTestClient) rw = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (JsonNode) created = NULL;

  ck_assert (rw != NULL);
  created = da_test_client_call_ok (rw, "vm.create", "{\"vm\":\"vm1\"}");
}
END_TEST

START_TEST (test_owner_bad_value)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;

  da_test_daemon_set_config (devaddrd, NO_GROUP "owner-may-mutate=perhaps\n");
  ck_assert (!da_test_daemon_start (devaddrd, &error));
  ck_assert_msg (strstr (error->message, "owner-may-mutate must be true or false") != NULL, "%s", error->message);
}
END_TEST

int
main (void)
{
  g_autofree char *data = g_build_filename (g_getenv ("DA_SRCDIR") != NULL ? g_getenv ("DA_SRCDIR") : ".", "data",
                                            "types", NULL);
  const DaTestAccess needs[] = {
    { da_test_daemon_binary (), X_OK },
    { data, R_OK | X_OK },
    { NULL, 0 },
  };
  g_autoptr (GError) error = NULL;
  Suite *s = suite_create ("local");
  TCase *tc = tcase_create ("local");

  if (!da_test_become_unprivileged (needs, &error)) {
    g_print ("root, and cannot become unprivileged: %s\n", error->message);
    return 77;
  }
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_owner_may_mutate);
  tcase_add_test (tc, test_owner_opt_out);
  tcase_add_test (tc, test_group_without_owner);
  tcase_add_test (tc, test_owner_bad_value);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
