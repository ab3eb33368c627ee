/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "devaddr-private.h"
#include "protocol/da-rpc-error.h"

/**
 * devaddr_error_quark:
 *
 * Returns: the #GQuark of %DEVADDR_ERROR
 */
G_DEFINE_QUARK (devaddr-error-quark, devaddr_error)

/* the protocol's data.reason strings; they never change */
static const char *const reasons[] = {
  [DEVADDR_ERROR_NOT_FOUND] = "not-found",
  [DEVADDR_ERROR_CONFLICT] = "conflict",
  [DEVADDR_ERROR_EXHAUSTED] = "exhausted",
  [DEVADDR_ERROR_INVALID_ADDRESS] = "invalid-address",
  [DEVADDR_ERROR_PERMISSION_DENIED] = "permission-denied",
  [DEVADDR_ERROR_READ_ONLY] = "read-only",
  [DEVADDR_ERROR_LIMIT] = "limit",
  [DEVADDR_ERROR_UNAVAILABLE] = "unavailable",
  [DEVADDR_ERROR_LAST] = NULL,
};

/**
 * devaddr_error_to_reason:
 * @code: a #DevaddrError
 *
 * The protocol's `error.data.reason` string of an application error.
 *
 * Returns: (nullable): "not-found", "conflict", "exhausted",
 *   "invalid-address", "permission-denied", "read-only", "limit" or
 *   "unavailable"; %NULL for the codes that have no reason
 */
const char *
devaddr_error_to_reason (DevaddrError code)
{
  if ((guint) code >= G_N_ELEMENTS (reasons))
    return NULL;
  return reasons[code];
}

/**
 * devaddr_error_from_reason:
 * @reason: an `error.data.reason` string
 *
 * Returns: the matching #DevaddrError, %DEVADDR_ERROR_FAILED for a reason
 *   this library does not know
 */
DevaddrError
devaddr_error_from_reason (const char *reason)
{
  for (guint i = 0; reason != NULL && i < G_N_ELEMENTS (reasons); i++)
    if (reasons[i] != NULL && strcmp (reasons[i], reason) == 0)
      return (DevaddrError) i;
  return DEVADDR_ERROR_FAILED;
}

/* what an error object of a response stands for: the reason when there is
 * one (the stable part), else the JSON-RPC code */
GError *
da_error_new_from_json (JsonNode *error_object)
{
  JsonObject *obj;
  JsonNode *code_node, *message_node, *data_node;
  const char *message;
  gint64 wire_code;
  DaRpcError rpc_code;

  if (error_object == NULL || !JSON_NODE_HOLDS_OBJECT (error_object))
    return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "malformed reply: the error is not an object");
  obj = json_node_get_object (error_object);
  code_node = json_object_get_member (obj, "code");
  message_node = json_object_get_member (obj, "message");
  if (code_node == NULL || !JSON_NODE_HOLDS_VALUE (code_node) || json_node_get_value_type (code_node) != G_TYPE_INT64)
    return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                "malformed reply: the error has no integer code");
  if (message_node == NULL || !JSON_NODE_HOLDS_VALUE (message_node)
      || json_node_get_value_type (message_node) != G_TYPE_STRING)
    return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "malformed reply: the error has no message");
  wire_code = json_node_get_int (code_node);
  message = json_node_get_string (message_node);

  data_node = json_object_get_member (obj, "data");
  if (data_node != NULL && JSON_NODE_HOLDS_OBJECT (data_node)) {
    JsonNode *reason = json_object_get_member (json_node_get_object (data_node), "reason");

    if (reason != NULL && JSON_NODE_HOLDS_VALUE (reason) && json_node_get_value_type (reason) == G_TYPE_STRING) {
      DevaddrError code = devaddr_error_from_reason (json_node_get_string (reason));

      if (code != DEVADDR_ERROR_FAILED)
        return g_error_new_literal (DEVADDR_ERROR, code, message);
      return g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_FAILED, "%s (%s)", message, json_node_get_string (reason));
    }
  }
  if (wire_code >= G_MININT && wire_code <= G_MAXINT && da_rpc_error_from_wire_code ((gint) wire_code, &rpc_code)) {
    switch (rpc_code) {
    case DA_RPC_ERROR_PARSE:
    case DA_RPC_ERROR_INVALID_REQUEST:
      return g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "devaddrd refused the request: %s", message);
    case DA_RPC_ERROR_METHOD_NOT_FOUND:
      return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_METHOD_NOT_FOUND, message);
    case DA_RPC_ERROR_INVALID_PARAMS:
      return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_INVALID_PARAMS, message);
    case DA_RPC_ERROR_INTERNAL:
      return g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_INTERNAL, message);
    default:
      /* an application code without its reason */
      return g_error_new_literal (DEVADDR_ERROR, devaddr_error_from_reason (da_rpc_error_to_reason (rpc_code)),
                                  message);
    }
  }
  return g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_FAILED, "%s (error code %" G_GINT64_FORMAT ")", message, wire_code);
}
