/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-jsonrpc.h"

struct _DaJsonrpcBatch {
  gboolean is_array;   /* the reply is an array (a non-empty batch) */
  GPtrArray *calls;    /* DaJsonrpcCall */
  GPtrArray *replies;  /* GString or NULL, one per call: the response as sent */
  GArray *answered;    /* gboolean, one per call */
  guint n_pending;
  gsize reply_bytes;   /* of the responses in replies */
};

static DaJsonrpcCall *
call_new_invalid (GError *error)
{
  DaJsonrpcCall *call = g_new0 (DaJsonrpcCall, 1);

  call->error = error;
  return call;
}

static DaJsonrpcCall *
call_new_invalid_request (const char *detail)
{
  return call_new_invalid (g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_INVALID_REQUEST, "Invalid Request: %s", detail));
}

void
da_jsonrpc_call_free (DaJsonrpcCall *call)
{
  if (call == NULL)
    return;
  g_free (call->method);
  g_clear_pointer (&call->params, json_node_unref);
  g_clear_pointer (&call->id, json_node_unref);
  g_clear_error (&call->error);
  g_free (call);
}

static gboolean
id_is_valid (JsonNode *id)
{
  GType type;

  if (JSON_NODE_HOLDS_NULL (id))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (id))
    return FALSE;
  type = json_node_get_value_type (id);
  return type == G_TYPE_STRING || type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/**
 * da_jsonrpc_call_new_from_node:
 * @request: one request: the whole frame, or one entry of a batch
 *
 * Checks @request against the Request object of JSON-RPC 2.0: an object
 * with "jsonrpc": "2.0", a string "method", "params" absent or structured,
 * "id" absent (a notification), a string, a number or null, and nothing
 * else.  Anything less is an invalid entry with a -32600 error, answered
 * with id null even when it has no id.
 *
 * Returns: (transfer full): the call; never %NULL
 */
DaJsonrpcCall *
da_jsonrpc_call_new_from_node (JsonNode *request)
{
  g_autoptr (DaJsonrpcCall) call = NULL;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  JsonNode *version;
  JsonNode *method;
  JsonNode *params;
  JsonNode *id;

  if (request == NULL || !JSON_NODE_HOLDS_OBJECT (request))
    return call_new_invalid_request ("a request must be an object");
  object = json_node_get_object (request);

  version = json_object_get_member (object, "jsonrpc");
  if (version == NULL)
    return call_new_invalid_request ("the \"jsonrpc\" member is missing");
  if (json_node_get_value_type (version) != G_TYPE_STRING || strcmp (json_node_get_string (version), "2.0") != 0)
    return call_new_invalid_request ("\"jsonrpc\" must be \"2.0\"");

  method = json_object_get_member (object, "method");
  if (method == NULL)
    return call_new_invalid_request ("the \"method\" member is missing");
  if (json_node_get_value_type (method) != G_TYPE_STRING)
    return call_new_invalid_request ("\"method\" must be a string");

  params = json_object_get_member (object, "params");
  if (params != NULL && !JSON_NODE_HOLDS_OBJECT (params) && !JSON_NODE_HOLDS_ARRAY (params))
    return call_new_invalid_request ("\"params\" must be an object or an array");

  id = json_object_get_member (object, "id");
  if (id != NULL && !id_is_valid (id))
    return call_new_invalid_request ("\"id\" must be a string, a number or null");

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member)) {
    if (strcmp (name, "jsonrpc") != 0 && strcmp (name, "method") != 0 && strcmp (name, "params") != 0 &&
        strcmp (name, "id") != 0) {
      g_autoptr (GString) detail = g_string_new ("unknown member ");

      da_json_append_excerpt (detail, name, 64);
      return call_new_invalid_request (detail->str);
    }
  }

  call = g_new0 (DaJsonrpcCall, 1);
  call->method = g_strdup (json_node_get_string (method));
  call->params = params != NULL ? json_node_ref (params) : NULL;
  call->id = id != NULL ? json_node_ref (id) : NULL;
  call->is_notification = id == NULL;
  return g_steal_pointer (&call);
}

static void
reply_free (gpointer reply)
{
  /* slots stay NULL for notifications and after build_reply() took them */
  if (reply != NULL)
    g_string_free (reply, TRUE);
}

/* a response is kept as the text that will be sent: a tree takes many
 * times the memory of its text, and answers wait here until the whole
 * batch is answered */
static void
batch_set_reply (DaJsonrpcBatch *batch, guint index, GString *text)
{
  batch->reply_bytes += text->len;
  g_ptr_array_index (batch->replies, index) = text;
}

static void
batch_set_reply_node (DaJsonrpcBatch *batch, guint index, JsonNode *response)
{
  GString *text = g_string_new (NULL);

  da_json_append (text, response);
  json_node_unref (response);
  batch_set_reply (batch, index, text);
}

static DaJsonrpcBatch *
batch_new (gboolean is_array)
{
  DaJsonrpcBatch *batch = g_new0 (DaJsonrpcBatch, 1);

  batch->is_array = is_array;
  batch->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) da_jsonrpc_call_free);
  batch->replies = g_ptr_array_new_with_free_func (reply_free);
  batch->answered = g_array_new (FALSE, TRUE, sizeof (gboolean));
  return batch;
}

/* add a call; an invalid one is answered at once */
static void
batch_add (DaJsonrpcBatch *batch, DaJsonrpcCall *call)
{
  gboolean answered = call->error != NULL;

  g_ptr_array_add (batch->calls, call);
  g_ptr_array_add (batch->replies, NULL);
  g_array_append_val (batch->answered, answered);
  if (answered)
    batch_set_reply_node (batch, batch->calls->len - 1, da_jsonrpc_error_response_new (NULL, call->error, NULL));
  else
    batch->n_pending++;
}

/**
 * da_jsonrpc_batch_new_from_node:
 * @root: a parsed frame
 *
 * Classifies a frame: an object is one call; a non-empty array is a
 * batch of one call per entry; an empty array or a scalar is one invalid
 * call (-32600).
 *
 * Returns: (transfer full): the batch
 */
DaJsonrpcBatch *
da_jsonrpc_batch_new_from_node (JsonNode *root)
{
  DaJsonrpcBatch *batch;
  JsonArray *array;
  guint n;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root)) {
    batch = batch_new (FALSE);
    batch_add (batch, da_jsonrpc_call_new_from_node (root));
    return batch;
  }
  array = json_node_get_array (root);
  n = json_array_get_length (array);
  if (n == 0) {
    batch = batch_new (FALSE);
    batch_add (batch, call_new_invalid_request ("a batch must not be empty"));
    return batch;
  }
  batch = batch_new (TRUE);
  for (guint i = 0; i < n; i++)
    batch_add (batch, da_jsonrpc_call_new_from_node (json_array_get_element (array, i)));
  return batch;
}

/**
 * da_jsonrpc_batch_new_from_frame:
 * @frame: one frame as received
 * @len: its length
 * @limits: (nullable): parser limits, %NULL for %DA_JSON_LIMITS_DEFAULT
 *
 * Parses and classifies a frame.  A frame that is not JSON is one invalid
 * call with a -32700 error; one that is too deep or too big is one invalid
 * call with a limit error.  Both are answered with id null.
 *
 * Safe on any input: a fuzzing entry point.
 *
 * Returns: (transfer full): the batch; never %NULL
 */
DaJsonrpcBatch *
da_jsonrpc_batch_new_from_frame (const char *frame, gsize len, const DaJsonLimits *limits)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (JsonNode) root = da_json_parse (frame, len, limits, NULL, &parse_error);
  DaJsonrpcBatch *batch;

  if (root != NULL)
    return da_jsonrpc_batch_new_from_node (root);

  batch = batch_new (FALSE);
  if (g_error_matches (parse_error, DA_JSON_ERROR, DA_JSON_ERROR_DEPTH) ||
      g_error_matches (parse_error, DA_JSON_ERROR, DA_JSON_ERROR_TOO_MANY_NODES))
    batch_add (batch, call_new_invalid (g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                                                     "Limit exceeded: %s", parse_error->message)));
  else
    batch_add (batch, call_new_invalid (g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_PARSE,
                                                     "Parse error: %s", parse_error->message)));
  return batch;
}

void
da_jsonrpc_batch_free (DaJsonrpcBatch *batch)
{
  if (batch == NULL)
    return;
  g_ptr_array_unref (batch->calls);
  g_ptr_array_unref (batch->replies);
  g_array_unref (batch->answered);
  g_free (batch);
}

/**
 * da_jsonrpc_batch_is_array:
 * @batch: a batch
 *
 * Returns: %TRUE if the frame was a non-empty array, so the reply is one
 */
gboolean
da_jsonrpc_batch_is_array (DaJsonrpcBatch *batch)
{
  return batch->is_array;
}

guint
da_jsonrpc_batch_get_n_calls (DaJsonrpcBatch *batch)
{
  return batch->calls->len;
}

/**
 * da_jsonrpc_batch_get_call:
 * @batch: a batch
 * @index: which call, in frame order
 *
 * Returns: (transfer none): the call; skip it if its error is set, it is
 *   already answered
 */
DaJsonrpcCall *
da_jsonrpc_batch_get_call (DaJsonrpcBatch *batch, guint index)
{
  g_return_val_if_fail (index < batch->calls->len, NULL);
  return g_ptr_array_index (batch->calls, index);
}

/**
 * da_jsonrpc_batch_get_n_pending:
 * @batch: a batch
 *
 * Returns: how many valid calls still wait for their outcome; the reply
 *   can be built when this is 0
 */
guint
da_jsonrpc_batch_get_n_pending (DaJsonrpcBatch *batch)
{
  return batch->n_pending;
}

static gboolean
batch_answer (DaJsonrpcBatch *batch, guint index)
{
  gboolean *answered;

  g_return_val_if_fail (index < batch->calls->len, FALSE);
  answered = &g_array_index (batch->answered, gboolean, index);
  g_return_val_if_fail (!*answered, FALSE);
  *answered = TRUE;
  batch->n_pending--;
  return TRUE;
}

/**
 * da_jsonrpc_batch_return_result:
 * @batch: a batch
 * @index: the call
 * @result: (transfer full) (nullable): its result; %NULL means null
 *
 * Records the outcome of a valid call; for a notification it is dropped.
 */
void
da_jsonrpc_batch_return_result (DaJsonrpcBatch *batch, guint index, JsonNode *result)
{
  DaJsonrpcCall *call;

  if (!batch_answer (batch, index)) {
    g_clear_pointer (&result, json_node_unref);
    return;
  }
  call = g_ptr_array_index (batch->calls, index);
  if (call->is_notification) {
    g_clear_pointer (&result, json_node_unref);
    return;
  }
  batch_set_reply_node (batch, index, da_jsonrpc_result_response_new (call->id, result));
}

/**
 * da_jsonrpc_batch_return_result_json:
 * @batch: a batch
 * @index: the call
 * @json: (nullable): its result as compact JSON text, as da_json_append()
 *   writes it; %NULL means null
 *
 * As da_jsonrpc_batch_return_result(), for a result already written out:
 * the response is the same text.
 */
void
da_jsonrpc_batch_return_result_json (DaJsonrpcBatch *batch, guint index, const char *json)
{
  DaJsonrpcCall *call;
  GString *text;

  if (!batch_answer (batch, index))
    return;
  call = g_ptr_array_index (batch->calls, index);
  if (call->is_notification)
    return;
  /* the members in the order da_jsonrpc_result_response_new() sets them */
  text = g_string_new ("{\"jsonrpc\":\"2.0\",\"id\":");
  da_json_append (text, call->id);
  g_string_append (text, ",\"result\":");
  g_string_append (text, json != NULL ? json : "null");
  g_string_append_c (text, '}');
  batch_set_reply (batch, index, text);
}

/**
 * da_jsonrpc_batch_return_error:
 * @batch: a batch
 * @index: the call
 * @error: why it failed
 * @extra_data: (nullable): more members for error.data
 *
 * Records the failure of a valid call; for a notification it is dropped.
 */
void
da_jsonrpc_batch_return_error (DaJsonrpcBatch *batch, guint index, const GError *error, JsonObject *extra_data)
{
  DaJsonrpcCall *call;

  if (!batch_answer (batch, index))
    return;
  call = g_ptr_array_index (batch->calls, index);
  if (call->is_notification)
    return;
  batch_set_reply_node (batch, index, da_jsonrpc_error_response_new (call->id, error, extra_data));
}

/**
 * da_jsonrpc_batch_get_reply_bytes:
 * @batch: a batch
 *
 * Returns: the size of the responses recorded so far, as they will be sent
 */
gsize
da_jsonrpc_batch_get_reply_bytes (DaJsonrpcBatch *batch)
{
  return batch->reply_bytes;
}

/**
 * da_jsonrpc_batch_build_reply:
 * @batch: a batch whose calls all have their outcome
 *
 * Builds what goes back on the wire, as compact JSON text without the
 * newline: one response object, an array of responses in request order,
 * or %NULL when nothing must be sent (a notification, or a batch of
 * notifications only).  The responses move into the reply, so build it
 * once.
 *
 * Returns: (transfer full) (nullable): the reply
 */
GString *
da_jsonrpc_batch_build_reply (DaJsonrpcBatch *batch)
{
  GString *text = NULL;

  g_return_val_if_fail (batch->n_pending == 0, NULL);

  batch->reply_bytes = 0;
  if (!batch->is_array)
    return g_steal_pointer (&g_ptr_array_index (batch->replies, 0));
  for (guint i = 0; i < batch->replies->len; i++) {
    g_autoptr (GString) reply = g_steal_pointer (&g_ptr_array_index (batch->replies, i));

    if (reply == NULL)
      continue;
    if (text == NULL)
      text = g_string_sized_new (reply->len + 2);
    g_string_append_c (text, text->len == 0 ? '[' : ',');
    g_string_append_len (text, reply->str, (gssize) reply->len);
  }
  if (text != NULL)
    g_string_append_c (text, ']');
  return text;
}

static JsonObject *
response_object_new (JsonNode *id)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "jsonrpc", "2.0");
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  else
    json_object_set_null_member (object, "id");
  return object;
}

static JsonNode *
node_take_object (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

/**
 * da_jsonrpc_result_response_new:
 * @id: (nullable): the request's id, copied; %NULL means null
 * @result: (transfer full) (nullable): the result; %NULL means null
 *
 * Returns: (transfer full): {"jsonrpc": "2.0", "id": id, "result": result}
 */
JsonNode *
da_jsonrpc_result_response_new (JsonNode *id, JsonNode *result)
{
  JsonObject *object = response_object_new (id);

  json_object_set_member (object, "result", result != NULL ? result : json_node_new (JSON_NODE_NULL));
  return node_take_object (object);
}

/**
 * da_jsonrpc_error_response_new:
 * @id: (nullable): the request's id, copied; %NULL means null
 * @error: the error, normally in #DA_RPC_ERROR (see da_rpc_error_to_json())
 * @extra_data: (nullable): more members for error.data
 *
 * Returns: (transfer full): {"jsonrpc": "2.0", "id": id, "error": {...}}
 */
JsonNode *
da_jsonrpc_error_response_new (JsonNode *id, const GError *error, JsonObject *extra_data)
{
  JsonObject *object = response_object_new (id);

  json_object_set_object_member (object, "error", da_rpc_error_to_json (error, extra_data));
  return node_take_object (object);
}

/**
 * da_jsonrpc_frame_too_large_response_new:
 * @max_frame: the limit that was crossed
 *
 * Returns: (transfer full): the limit error, id null, that answers a frame
 *   the reader reported as %DA_FRAME_TOO_LARGE
 */
JsonNode *
da_jsonrpc_frame_too_large_response_new (gsize max_frame)
{
  g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                                          "Limit exceeded: a frame is larger than %" G_GSIZE_FORMAT " bytes",
                                          max_frame);

  return da_jsonrpc_error_response_new (NULL, error, NULL);
}

/**
 * da_jsonrpc_request_new:
 * @method: the method
 * @params: (transfer full) (nullable): an object or array, or %NULL to leave it out
 * @id: (nullable): the id, copied; %NULL makes a notification
 *
 * Returns: (transfer full): the request
 */
JsonNode *
da_jsonrpc_request_new (const char *method, JsonNode *params, JsonNode *id)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "jsonrpc", "2.0");
  json_object_set_string_member (object, "method", method);
  if (params != NULL)
    json_object_set_member (object, "params", params);
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  return node_take_object (object);
}

/**
 * da_jsonrpc_notification_new:
 * @method: the method, such as "addr.changed"
 * @params: (transfer full) (nullable): an object or array
 *
 * Returns: (transfer full): a request without id
 */
JsonNode *
da_jsonrpc_notification_new (const char *method, JsonNode *params)
{
  return da_jsonrpc_request_new (method, params, NULL);
}

/**
 * da_jsonrpc_response_parse:
 * @response: one response object received
 * @id: (out) (transfer full) (optional): its id, or %NULL if it is malformed
 * @result: (out) (transfer full) (optional): its result
 * @error: the error the server sent (see da_rpc_error_from_json()), or
 *   %DA_RPC_ERROR_INTERNAL for a malformed response
 *
 * Returns: %TRUE for a result, %FALSE for an error
 */
gboolean
da_jsonrpc_response_parse (JsonNode *response, JsonNode **id, JsonNode **result, GError **error)
{
  JsonObject *object;
  JsonNode *version;
  JsonNode *id_node;
  JsonNode *result_node;
  JsonNode *error_node;

  if (id != NULL)
    *id = NULL;
  if (result != NULL)
    *result = NULL;
  if (response == NULL || !JSON_NODE_HOLDS_OBJECT (response)) {
    g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed response: not an object");
    return FALSE;
  }
  object = json_node_get_object (response);
  version = json_object_get_member (object, "jsonrpc");
  id_node = json_object_get_member (object, "id");
  result_node = json_object_get_member (object, "result");
  error_node = json_object_get_member (object, "error");
  if (version == NULL || json_node_get_value_type (version) != G_TYPE_STRING ||
      strcmp (json_node_get_string (version), "2.0") != 0) {
    g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed response: \"jsonrpc\" is not \"2.0\"");
    return FALSE;
  }
  if (id_node == NULL || !id_is_valid (id_node)) {
    g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed response: no valid \"id\"");
    return FALSE;
  }
  if ((result_node == NULL) == (error_node == NULL)) {
    g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL,
                         "malformed response: it needs exactly one of \"result\" and \"error\"");
    return FALSE;
  }
  if (id != NULL)
    *id = json_node_ref (id_node);
  if (error_node != NULL) {
    g_propagate_error (error, da_rpc_error_from_json (error_node));
    return FALSE;
  }
  if (result != NULL)
    *result = json_node_ref (result_node);
  return TRUE;
}

/**
 * da_jsonrpc_method_is_reserved:
 * @method: a method name
 *
 * Returns: %TRUE for names the specification reserves for rpc-internal
 *   methods ("rpc." and then anything), such as rpc.discover
 */
gboolean
da_jsonrpc_method_is_reserved (const char *method)
{
  return method != NULL && g_str_has_prefix (method, "rpc.");
}
