/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "daemon/alloc/da-engine.h"
#include "protocol/da-params.h"

G_BEGIN_DECLS

typedef struct _DaDaemon DaDaemon;
typedef struct _DaConnection DaConnection;

/* What a method handler sees of the daemon for one call. */
typedef struct {
  DaDaemon *daemon;
  DaEngine *engine;
  DaTxn *txn;                /* mutating methods: record every change here */
  gint64 now;                /* wall-clock microseconds */
  DaConnection *connection;  /* NULL for internal calls */
  JsonObject *error_data;    /* set by a handler: extra members of error.data */
  GPtrArray *notifications;  /* JsonNode params of addr.changed to send once durable */
  GString *result_text;      /* a result written as text: da_methods_text_result() */
} DaMethodContext;

typedef JsonNode *(*DaMethodFunc) (DaMethodContext *ctx, DaParams *params, GError **error);

typedef enum {
  DA_METHOD_MUTATES = 1 << 0, /* needs write permission and the read-write socket */
} DaMethodFlags;

typedef struct {
  const char *name;
  DaMethodFunc func;
  guint flags;
} DaMethod;

const DaMethod *da_methods_lookup (const char *name);
/* the dispatch table, in name order */
const DaMethod *da_methods_get_all (guint *n_methods);

/* engine errors become protocol errors here, once */
void da_methods_map_error (GError **error);

/* shared by the handlers */
JsonNode *da_methods_object_node (JsonObject *object);
void da_methods_append_reservation (GString *out, DaReservation *res);
void da_methods_append_reservations (GString *out, GPtrArray *reservations);
JsonObject *da_methods_reservation_object (DaReservation *res);
JsonNode *da_methods_reservation_result (DaMethodContext *ctx, DaReservation *res);
JsonNode *da_methods_text_result (DaMethodContext *ctx, GString *text);
GString *da_methods_take_result_text (DaMethodContext *ctx, JsonNode *result);
DaScope *da_methods_get_scope (DaMethodContext *ctx, DaParams *params, GError **error);
gboolean da_methods_get_name (DaParams *params, const char *member, const char *what, DaParamsFlags flags,
                              const char **out, GError **error);
void da_methods_notify_changes (DaMethodContext *ctx, GPtrArray *changes, guint from);
void da_methods_notify (DaMethodContext *ctx, DaScope *scope, const char *event, const char *alias,
                        const char *type, const char *address, const char *state);

/* handlers, by namespace */
JsonNode *da_method_server_info (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_rpc_discover (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_types_list (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_templates_list (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_vm_create (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_vm_delete (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_vm_list (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_vm_get (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_host_get (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_addr_reserve (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_addr_commit (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_addr_release (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_addr_lookup (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_pool_stats (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_watch (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_domain_assign (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_domain_import (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_device_attach (DaMethodContext *ctx, DaParams *params, GError **error);
JsonNode *da_method_device_detach (DaMethodContext *ctx, DaParams *params, GError **error);

G_END_DECLS
