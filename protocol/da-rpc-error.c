/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-rpc-error.h"

G_DEFINE_QUARK (da-rpc-error-quark, da_rpc_error)

typedef struct {
  gint wire_code;
  const char *reason; /* NULL for the JSON-RPC errors */
} DaRpcErrorInfo;

/* indexed by DaRpcError; the wire codes and reasons never change */
static const DaRpcErrorInfo error_info[] = {
  [DA_RPC_ERROR_PARSE] = { -32700, NULL },
  [DA_RPC_ERROR_INVALID_REQUEST] = { -32600, NULL },
  [DA_RPC_ERROR_METHOD_NOT_FOUND] = { -32601, NULL },
  [DA_RPC_ERROR_INVALID_PARAMS] = { -32602, NULL },
  [DA_RPC_ERROR_INTERNAL] = { -32603, NULL },
  [DA_RPC_ERROR_NOT_FOUND] = { 1001, "not-found" },
  [DA_RPC_ERROR_CONFLICT] = { 1002, "conflict" },
  [DA_RPC_ERROR_EXHAUSTED] = { 1003, "exhausted" },
  [DA_RPC_ERROR_INVALID_ADDRESS] = { 1004, "invalid-address" },
  [DA_RPC_ERROR_PERMISSION_DENIED] = { 1005, "permission-denied" },
  [DA_RPC_ERROR_READ_ONLY] = { 1006, "read-only" },
  [DA_RPC_ERROR_LIMIT] = { 1007, "limit" },
  [DA_RPC_ERROR_UNAVAILABLE] = { 1008, "unavailable" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_info) == DA_RPC_ERROR_LAST + 1);

static gboolean
code_is_valid (gint code)
{
  return code >= 0 && code <= DA_RPC_ERROR_LAST;
}

/**
 * da_rpc_error_to_wire_code:
 * @code: a #DaRpcError
 *
 * Returns: the code sent in error.code; -32603 for a value outside the enum
 */
gint
da_rpc_error_to_wire_code (DaRpcError code)
{
  if (!code_is_valid ((gint) code))
    return error_info[DA_RPC_ERROR_INTERNAL].wire_code;
  return error_info[code].wire_code;
}

/**
 * da_rpc_error_from_wire_code:
 * @wire_code: an error.code received
 * @code: (out): the matching #DaRpcError
 *
 * Returns: %FALSE if @wire_code is not one devaddr defines
 */
gboolean
da_rpc_error_from_wire_code (gint wire_code, DaRpcError *code)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_info); i++) {
    if (error_info[i].wire_code == wire_code) {
      *code = (DaRpcError) i;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * da_rpc_error_to_reason:
 * @code: a #DaRpcError
 *
 * Returns: (nullable): the data.reason string of an application error, or
 *   %NULL for the JSON-RPC errors, which carry no reason
 */
const char *
da_rpc_error_to_reason (DaRpcError code)
{
  if (!code_is_valid ((gint) code))
    return NULL;
  return error_info[code].reason;
}

/**
 * da_rpc_error_from_reason:
 * @reason: a data.reason string
 * @code: (out): the matching #DaRpcError
 *
 * Returns: %FALSE if @reason is not one devaddr defines
 */
gboolean
da_rpc_error_from_reason (const char *reason, DaRpcError *code)
{
  if (reason == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (error_info); i++) {
    if (error_info[i].reason != NULL && strcmp (error_info[i].reason, reason) == 0) {
      *code = (DaRpcError) i;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * da_rpc_error_is_application:
 * @code: a #DaRpcError
 *
 * Returns: %TRUE for devaddr's own errors (those with a reason)
 */
gboolean
da_rpc_error_is_application (DaRpcError code)
{
  return da_rpc_error_to_reason (code) != NULL;
}

/**
 * da_rpc_error_to_json:
 * @error: the error to send
 * @extra_data: (nullable): members to add to error.data, such as
 *   "holder" for a conflict; they never replace "reason"
 *
 * Builds a JSON-RPC error object {code, message, data?}.  Application
 * errors get data.reason.  An error of another domain is a bug of the
 * caller (every layer maps its errors once); it goes out as -32603 with
 * its message, so the client still learns something.
 *
 * Returns: (transfer full): the error object
 */
JsonObject *
da_rpc_error_to_json (const GError *error, JsonObject *extra_data)
{
  JsonObject *object = json_object_new ();
  DaRpcError code = DA_RPC_ERROR_INTERNAL;
  const char *reason;
  const char *message;

  g_return_val_if_fail (error != NULL, object);

  if (error->domain == DA_RPC_ERROR && code_is_valid (error->code))
    code = (DaRpcError) error->code;
  message = error->message != NULL && *error->message != '\0' ? error->message : "error";
  json_object_set_int_member (object, "code", da_rpc_error_to_wire_code (code));
  json_object_set_string_member (object, "message", message);

  reason = da_rpc_error_to_reason (code);
  if (reason != NULL || (extra_data != NULL && json_object_get_size (extra_data) > 0)) {
    JsonObject *data = json_object_new ();

    if (reason != NULL)
      json_object_set_string_member (data, "reason", reason);
    if (extra_data != NULL) {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init_ordered (&iter, extra_data);
      while (json_object_iter_next_ordered (&iter, &name, &member)) {
        if (json_object_has_member (data, name))
          continue;
        json_object_set_member (data, name, json_node_copy (member));
      }
    }
    json_object_set_object_member (object, "data", data);
  }
  return object;
}

/**
 * da_rpc_error_from_json:
 * @error_object: the "error" member of a response
 *
 * Turns an error received from the daemon back into a #DA_RPC_ERROR,
 * keeping its message.  data.reason decides the code when it names an
 * application error (reasons are the stable part); otherwise error.code
 * does.  A code devaddr does not define becomes %DA_RPC_ERROR_INTERNAL
 * with the wire code in the message, and a malformed error object becomes
 * %DA_RPC_ERROR_INTERNAL too.
 *
 * Returns: (transfer full): the error; never %NULL
 */
GError *
da_rpc_error_from_json (JsonNode *error_object)
{
  JsonObject *object;
  JsonNode *code_node;
  JsonNode *message_node;
  JsonNode *data_node;
  DaRpcError code;
  gint64 wire_code;
  const char *message;

  if (error_object == NULL || !JSON_NODE_HOLDS_OBJECT (error_object))
    return g_error_new_literal (DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed error in response: not an object");
  object = json_node_get_object (error_object);
  code_node = json_object_get_member (object, "code");
  message_node = json_object_get_member (object, "message");
  if (code_node == NULL || json_node_get_value_type (code_node) != G_TYPE_INT64)
    return g_error_new_literal (DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed error in response: no integer code");
  if (message_node == NULL || json_node_get_value_type (message_node) != G_TYPE_STRING)
    return g_error_new_literal (DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "malformed error in response: no message");
  wire_code = json_node_get_int (code_node);
  message = json_node_get_string (message_node);

  data_node = json_object_get_member (object, "data");
  if (data_node != NULL && JSON_NODE_HOLDS_OBJECT (data_node)) {
    JsonNode *reason = json_object_get_member (json_node_get_object (data_node), "reason");

    if (reason != NULL && json_node_get_value_type (reason) == G_TYPE_STRING &&
        da_rpc_error_from_reason (json_node_get_string (reason), &code))
      return g_error_new_literal (DA_RPC_ERROR, code, message);
  }
  if (wire_code >= G_MININT && wire_code <= G_MAXINT && da_rpc_error_from_wire_code ((gint) wire_code, &code))
    return g_error_new_literal (DA_RPC_ERROR, code, message);
  return g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_INTERNAL, "%s (error code %" G_GINT64_FORMAT ")", message, wire_code);
}
