/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <gio/gio.h>
#include <string.h>

#include "protocol/da-frame.h"
#include "protocol/da-jsonrpc.h"
#include "tests/common/da-test-suite.h"

/*
 * tests/protocol/jsonrpc/NAME.txt hold exchanges in the notation of the
 * JSON-RPC 2.0 specification: "--> request" then "<-- response" (or
 * "<-- (nothing)"); lines without a prefix continue the one above, and
 * exchanges are run one frame each against the tiny dispatcher below.
 * In an expected error, "message" is a prefix of the actual message.
 */

static GPtrArray *exchange_files;

/* --- the dispatcher: the methods of the specification's examples --- */

static gboolean
int_params (JsonNode *params, gint64 *values, guint n, GError **error)
{
  JsonArray *array;

  if (params == NULL || !JSON_NODE_HOLDS_ARRAY (params) || json_array_get_length (json_node_get_array (params)) != n) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "params: expected two integers");
    return FALSE;
  }
  array = json_node_get_array (params);
  for (guint i = 0; i < n; i++) {
    JsonNode *item = json_array_get_element (array, i);

    if (json_node_get_value_type (item) != G_TYPE_INT64) {
      g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "params[%u]: expected an integer", i);
      return FALSE;
    }
    values[i] = json_node_get_int (item);
  }
  return TRUE;
}

static gboolean
named_int (JsonObject *object, const char *name, gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "params.%s: expected an integer", name);
    return FALSE;
  }
  *value = json_node_get_int (node);
  return TRUE;
}

static JsonNode *
dispatch (DaJsonrpcCall *call, JsonObject **extra_data, GError **error)
{
  const char *method = call->method;

  if (strcmp (method, "subtract") == 0) {
    gint64 v[2];

    if (call->params != NULL && JSON_NODE_HOLDS_OBJECT (call->params)) {
      JsonObject *named = json_node_get_object (call->params);

      if (!named_int (named, "minuend", &v[0], error) || !named_int (named, "subtrahend", &v[1], error))
        return NULL;
    } else if (!int_params (call->params, v, 2, error)) {
      return NULL;
    }
    return json_node_init_int (json_node_alloc (), v[0] - v[1]);
  }
  if (strcmp (method, "sum") == 0 || strcmp (method, "notify_sum") == 0) {
    JsonArray *array;
    gint64 sum = 0;

    if (call->params == NULL || !JSON_NODE_HOLDS_ARRAY (call->params)) {
      g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "params: expected an array");
      return NULL;
    }
    array = json_node_get_array (call->params);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      JsonNode *item = json_array_get_element (array, i);

      if (json_node_get_value_type (item) != G_TYPE_INT64) {
        g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "params[%u]: expected an integer", i);
        return NULL;
      }
      sum += json_node_get_int (item);
    }
    return json_node_init_int (json_node_alloc (), sum);
  }
  if (strcmp (method, "update") == 0 || strcmp (method, "notify_hello") == 0)
    return json_node_new (JSON_NODE_NULL);
  if (strcmp (method, "get_data") == 0) {
    JsonArray *array = json_array_new ();
    JsonNode *node = json_node_new (JSON_NODE_ARRAY);

    json_array_add_string_element (array, "hello");
    json_array_add_int_element (array, 5);
    json_node_take_array (node, array);
    return node;
  }
  if (strcmp (method, "echo") == 0)
    return call->params != NULL ? json_node_copy (call->params) : NULL;
  if (strcmp (method, "fail_conflict") == 0) {
    *extra_data = json_object_new ();
    json_object_set_string_member (*extra_data, "holder", "net0");
    /* a handler's extra data never replaces the reason */
    json_object_set_string_member (*extra_data, "reason", "ignored");
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_CONFLICT, "address 0000:00:03.0 is held by net0");
    return NULL;
  }
  if (strcmp (method, "fail_exhausted") == 0) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_EXHAUSTED, "no free slot");
    return NULL;
  }
  if (strcmp (method, "fail_foreign") == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk on fire");
    return NULL;
  }
  g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_METHOD_NOT_FOUND, "Method not found: %s", method);
  return NULL;
}

/* the whole server side of one frame; NULL when nothing is sent */
static char *
serve_frame (const char *frame, gsize len)
{
  g_autoptr (DaJsonrpcBatch) batch = da_jsonrpc_batch_new_from_frame (frame, len, NULL);
  GString *reply;
  guint n = da_jsonrpc_batch_get_n_calls (batch);

  /* dispatch in reverse: the reply must still follow request order */
  for (guint i = n; i-- > 0;) {
    DaJsonrpcCall *call = da_jsonrpc_batch_get_call (batch, i);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) extra_data = NULL;
    JsonNode *result;

    if (call->error != NULL)
      continue;
    result = dispatch (call, &extra_data, &error);
    if (error != NULL)
      da_jsonrpc_batch_return_error (batch, i, error, extra_data);
    else
      da_jsonrpc_batch_return_result (batch, i, result);
  }
  ck_assert_uint_eq (da_jsonrpc_batch_get_n_pending (batch), 0);
  reply = da_jsonrpc_batch_build_reply (batch);
  return reply != NULL ? g_string_free (reply, FALSE) : NULL;
}

/* --- comparing against the expected response --- */

static gboolean
matches (JsonNode *expected, JsonNode *actual, const char *member)
{
  if (expected == NULL || actual == NULL)
    return expected == actual;
  if (member != NULL && strcmp (member, "message") == 0 && json_node_get_value_type (expected) == G_TYPE_STRING)
    return json_node_get_value_type (actual) == G_TYPE_STRING &&
           g_str_has_prefix (json_node_get_string (actual), json_node_get_string (expected));
  if (JSON_NODE_HOLDS_OBJECT (expected) && JSON_NODE_HOLDS_OBJECT (actual)) {
    JsonObject *e = json_node_get_object (expected);
    JsonObject *a = json_node_get_object (actual);
    JsonObjectIter iter;
    const char *name;
    JsonNode *node;

    if (json_object_get_size (e) != json_object_get_size (a))
      return FALSE;
    json_object_iter_init (&iter, e);
    while (json_object_iter_next (&iter, &name, &node)) {
      if (!matches (node, json_object_get_member (a, name), name))
        return FALSE;
    }
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (expected) && JSON_NODE_HOLDS_ARRAY (actual)) {
    JsonArray *e = json_node_get_array (expected);
    JsonArray *a = json_node_get_array (actual);

    if (json_array_get_length (e) != json_array_get_length (a))
      return FALSE;
    for (guint i = 0; i < json_array_get_length (e); i++) {
      if (!matches (json_array_get_element (e, i), json_array_get_element (a, i), NULL))
        return FALSE;
    }
    return TRUE;
  }
  return da_json_equal (expected, actual);
}

typedef struct {
  GString *request;
  GString *response;
  guint line;
} Exchange;

static void
exchange_free (gpointer data)
{
  Exchange *exchange = data;

  g_string_free (exchange->request, TRUE);
  if (exchange->response != NULL)
    g_string_free (exchange->response, TRUE);
  g_free (exchange);
}

static GPtrArray *
read_exchanges (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *exchanges = g_ptr_array_new_with_free_func (exchange_free);
  GString *current = NULL;

  ck_assert_msg (g_file_get_contents (path, &data, NULL, &error), "%s: %s", path, error ? error->message : "");
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];

    if (line[0] == '#')
      continue;
    if (g_str_has_prefix (line, "-->")) {
      Exchange *exchange = g_new0 (Exchange, 1);

      exchange->request = g_string_new (line[3] == ' ' ? line + 4 : line + 3);
      exchange->line = i + 1;
      g_ptr_array_add (exchanges, exchange);
      current = exchange->request;
    } else if (g_str_has_prefix (line, "<--")) {
      Exchange *exchange;

      ck_assert_msg (exchanges->len > 0, "%s:%u: response without request", path, i + 1);
      exchange = g_ptr_array_index (exchanges, exchanges->len - 1);
      ck_assert_msg (exchange->response == NULL, "%s:%u: two responses", path, i + 1);
      g_autofree char *text = g_strstrip (g_strdup (line + 3));

      exchange->response = g_string_new (text);
      current = exchange->response;
    } else if (*g_strstrip (lines[i]) == '\0') {
      current = NULL;
    } else {
      ck_assert_msg (current != NULL, "%s:%u: stray line", path, i + 1);
      /* the frame is one line: continuation lines join with a space */
      g_string_append_c (current, ' ');
      g_string_append (current, lines[i]);
    }
  }
  return exchanges;
}

START_TEST (test_exchanges)
{
  const char *path = g_ptr_array_index (exchange_files, _i);
  g_autoptr (GPtrArray) exchanges = read_exchanges (path);

  ck_assert_msg (exchanges->len > 0, "%s: no exchanges", path);
  for (guint i = 0; i < exchanges->len; i++) {
    Exchange *exchange = g_ptr_array_index (exchanges, i);
    g_autofree char *actual = NULL;
    g_autoptr (JsonNode) expected = NULL;
    g_autoptr (JsonNode) actual_tree = NULL;
    g_autoptr (GError) error = NULL;

    ck_assert_msg (exchange->response != NULL, "%s:%u: request without response", path, exchange->line);
    actual = serve_frame (exchange->request->str, exchange->request->len);
    if (strcmp (exchange->response->str, "(nothing)") == 0) {
      ck_assert_msg (actual == NULL, "%s:%u: expected no reply, got %s", path, exchange->line, actual);
      continue;
    }
    ck_assert_msg (actual != NULL, "%s:%u: no reply", path, exchange->line);
    ck_assert_msg (strchr (actual, '\n') == NULL, "%s:%u: reply is not one line", path, exchange->line);
    expected = da_json_parse (exchange->response->str, exchange->response->len, NULL, NULL, &error);
    ck_assert_msg (expected != NULL, "%s:%u: expected response does not parse: %s", path, exchange->line,
                   error->message);
    actual_tree = da_json_parse (actual, strlen (actual), NULL, NULL, &error);
    ck_assert_msg (actual_tree != NULL, "%s:%u: reply does not parse: %s", path, exchange->line,
                   error ? error->message : "");
    ck_assert_msg (matches (expected, actual_tree, NULL), "%s:%u: reply\n  %s\nexpected\n  %s", path, exchange->line,
                   actual, exchange->response->str);
  }
}
END_TEST

START_TEST (test_exchanges_complete)
{
  /* the twelve examples of the specification and the extensions */
  ck_assert_uint_ge (exchange_files->len, 18);
}
END_TEST

/* --- the API --- */

static JsonNode *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = da_json_parse (text, strlen (text), NULL, NULL, &error);

  ck_assert_msg (node != NULL, "%s: %s", text, error ? error->message : "");
  return node;
}

START_TEST (test_call_fields)
{
  g_autoptr (JsonNode) request = parse ("{\"jsonrpc\":\"2.0\",\"method\":\"vm.get\",\"params\":{\"vm\":\"a\"},\"id\":null}");
  g_autoptr (DaJsonrpcCall) call = NULL;
  g_autoptr (JsonNode) notification = da_jsonrpc_notification_new ("addr.changed", NULL);
  g_autoptr (DaJsonrpcCall) call2 = NULL;

  ck_assert (request != NULL);
  call = da_jsonrpc_call_new_from_node (request);
  ck_assert (call->error == NULL);
  ck_assert_str_eq (call->method, "vm.get");
  ck_assert (JSON_NODE_HOLDS_OBJECT (call->params));
  ck_assert (call->id != NULL && JSON_NODE_HOLDS_NULL (call->id));
  ck_assert (!call->is_notification);

  call2 = da_jsonrpc_call_new_from_node (notification);
  ck_assert (call2->error == NULL);
  ck_assert (call2->is_notification);
  ck_assert (call2->id == NULL);
  ck_assert (call2->params == NULL);
}
END_TEST

START_TEST (test_batch_shape)
{
  const char *request = "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1}";
  g_autoptr (DaJsonrpcBatch) single = da_jsonrpc_batch_new_from_frame (request, strlen (request), NULL);
  g_autoptr (DaJsonrpcBatch) array = da_jsonrpc_batch_new_from_frame ("[1,{}]", 6, NULL);
  g_autoptr (DaJsonrpcBatch) empty = da_jsonrpc_batch_new_from_frame ("[]", 2, NULL);
  g_autoptr (DaJsonrpcBatch) broken = da_jsonrpc_batch_new_from_frame ("[", 1, NULL);

  ck_assert (!da_jsonrpc_batch_is_array (single));
  ck_assert_uint_eq (da_jsonrpc_batch_get_n_pending (single), 1);
  ck_assert (da_jsonrpc_batch_is_array (array));
  ck_assert_uint_eq (da_jsonrpc_batch_get_n_calls (array), 2);
  ck_assert_uint_eq (da_jsonrpc_batch_get_n_pending (array), 0);
  ck_assert (g_error_matches (da_jsonrpc_batch_get_call (array, 0)->error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_REQUEST));
  ck_assert (!da_jsonrpc_batch_is_array (empty));
  ck_assert (g_error_matches (da_jsonrpc_batch_get_call (empty, 0)->error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_REQUEST));
  ck_assert (g_error_matches (da_jsonrpc_batch_get_call (broken, 0)->error, DA_RPC_ERROR, DA_RPC_ERROR_PARSE));
}
END_TEST

START_TEST (test_node_limit_is_limit_error)
{
  DaJsonLimits limits = { 64, 4 };
  g_autoptr (DaJsonrpcBatch) batch = da_jsonrpc_batch_new_from_frame ("[1,2,3,4,5]", 11, &limits);
  g_autoptr (GString) reply = NULL;

  ck_assert (g_error_matches (da_jsonrpc_batch_get_call (batch, 0)->error, DA_RPC_ERROR, DA_RPC_ERROR_LIMIT));
  reply = da_jsonrpc_batch_build_reply (batch);
  ck_assert_str_eq (reply->str, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1007,"
                          "\"message\":\"Limit exceeded: more than 4 values at byte 7\",\"data\":{\"reason\":\"limit\"}}}");
}
END_TEST

/* a result handed over as text gives the response a tree would, and the
 * batch knows what its answers will take on the wire */
START_TEST (test_result_as_text)
{
  const char *frame = "[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1},"
                      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"x\"},"
                      "{\"jsonrpc\":\"2.0\",\"method\":\"a\"},"
                      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":null},5]";
  g_autoptr (DaJsonrpcBatch) batch = da_jsonrpc_batch_new_from_frame (frame, strlen (frame), NULL);
  const char *json = "{\"b\":[1,2.5,\"\\u00e9\"]}";
  g_autoptr (JsonNode) result = da_json_parse (json, strlen (json), NULL, NULL, NULL);
  g_autofree char *text = da_json_to_string (result);
  g_autoptr (GString) reply = NULL;
  gsize invalid = da_jsonrpc_batch_get_reply_bytes (batch);

  ck_assert_uint_gt (invalid, 0);
  da_jsonrpc_batch_return_result (batch, 0, json_node_ref (result));
  da_jsonrpc_batch_return_result_json (batch, 1, text);
  da_jsonrpc_batch_return_result_json (batch, 2, text);
  da_jsonrpc_batch_return_result_json (batch, 3, NULL);
  ck_assert_uint_eq (da_jsonrpc_batch_get_n_pending (batch), 0);
  reply = da_jsonrpc_batch_build_reply (batch);
  ck_assert_str_eq (reply->str, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"b\":[1,2.5,\"\u00e9\"]}},"
                                "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"b\":[1,2.5,\"\u00e9\"]}},"
                                "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null},"
                                "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                                "\"message\":\"Invalid Request: a request must be an object\"}}]");
}
END_TEST

START_TEST (test_frames_to_replies)
{
  /* the daemon's loop in small: frames in, one reply line per answered frame */
  const char *stream = "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2],\"id\":1}\r\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"update\"}\n"
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                       "\n"
                       "[{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[3],\"id\":\"b\"}]\n";
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (80);
  g_autoptr (GString) out = g_string_new (NULL);
  DaFrameStatus status;
  const char *frame;
  gsize len;

  for (const char *p = stream; *p != '\0'; p++) {
    da_frame_reader_feed (reader, p, 1);
    while ((status = da_frame_reader_next (reader, &frame, &len)) != DA_FRAME_NONE) {
      g_autofree char *reply = NULL;

      if (status == DA_FRAME_TOO_LARGE) {
        g_autoptr (JsonNode) node = da_jsonrpc_frame_too_large_response_new (da_frame_reader_get_max_frame (reader));

        reply = da_json_to_string (node);
      } else {
        reply = serve_frame (frame, len);
      }
      if (reply != NULL)
        g_string_append_printf (out, "%s\n", reply);
    }
  }
  ck_assert_str_eq (out->str,
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":3}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1007,\"message\":\"Limit exceeded: a frame is "
                    "larger than 80 bytes\",\"data\":{\"reason\":\"limit\"}}}\n"
                    "[{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"result\":3}]\n");
}
END_TEST

START_TEST (test_request_builder)
{
  g_autoptr (JsonNode) id = json_node_init_int (json_node_alloc (), 7);
  g_autoptr (JsonNode) params = da_json_parse ("{\"vm\":\"vm1\"}", 12, NULL, NULL, NULL);
  g_autoptr (JsonNode) request = da_jsonrpc_request_new ("vm.get", g_steal_pointer (&params), id);
  g_autofree char *text = da_json_to_string (request);

  ck_assert_str_eq (text, "{\"jsonrpc\":\"2.0\",\"method\":\"vm.get\",\"params\":{\"vm\":\"vm1\"},\"id\":7}");
}
END_TEST

START_TEST (test_response_parse)
{
  g_autoptr (JsonNode) ok = parse ("{\"jsonrpc\":\"2.0\",\"result\":{\"a\":1},\"id\":\"x\"}");
  g_autoptr (JsonNode) failed = parse ("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1002,\"message\":\"taken\","
                                       "\"data\":{\"reason\":\"conflict\",\"holder\":\"net0\"}},\"id\":3}");
  g_autoptr (JsonNode) both = parse ("{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":{},\"id\":3}");
  g_autoptr (JsonNode) no_id = parse ("{\"jsonrpc\":\"2.0\",\"result\":1}");
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert (da_jsonrpc_response_parse (ok, &id, &result, &error));
  ck_assert_str_eq (json_node_get_string (id), "x");
  ck_assert (JSON_NODE_HOLDS_OBJECT (result));
  g_clear_pointer (&id, json_node_unref);

  ck_assert (!da_jsonrpc_response_parse (failed, &id, NULL, &error));
  ck_assert (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_CONFLICT));
  ck_assert_str_eq (error->message, "taken");
  ck_assert_int_eq (json_node_get_int (id), 3);
  g_clear_error (&error);
  g_clear_pointer (&id, json_node_unref);

  ck_assert (!da_jsonrpc_response_parse (both, &id, NULL, &error));
  ck_assert (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL));
  ck_assert (id == NULL);
  g_clear_error (&error);
  ck_assert (!da_jsonrpc_response_parse (no_id, &id, NULL, &error));
  ck_assert (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL));
}
END_TEST

START_TEST (test_reserved_names)
{
  ck_assert (da_jsonrpc_method_is_reserved ("rpc.discover"));
  ck_assert (da_jsonrpc_method_is_reserved ("rpc."));
  ck_assert (!da_jsonrpc_method_is_reserved ("rpc"));
  ck_assert (!da_jsonrpc_method_is_reserved ("vm.rpc.x"));
  ck_assert (!da_jsonrpc_method_is_reserved (NULL));
}
END_TEST

/* --- the error domain --- */

START_TEST (test_error_codes)
{
  static const struct {
    DaRpcError code;
    gint wire;
    const char *reason;
  } table[] = {
    { DA_RPC_ERROR_PARSE, -32700, NULL },
    { DA_RPC_ERROR_INVALID_REQUEST, -32600, NULL },
    { DA_RPC_ERROR_METHOD_NOT_FOUND, -32601, NULL },
    { DA_RPC_ERROR_INVALID_PARAMS, -32602, NULL },
    { DA_RPC_ERROR_INTERNAL, -32603, NULL },
    { DA_RPC_ERROR_NOT_FOUND, 1001, "not-found" },
    { DA_RPC_ERROR_CONFLICT, 1002, "conflict" },
    { DA_RPC_ERROR_EXHAUSTED, 1003, "exhausted" },
    { DA_RPC_ERROR_INVALID_ADDRESS, 1004, "invalid-address" },
    { DA_RPC_ERROR_PERMISSION_DENIED, 1005, "permission-denied" },
    { DA_RPC_ERROR_READ_ONLY, 1006, "read-only" },
    { DA_RPC_ERROR_LIMIT, 1007, "limit" },
    { DA_RPC_ERROR_UNAVAILABLE, 1008, "unavailable" },
  };
  DaRpcError code;

  ck_assert_uint_eq (G_N_ELEMENTS (table), DA_RPC_ERROR_LAST + 1);
  for (guint i = 0; i < G_N_ELEMENTS (table); i++) {
    ck_assert_int_eq (da_rpc_error_to_wire_code (table[i].code), table[i].wire);
    ck_assert (da_rpc_error_from_wire_code (table[i].wire, &code));
    ck_assert_int_eq (code, table[i].code);
    ck_assert_str_eq (da_rpc_error_to_reason (table[i].code) ?: "(none)", table[i].reason ?: "(none)");
    ck_assert (da_rpc_error_is_application (table[i].code) == (table[i].reason != NULL));
    if (table[i].reason != NULL) {
      ck_assert (da_rpc_error_from_reason (table[i].reason, &code));
      ck_assert_int_eq (code, table[i].code);
    }
  }
  ck_assert (!da_rpc_error_from_wire_code (1009, &code));
  ck_assert (!da_rpc_error_from_wire_code (-32000, &code));
  ck_assert (!da_rpc_error_from_reason ("busy", &code));
  ck_assert (!da_rpc_error_from_reason (NULL, &code));
  ck_assert_int_eq (da_rpc_error_to_wire_code ((DaRpcError) 99), -32603);
  ck_assert (da_rpc_error_to_reason ((DaRpcError) -1) == NULL);
}
END_TEST

START_TEST (test_error_json_round_trip)
{
  for (gint code = 0; code <= DA_RPC_ERROR_LAST; code++) {
    g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, code, "message %d", code);
    g_autoptr (JsonObject) object = da_rpc_error_to_json (error, NULL);
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    g_autoptr (GError) back = NULL;

    json_node_set_object (node, object);
    back = da_rpc_error_from_json (node);
    ck_assert (g_error_matches (back, DA_RPC_ERROR, code));
    ck_assert_str_eq (back->message, error->message);
    ck_assert (json_object_has_member (object, "data") == da_rpc_error_is_application (code));
  }
}
END_TEST

START_TEST (test_error_from_json_edge_cases)
{
  static const struct {
    const char *json;
    DaRpcError code;
    const char *message;
  } cases[] = {
    /* the reason decides over the code */
    { "{\"code\":1001,\"message\":\"m\",\"data\":{\"reason\":\"limit\"}}", DA_RPC_ERROR_LIMIT, "m" },
    { "{\"code\":-32601,\"message\":\"no\"}", DA_RPC_ERROR_METHOD_NOT_FOUND, "no" },
    { "{\"code\":1003,\"message\":\"m\",\"data\":{\"reason\":\"future-reason\"}}", DA_RPC_ERROR_EXHAUSTED, "m" },
    { "{\"code\":-32000,\"message\":\"server\"}", DA_RPC_ERROR_INTERNAL, "server (error code -32000)" },
    { "{\"code\":1.5,\"message\":\"m\"}", DA_RPC_ERROR_INTERNAL, "malformed error in response: no integer code" },
    { "{\"code\":1001}", DA_RPC_ERROR_INTERNAL, "malformed error in response: no message" },
    { "\"error\"", DA_RPC_ERROR_INTERNAL, "malformed error in response: not an object" },
    { "{\"code\":99999999999,\"message\":\"m\"}", DA_RPC_ERROR_INTERNAL, "m (error code 99999999999)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (JsonNode) node = parse (cases[i].json);
    g_autoptr (GError) error = da_rpc_error_from_json (node);

    ck_assert_msg (g_error_matches (error, DA_RPC_ERROR, cases[i].code), "%s: %s", cases[i].json, error->message);
    ck_assert_str_eq (error->message, cases[i].message);
  }
}
END_TEST

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (void)
{
  Suite *s = suite_create ("jsonrpc");
  TCase *corpus = tcase_create ("exchanges");
  TCase *api = tcase_create ("api");
  TCase *errors = tcase_create ("errors");
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *dir_path = g_build_filename (srcdir != NULL ? srcdir : ".", "tests", "protocol", "jsonrpc", NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  int status;

  /* a critical from GLib or json-glib is a bug, even when the test would pass */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  exchange_files = g_ptr_array_new_with_free_func (g_free);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    if (g_str_has_suffix (name, ".txt"))
      g_ptr_array_add (exchange_files, g_build_filename (dir_path, name, NULL));
  }
  g_ptr_array_sort (exchange_files, compare_paths);

  tcase_add_test (corpus, test_exchanges_complete);
  tcase_add_loop_test (corpus, test_exchanges, 0, (int) exchange_files->len);
  suite_add_tcase (s, corpus);

  tcase_add_test (api, test_call_fields);
  tcase_add_test (api, test_batch_shape);
  tcase_add_test (api, test_node_limit_is_limit_error);
  tcase_add_test (api, test_result_as_text);
  tcase_add_test (api, test_frames_to_replies);
  tcase_add_test (api, test_request_builder);
  tcase_add_test (api, test_response_parse);
  tcase_add_test (api, test_reserved_names);
  suite_add_tcase (s, api);

  tcase_add_test (errors, test_error_codes);
  tcase_add_test (errors, test_error_json_round_trip);
  tcase_add_test (errors, test_error_from_json_edge_cases);
  suite_add_tcase (s, errors);

  status = da_test_run_suite (s);
  g_ptr_array_unref (exchange_files);
  return status;
}
