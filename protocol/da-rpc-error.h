/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define DA_RPC_ERROR (da_rpc_error_quark ())

/*
 * The errors a client can see.  The first five are the JSON-RPC 2.0 errors
 * and go on the wire with their reserved codes; the others are devaddr's
 * own, go on the wire as 1001..1008 (outside the reserved range) and carry
 * a stable data.reason string that clients should match on.
 *
 * The enum values are not the wire codes; convert with
 * da_rpc_error_to_wire_code() and da_rpc_error_from_wire_code().
 */
typedef enum {
  DA_RPC_ERROR_PARSE,             /* -32700: the frame is not JSON */
  DA_RPC_ERROR_INVALID_REQUEST,   /* -32600: JSON, but not a request */
  DA_RPC_ERROR_METHOD_NOT_FOUND,  /* -32601 */
  DA_RPC_ERROR_INVALID_PARAMS,    /* -32602 */
  DA_RPC_ERROR_INTERNAL,          /* -32603 */
  DA_RPC_ERROR_NOT_FOUND,         /* 1001 not-found: unknown vm, alias, type or template */
  DA_RPC_ERROR_CONFLICT,          /* 1002 conflict: held by another reservation */
  DA_RPC_ERROR_EXHAUSTED,         /* 1003 exhausted: nothing free fits the constraint */
  DA_RPC_ERROR_INVALID_ADDRESS,   /* 1004 invalid-address: text that does not parse or out of range */
  DA_RPC_ERROR_PERMISSION_DENIED, /* 1005 permission-denied: the peer may not do this */
  DA_RPC_ERROR_READ_ONLY,         /* 1006 read-only: a mutation on the read-only socket */
  DA_RPC_ERROR_LIMIT,             /* 1007 limit: a protocol or engine limit was reached */
  DA_RPC_ERROR_UNAVAILABLE,       /* 1008 unavailable: the store cannot take writes now */
} DaRpcError;

#define DA_RPC_ERROR_LAST DA_RPC_ERROR_UNAVAILABLE

GQuark da_rpc_error_quark (void);

gint da_rpc_error_to_wire_code (DaRpcError code);
gboolean da_rpc_error_from_wire_code (gint wire_code, DaRpcError *code);
const char *da_rpc_error_to_reason (DaRpcError code);
gboolean da_rpc_error_from_reason (const char *reason, DaRpcError *code);
gboolean da_rpc_error_is_application (DaRpcError code);

JsonObject *da_rpc_error_to_json (const GError *error, JsonObject *extra_data);
GError *da_rpc_error_from_json (JsonNode *error_object);

G_END_DECLS
