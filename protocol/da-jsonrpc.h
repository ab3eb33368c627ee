/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "protocol/da-json.h"
#include "protocol/da-rpc-error.h"

G_BEGIN_DECLS

/*
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over frames.
 *
 * A frame is classified into calls: one for a single request, one per entry
 * for a batch.  A call is either valid (method, params, id) or carries the
 * error that answers it.  The caller dispatches the valid calls, in any
 * order and asynchronously if it likes, reports each outcome to the batch,
 * and sends the reply the batch builds: one response object, an array of
 * them, or nothing at all (notifications are never answered).  Outcomes
 * are kept as the text that will be sent, so that answers waiting for the
 * rest of their batch cost what they will take on the wire.
 *
 * Request members other than jsonrpc, method, params and id are rejected
 * as -32600, so that a misspelt "param" is an error and not silently an
 * absent one.
 */

typedef struct {
  char *method;             /* NULL for an invalid entry */
  JsonNode *params;         /* an object or an array; NULL when absent */
  JsonNode *id;             /* a string, number or null node; NULL for a notification */
  gboolean is_notification; /* no "id" member: never answered, even with an error */
  GError *error;            /* an invalid entry: answered with this error and id null */
} DaJsonrpcCall;

DaJsonrpcCall *da_jsonrpc_call_new_from_node (JsonNode *request);
void da_jsonrpc_call_free (DaJsonrpcCall *call);

typedef struct _DaJsonrpcBatch DaJsonrpcBatch;

DaJsonrpcBatch *da_jsonrpc_batch_new_from_frame (const char *frame, gsize len, const DaJsonLimits *limits);
DaJsonrpcBatch *da_jsonrpc_batch_new_from_node (JsonNode *root);
void da_jsonrpc_batch_free (DaJsonrpcBatch *batch);
gboolean da_jsonrpc_batch_is_array (DaJsonrpcBatch *batch);
guint da_jsonrpc_batch_get_n_calls (DaJsonrpcBatch *batch);
DaJsonrpcCall *da_jsonrpc_batch_get_call (DaJsonrpcBatch *batch, guint index);
guint da_jsonrpc_batch_get_n_pending (DaJsonrpcBatch *batch);
void da_jsonrpc_batch_return_result (DaJsonrpcBatch *batch, guint index, JsonNode *result);
void da_jsonrpc_batch_return_result_json (DaJsonrpcBatch *batch, guint index, const char *json);
void da_jsonrpc_batch_return_error (DaJsonrpcBatch *batch, guint index, const GError *error,
                                   JsonObject *extra_data);
gsize da_jsonrpc_batch_get_reply_bytes (DaJsonrpcBatch *batch);
GString *da_jsonrpc_batch_build_reply (DaJsonrpcBatch *batch);

/* responses, requests and notifications */
JsonNode *da_jsonrpc_result_response_new (JsonNode *id, JsonNode *result);
JsonNode *da_jsonrpc_error_response_new (JsonNode *id, const GError *error, JsonObject *extra_data);
JsonNode *da_jsonrpc_frame_too_large_response_new (gsize max_frame);
JsonNode *da_jsonrpc_request_new (const char *method, JsonNode *params, JsonNode *id);
JsonNode *da_jsonrpc_notification_new (const char *method, JsonNode *params);
gboolean da_jsonrpc_response_parse (JsonNode *response, JsonNode **id, JsonNode **result, GError **error);

gboolean da_jsonrpc_method_is_reserved (const char *method);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaJsonrpcCall, da_jsonrpc_call_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaJsonrpcBatch, da_jsonrpc_batch_free)

G_END_DECLS
