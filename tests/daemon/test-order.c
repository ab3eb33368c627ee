/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* replies leave in commit order: a read that looks at a change not yet on
 * disk waits for it, and when the disk fails the read is computed again on
 * what is durable.  The journal's sync is made slow (and failing) by the
 * daemon's test hook DEVADDRD_TEST_SYNC_HOOK. */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define WAIT_MS 30000
/* how long the hook holds a sync: time enough for client B's request to be
 * read and answered many times over if the daemon did not make it wait */
#define SLOW_SYNC "delay-ms=2000\n"

static DaTestDaemon *devaddrd;
static char *hook_path;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;

  devaddrd = da_test_daemon_new (NULL);
  hook_path = g_build_filename (devaddrd->dir, "sync-hook", NULL);
  da_test_daemon_setenv (devaddrd, "DEVADDRD_TEST_SYNC_HOOK", hook_path);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
}

static void
teardown (void)
{
  g_clear_pointer (&devaddrd, da_test_daemon_free);
  g_clear_pointer (&hook_path, g_free);
}

static void
set_hook (const char *text)
{
  if (text == NULL)
    ck_assert (unlink (hook_path) == 0);
  else
    ck_assert (g_file_set_contents (hook_path, text, -1, NULL));
}

static void
send_request (DaTestClient *client, const char *method, const char *params)
{
  g_autofree char *frame = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}\n", method, params);

  ck_assert (da_test_client_send (client, frame, strlen (frame)));
}

static JsonObject *
read_reply (DaTestClient *client)
{
  g_autofree char *line = da_test_client_read_line (client, WAIT_MS);
  g_autoptr (JsonNode) node = NULL;

  ck_assert_msg (line != NULL, "no reply");
  node = da_json_parse (line, strlen (line), NULL, NULL, NULL);
  ck_assert_msg (node != NULL && JSON_NODE_HOLDS_OBJECT (node), "%s", line);
  return json_object_ref (json_node_get_object (node));
}

/* whether a reply is already there to be read (nothing is waited for) */
static gboolean
reply_waiting (DaTestClient *client)
{
  struct pollfd pfd = { g_socket_get_fd (client->socket), POLLIN, 0 };

  return memchr (client->in->str, '\n', client->in->len) != NULL || poll (&pfd, 1, 0) == 1;
}

/* the record of the last request has reached the writer, which holds it */
static void
wait_writer (void)
{
  g_autofree char *message = da_test_daemon_wait_notify (devaddrd, "X_DEVADDRD_SYNC_HOOK=1", WAIT_MS);

  ck_assert_msg (message != NULL, "the sync hook never ran");
}

static const char *
address_of_alias (JsonObject *vm, const char *alias)
{
  JsonArray *list = json_object_get_array_member (vm, "reservations");

  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *res = json_array_get_object_element (list, i);

    if (strcmp (json_object_get_string_member (res, "alias"), alias) == 0)
      return json_object_get_string_member (res, "address");
  }
  return NULL;
}

static gint64
store_counter (DaTestClient *client, const char *name)
{
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

  return json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "store"), name);
}

/* A reserves; while the sync holds A's record, B reads the VM: B's reply
 * shows A's reservation and does not come before A's reply */
START_TEST (test_read_waits_for_commit)
{
  g_autoptr (DaTestClient) a = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (DaTestClient) b = da_test_client_connect (devaddrd->ro_socket_path, NULL);
  g_autoptr (JsonObject) a_reply = NULL;
  g_autoptr (JsonObject) b_reply = NULL;
  JsonObject *vm;

  {
    g_autoptr (JsonNode) created = da_test_client_call_ok (a, "vm.create", "{\"vm\":\"vm1\"}");
  }
  set_hook (SLOW_SYNC);
  send_request (a, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
  wait_writer ();
  send_request (b, "vm.get", "{\"vm\":\"vm1\"}");

  b_reply = read_reply (b);
  /* A's reply was written before B's */
  ck_assert_msg (reply_waiting (a), "B's read was answered before A's change was acknowledged");
  a_reply = read_reply (a);
  ck_assert (json_object_has_member (a_reply, "result"));
  ck_assert (json_object_has_member (b_reply, "result"));
  vm = json_object_get_object_member (b_reply, "result");
  ck_assert_msg (address_of_alias (vm, "net0") != NULL, "B's read does not show A's reservation");
  ck_assert_str_eq (address_of_alias (vm, "net0"),
                    json_object_get_string_member (json_object_get_object_member (a_reply, "result"), "address"));
  set_hook (NULL);
}
END_TEST

/* the same, but the sync fails: A's change is undone and answered
 * "unavailable", and B's reads are computed again on what is durable */
START_TEST (test_failed_sync_recomputes_reads)
{
  g_autoptr (DaTestClient) a = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (DaTestClient) b = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (DaTestClient) c = da_test_client_connect (devaddrd->ro_socket_path, NULL);
  g_autoptr (JsonObject) a_reply = NULL;
  g_autoptr (JsonObject) b_reply = NULL;
  g_autoptr (JsonObject) c_reply = NULL;
  g_autoptr (JsonNode) durable = NULL;
  g_autoptr (JsonNode) after_restart = NULL;
  g_autoptr (GError) error = NULL;
  gint64 recomputed;
  JsonObject *vm;

  {
    g_autoptr (JsonNode) created = da_test_client_call_ok (a, "vm.create", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) net0 = da_test_client_call_ok (a, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
  }
  recomputed = store_counter (c, "recomputed");
  set_hook (SLOW_SYNC "fail=1\n");
  send_request (a, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net1\"}");
  wait_writer ();
  send_request (b, "vm.get", "{\"vm\":\"vm1\"}");
  send_request (c, "addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"net1\"}");

  a_reply = read_reply (a);
  ck_assert (json_object_has_member (a_reply, "error"));
  ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (a_reply, "error")), "unavailable");
  b_reply = read_reply (b);
  ck_assert (json_object_has_member (b_reply, "result"));
  vm = json_object_get_object_member (b_reply, "result");
  ck_assert_msg (address_of_alias (vm, "net1") == NULL, "B saw a reservation that never became durable");
  ck_assert_str_eq (address_of_alias (vm, "net0"), "0000:00:03.0");
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (vm, "reservations")), 7);
  c_reply = read_reply (c);
  ck_assert_msg (json_object_has_member (c_reply, "error"), "C saw a reservation that never became durable");
  ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (c_reply, "error")), "not-found");
  /* both reads had been computed while the record was held: computed again */
  ck_assert_int_eq (store_counter (c, "recomputed"), recomputed + 2);
  ck_assert_int_ge (store_counter (c, "rollbacks"), 1);

  /* the disk is back: the same request works, and the state survives */
  set_hook (NULL);
  {
    g_autoptr (JsonNode) net1 = da_test_client_call_ok (a, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net1\"}");

    ck_assert_str_eq (json_object_get_string_member (json_node_get_object (net1), "address"), "0000:00:04.0");
  }
  durable = da_test_client_call_ok (b, "vm.get", "{\"vm\":\"vm1\"}");
  g_clear_pointer (&a, da_test_client_free);
  g_clear_pointer (&b, da_test_client_free);
  g_clear_pointer (&c, da_test_client_free);
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  a = da_test_client_connect (devaddrd->socket_path, NULL);
  after_restart = da_test_client_call_ok (a, "vm.get", "{\"vm\":\"vm1\"}");
  ck_assert (da_json_equal (durable, after_restart));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("order");
  TCase *tc = tcase_create ("order");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_read_waits_for_commit);
  tcase_add_test (tc, test_failed_sync_recomputes_reads);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
