/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * DevaddrServerInfo:
 *
 * What the running daemon says about itself.  Immutable, reference counted.
 */
typedef struct _DevaddrServerInfo DevaddrServerInfo;

/**
 * DEVADDR_TYPE_SERVER_INFO:
 *
 * The #GType of #DevaddrServerInfo, a boxed type.
 */
#define DEVADDR_TYPE_SERVER_INFO (devaddr_server_info_get_type ())

GType devaddr_server_info_get_type (void);
DevaddrServerInfo *devaddr_server_info_ref (DevaddrServerInfo *info);
void devaddr_server_info_unref (DevaddrServerInfo *info);

const char *devaddr_server_info_get_version (DevaddrServerInfo *info);
guint devaddr_server_info_get_protocol (DevaddrServerInfo *info);
guint64 devaddr_server_info_get_uptime (DevaddrServerInfo *info);
guint64 devaddr_server_info_get_n_vms (DevaddrServerInfo *info);
guint64 devaddr_server_info_get_n_reservations (DevaddrServerInfo *info);
JsonObject *devaddr_server_info_get_store (DevaddrServerInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrServerInfo, devaddr_server_info_unref)

G_END_DECLS
