/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devaddrd over its socket: every method, every error reason, the JSON-RPC
 * edge cases, limits, watch, holds and restarts */
#include "config.h"

#include <check.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/methods/da-methods.h"
#include "protocol/da-json.h"
#include "protocol/da-openrpc.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

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
  g_autoptr (JsonObject) host = ok_object ("host.get", NULL);
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
  /* the host's alone: its one MAC, none of the VMs' */
  reservations = json_object_get_array_member (host, "reservations");
  ck_assert_uint_eq (json_array_get_length (reservations), 1);
  ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (reservations, 0), "alias"), "vm1-net0");
  ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (reservations, 0), "address"),
                    json_object_get_string_member (mac, "address"));
  ck_assert_uint_eq (json_object_get_size (host), 1);
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
  /* port 0 is a console's: a request that does not say so is refused */
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\",\"alias\":\"x\",\"address\":\"0:0:0\"}",
                 "invalid-address", 1004, "tag console");
  {
    g_autoptr (JsonObject) console = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\","
                                                "\"alias\":\"console0\",\"address\":\"0:0:0\","
                                                "\"constraint\":{\"tags\":[\"console\"]}}");

    ck_assert_str_eq (json_object_get_string_member (console, "address"), "0:0:0");
    g_clear_pointer (&console, json_object_unref);
    console = ok_object ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"console0\"}");
  }
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
  /* what can never be a name is invalid params wherever a name goes, not
   * something that was not found; the message starts with the path */
  assert_code ("vm.get", "{\"vm\":\"a/b\"}", -32602, "params.vm: ");
  assert_code ("host.get", "{\"vm\":\"vm1\"}", -32602, "vm");
  assert_code ("vm.delete", "{\"vm\":\"..\"}", -32602, "params.vm: ");
  assert_code ("vm.create", "{\"vm\":\"x\",\"template\":\"../pc\"}", -32602, "params.template: ");
  assert_code ("vm.create", "{\"vm\":\"vm1\",\"template\":\"a\\\\b\"}", -32602, "params.template: ");
  assert_code ("addr.commit", "{\"vm\":\"vm1\",\"alias\":\"a/b\"}", -32602, "params.alias: ");
  assert_code ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"tab\\tx\"}", -32602, "params.alias: ");
  assert_code ("addr.lookup", "{\"vm\":\"vm1\",\"type\":\"../pci\",\"address\":\"0\"}", -32602, "params.type: ");
  assert_code ("pool.stats", "{\"vm\":\"vm1\",\"type\":\".\"}", -32602, "params.type: ");
  assert_code ("device.detach", "{\"vm\":\"vm1\",\"alias\":\"a\\u0001\"}", -32602, "params.alias: ");
  assert_code ("domain.assign", "{\"vm\":\"a/b\",\"xml\":\"<domain/>\"}", -32602, "params.vm: ");
  assert_code ("watch", "{\"vm\":\"..\"}", -32602, "params.vm: ");
  /* address text: the schema's 1 to 128 bytes, then the type's form */
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"y\",\"address\":\"\"}", -32602, "params.address: ");
  assert_code ("addr.lookup", "{\"vm\":\"vm1\",\"type\":\"pci\",\"address\":\"\"}", -32602, "params.address: ");
  assert_code ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"mmio\",\"alias\":\"y\",\"constraint\":{\"min\":\"\"}}", -32602,
               "params.constraint.min: ");
  {
    g_autofree char *long_address = g_strnfill (129, '0');
    g_autofree char *over = g_strdup_printf ("{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"y\",\"address\":\"%s\"}", long_address);

    assert_code ("addr.reserve", over, -32602, "at most 128 bytes");
  }
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

/* reads pipelined in one write are answered at once, in the order sent,
 * and however many there are, without the daemon's stack growing with them */
START_TEST (test_pipelined_reads_in_order)
{
  g_autoptr (GString) pipeline = g_string_new (NULL);
  const guint n = 3000;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (pipeline, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"%s\"}\n", i,
                            i % 2 == 0 ? "vm.list" : "server.info");
  ck_assert (da_test_client_send (client, pipeline->str, pipeline->len));
  for (guint i = 0; i < n; i++) {
    g_autofree char *line = da_test_client_read_line (client, 10000);
    g_autoptr (JsonNode) reply = NULL;

    ck_assert_msg (line != NULL, "answer %u of %u missing", i, n);
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    ck_assert_int_eq (json_object_get_int_member (json_node_get_object (reply), "id"), i);
  }
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

/* the methods of the description served by rpc.discover */
static JsonArray *
described_methods (JsonNode **document)
{
  *document = da_openrpc_get ();
  ck_assert (*document != NULL);
  return json_object_get_array_member (json_node_get_object (*document), "methods");
}

static gboolean
described_mutates (JsonObject *method)
{
  return json_object_has_member (method, "x-mutates") && json_object_get_boolean_member (method, "x-mutates");
}

/* the description served by rpc.discover names exactly the dispatch table,
 * and says of each method whether it changes state as the table does */
START_TEST (test_openrpc_matches_dispatch)
{
  g_auto (GStrv) described = da_openrpc_method_names ();
  g_autoptr (JsonNode) document = NULL;
  JsonArray *list = described_methods (&document);
  guint n = 0;
  const DaMethod *methods = da_methods_get_all (&n);
  g_autoptr (GString) missing = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    if (!g_strv_contains ((const char *const *) described, methods[i].name))
      g_string_append_printf (missing, " served-but-undescribed:%s", methods[i].name);
  for (guint i = 0; described[i] != NULL; i++)
    if (da_methods_lookup (described[i]) == NULL)
      g_string_append_printf (missing, " described-but-unserved:%s", described[i]);
  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *method = json_array_get_object_element (list, i);
    const char *name = json_object_get_string_member (method, "name");
    const DaMethod *served = da_methods_lookup (name);

    if (served != NULL && described_mutates (method) != ((served->flags & DA_METHOD_MUTATES) != 0))
      g_string_append_printf (missing, " x-mutates-differs:%s", name);
  }
  ck_assert_msg (missing->len == 0, "%s", missing->str);
}
END_TEST

/* the members a method accepts, as the daemon names them when it refuses
 * an unknown one; FALSE with *why when it refused for another reason */
static gboolean
probe_members (DaTestClient *c, const char *method, const char *base, GHashTable *accepted, char **why)
{
  g_autofree char *params = g_strdup_printf ("{%s%s\"x-probe\":1}", base, *base != '\0' ? "," : "");
  g_autoptr (JsonObject) error = da_test_client_call_error (c, method, params);
  const char *message = json_object_get_string_member (error, "message");
  const char *list;
  g_auto (GStrv) names = NULL;

  if (json_object_get_int_member (error, "code") != -32602 || strstr (message, "params.x-probe: unknown member") == NULL) {
    *why = g_strdup_printf ("%s %s: %s", method, params, message);
    return FALSE;
  }
  if (strstr (message, "(none are expected here)") != NULL)
    return TRUE;
  list = strstr (message, "(expected: ");
  if (list == NULL || !g_str_has_suffix (message, ")")) {
    *why = g_strdup_printf ("%s: no list of members in \"%s\"", method, message);
    return FALSE;
  }
  list += strlen ("(expected: ");
  names = g_strsplit (list, ", ", -1);
  for (guint i = 0; names[i] != NULL; i++) {
    if (names[i + 1] == NULL)
      names[i][strlen (names[i]) - 1] = '\0';
    g_hash_table_add (accepted, g_strdup (names[i]));
  }
  return TRUE;
}

/* what the daemon does agrees with the description: every method accepts
 * exactly the parameters described (probed with an unknown member, which
 * the daemon refuses naming the ones it knows, for each form of the call),
 * and the read-only socket refuses exactly the methods with x-mutates */
START_TEST (test_openrpc_matches_daemon)
{
  g_autoptr (DaTestClient) ro = da_test_client_connect (devaddrd->ro_socket_path, NULL);
  g_autoptr (JsonNode) document = NULL;
  JsonArray *list = described_methods (&document);
  g_autoptr (GString) wrong = g_string_new (NULL);
  g_autoptr (JsonObject) created = ok_object ("vm.create", "{\"vm\":\"probe\"}");

  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *method = json_array_get_object_element (list, i);
    const char *name = json_object_get_string_member (method, "name");
    JsonArray *params = json_object_get_array_member (method, "params");
    g_autoptr (GHashTable) described = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr (GHashTable) accepted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *why = NULL;
    const char *base;

    for (guint p = 0; p < json_array_get_length (params); p++)
      g_hash_table_add (described, (gpointer) json_object_get_string_member (json_array_get_object_element (params, p), "name"));
    /* a vm that exists gets the call past the scope to the members */
    base = g_hash_table_contains (described, "vm") ? "\"vm\":\"probe\"" : "";
    if (!probe_members (client, name, base, accepted, &why)) {
      g_string_append_printf (wrong, "\n%s", why);
      continue;
    }
    /* a described member the first form does not know may belong to
     * another form of the call (addr.reserve's requests) */
    {
      GHashTableIter iter;
      gpointer member;

      g_hash_table_iter_init (&iter, described);
      while (g_hash_table_iter_next (&iter, &member, NULL)) {
        g_autofree char *with = NULL;
        g_autofree char *ignored = NULL;

        if (g_hash_table_contains (accepted, member))
          continue;
        with = g_strdup_printf ("%s%s\"%s\":[]", base, *base != '\0' ? "," : "", (char *) member);
        probe_members (client, name, with, accepted, &ignored);
      }
      g_hash_table_iter_init (&iter, described);
      while (g_hash_table_iter_next (&iter, &member, NULL))
        if (!g_hash_table_contains (accepted, member))
          g_string_append_printf (wrong, "\n%s: described %s is not accepted", name, (char *) member);
      g_hash_table_iter_init (&iter, accepted);
      while (g_hash_table_iter_next (&iter, &member, NULL))
        if (!g_hash_table_contains (described, member))
          g_string_append_printf (wrong, "\n%s: accepts %s, which is not described", name, (char *) member);
    }
    /* permission comes before the parameters */
    {
      g_autoptr (JsonObject) error = da_test_client_call_error (ro, name, "{\"x-probe\":1}");
      gboolean refused = strcmp (da_test_error_reason (error), "read-only") == 0;

      if (refused != described_mutates (method))
        g_string_append_printf (wrong, "\n%s: x-mutates %d, but the read-only socket %s it", name,
                                described_mutates (method), refused ? "refuses" : "takes");
    }
  }
  ck_assert_msg (wrong->len == 0, "%s", wrong->str);
}
END_TEST

/* constraints that succeed: required tags, min and max, and the mode the
 * caller asks for */
START_TEST (test_constraints_and_mode)
{
  g_autoptr (JsonObject) pc = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) q35 = ok_object ("vm.create", "{\"vm\":\"vm2\",\"template\":\"q35\"}");
  /* the console port is kept out of dynamic picks (DynamicNotTags) unless
   * a caller asks for it by its tag */
  g_autoptr (JsonObject) console = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\",\"alias\":\"con\","
                                              "\"constraint\":{\"tags\":[\"console\"],\"not_tags\":[]}}");
  g_autoptr (JsonObject) port = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\",\"alias\":\"ch\"}");
  g_autoptr (JsonObject) root = ok_object ("addr.reserve", "{\"vm\":\"vm2\",\"type\":\"pci\",\"alias\":\"rp\","
                                           "\"constraint\":{\"tags\":[\"pcie-root\"]}}");
  g_autoptr (JsonObject) low = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"i0\","
                                          "\"constraint\":{\"min\":100,\"max\":200}}");
  g_autoptr (JsonObject) high = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"i1\","
                                           "\"constraint\":{\"min\":\"100\",\"max\":\"0xc8\",\"policy\":\"last-fit\"}}");
  g_autoptr (JsonObject) from = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"n0\","
                                           "\"constraint\":{\"min\":\"0000:00:10.0\"}}");
  g_autoptr (JsonObject) upto = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"n1\","
                                           "\"constraint\":{\"max\":\"0000:00:05.7\",\"policy\":\"last-fit\"}}");
  g_autoptr (JsonObject) chosen = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"s0\",\"mode\":\"static\"}");
  g_autoptr (JsonObject) given = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"s1\","
                                            "\"address\":\"0000:00:09.0\",\"mode\":\"dynamic\"}");
  g_autoptr (JsonObject) plain = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"s2\",\"address\":\"0000:00:0a.0\"}");
  g_autoptr (JsonObject) again = NULL;

  ck_assert_str_eq (json_object_get_string_member (console, "address"), "0:0:0");
  ck_assert_str_eq (json_object_get_string_member (port, "address"), "0:0:1");
  ck_assert_str_eq (json_object_get_string_member (root, "address"), "0000:00:01.0");
  assert_reason ("addr.reserve", "{\"vm\":\"vm2\",\"type\":\"pci\",\"alias\":\"hp\",\"constraint\":{\"tags\":[\"hotplug\"]}}",
                 "exhausted", 1003, "hotplug");
  ck_assert_str_eq (json_object_get_string_member (low, "address"), "100");
  ck_assert_str_eq (json_object_get_string_member (high, "address"), "200");
  ck_assert_str_eq (json_object_get_string_member (from, "address"), "0000:00:10.0");
  ck_assert_str_eq (json_object_get_string_member (upto, "address"), "0000:00:05.0");
  assert_reason ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"i2\",\"constraint\":{\"min\":100,\"max\":100}}",
                 "exhausted", 1003, NULL);
  ck_assert_str_eq (json_object_get_string_member (chosen, "mode"), "static");
  ck_assert_str_eq (json_object_get_string_member (chosen, "address"), "0000:00:03.0");
  ck_assert_str_eq (json_object_get_string_member (given, "mode"), "dynamic");
  ck_assert_str_eq (json_object_get_string_member (plain, "mode"), "static");
  /* what was asked for is what is kept */
  again = ok_object ("addr.lookup", "{\"vm\":\"vm1\",\"alias\":\"s0\"}");
  ck_assert_str_eq (json_object_get_string_member (again, "mode"), "static");
  (void) pc; (void) q35;
}
END_TEST

/* pool.stats before the first reservation of a type describes the pool
 * that reservation makes: its tags and buses, nothing used; asking changes
 * nothing */
START_TEST (test_pool_stats_before_first)
{
  g_autoptr (JsonObject) vm = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  g_autoptr (JsonObject) info = ok_object ("server.info", NULL);
  g_autoptr (JsonNode) before = da_test_client_call_ok (client, "pool.stats", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\"}");
  g_autoptr (JsonObject) info2 = ok_object ("server.info", NULL);
  g_autoptr (JsonNode) used = NULL;
  g_autoptr (JsonNode) after = NULL;
  JsonObject *stats = json_node_get_object (before);
  JsonObject *console;
  JsonObject *bus;

  ck_assert_int_eq (json_object_get_int_member (stats, "capacity"), 31);
  ck_assert_int_eq (json_object_get_int_member (stats, "used"), 0);
  ck_assert_int_eq (json_object_get_int_member (stats, "reservations"), 0);
  console = json_object_get_object_member (json_object_get_object_member (stats, "tags"), "console");
  ck_assert_msg (console != NULL, "no console tag before the first reservation");
  ck_assert_int_eq (json_object_get_int_member (console, "capacity"), 1);
  ck_assert_int_eq (json_object_get_int_member (console, "used"), 0);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (stats, "buses")), 1);
  bus = json_array_get_object_element (json_object_get_array_member (stats, "buses"), 0);
  ck_assert_int_eq (json_object_get_int_member (bus, "controller"), 0);
  ck_assert_int_eq (json_object_get_int_member (bus, "bus"), 0);
  ck_assert_int_eq (json_object_get_int_member (bus, "capacity"), 31);
  /* a read: nothing was written */
  ck_assert_int_eq (json_object_get_int_member (json_object_get_object_member (info, "store"), "durable_seq"),
                    json_object_get_int_member (json_object_get_object_member (info2, "store"), "durable_seq"));

  /* the pool the reservation makes is the one described */
  {
    g_autoptr (JsonObject) res = ok_object ("addr.reserve", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\",\"alias\":\"ch\"}");
    g_autoptr (JsonObject) gone = NULL;

    ck_assert_str_eq (json_object_get_string_member (res, "address"), "0:0:1");
    used = da_test_client_call_ok (client, "pool.stats", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\"}");
    ck_assert_int_eq (json_object_get_int_member (json_node_get_object (used), "used"), 1);
    gone = ok_object ("addr.release", "{\"vm\":\"vm1\",\"alias\":\"ch\"}");
  }
  after = da_test_client_call_ok (client, "pool.stats", "{\"vm\":\"vm1\",\"type\":\"virtio-serial\"}");
  /* the same pool, that now exists */
  ck_assert (!json_object_get_boolean_member (json_node_get_object (before), "exists"));
  ck_assert (json_object_get_boolean_member (json_node_get_object (used), "exists"));
  ck_assert (json_object_get_boolean_member (json_node_get_object (after), "exists"));
  json_object_remove_member (json_node_get_object (before), "exists");
  json_object_remove_member (json_node_get_object (after), "exists");
  if (!da_json_equal (before, after)) {
    g_autofree char *a = da_json_to_string (before);
    g_autofree char *b = da_json_to_string (after);

    ck_abort_msg ("%s\nis not\n%s", a, b);
  }
  /* a pool that cannot exist is not described */
  assert_code ("pool.stats", "{\"vm\":\"vm1\",\"type\":\"mac\"}", -32602, "with scope \"host\"");
  assert_code ("pool.stats", "{\"scope\":\"host\",\"type\":\"pci\"}", -32602, "for a vm");
  (void) vm;
}
END_TEST

/* every addr.changed of one reservation, counted by alias, until the
 * marker alias arrives (notifications come in commit order) */
static GHashTable *
collect_changes (DaTestClient *watcher, const char *marker)
{
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (;;) {
    g_autofree char *line = da_test_client_read_line (watcher, 10000);
    g_autoptr (JsonNode) note = NULL;
    JsonObject *params;
    g_autofree char *key = NULL;

    ck_assert_msg (line != NULL, "notifications stopped before %s", marker);
    note = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    params = json_object_get_object_member (json_node_get_object (note), "params");
    key = g_strdup_printf ("%s/%s", json_object_get_string_member (params, "vm"),
                           json_object_get_string_member (params, "alias"));
    g_hash_table_insert (seen, g_strdup (key), GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (seen, key)) + 1));
    if (strcmp (json_object_get_string_member (params, "alias"), marker) == 0)
      return seen;
  }
}

static guint
times (GHashTable *seen, const char *key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (seen, key));
}

/* watch again on the same connection: the subscription grows, each change
 * is still sent once */
START_TEST (test_watch_twice)
{
  g_autoptr (DaTestClient) watcher = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (GHashTable) seen = NULL;

  for (guint i = 1; i <= 3; i++) {
    g_autofree char *p = g_strdup_printf ("{\"vm\":\"vm%u\",\"template\":\"ganeti\"}", i);
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "vm.create", p);
  }
  {
    g_autoptr (JsonNode) w1 = da_test_client_call_ok (watcher, "watch", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) w2 = da_test_client_call_ok (watcher, "watch", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) w3 = da_test_client_call_ok (watcher, "watch", "{\"vm\":\"vm2\"}");
  }
  for (guint i = 1; i <= 3; i++) {
    g_autofree char *p = g_strdup_printf ("{\"vm\":\"vm%u\",\"type\":\"id\",\"alias\":\"a\"}", i);
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.reserve", p);
  }
  {
    g_autoptr (JsonNode) end = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"end\"}");
  }
  seen = collect_changes (watcher, "end");
  ck_assert_uint_eq (times (seen, "vm1/a"), 1);
  ck_assert_uint_eq (times (seen, "vm2/a"), 1);
  ck_assert_uint_eq (times (seen, "vm3/a"), 0);
  ck_assert_uint_eq (times (seen, "vm1/end"), 1);
  ck_assert_uint_eq (g_hash_table_size (seen), 3);
  g_clear_pointer (&seen, g_hash_table_unref);

  /* and every scope, still once each */
  {
    g_autoptr (JsonNode) all = da_test_client_call_ok (watcher, "watch", NULL);
    g_autoptr (JsonNode) r1 = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"id\",\"alias\":\"b\"}");
    g_autoptr (JsonNode) r3 = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm3\",\"type\":\"id\",\"alias\":\"b\"}");
    g_autoptr (JsonNode) end = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm2\",\"type\":\"id\",\"alias\":\"end2\"}");
  }
  seen = collect_changes (watcher, "end2");
  ck_assert_uint_eq (times (seen, "vm1/b"), 1);
  ck_assert_uint_eq (times (seen, "vm3/b"), 1);
  ck_assert_uint_eq (times (seen, "vm2/end2"), 1);
  ck_assert_uint_eq (g_hash_table_size (seen), 3);
}
END_TEST

/* a second daemon on the state directory of a running one refuses to
 * start and names the directory; the first goes on */
START_TEST (test_one_daemon_per_state_dir)
{
  const char *args[] = { "--state-dir", devaddrd->state_dir, NULL };
  g_autoptr (DaTestDaemon) second = da_test_daemon_new (args);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;
  g_autofree char *expected = g_strdup_printf ("state directory %s is in use by another process (pid %s)",
                                               devaddrd->state_dir, g_subprocess_get_identifier (devaddrd->process));

  ck_assert (!da_test_daemon_start (second, &error));
  ck_assert_int_eq (da_test_daemon_wait (second), 1);
  log = da_test_daemon_log (second);
  ck_assert_msg (strstr (log, expected) != NULL, "\"%s\" not in:\n%s", expected, log);
  {
    g_autoptr (JsonObject) vm = ok_object ("vm.create", "{\"vm\":\"vm1\"}");
  }
}
END_TEST

static char *
run_daemon (const char *const *argv, int *status)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  int wait_status = 0;

  g_ptr_array_add (args, (gpointer) da_test_daemon_binary ());
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  ck_assert_msg (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                               &wait_status, &error), "%s", error ? error->message : "");
  *status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  return out;
}

START_TEST (test_version)
{
  const char *argv[] = { "--version", NULL };
  g_autofree char *want = g_strdup_printf ("devaddrd %s (protocol %d)\n", PACKAGE_VERSION, DA_PROTOCOL_VERSION);
  int status;
  g_autofree char *out = run_daemon (argv, &status);

  ck_assert_int_eq (status, 0);
  ck_assert_str_eq (out, want);
}
END_TEST

/* --socket, --ro-socket and --state-dir on their own, as an administrator
 * runs it outside systemd: each is used as given */
START_TEST (test_sockets_without_local)
{
  g_autoptr (DaTestDaemon) own = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) rw = NULL;
  g_autoptr (DaTestClient) ro = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (JsonObject) refused = NULL;
  g_autofree char *catalog = g_build_filename (g_getenv ("DA_SRCDIR") != NULL ? g_getenv ("DA_SRCDIR") : ".", "data", NULL);
  g_autofree char *config = NULL;
  g_autofree char *lock = g_build_filename (own->state_dir, "lock", NULL);

  own->no_local = TRUE;
  /* the catalog is not installed: the source tree's, by the config */
  config = g_strdup_printf ("%scatalog=%s\n", own->config_text, catalog);
  da_test_daemon_set_config (own, config);
  ck_assert_msg (da_test_daemon_start (own, &error), "%s", error ? error->message : "");
  ck_assert (g_file_test (own->socket_path, G_FILE_TEST_EXISTS));
  ck_assert (g_file_test (own->ro_socket_path, G_FILE_TEST_EXISTS));
  rw = da_test_client_connect (own->socket_path, &error);
  ck_assert_msg (rw != NULL, "%s", error ? error->message : "");
  info = da_test_client_call_ok (rw, "server.info", NULL);
  ck_assert_str_eq (json_object_get_string_member (json_object_get_object_member (json_node_get_object (info), "store"), "dir"),
                    own->state_dir);
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (rw, "vm.create", "{\"vm\":\"vm1\"}");
  }
  ro = da_test_client_connect (own->ro_socket_path, &error);
  ck_assert_msg (ro != NULL, "%s", error ? error->message : "");
  refused = da_test_client_call_error (ro, "vm.delete", "{\"vm\":\"vm1\"}");
  ck_assert_str_eq (da_test_error_reason (refused), "read-only");
  ck_assert (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_clear_pointer (&rw, da_test_client_free);
  g_clear_pointer (&ro, da_test_client_free);
  ck_assert_int_eq (da_test_daemon_stop (own), 0);
  /* the sockets it bound are gone with it */
  ck_assert (!g_file_test (own->socket_path, G_FILE_TEST_EXISTS));
  ck_assert (!g_file_test (own->ro_socket_path, G_FILE_TEST_EXISTS));
}
END_TEST

/* engine errors become their protocol errors; anything else is the
 * daemon's fault: -32603 (no request reaches that through the socket) */
START_TEST (test_map_error)
{
  static const struct {
    GQuark domain;
    int code;
    DaRpcError want;
  } cases[] = {
    { 0, DA_ALLOC_ERROR_INVALID, DA_RPC_ERROR_INVALID_PARAMS },
    { 0, DA_ALLOC_ERROR_INVALID_ADDRESS, DA_RPC_ERROR_INVALID_ADDRESS },
    { 0, DA_ALLOC_ERROR_NOT_FOUND, DA_RPC_ERROR_NOT_FOUND },
    { 0, DA_ALLOC_ERROR_CONFLICT, DA_RPC_ERROR_CONFLICT },
    { 0, DA_ALLOC_ERROR_EXHAUSTED, DA_RPC_ERROR_EXHAUSTED },
    { 0, DA_ALLOC_ERROR_LIMIT, DA_RPC_ERROR_LIMIT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = g_error_new (DA_ALLOC_ERROR, cases[i].code, "case %u", i);
    g_autofree char *message = g_strdup (error->message);

    da_methods_map_error (&error);
    ck_assert (g_error_matches (error, DA_RPC_ERROR, cases[i].want));
    ck_assert_str_eq (error->message, message);
  }
  {
    g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_READ_ONLY, "kept");

    da_methods_map_error (&error);
    ck_assert (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_READ_ONLY));
  }
  {
    g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "disk on fire");

    da_methods_map_error (&error);
    ck_assert (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL));
    ck_assert_int_eq (da_rpc_error_to_wire_code (error->code), -32603);
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("daemon");
  TCase *tc = tcase_create ("daemon");
  TCase *process = tcase_create ("process");
  TCase *unit = tcase_create ("dispatch");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_every_method);
  tcase_add_test (tc, test_every_error_reason);
  tcase_add_test (tc, test_jsonrpc_edge_cases);
  tcase_add_test (tc, test_limits);
  tcase_add_test (tc, test_pipelined_reads_in_order);
  tcase_add_test (tc, test_connections_per_uid);
  tcase_add_test (tc, test_watch_and_expiry);
  tcase_add_test (tc, test_restart_keeps_everything);
  tcase_add_test (tc, test_openrpc_matches_daemon);
  tcase_add_test (tc, test_constraints_and_mode);
  tcase_add_test (tc, test_pool_stats_before_first);
  tcase_add_test (tc, test_watch_twice);
  tcase_add_test (tc, test_one_daemon_per_state_dir);
  suite_add_tcase (s, tc);
  tcase_set_timeout (process, 120);
  tcase_add_test (process, test_version);
  tcase_add_test (process, test_sockets_without_local);
  suite_add_tcase (s, process);
  tcase_add_test (unit, test_openrpc_matches_dispatch);
  tcase_add_test (unit, test_map_error);
  suite_add_tcase (s, unit);
  return da_test_run_suite (s);
}
