/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <devaddr/devaddr-assignment.h>
#include <devaddr/devaddr-attachment.h>
#include <devaddr/devaddr-change.h>
#include <devaddr/devaddr-enums.h>
#include <devaddr/devaddr-import-result.h>
#include <devaddr/devaddr-pool-stats.h>
#include <devaddr/devaddr-reservation.h>
#include <devaddr/devaddr-reserve-request.h>
#include <devaddr/devaddr-server-info.h>
#include <devaddr/devaddr-template-info.h>
#include <devaddr/devaddr-type-info.h>
#include <devaddr/devaddr-vm.h>

G_BEGIN_DECLS

/**
 * DevaddrClient:
 *
 * A connection to devaddrd.  Thread-safe: see the section documentation
 * in devaddr-client.c and libdevaddr(3).
 */

/**
 * DEVADDR_TYPE_CLIENT:
 *
 * The #GType of #DevaddrClient, a #GObject.
 */
#define DEVADDR_TYPE_CLIENT (devaddr_client_get_type ())
G_DECLARE_FINAL_TYPE (DevaddrClient, devaddr_client, DEVADDR, CLIENT, GObject)

const char *devaddr_client_get_default_socket_path (void);
DevaddrClient *devaddr_client_new (void);
DevaddrClient *devaddr_client_new_for_socket (const char *path);
const char *devaddr_client_get_socket_path (DevaddrClient *self);
gboolean devaddr_client_is_connected (DevaddrClient *self);
void devaddr_client_disconnect (DevaddrClient *self);

gboolean devaddr_client_connect (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_connect_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean devaddr_client_connect_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* any method, by name */
JsonNode *devaddr_client_call (DevaddrClient *self, const char *method, JsonObject *params, GCancellable *cancellable,
                               GError **error);
void devaddr_client_call_async (DevaddrClient *self, const char *method, JsonObject *params,
                                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
JsonNode *devaddr_client_call_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* server.info */
DevaddrServerInfo *devaddr_client_get_server_info (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_get_server_info_async (DevaddrClient *self, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
DevaddrServerInfo *devaddr_client_get_server_info_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* rpc.discover */
JsonNode *devaddr_client_discover (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_discover_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
JsonNode *devaddr_client_discover_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* types.list */
GPtrArray *devaddr_client_get_types (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_get_types_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
GPtrArray *devaddr_client_get_types_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* templates.list */
GPtrArray *devaddr_client_get_templates (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_get_templates_async (DevaddrClient *self, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *devaddr_client_get_templates_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* vm.create */
gboolean devaddr_client_create_vm (DevaddrClient *self, const char *vm, const char *template_name,
                                   GCancellable *cancellable, GError **error);
void devaddr_client_create_vm_async (DevaddrClient *self, const char *vm, const char *template_name,
                                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean devaddr_client_create_vm_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* vm.delete */
gboolean devaddr_client_delete_vm (DevaddrClient *self, const char *vm, guint *released, GCancellable *cancellable,
                                   GError **error);
void devaddr_client_delete_vm_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean devaddr_client_delete_vm_finish (DevaddrClient *self, GAsyncResult *res, guint *released, GError **error);

/* vm.list */
GPtrArray *devaddr_client_get_vms (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_get_vms_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
GPtrArray *devaddr_client_get_vms_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* vm.get */
DevaddrVm *devaddr_client_get_vm (DevaddrClient *self, const char *vm, GCancellable *cancellable, GError **error);
void devaddr_client_get_vm_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
DevaddrVm *devaddr_client_get_vm_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* host.get */
GPtrArray *devaddr_client_get_host_reservations (DevaddrClient *self, GCancellable *cancellable, GError **error);
void devaddr_client_get_host_reservations_async (DevaddrClient *self, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *devaddr_client_get_host_reservations_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* addr.reserve, single form */
DevaddrReservation *devaddr_client_reserve (DevaddrClient *self, const char *vm, DevaddrReserveRequest *request,
                                            GCancellable *cancellable, GError **error);
void devaddr_client_reserve_async (DevaddrClient *self, const char *vm, DevaddrReserveRequest *request,
                                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
DevaddrReservation *devaddr_client_reserve_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* addr.reserve, batch form */
GPtrArray *devaddr_client_reserve_batch (DevaddrClient *self, const char *vm, GPtrArray *requests,
                                         GCancellable *cancellable, GError **error);
void devaddr_client_reserve_batch_async (DevaddrClient *self, const char *vm, GPtrArray *requests,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
GPtrArray *devaddr_client_reserve_batch_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* addr.commit */
DevaddrReservation *devaddr_client_commit (DevaddrClient *self, const char *vm, const char *alias,
                                           GCancellable *cancellable, GError **error);
void devaddr_client_commit_async (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
DevaddrReservation *devaddr_client_commit_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* addr.release */
gboolean devaddr_client_release (DevaddrClient *self, const char *vm, const char *alias, DevaddrReleasePhase phase,
                                 DevaddrState *state, GCancellable *cancellable, GError **error);
void devaddr_client_release_async (DevaddrClient *self, const char *vm, const char *alias, DevaddrReleasePhase phase,
                                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean devaddr_client_release_finish (DevaddrClient *self, GAsyncResult *res, DevaddrState *state,
                                        GError **error);

/* addr.lookup by alias */
DevaddrReservation *devaddr_client_lookup (DevaddrClient *self, const char *vm, const char *alias,
                                           GCancellable *cancellable, GError **error);
void devaddr_client_lookup_async (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
DevaddrReservation *devaddr_client_lookup_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* addr.lookup by type and address */
DevaddrReservation *devaddr_client_lookup_address (DevaddrClient *self, const char *vm, const char *address_type,
                                                   const char *address, GCancellable *cancellable, GError **error);
void devaddr_client_lookup_address_async (DevaddrClient *self, const char *vm, const char *address_type,
                                          const char *address, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
DevaddrReservation *devaddr_client_lookup_address_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* pool.stats */
DevaddrPoolStats *devaddr_client_get_pool_stats (DevaddrClient *self, const char *vm, const char *address_type,
                                                 GCancellable *cancellable, GError **error);
void devaddr_client_get_pool_stats_async (DevaddrClient *self, const char *vm, const char *address_type,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
DevaddrPoolStats *devaddr_client_get_pool_stats_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* watch */
gboolean devaddr_client_watch (DevaddrClient *self, const char *vm, GCancellable *cancellable, GError **error);
void devaddr_client_watch_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean devaddr_client_watch_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* domain.assign */
DevaddrAssignment *devaddr_client_assign_domain (DevaddrClient *self, const char *vm, const char *xml,
                                                 GCancellable *cancellable, GError **error);
void devaddr_client_assign_domain_async (DevaddrClient *self, const char *vm, const char *xml,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
DevaddrAssignment *devaddr_client_assign_domain_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* domain.import */
DevaddrImportResult *devaddr_client_import_domain (DevaddrClient *self, const char *vm, const char *xml,
                                                   DevaddrImportFlags flags, GCancellable *cancellable,
                                                   GError **error);
void devaddr_client_import_domain_async (DevaddrClient *self, const char *vm, const char *xml,
                                         DevaddrImportFlags flags, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
DevaddrImportResult *devaddr_client_import_domain_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* device.attach */
DevaddrAttachment *devaddr_client_attach_device (DevaddrClient *self, const char *vm, const char *xml,
                                                 GCancellable *cancellable, GError **error);
void devaddr_client_attach_device_async (DevaddrClient *self, const char *vm, const char *xml,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
DevaddrAttachment *devaddr_client_attach_device_finish (DevaddrClient *self, GAsyncResult *res, GError **error);

/* device.detach */
gboolean devaddr_client_detach_device (DevaddrClient *self, const char *vm, const char *xml, const char *alias,
                                       DevaddrReleasePhase phase, char **released_alias, DevaddrState *state,
                                       GCancellable *cancellable, GError **error);
void devaddr_client_detach_device_async (DevaddrClient *self, const char *vm, const char *xml, const char *alias,
                                         DevaddrReleasePhase phase, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean devaddr_client_detach_device_finish (DevaddrClient *self, GAsyncResult *res, char **released_alias,
                                              DevaddrState *state, GError **error);

G_END_DECLS
