/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdevaddr against a scripted server: what goes on the wire for each
 * call, how results of the shapes the protocol describes are read (also
 * for the methods devaddrd does not serve yet), and what the client makes
 * of replies that break the protocol.  Plus the parts that need no server.
 */
#include "config.h"

#include <check.h>
#include <gio/gunixsocketaddress.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <devaddr/devaddr.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) != NULL ? (error)->message : "")

#define assert_error(err, want) \
  do { \
    ck_assert_msg ((err) != NULL, "expected error %s, got none", #want); \
    ck_assert_msg (g_error_matches ((err), DEVADDR_ERROR, (want)), "expected %s, got %s %d: %s", #want, \
                   g_quark_to_string ((err)->domain), (err)->code, (err)->message); \
  } while (0)

/* one exchange: read n_requests requests (1 if 0 is not meant), then send
 * reply with @ID0@, @ID1@ ... replaced by their ids; reply NULL closes */
typedef struct {
  guint n_requests;
  const char *reply;
} Step;

#define END_OF_SCRIPT { G_MAXUINT, NULL }

typedef struct {
  char *dir;
  char *path;
  GSocket *listener;
  GThread *thread;
  const Step *steps;
  GPtrArray *requests; /* JsonNode */
  GMutex lock;
} FakeServer;

static char *
read_line (GSocket *socket, GString *in)
{
  for (;;) {
    char *nl = memchr (in->str, '\n', in->len);
    struct pollfd pfd = { g_socket_get_fd (socket), POLLIN, 0 };
    char buf[4096];
    gssize n;

    if (nl != NULL) {
      char *line = g_strndup (in->str, (gsize) (nl - in->str));

      g_string_erase (in, 0, nl - in->str + 1);
      return line;
    }
    if (poll (&pfd, 1, 10000) <= 0)
      return NULL;
    n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);
    if (n <= 0)
      return NULL;
    g_string_append_len (in, buf, n);
  }
}

static gpointer
server_main (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr (GSocket) socket = g_socket_accept (server->listener, NULL, NULL);
  g_autoptr (GString) in = g_string_new (NULL);

  if (socket == NULL)
    return NULL;
  for (const Step *step = server->steps; step->n_requests != G_MAXUINT; step++) {
    g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GString) reply = NULL;

    for (guint i = 0; i < step->n_requests; i++) {
      g_autofree char *line = read_line (socket, in);
      JsonNode *request;
      JsonNode *id;

      if (line == NULL)
        return NULL;
      request = da_json_parse (line, strlen (line), NULL, NULL, NULL);
      g_assert (request != NULL && JSON_NODE_HOLDS_OBJECT (request));
      id = json_object_get_member (json_node_get_object (request), "id");
      g_ptr_array_add (ids, id != NULL ? da_json_to_string (id) : g_strdup ("null"));
      g_mutex_lock (&server->lock);
      g_ptr_array_add (server->requests, request);
      g_mutex_unlock (&server->lock);
    }
    if (step->reply == NULL)
      return NULL;
    reply = g_string_new (step->reply);
    for (guint i = 0; i < ids->len; i++) {
      g_autofree char *mark = g_strdup_printf ("@ID%u@", i);

      g_string_replace (reply, mark, g_ptr_array_index (ids, i), 0);
    }
    g_string_append_c (reply, '\n');
    g_socket_send (socket, reply->str, reply->len, NULL, NULL);
  }
  /* stay until the client hangs up */
  while (TRUE) {
    g_autofree char *line = read_line (socket, in);

    if (line == NULL)
      break;
  }
  return NULL;
}

static FakeServer *
fake_server_new (const Step *steps)
{
  FakeServer *server = g_new0 (FakeServer, 1);
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) error = NULL;

  server->dir = g_dir_make_tmp ("devaddr-wire-XXXXXX", &error);
  g_assert_no_error (error);
  server->path = g_build_filename (server->dir, "fake.sock", NULL);
  server->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (server->path);
  g_assert (g_socket_bind (server->listener, address, TRUE, &error));
  g_assert (g_socket_listen (server->listener, &error));
  server->steps = steps;
  server->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_mutex_init (&server->lock);
  server->thread = g_thread_new ("fake-server", server_main, server);
  return server;
}

static void
fake_server_free (FakeServer *server)
{
  g_socket_shutdown (server->listener, TRUE, TRUE, NULL);
  g_socket_close (server->listener, NULL);
  g_thread_join (server->thread);
  g_object_unref (server->listener);
  g_ptr_array_unref (server->requests);
  g_mutex_clear (&server->lock);
  da_test_rm_rf (server->dir);
  g_free (server->dir);
  g_free (server->path);
  g_free (server);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeServer, fake_server_free)

/* the i-th request the server read, as compact JSON without its id */
static char *
request_text (FakeServer *server, guint i)
{
  g_autoptr (JsonNode) copy = NULL;
  char *text;

  g_mutex_lock (&server->lock);
  ck_assert_uint_gt (server->requests->len, i);
  copy = json_node_copy (g_ptr_array_index (server->requests, i));
  g_mutex_unlock (&server->lock);
  json_object_remove_member (json_node_get_object (copy), "id");
  text = da_json_to_string (copy);
  return text;
}

static void
assert_request (FakeServer *server, guint i, const char *expected)
{
  g_autofree char *text = request_text (server, i);

  ck_assert_str_eq (text, expected);
}

static void
store_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (res);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

#define RESULT(json) "{\"jsonrpc\":\"2.0\",\"id\":@ID0@,\"result\":" json "}"
#define ERROR(json) "{\"jsonrpc\":\"2.0\",\"id\":@ID0@,\"error\":" json "}"
#define RES_NET1 \
  "{\"alias\":\"net1\",\"type\":\"pci\",\"address\":\"0000:00:04.0\",\"count\":1,\"mode\":\"dynamic\",\"state\":\"active\"}"

/* ------------------------------------------------------------------ */
/* the domain methods, to the contract */

START_TEST (test_assign_domain)
{
  static const Step steps[] = {
    { 1, RESULT ("{\"xml\":\"<domain><address/></domain>\",\"reservations\":[" RES_NET1 "],\"added\":"
                 "[{\"element\":\"controller\",\"type\":\"pcie-root-port\",\"index\":1,\"alias\":\"pci.1\","
                 "\"address\":\"pci 0000:00:02.0\"}]}") },
    { 1, RESULT ("{\"xml\":\"<domain/>\",\"reservations\":[],\"added\":[]}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrAssignment) a = devaddr_client_assign_domain (client, "vm1", "<domain/>", NULL, &error);
  g_autoptr (DevaddrAssignment) b = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  assert_no_error (error);
  assert_request (server, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"domain.assign\",\"params\":{\"vm\":\"vm1\",\"xml\":\"<domain/>\"}}");
  ck_assert_str_eq (devaddr_assignment_get_xml (a), "<domain><address/></domain>");
  ck_assert_uint_eq (devaddr_assignment_get_added (a), 1);
  ck_assert_str_eq (devaddr_assignment_get_additions (a)[0], "controller pcie-root-port 1 (pci.1) at pci 0000:00:02.0");
  ck_assert_uint_eq (devaddr_assignment_get_reservations (a)->len, 1);
  ck_assert_str_eq (devaddr_reservation_get_alias (g_ptr_array_index (devaddr_assignment_get_reservations (a), 0)),
                    "net1");
  devaddr_client_assign_domain_async (client, "vm2", "<domain/>", NULL, store_result, &res);
  b = devaddr_client_assign_domain_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_assignment_get_added (b), 0);
}
END_TEST

START_TEST (test_import_domain)
{
  static const Step steps[] = {
    { 1, RESULT ("{\"reservations\":[" RES_NET1 "],\"conflicts\":"
                 "[\"interface[2] (net2) at pci 0000:00:04.0 clashes with net1\"]}") },
    { 1, RESULT ("{\"reservations\":[],\"conflicts\":[]}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrImportResult) a = devaddr_client_import_domain (client, "vm1", "<domain/>", DEVADDR_IMPORT_PARTIAL,
                                                                    NULL, &error);
  g_autoptr (DevaddrImportResult) b = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  /* partial only when asked; all or nothing is the default */
  assert_no_error (error);
  assert_request (server, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"domain.import\",\"params\":{\"vm\":\"vm1\",\"xml\":\"<domain/>\",\"partial\":true}}");
  ck_assert_uint_eq (devaddr_import_result_get_reservations (a)->len, 1);
  ck_assert_uint_eq (devaddr_import_result_get_n_conflicts (a), 1);
  ck_assert_str_eq (devaddr_import_result_get_conflict (a, 0), "interface[2] (net2) at pci 0000:00:04.0 clashes with net1");
  devaddr_client_import_domain_async (client, "vm1", "<domain/>", DEVADDR_IMPORT_NONE, NULL, store_result, &res);
  b = devaddr_client_import_domain_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  assert_request (server, 1, "{\"jsonrpc\":\"2.0\",\"method\":\"domain.import\",\"params\":{\"vm\":\"vm1\",\"xml\":\"<domain/>\"}}");
  ck_assert_uint_eq (devaddr_import_result_get_n_conflicts (b), 0);
}
END_TEST

START_TEST (test_attach_detach_device)
{
  static const Step steps[] = {
    { 1, RESULT ("{\"xml\":\"<interface><address type='pci'/></interface>\",\"reservation\":" RES_NET1 "}") },
    { 1, RESULT ("{\"alias\":\"net1\",\"state\":\"releasing\"}") },
    { 1, RESULT ("{\"alias\":\"net1\",\"state\":\"released\"}") },
    { 1, RESULT ("{\"xml\":\"<interface/>\",\"reservation\":" RES_NET1 "}") },
    { 1, RESULT ("{\"alias\":\"net1\",\"state\":\"released\"}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrAttachment) a = devaddr_client_attach_device (client, "vm1", "<interface/>", NULL, &error);
  g_autoptr (DevaddrAttachment) b = NULL;
  g_autoptr (GAsyncResult) r1 = NULL, r2 = NULL;
  g_autofree char *alias = NULL;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;

  assert_no_error (error);
  assert_request (server, 0,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"device.attach\",\"params\":{\"vm\":\"vm1\",\"xml\":\"<interface/>\"}}");
  ck_assert (strstr (devaddr_attachment_get_xml (a), "address") != NULL);
  ck_assert_str_eq (devaddr_reservation_get_address (devaddr_attachment_get_reservation (a)), "0000:00:04.0");

  ck_assert (devaddr_client_detach_device (client, "vm1", "<interface/>", NULL, DEVADDR_RELEASE_BEGIN, &alias, &state,
                                           NULL, &error));
  assert_no_error (error);
  assert_request (server, 1,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"device.detach\",\"params\":{\"vm\":\"vm1\",\"xml\":\"<interface/>\","
                  "\"phase\":\"begin\"}}");
  ck_assert_str_eq (alias, "net1");
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASING);
  ck_assert (devaddr_client_detach_device (client, "vm1", NULL, "net1", DEVADDR_RELEASE_CONFIRM, NULL, &state, NULL,
                                           &error));
  assert_no_error (error);
  assert_request (server, 2,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"device.detach\",\"params\":{\"vm\":\"vm1\",\"alias\":\"net1\","
                  "\"phase\":\"confirm\"}}");
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);

  devaddr_client_attach_device_async (client, "vm1", "<interface/>", NULL, store_result, &r1);
  b = devaddr_client_attach_device_finish (client, wait_for (&r1), &error);
  assert_no_error (error);
  devaddr_client_detach_device_async (client, "vm1", NULL, "net1", DEVADDR_RELEASE_NOW, NULL, store_result, &r2);
  ck_assert (devaddr_client_detach_device_finish (client, wait_for (&r2), NULL, &state, &error));
  assert_no_error (error);
  assert_request (server, 4,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"device.detach\",\"params\":{\"vm\":\"vm1\",\"alias\":\"net1\"}}");
}
END_TEST

/* ------------------------------------------------------------------ */
/* requests on the wire */

START_TEST (test_request_params)
{
  static const Step steps[] = {
    { 1, RESULT (RES_NET1) },
    { 1, RESULT ("{\"reservations\":[" RES_NET1 "]}") },
    { 1, RESULT ("{\"alias\":\"net1\",\"state\":\"free\"}") },
    { 1, RESULT ("{\"watching\":true}") },
    { 1, RESULT ("{\"vm\":\"vm1\",\"template\":\"q35\"}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("pci", "net1");
  g_autoptr (DevaddrReserveRequest) other = devaddr_reserve_request_new ("mac", "m0");
  g_autoptr (GPtrArray) batch = g_ptr_array_new ();
  g_autoptr (DevaddrReservation) res = NULL;
  g_autoptr (GPtrArray) list = NULL;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;

  devaddr_reserve_request_set_range (request, "bus", 0, 0);
  devaddr_reserve_request_set_range (request, "slot", 4, 8);
  devaddr_reserve_request_add_tag (request, "hotplug");
  devaddr_reserve_request_add_not_tag (request, "pcie");
  devaddr_reserve_request_set_policy (request, DEVADDR_POLICY_NEXT_FIT);
  devaddr_reserve_request_set_count (request, 1);
  devaddr_reserve_request_set_isolate (request, "slot");
  devaddr_reserve_request_set_hold (request, 30);
  devaddr_reserve_request_set_mode (request, DEVADDR_MODE_DYNAMIC);
  res = devaddr_client_reserve (client, "vm1", request, NULL, &error);
  assert_no_error (error);
  assert_request (server, 0,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"addr.reserve\",\"params\":{\"type\":\"pci\",\"alias\":\"net1\","
                  "\"constraint\":{\"bus\":0,\"slot\":{\"min\":4,\"max\":8},\"tags\":[\"hotplug\"],"
                  "\"not_tags\":[\"pcie\"],\"policy\":\"next-fit\",\"count\":1,\"isolate\":\"slot\"},"
                  "\"mode\":\"dynamic\",\"hold_s\":30,\"vm\":\"vm1\"}}");

  devaddr_reserve_request_set_address (other, "52:54:00:00:00:01");
  g_ptr_array_add (batch, other);
  list = devaddr_client_reserve_batch (client, NULL, batch, NULL, &error);
  assert_no_error (error);
  assert_request (server, 1,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"addr.reserve\",\"params\":{\"scope\":\"host\",\"requests\":"
                  "[{\"type\":\"mac\",\"alias\":\"m0\",\"address\":\"52:54:00:00:00:01\"}]}}");

  /* "free", what the daemon answers today, is "released" */
  ck_assert (devaddr_client_release (client, NULL, "net1", DEVADDR_RELEASE_NOW, &state, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);
  assert_request (server, 2,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"addr.release\",\"params\":{\"scope\":\"host\",\"alias\":\"net1\"}}");
  ck_assert (devaddr_client_watch (client, NULL, NULL, &error));
  assert_no_error (error);
  assert_request (server, 3, "{\"jsonrpc\":\"2.0\",\"method\":\"watch\",\"params\":{}}");
  ck_assert (devaddr_client_create_vm (client, "vm1", "q35", NULL, &error));
  assert_no_error (error);
  assert_request (server, 4,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"vm.create\",\"params\":{\"vm\":\"vm1\",\"template\":\"q35\"}}");
}
END_TEST

/* ------------------------------------------------------------------ */
/* errors */

START_TEST (test_error_reasons)
{
  static const struct {
    const char *reason;
    DevaddrError code;
  } reasons[] = {
    { "not-found", DEVADDR_ERROR_NOT_FOUND },
    { "conflict", DEVADDR_ERROR_CONFLICT },
    { "exhausted", DEVADDR_ERROR_EXHAUSTED },
    { "invalid-address", DEVADDR_ERROR_INVALID_ADDRESS },
    { "permission-denied", DEVADDR_ERROR_PERMISSION_DENIED },
    { "read-only", DEVADDR_ERROR_READ_ONLY },
    { "limit", DEVADDR_ERROR_LIMIT },
    { "unavailable", DEVADDR_ERROR_UNAVAILABLE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++) {
    ck_assert_str_eq (devaddr_error_to_reason (reasons[i].code), reasons[i].reason);
    ck_assert_int_eq (devaddr_error_from_reason (reasons[i].reason), reasons[i].code);
  }
  ck_assert (devaddr_error_to_reason (DEVADDR_ERROR_DISCONNECTED) == NULL);
  ck_assert_int_eq (devaddr_error_from_reason ("something-new"), DEVADDR_ERROR_FAILED);
}
END_TEST

START_TEST (test_error_replies)
{
  static const Step steps[] = {
    { 1, ERROR ("{\"code\":1002,\"message\":\"held by net0\",\"data\":{\"reason\":\"conflict\",\"holder\":\"net0\"}}") },
    { 1, ERROR ("{\"code\":1003,\"message\":\"full\"}") },
    { 1, ERROR ("{\"code\":1099,\"message\":\"new\",\"data\":{\"reason\":\"quota\"}}") },
    { 1, ERROR ("{\"code\":-32601,\"message\":\"no method\"}") },
    { 1, ERROR ("{\"code\":-32602,\"message\":\"params.vm: expected a string\"}") },
    { 1, ERROR ("{\"code\":-32603,\"message\":\"oops\"}") },
    { 1, ERROR ("{\"code\":-32600,\"message\":\"not a request\"}") },
    { 1, ERROR ("{\"code\":42,\"message\":\"odd\"}") },
    END_OF_SCRIPT
  };
  static const DevaddrError expected[] = {
    DEVADDR_ERROR_CONFLICT, DEVADDR_ERROR_EXHAUSTED, DEVADDR_ERROR_FAILED, DEVADDR_ERROR_METHOD_NOT_FOUND,
    DEVADDR_ERROR_INVALID_PARAMS, DEVADDR_ERROR_INTERNAL, DEVADDR_ERROR_PROTOCOL, DEVADDR_ERROR_FAILED,
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    g_autoptr (GError) error = NULL;

    ck_assert (devaddr_client_get_vm (client, "vm1", NULL, &error) == NULL);
    assert_error (error, expected[i]);
    if (i == 0)
      ck_assert_str_eq (error->message, "held by net0");
  }
}
END_TEST

START_TEST (test_malformed_result)
{
  static const Step steps[] = {
    { 1, RESULT ("{\"vm\":\"vm1\",\"template\":\"pc\",\"reservations\":[{\"alias\":\"a\",\"type\":\"pci\"}]}") },
    { 1, RESULT ("[1,2]") },
    { 1, RESULT ("{\"vm\":\"vm1\",\"template\":\"pc\",\"reservations\":[],\"new_member\":1}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrVm) vm = NULL;

  ck_assert (devaddr_client_get_vm (client, "vm1", NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
  ck_assert_msg (strstr (error->message, "vm.get") != NULL && strstr (error->message, "result.reservations[0]") != NULL
                   && strstr (error->message, "address") != NULL,
                 "%s", error->message);
  g_clear_error (&error);
  ck_assert (devaddr_client_get_vms (client, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
  g_clear_error (&error);
  /* members the library does not know are fine */
  vm = devaddr_client_get_vm (client, "vm1", NULL, &error);
  assert_no_error (error);
}
END_TEST

/* fields: read in the order sent, hex text as numbers; none from an older
 * daemon; a value that is not a number is a protocol error naming it */
START_TEST (test_reservation_fields)
{
  static const Step steps[] = {
    { 1, RESULT ("{\"alias\":\"m\",\"type\":\"mmio\",\"address\":\"0xfee00000\",\"fields\":{\"addr\":\"0xfee00000\"},"
                 "\"count\":1,\"mode\":\"static\",\"state\":\"active\"}") },
    { 1, RESULT ("{\"alias\":\"u\",\"type\":\"usb\",\"address\":\"0:1.2\",\"fields\":{\"bus\":0,\"port1\":1,"
                 "\"port2\":2},\"count\":1,\"mode\":\"dynamic\",\"state\":\"active\"}") },
    { 1, RESULT (RES_NET1) },
    { 1, RESULT ("{\"alias\":\"x\",\"type\":\"pci\",\"address\":\"0000:00:04.0\",\"fields\":{\"slot\":\"four\"},"
                 "\"count\":1,\"mode\":\"dynamic\",\"state\":\"active\"}") },
    { 1, RESULT ("{\"alias\":\"x\",\"type\":\"pci\",\"address\":\"0000:00:04.0\",\"fields\":[4],"
                 "\"count\":1,\"mode\":\"dynamic\",\"state\":\"active\"}") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) mmio = devaddr_client_lookup (client, "vm1", "m", NULL, &error);
  g_autoptr (DevaddrReservation) usb = NULL, old = NULL, bad = NULL;
  guint64 v = 0;

  assert_no_error (error);
  ck_assert (devaddr_reservation_get_field (mmio, "addr", &v));
  ck_assert_uint_eq (v, 0xfee00000);
  usb = devaddr_client_lookup (client, "vm1", "u", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_field_names (usb)[0], "bus");
  ck_assert_str_eq (devaddr_reservation_get_field_names (usb)[1], "port1");
  ck_assert_str_eq (devaddr_reservation_get_field_names (usb)[2], "port2");
  ck_assert (devaddr_reservation_get_field_names (usb)[3] == NULL);
  ck_assert (devaddr_reservation_get_field (usb, "port2", &v));
  ck_assert_uint_eq (v, 2);
  old = devaddr_client_lookup (client, "vm1", "net1", NULL, &error);
  assert_no_error (error);
  ck_assert (devaddr_reservation_get_field_names (old)[0] == NULL);
  ck_assert (!devaddr_reservation_get_field (old, "slot", &v));
  bad = devaddr_client_lookup (client, "vm1", "x", NULL, &error);
  ck_assert (bad == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
  ck_assert_msg (strstr (error->message, "result.fields.slot") != NULL, "%s", error->message);
  g_clear_error (&error);
  ck_assert (devaddr_client_lookup (client, "vm1", "x", NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
  ck_assert_msg (strstr (error->message, "fields") != NULL, "%s", error->message);
}
END_TEST

START_TEST (test_garbage_reply)
{
  static const Step steps[] = {
    { 1, "this is not JSON" },
    { 1, RESULT ("[]") },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;

  ck_assert (devaddr_client_get_vms (client, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
  /* a client that cannot trust the stream any more hangs up */
  ck_assert (!devaddr_client_is_connected (client));
}
END_TEST

START_TEST (test_unknown_id)
{
  static const Step steps[] = {
    { 1, "{\"jsonrpc\":\"2.0\",\"id\":987654,\"result\":[]}" },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;

  ck_assert (devaddr_client_get_vms (client, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_PROTOCOL);
}
END_TEST

static void
count_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GPtrArray *errors = user_data;
  GError *error = NULL;
  GPtrArray *vms = devaddr_client_get_vms_finish (DEVADDR_CLIENT (source), res, &error);

  g_assert (vms == NULL);
  g_ptr_array_add (errors, error);
}

START_TEST (test_error_without_id)
{
  /* what devaddrd sends a peer over its connection limit before it hangs
   * up: no id, so every call in flight gets it */
  static const Step steps[] = {
    { 3, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1007,\"message\":\"too many connections\","
         "\"data\":{\"reason\":\"limit\"}}}" },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  for (guint i = 0; i < 3; i++)
    devaddr_client_get_vms_async (client, NULL, count_done, errors);
  while (errors->len < 3)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 3; i++)
    assert_error ((GError *) g_ptr_array_index (errors, i), DEVADDR_ERROR_LIMIT);
}
END_TEST

START_TEST (test_closed_mid_call)
{
  static const Step steps[] = {
    { 1, NULL },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GError) error = NULL;

  ck_assert (devaddr_client_get_vms (client, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_DISCONNECTED);
}
END_TEST

static void
on_changed (DevaddrClient *client, DevaddrChange *change, gpointer user_data)
{
  g_ptr_array_add (user_data, devaddr_change_ref (change));
}

START_TEST (test_notifications)
{
  /* a notification of a method the client does not know, a malformed
   * addr.changed, then two good ones around the reply they follow */
  static const Step steps[] = {
    { 1, RESULT ("{\"watching\":true}") },
    { 0, "{\"jsonrpc\":\"2.0\",\"method\":\"something.new\",\"params\":{}}" },
    { 0, "{\"jsonrpc\":\"2.0\",\"method\":\"addr.changed\",\"params\":{\"vm\":1}}" },
    { 0, "{\"jsonrpc\":\"2.0\",\"method\":\"addr.changed\",\"params\":{\"vm\":\"vm1\",\"event\":\"reserved\","
         "\"alias\":\"net1\",\"type\":\"pci\",\"address\":\"0000:00:04.0\",\"state\":\"held\"}}" },
    { 0, "{\"jsonrpc\":\"2.0\",\"method\":\"addr.changed\",\"params\":{\"scope\":\"host\",\"event\":\"expired\","
         "\"alias\":\"m1\",\"type\":\"mac\",\"address\":\"52:54:00:00:00:01\"}}" },
    END_OF_SCRIPT
  };
  g_autoptr (FakeServer) server = fake_server_new (steps);
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (server->path);
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_change_unref);
  g_autoptr (GError) error = NULL;
  DevaddrChange *c;

  g_signal_connect (client, "changed", G_CALLBACK (on_changed), changes);
  ck_assert (devaddr_client_watch (client, "vm1", NULL, &error));
  assert_request (server, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"watch\",\"params\":{\"vm\":\"vm1\"}}");
  while (changes->len < 2)
    g_main_context_iteration (NULL, TRUE);
  c = g_ptr_array_index (changes, 0);
  ck_assert_str_eq (devaddr_change_get_vm (c), "vm1");
  ck_assert_int_eq (devaddr_change_get_event (c), DEVADDR_CHANGE_EVENT_RESERVED);
  ck_assert_int_eq (devaddr_change_get_state (c), DEVADDR_STATE_HELD);
  c = g_ptr_array_index (changes, 1);
  ck_assert (devaddr_change_get_vm (c) == NULL);
  ck_assert_int_eq (devaddr_change_get_event (c), DEVADDR_CHANGE_EVENT_EXPIRED);
  ck_assert_int_eq (devaddr_change_get_state (c), DEVADDR_STATE_RELEASED);
}
END_TEST

/* ------------------------------------------------------------------ */
/* no server needed */

START_TEST (test_libvirt_address)
{
  static const char *const cases[][3] = {
    { "pci", "0000:00:03.0", "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>" },
    { "pci", "0001:0a:1f.7", "<address type='pci' domain='0x0001' bus='0x0a' slot='0x1f' function='0x7'/>" },
    { "drive", "0:0:0:1", "<address type='drive' controller='0' bus='0' target='0' unit='1'/>" },
    { "drive-ide", "0:1:0:1", "<address type='drive' controller='0' bus='1' target='0' unit='1'/>" },
    { "drive-scsi", "2:0:3:0", "<address type='drive' controller='2' bus='0' target='3' unit='0'/>" },
    { "virtio-serial", "0:0:2", "<address type='virtio-serial' controller='0' bus='0' port='2'/>" },
    { "usb", "0:1", "<address type='usb' bus='0' port='1'/>" },
    { "usb", "1:1.2.3", "<address type='usb' bus='1' port='1.2.3'/>" },
    { "ccw", "fe.0.0001", "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>" },
    { "isa", "0x505", "<address type='isa' iobase='0x505'/>" },
  };
  static const char *const bad[][2] = {
    { "mac", "52:54:00:00:00:01" }, { "pci", "0000:00:20.0" }, { "pci", "zz" },  { "usb", "0:" },
    { "usb", "0:1..2" },            { "drive", "0:0:0" },      { "ccw", "ff.0.0001" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases) + G_N_ELEMENTS (bad); i++) {
    gboolean good = i < G_N_ELEMENTS (cases);
    const char *type = good ? cases[i][0] : bad[i - G_N_ELEMENTS (cases)][0];
    const char *address = good ? cases[i][1] : bad[i - G_N_ELEMENTS (cases)][1];
    g_autofree char *reply = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"alias\":\"a\",\"type\":\"%s\","
                                              "\"address\":\"%s\",\"count\":1,\"mode\":\"static\",\"state\":\"active\"}}",
                                              type, address);
    const Step steps[] = { { 1, reply }, END_OF_SCRIPT };
    g_autoptr (FakeServer) one = fake_server_new (steps);
    g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (one->path);
    g_autoptr (GError) error = NULL;
    g_autoptr (DevaddrReservation) res = devaddr_client_lookup (client, "vm1", "a", NULL, &error);
    g_autofree char *xml = NULL;

    assert_no_error (error);
    xml = devaddr_reservation_to_libvirt_address (res, &error);
    if (good) {
      assert_no_error (error);
      ck_assert_str_eq (xml, cases[i][2]);
    } else {
      ck_assert_msg (xml == NULL, "%s %s gave %s", type, address, xml);
      assert_error (error, DEVADDR_ERROR_INVALID_ADDRESS);
    }
  }
}
END_TEST

START_TEST (test_request_json)
{
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("mmio", "bar0");
  g_autoptr (JsonObject) obj = NULL;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  devaddr_reserve_request_set_count (request, G_GUINT64_CONSTANT (0x100000000));
  devaddr_reserve_request_set_align (request, G_MAXUINT64);
  devaddr_reserve_request_set_min (request, "0xfe000000");
  devaddr_reserve_request_set_max (request, "0xfeffffff");
  devaddr_reserve_request_set_policy (request, DEVADDR_POLICY_FIRST_FIT);
  devaddr_reserve_request_set_policy (request, DEVADDR_POLICY_DEFAULT);
  ck_assert_str_eq (devaddr_reserve_request_get_alias (request), "bar0");
  ck_assert_str_eq (devaddr_reserve_request_get_address_type (request), "mmio");
  obj = devaddr_reserve_request_to_json (request);
  json_node_set_object (node, obj);
  text = da_json_to_string (node);
  ck_assert_str_eq (text, "{\"type\":\"mmio\",\"alias\":\"bar0\",\"constraint\":{\"count\":4294967296,"
                          "\"align\":\"18446744073709551615\",\"min\":\"0xfe000000\",\"max\":\"0xfeffffff\"}}");
}
END_TEST

START_TEST (test_enums)
{
  ck_assert_str_eq (devaddr_state_to_string (DEVADDR_STATE_RELEASING), "releasing");
  ck_assert_int_eq (devaddr_state_from_string ("held"), DEVADDR_STATE_HELD);
  ck_assert_int_eq (devaddr_state_from_string ("nope"), DEVADDR_STATE_UNKNOWN);
  ck_assert (devaddr_state_to_string (DEVADDR_STATE_UNKNOWN) == NULL);
  ck_assert_str_eq (devaddr_mode_to_string (DEVADDR_MODE_STATIC), "static");
  ck_assert_int_eq (devaddr_mode_from_string ("dynamic"), DEVADDR_MODE_DYNAMIC);
  ck_assert_str_eq (devaddr_policy_to_string (DEVADDR_POLICY_RANDOM), "random");
  ck_assert_int_eq (devaddr_policy_from_string ("last-fit"), DEVADDR_POLICY_LAST_FIT);
  ck_assert (devaddr_release_phase_to_string (DEVADDR_RELEASE_NOW) == NULL);
  ck_assert_str_eq (devaddr_release_phase_to_string (DEVADDR_RELEASE_CONFIRM), "confirm");
  ck_assert_str_eq (devaddr_change_event_to_string (DEVADDR_CHANGE_EVENT_EXPIRED), "expired");
  ck_assert_int_eq (devaddr_change_event_from_string ("committed"), DEVADDR_CHANGE_EVENT_COMMITTED);
  ck_assert (G_TYPE_IS_ENUM (DEVADDR_TYPE_STATE));
  ck_assert (G_TYPE_IS_BOXED (DEVADDR_TYPE_RESERVATION));
  ck_assert (g_type_is_a (DEVADDR_TYPE_CLIENT, G_TYPE_OBJECT));
  ck_assert_str_eq (devaddr_version_string (), PACKAGE_VERSION);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("client-wire");
  TCase *tc = tcase_create ("wire");

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  signal (SIGPIPE, SIG_IGN);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_assign_domain);
  tcase_add_test (tc, test_import_domain);
  tcase_add_test (tc, test_attach_detach_device);
  tcase_add_test (tc, test_request_params);
  tcase_add_test (tc, test_error_reasons);
  tcase_add_test (tc, test_error_replies);
  tcase_add_test (tc, test_malformed_result);
  tcase_add_test (tc, test_reservation_fields);
  tcase_add_test (tc, test_garbage_reply);
  tcase_add_test (tc, test_unknown_id);
  tcase_add_test (tc, test_error_without_id);
  tcase_add_test (tc, test_closed_mid_call);
  tcase_add_test (tc, test_notifications);
  tcase_add_test (tc, test_libvirt_address);
  tcase_add_test (tc, test_request_json);
  tcase_add_test (tc, test_enums);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
