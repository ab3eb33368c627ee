/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIGHUP reloads the configuration and the catalog and keeps the state (a
 * configuration that does not load keeps the running one) */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

#define WAIT_MS 30000

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  ck_assert (g_mkdir_with_parents (parent, 0700) == 0);
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

static const char *
source_catalog (void)
{
  static char *path;

  if (path == NULL)
    path = g_build_filename (g_getenv ("DA_SRCDIR") != NULL ? g_getenv ("DA_SRCDIR") : ".", "data", NULL);
  return path;
}

/* SIGHUP with this devaddrd.conf; the message that ends the reload */
static char *
reload_with (DaTestDaemon *devaddrd, const char *config)
{
  char *ready;

  if (config != NULL)
    ck_assert (g_file_set_contents (devaddrd->config_path, config, -1, NULL));
  da_test_daemon_send_signal (devaddrd, SIGHUP);
  g_free (da_test_daemon_wait_notify (devaddrd, "RELOADING=1", WAIT_MS));
  ready = da_test_daemon_wait_notify (devaddrd, "READY=1", WAIT_MS);
  ck_assert_msg (ready != NULL, "no READY=1 after SIGHUP");
  return ready;
}

static gint64
pending_limit (DaTestClient *client)
{
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

  return json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "limits"),
                                     "pending_per_connection");
}

static gboolean
has_template (DaTestClient *client, const char *name)
{
  g_autoptr (JsonNode) list = da_test_client_call_ok (client, "templates.list", NULL);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (array, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

/* n reservations written at once: how many were answered, how many refused
 * over the pending limit */
static void
pipeline (DaTestClient *client, guint n, const char *prefix, guint *answered, guint *limited)
{
  g_autoptr (GString) frames = g_string_new (NULL);

  *answered = *limited = 0;
  for (guint i = 0; i < n; i++)
    g_string_append_printf (frames, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"addr.reserve\","
                            "\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s%u\"}}\n", i, prefix, i);
  ck_assert (da_test_client_send (client, frames->str, frames->len));
  for (guint i = 0; i < n; i++) {
    g_autofree char *line = da_test_client_read_line (client, WAIT_MS);
    g_autoptr (JsonNode) reply = NULL;
    JsonObject *obj;

    ck_assert (line != NULL);
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    obj = json_node_get_object (reply);
    if (json_object_has_member (obj, "result")) {
      (*answered)++;
    } else {
      ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (obj, "error")), "limit");
      (*limited)++;
    }
  }
}

START_TEST (test_sighup_reload)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *broken = NULL;
  g_autofree char *config = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *status = NULL;
  g_autofree char *log = NULL;
  guint answered, limited;

  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) net = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
    g_autoptr (JsonNode) held = da_test_client_call_ok (client, "addr.reserve",
                                                        "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"hot\",\"hold_s\":3600}");
  }
  before = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");
  ck_assert_int_eq (pending_limit (client), 64);
  ck_assert (!has_template (client, "tiny"));

  /* a second catalog directory with a new template, and a new limit */
  extra = g_build_filename (devaddrd->dir, "extra", NULL);
  write_file (extra, "templates/tiny.template",
              "[Template]\nName=tiny\nDescription=one PCI bus with its bridge (tests)\nBuses=pci-root:0\n\n"
              "[Reserve bridge]\nType=pci\nAddress=0000:00:00.0\n");
  config = g_strdup_printf ("%scatalog=%s;%s\n[limits]\npending=8\n", devaddrd->config_text, source_catalog (), extra);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=serving 1 vms", NULL));

  ck_assert (has_template (client, "tiny"));
  ck_assert_int_eq (pending_limit (client), 8);
  {
    g_autoptr (JsonNode) after = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");

    ck_assert_msg (da_json_equal (before, after), "the reload changed vm1");
  }
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm2\",\"template\":\"tiny\"}");
    g_autoptr (JsonNode) vm2 = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm2\"}");
    JsonArray *list = json_object_get_array_member (json_node_get_object (vm2), "reservations");

    ck_assert_uint_eq (json_array_get_length (list), 1);
    ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (list, 0), "alias"), "bridge");
  }
  /* the new limit is the one in force */
  pipeline (client, 20, "a", &answered, &limited);
  ck_assert_uint_eq (answered, 8);
  ck_assert_uint_eq (limited, 12);

  /* a value out of range: nothing changes, and the log says so */
  g_free (config);
  config = g_strdup_printf ("%scatalog=%s\n[limits]\npending=0\n", devaddrd->config_text, source_catalog ());
  g_free (ready);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", &status));
  ck_assert_msg (strstr (status, "pending") != NULL, "%s", status);
  log = da_test_daemon_log (devaddrd);
  ck_assert_msg (strstr (log, "reload failed, keeping the running configuration") != NULL
                 && strstr (log, "[limits] pending must be") != NULL, "%s", log);
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));

  /* a catalog that does not load: the same */
  broken = g_build_filename (devaddrd->dir, "broken", NULL);
  write_file (broken, "templates/bad.template", "[Template]\nName=bad\nBuses=no-such-bus:0\n");
  g_free (config);
  config = g_strdup_printf ("%scatalog=%s;%s\n[limits]\npending=16\n", devaddrd->config_text, source_catalog (), broken);
  g_free (ready);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", NULL));
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));

  /* the --config file gone: an error, as it would be at start */
  ck_assert (unlink (devaddrd->config_path) == 0);
  g_free (ready);
  ready = reload_with (devaddrd, NULL);
  g_clear_pointer (&status, g_free);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", &status));
  ck_assert_msg (strstr (status, devaddrd->config_path) != NULL, "%s", status);
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));
  {
    g_autoptr (JsonNode) after = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");

    ck_assert (da_json_equal (before, after));
  }
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("signals");
  TCase *tc = tcase_create ("signals");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_sighup_reload);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
