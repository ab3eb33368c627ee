/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DevaddrTypeInfo:
 *
 * An address type of the daemon's catalog: its dimensions (most
 * significant first), its text form and its default pool.  Immutable,
 * reference counted.
 */
typedef struct _DevaddrTypeInfo DevaddrTypeInfo;

/**
 * DEVADDR_TYPE_TYPE_INFO:
 *
 * The #GType of #DevaddrTypeInfo, a boxed type.
 */
#define DEVADDR_TYPE_TYPE_INFO (devaddr_type_info_get_type ())

GType devaddr_type_info_get_type (void);
DevaddrTypeInfo *devaddr_type_info_ref (DevaddrTypeInfo *info);
void devaddr_type_info_unref (DevaddrTypeInfo *info);

const char *devaddr_type_info_get_name (DevaddrTypeInfo *info);
const char *devaddr_type_info_get_description (DevaddrTypeInfo *info);
const char *devaddr_type_info_get_format (DevaddrTypeInfo *info);
const char *devaddr_type_info_get_pool (DevaddrTypeInfo *info);
guint devaddr_type_info_get_n_dimensions (DevaddrTypeInfo *info);
const char *devaddr_type_info_get_dimension (DevaddrTypeInfo *info, guint index, guint64 *min, guint64 *max);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrTypeInfo, devaddr_type_info_unref)

G_END_DECLS
