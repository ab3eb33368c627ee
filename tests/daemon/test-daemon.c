/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devaddrd over its socket: every method, every error reason, the JSON-RPC
 * edge cases, limits, watch, holds and restarts */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/methods/da-methods.h"
#include "protocol/da-json.h"
#include "protocol/da-openrpc.h"
#include "tests/common/da-test-daemon.h"

static DaTestDaemon *devaddrd;
static DaTestClient *client;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;

  devaddrd = da_test_daemon_new (NULL);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, &error);
  ck_assert_msg (client != NULL, "%s", error ? error->message : "");
}

static void
teardown (void)
{
  g_clear_pointer (&client, da_test_client_free);
  g_clear_pointer (&devaddrd, da_test_daemon_free);
}

static JsonObject *
ok_object (const char *method, const char *params)
{
  g_autoptr (JsonNode) result = da_test_client_call_ok (client, method, params);

  ck_assert (JSON_NODE_HOLDS_OBJECT (result));
  return json_object_ref (json_node_get_object (result));
}

static void
assert_reason (const char *method, const char *params, const char *reason, int code, const char *mention)
{
  g_autoptr (JsonObject) error = da_test_client_call_error (client, method, params);
  const char *message = json_object_get_string_member (error, "message");

  ck_assert_msg (strcmp (da_test_error_reason (error), reason) == 0, "%s %s: reason \"%s\", expected %s (%s)",
                 method, params, da_test_error_reason (error), reason, message);
  ck_assert_int_eq (json_object_get_int_member (error, "code"), code);
  if (mention != NULL)
    ck_assert_msg (strstr (message, mention) != NULL, "%s: \"%s\" does not mention %s", method, message, mention);
}

static void
assert_code (const char *method, const char *params, int code, const char *mention)
{
  g_autoptr (JsonObject) error = da_test_client_call_error (client, method, params);
  const char *message = json_object_get_string_member (error, "message");

  ck_assert_msg (json_object_get_int_member (error, "code") == code, "%s %s: code %" G_GINT64_FORMAT ", expected %d (%s)",
                 method, params, json_object_get_int_member (error, "code"), code, message);
  if (mention != NULL)
    ck_assert_msg (strstr (message, mention) != NULL, "%s: \"%s\" does not mention %s", method, message, mention);
}

static char *
address_of (JsonObject *reservation)
{
  return g_strdup (json_object_get_string_member (reservation, "address"));
}

START_TEST (test_every_method)
{
  g_autoptr (JsonObject) info = ok_object ("server.info", NULL);
  g_autoptr (JsonObject) created = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) q35 = ok_object ("vm.create", "{\"vm\":\"vm2\",\"template\":\"q35\"}");
  g_autoptr (JsonObject) net0 = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
  g_autoptr (JsonObject) held = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"hot\",\"hold_s\":60}");
  g_autoptr (JsonObject) committed = ok_object ("addr.commit", "{\"vm\":\"vm1\",\"alias\":\"hot\"}");
  g_autoptr (JsonObject) batch = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"requests\":["
                                            "{\"type\":\"drive-ide\",\"alias\":\"ide0-1-0\",\"address\":\"0:1:0:0\"},"
                                            "{\"type\":\"mmio\",\"alias\":\"bar\",\"constraint\":{\"count\":\"0x1000\",\"align\":4096,\"policy\":\"last-fit\"}}]}");
  g_autoptr (JsonObject) mac = ok_object ("addr.reserve", "{\"scope\":\"host\",\"type\":\"mac\",\"alias\":\"vm1-net0\",\"constraint\":{\"policy\":\"random\"}}");
  g_autoptr (JsonObject) by_alias = ok_object ("addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"net0\"}");
  g_autoptr (JsonObject) by_address = ok_object ("addr.lookup", "{\"vm\":\"vm1\",\"type\":\"pci\",\"address\":\"0000:00:03.0\"}");
  g_autoptr (JsonObject) stats = ok_object ("pool.stats", "{\"vm\":\"vm1\",\"type\":\"pci\"}");
  g_autoptr (JsonObject) begin = ok_object ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"hot\",\"phase\":\"begin\"}");
  g_autoptr (JsonObject) confirm = ok_object ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"hot\",\"phase\":\"confirm\"}");
  g_autoptr (JsonObject) vm = ok_object ("vm.get", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonNode) list = da_test_client_call_ok (client, "vm.list", NULL);
  g_autoptr (JsonNode) types = da_test_client_call_ok (client, "types.list", NULL);
  g_autoptr (JsonNode) templates = da_test_client_call_ok (client, "templates.list", NULL);
  g_autoptr (JsonNode) discover = da_test_client_call_ok (client, "rpc.discover", NULL);
  g_autoptr (JsonObject) deleted = NULL;
  g_autoptr (JsonObject) info2 = NULL;
  g_autofree char *addr = NULL;
  JsonArray *reservations;

  ck_assert_str_eq (json_object_get_string_member (info, "version"), PACKAGE_VERSION);
  ck_assert_int_eq (json_object_get_int_member (info, "protocol"), DA_PROTOCOL_VERSION);
  ck_assert (json_object_has_member (info, "store"));
  ck_assert_str_eq (json_object_get_string_member (created, "template"), "pc");
  ck_assert_str_eq (json_object_get_string_member (q35, "template"), "q35");
  addr = address_of (net0);
  ck_assert_str_eq (addr, "0000:00:03.0");
  ck_assert_str_eq (json_object_get_string_member (held, "state"), "held");
  ck_assert (json_object_has_member (held, "expires_at"));
  ck_assert_str_eq (json_object_get_string_member (committed, "state"), "active");
  reservations = json_object_get_array_member (batch, "reservations");
  ck_assert_uint_eq (json_array_get_length (reservations), 2);
  ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (reservations, 1), "address"), "0xfffffffff000");
  ck_assert (g_str_has_prefix (json_object_get_string_member (mac, "address"), "52:54:00:"));
  ck_assert_str_eq (json_object_get_string_member (by_alias, "address"), "0000:00:03.0");
  ck_assert_str_eq (json_object_get_string_member (by_address, "alias"), "net0");
  ck_assert_int_eq (json_object_get_int_member (stats, "capacity"), 256);
  ck_assert_int_eq (json_object_get_int_member (stats, "used"), 8);
  ck_assert (json_object_has_member (json_object_get_object_member (stats, "tags"), "hotplug"));
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (stats, "buses")), 1);
  ck_assert_str_eq (json_object_get_string_member (begin, "state"), "releasing");
  ck_assert_str_eq (json_object_get_string_member (confirm, "state"), "released");
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (vm, "reservations")), 9);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (list)), 2);
  ck_assert_uint_ge (json_array_get_length (json_node_get_array (types)), 15);
  ck_assert_uint_ge (json_array_get_length (json_node_get_array (templates)), 3);
  ck_assert (json_object_has_member (json_node_get_object (discover), "openrpc"));

  deleted = ok_object ("vm.delete", "{\"vm\":\"vm1\"}");
  ck_assert_int_eq (json_object_get_int_member (deleted, "released"), 9);
  info2 = ok_object ("server.info", NULL);
  ck_assert_int_eq (json_object_get_int_member (info2, "vms"), 1);
  ck_assert_int_eq (json_object_get_int_member (info2, "reservations"), 4 + 1);
}
END_TEST

START_TEST (test_every_error_reason)
{
  g_autoptr (JsonObject) ok = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) net = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
  g_autoptr (DaTestClient) ro = da_test_client_connect (devaddrd->ro_socket_path, NULL);
  g_autofree char *params = NULL;
  DaTestClient *rw = client;

  assert_reason ("vm.get", "{\"vm\":\"nope\"}", "not-found", 1001, "nope");
  assert_reason ("addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"nope\"}", "not-found", 1001, "nope");
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"nvlink\",\"alias\":\"a\"}", "not-found", 1001, "nvlink");
  assert_reason ("vm.create", "{\"vm\":\"vm2\",\"template\":\"sparc\"}", "not-found", 1001, "sparc");
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net1\",\"address\":\"0000:00:03.0\"}",
                 "conflict", 1002, "net0");
  assert_reason ("vm.create", "{\"vm\":\"vm1\",\"template\":\"q35\"}", "conflict", 1002, "vm1");
  {
    /* the same create again is answered and changes nothing */
    g_autoptr (JsonObject) again = ok_object ("vm.create", "{\"vm\":\"vm1\"}");

    ck_assert_str_eq (json_object_get_string_member (again, "template"), "pc");
  }
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"x\",\"constraint\":{\"tags\":[\"pcie\"]}}",
                 "exhausted", 1003, "pcie");
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"mac\",\"alias\":\"nic\"}", -32602, "with scope \"host\"");
  assert_code ("addr.reserve", "{\"scope\":\"host\",\"type\":\"pci\",\"alias\":\"nic\"}", -32602, "in the vm");
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"x\",\"address\":\"0000:00:20.0\"}",
                 "invalid-address", 1004, "slot");
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\",\"alias\":\"x\",\"address\":\"0:0:31\"}",
                 "invalid-address", 1004, "not in the pool");
  client = ro;
  assert_reason ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"net0\"}", "read-only", 1006, "read-only");
  assert_reason ("vm.delete", "{\"vm\":\"vm1\"}", "read-only", 1006, NULL);
  {
    g_autoptr (JsonObject) read = ok_object ("addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"net0\"}");

    ck_assert_str_eq (json_object_get_string_member (read, "address"), "0000:00:03.0");
  }
  client = rw;
  /* permission-denied and unavailable need another user and a full disk:
   * test-access and test-diskfull */
  {
    g_autofree char *long_name = g_strnfill (200, 'v');

    params = g_strdup_printf ("{\"vm\":\"%s\"}", long_name);
  }
  assert_code ("vm.create", params, -32602, NULL);
  assert_code ("vm.create", "{\"vm\":\"a/b\"}", -32602, "vm");
  assert_code ("vm.create", "{\"vm\":\"..\"}", -32602, NULL);
  assert_code ("vm.create", "{\"vm\":1}", -32602, "params.vm");
  assert_code ("vm.create", "{\"vm\":\"x\",\"flavour\":1}", -32602, "flavour");
  assert_code ("vm.create", "[\"x\"]", -32602, "params");
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"y\",\"constraint\":{\"count\":1.5}}", -32602, "count");
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"y\",\"constraint\":{\"lane\":1}}", -32602, "lane");
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"scope\":\"host\",\"type\":\"pci\",\"alias\":\"y\"}", -32602, NULL);
  assert_code ("vm.frobnicate", NULL, -32601, "vm.frobnicate");
  /* the state is what it was */
  {
    g_autoptr (JsonObject) vm = ok_object ("vm.get", "{\"vm\":\"vm1\"}");

    ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (vm, "reservations")), 7);
  }
  (void) ok;
  (void) net;
}
END_TEST

static void
exchange (const char *request, const char *expected)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) got = NULL;
  g_autoptr (JsonNode) want = NULL;

  ck_assert (da_test_client_send (client, request, strlen (request)));
  ck_assert (da_test_client_send (client, "\n", 1));
  line = da_test_client_read_line (client, 10000);
  ck_assert_msg (line != NULL, "no reply to %s", request);
  got = da_json_parse (line, strlen (line), NULL, NULL, NULL);
  want = da_json_parse (expected, strlen (expected), NULL, NULL, NULL);
  ck_assert_msg (got != NULL && want != NULL, "%s", line);
  /* messages are free text: compare codes, ids and results */
  if (JSON_NODE_HOLDS_OBJECT (got) && json_object_has_member (json_node_get_object (got), "error")) {
    JsonObject *g = json_node_get_object (got), *w = json_node_get_object (want);

    ck_assert_msg (json_object_get_int_member (json_object_get_object_member (g, "error"), "code")
                   == json_object_get_int_member (json_object_get_object_member (w, "error"), "code"), "%s", line);
    ck_assert_msg (json_node_is_null (json_object_get_member (g, "id")) == json_node_is_null (json_object_get_member (w, "id")),
                   "%s", line);
  } else if (JSON_NODE_HOLDS_ARRAY (got)) {
    ck_assert_msg (json_array_get_length (json_node_get_array (got)) == json_array_get_length (json_node_get_array (want)),
                   "%s", line);
  } else {
    ck_assert_msg (da_json_equal (got, want), "got %s, want %s", line, expected);
  }
}

/* what nobody answers: the next answer on the line is the next request's */
static void
silent (const char *request)
{
  const char *after = "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"server.info\"}\n";
  g_autofree char *line = NULL;

  ck_assert (da_test_client_send (client, request, strlen (request)));
  ck_assert (da_test_client_send (client, "\n", 1));
  ck_assert (da_test_client_send (client, after, strlen (after)));
  line = da_test_client_read_line (client, 10000);
  ck_assert_msg (line != NULL && g_str_has_prefix (line, "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"result\""),
                 "%s was answered: %s", request, line);
}

START_TEST (test_jsonrpc_edge_cases)
{
  exchange ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":\"s\"}", "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":[]}");
  exchange ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":null}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":[]}");
  exchange ("{\"jsonrpc\": \"2.0\", \"method\": \"foobar, \"params\": \"bar\", \"baz]",
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700}}");
  exchange ("{\"jsonrpc\": \"2.0\", \"method\": 1, \"params\": \"bar\"}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600}}");
  exchange ("[]", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600}}");
  exchange ("[1]", "[{}]");
  exchange ("[1,2,3]", "[{},{},{}]");
  exchange ("[{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":1},{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\"},{\"foo\":\"boo\"},"
            "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"5\"},{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":\"9\"}]",
            "[{},{},{},{}]");
  exchange ("{\"jsonrpc\":\"1.0\",\"method\":\"vm.list\",\"id\":1}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600}}");
  exchange ("\"vm.list\"", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":1,\"id\":2}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":{}}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600}}");
  /* notifications are never answered, not even with an error */
  silent ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\"}");
  silent ("{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}");
  silent ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.get\",\"params\":{\"vm\":3}}");
  silent ("[{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\"},{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}]");
  /* a notification still does its work */
  silent ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.create\",\"params\":{\"vm\":\"quiet\"}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.list\",\"id\":7}",
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[{\"vm\":\"quiet\",\"template\":\"pc\",\"reservations\":6}]}");
  /* blank lines and \r\n are fine */
  exchange ("\r\n  \n{\"jsonrpc\":\"2.0\",\"method\":\"vm.delete\",\"params\":{\"vm\":\"quiet\"},\"id\":8}\r",
            "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"vm\":\"quiet\",\"released\":6}}");
  /* a refused request is answered once, and nothing in the daemon complains */
  {
    g_autofree char *log = da_test_daemon_log (devaddrd);

    ck_assert_msg (strstr (log, "CRITICAL") == NULL && strstr (log, "WARNING") == NULL, "the daemon's log:\n%s", log);
  }
}
END_TEST

START_TEST (test_limits)
{
  GString *big = g_string_new ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"pad\":\"");
  GString *deep = g_string_new ("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"vm.list\",\"params\":{\"x\":");
  GString *pipeline = g_string_new (NULL);
  g_autofree char *line = NULL;
  guint limited = 0, answered = 0;

  /* a frame over 4 MiB: one limit error, then the connection goes on */
  while (big->len < 4 * 1024 * 1024 + 16)
    g_string_append (big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_string_append (big, "\"}}");
  exchange (big->str, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1007}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"vm.list\"}", "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":[]}");

  /* nesting deeper than 64 */
  for (guint i = 0; i < 70; i++)
    g_string_append (deep, "[");
  for (guint i = 0; i < 70; i++)
    g_string_append (deep, "]");
  g_string_append (deep, "}}");
  exchange (deep->str, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1007}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"vm.list\"}", "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":[]}");

  /* 100 mutations in one write: 64 wait for the disk, the rest are refused */
  exchange ("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"vm.create\",\"params\":{\"vm\":\"p\",\"template\":\"empty\"}}",
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":1001}}");
  exchange ("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"vm.create\",\"params\":{\"vm\":\"p\"}}",
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"vm\":\"p\",\"template\":\"pc\"}}");
  for (guint i = 0; i < 100; i++)
    g_string_append_printf (pipeline, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"addr.reserve\","
                            "\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"p%u\"}}\n", 100 + i, i);
  ck_assert (da_test_client_send (client, pipeline->str, pipeline->len));
  for (guint i = 0; i < 100; i++) {
    g_autoptr (JsonNode) reply = NULL;

    g_free (line);
    line = da_test_client_read_line (client, 10000);
    ck_assert (line != NULL);
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    if (json_object_has_member (json_node_get_object (reply), "error")) {
      ck_assert_int_eq (json_object_get_int_member (json_object_get_object_member (json_node_get_object (reply), "error"), "code"), 1007);
      limited++;
    } else {
      answered++;
    }
  }
  ck_assert_uint_eq (answered, 64);
  ck_assert_uint_eq (limited, 36);
  g_string_free (big, TRUE);
  g_string_free (deep, TRUE);
  g_string_free (pipeline, TRUE);
}
END_TEST

START_TEST (test_connections_per_uid)
{
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) da_test_client_free);
  g_autoptr (DaTestClient) extra = NULL;
  g_autofree char *line = NULL;

  /* ours is the first */
  for (guint i = 1; i < 128; i++) {
    DaTestClient *c = da_test_client_connect (devaddrd->socket_path, NULL);
    g_autoptr (JsonNode) r = NULL;

    ck_assert (c != NULL);
    g_ptr_array_add (clients, c);
  }
  /* each of them is served */
  for (guint i = 0; i < clients->len; i += 31) {
    g_autoptr (JsonNode) r = da_test_client_call_ok (g_ptr_array_index (clients, i), "vm.list", NULL);
  }
  extra = da_test_client_connect (devaddrd->socket_path, NULL);
  ck_assert (extra != NULL);
  line = da_test_client_read_line (extra, 10000);
  ck_assert_msg (line != NULL && strstr (line, "\"limit\"") != NULL && strstr (line, "128") != NULL, "%s", line);
  g_free (line);
  line = da_test_client_read_line (extra, 10000);
  ck_assert_ptr_null (line);
  /* one goes, another may come */
  g_ptr_array_remove_index (clients, 0);
  {
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "server.info", NULL);
    g_autoptr (DaTestClient) again = NULL;
    g_autoptr (JsonNode) r2 = NULL;

    again = da_test_client_connect (devaddrd->socket_path, NULL);
    r2 = da_test_client_call_ok (again, "vm.list", NULL);
    (void) r;
  }
}
END_TEST

START_TEST (test_watch_and_expiry)
{
  g_autoptr (DaTestClient) watcher = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (JsonNode) w = da_test_client_call_ok (watcher, "watch", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) vm = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) other = ok_object ("vm.create", "{\"vm\":\"vm2\"}");
  g_autoptr (JsonObject) hot = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"vnc\",\"hold_s\":1}");
  g_autoptr (JsonObject) quiet = ok_object ("addr.reserve", "{\"vm\":\"vm2\",\"type\":\"pci\",\"alias\":\"net0\"}");
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) note = NULL;
  JsonObject *params;

  /* vm1's notifications only (its template's reservations first); vm2's
   * are not for this watcher; then the hold runs out: an event, no sleep */
  for (gboolean reserved = FALSE, expired = FALSE; !expired;) {
    const char *event;

    g_free (line);
    line = da_test_client_read_line (watcher, 10000);
    ck_assert_msg (line != NULL, "notifications stopped (reserved %d)", reserved);
    g_clear_pointer (&note, json_node_unref);
    note = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    ck_assert_str_eq (json_object_get_string_member (json_node_get_object (note), "method"), "addr.changed");
    params = json_object_get_object_member (json_node_get_object (note), "params");
    ck_assert_msg (g_strcmp0 (json_object_get_string_member (params, "vm"), "vm1") == 0, "%s", line);
    event = json_object_get_string_member (params, "event");
    if (strcmp (json_object_get_string_member (params, "alias"), "vnc") != 0)
      continue;
    if (!reserved) {
      ck_assert_str_eq (event, "reserved");
      reserved = TRUE;
      continue;
    }
    ck_assert_str_eq (event, "expired");
    ck_assert_str_eq (json_object_get_string_member (params, "address"), "0");
    expired = TRUE;
  }
  assert_reason ("addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"vnc\"}", "not-found", 1001, NULL);
  (void) w; (void) vm; (void) other; (void) hot; (void) quiet;
}
END_TEST

START_TEST (test_restart_keeps_everything)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonNode) host_before = NULL;
  g_autoptr (JsonNode) host_after = NULL;
  g_autoptr (JsonObject) next = NULL;

  g_autoptr (JsonObject) a = ok_object ("vm.create", "{\"vm\":\"vm1\",\"template\":\"q35\"}");
  for (guint i = 0; i < 50; i++) {
    g_autofree char *p = g_strdup_printf ("{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"i%u\",\"constraint\":{\"policy\":\"next-fit\"}}", i);
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.reserve", p);
  }
  for (guint i = 0; i < 50; i += 2) {
    g_autofree char *p = g_strdup_printf ("{\"vm\":\"vm1\",\"alias\":\"i%u\"}", i);
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.release", p);
  }
  {
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.reserve", "{\"scope\":\"host\",\"type\":\"vsock-cid\",\"alias\":\"vm1\"}");
    g_autoptr (JsonNode) h = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"held\",\"hold_s\":3600}");
  }
  before = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");
  host_before = da_test_client_call_ok (client, "addr.lookup", "{\"scope\":\"host\",\"alias\":\"vm1\"}");
  g_clear_pointer (&client, da_test_client_free);
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  after = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");
  host_after = da_test_client_call_ok (client, "addr.lookup", "{\"scope\":\"host\",\"alias\":\"vm1\"}");
  ck_assert (da_json_equal (before, after));
  ck_assert (da_json_equal (host_before, host_after));
  /* next-fit goes on where it was, not back to the released ids */
  next = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"i50\",\"constraint\":{\"policy\":\"next-fit\"}}");
  ck_assert_str_eq (json_object_get_string_member (next, "address"), "50");
  (void) a;
}
END_TEST

/* the description served by rpc.discover names exactly the dispatch table */
START_TEST (test_openrpc_matches_dispatch)
{
  g_auto (GStrv) described = da_openrpc_method_names ();
  guint n = 0;
  const DaMethod *methods = da_methods_get_all (&n);
  g_autoptr (GString) missing = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    if (!g_strv_contains ((const char *const *) described, methods[i].name))
      g_string_append_printf (missing, " served-but-undescribed:%s", methods[i].name);
  for (guint i = 0; described[i] != NULL; i++)
    if (da_methods_lookup (described[i]) == NULL)
      g_string_append_printf (missing, " described-but-unserved:%s", described[i]);
  ck_assert_msg (missing->len == 0, "%s", missing->str);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("daemon");
  TCase *tc = tcase_create ("daemon");
  TCase *unit = tcase_create ("dispatch");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_every_method);
  tcase_add_test (tc, test_every_error_reason);
  tcase_add_test (tc, test_jsonrpc_edge_cases);
  tcase_add_test (tc, test_limits);
  tcase_add_test (tc, test_connections_per_uid);
  tcase_add_test (tc, test_watch_and_expiry);
  tcase_add_test (tc, test_restart_keeps_everything);
  suite_add_tcase (s, tc);
  tcase_add_test (unit, test_openrpc_matches_dispatch);
  suite_add_tcase (s, unit);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
