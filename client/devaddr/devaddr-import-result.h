/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-reservation.h>

G_BEGIN_DECLS

/**
 * DevaddrImportResult:
 *
 * The answer of devaddr_client_import_domain(): the reservations adopted
 * from the domain XML, and the addresses that could not be adopted because
 * another reservation holds them.  Immutable, reference counted.
 */
typedef struct _DevaddrImportResult DevaddrImportResult;

/**
 * DEVADDR_TYPE_IMPORT_RESULT:
 *
 * The #GType of #DevaddrImportResult, a boxed type.
 */
#define DEVADDR_TYPE_IMPORT_RESULT (devaddr_import_result_get_type ())

GType devaddr_import_result_get_type (void);
DevaddrImportResult *devaddr_import_result_ref (DevaddrImportResult *result);
void devaddr_import_result_unref (DevaddrImportResult *result);

GPtrArray *devaddr_import_result_get_reservations (DevaddrImportResult *result);
guint devaddr_import_result_get_n_conflicts (DevaddrImportResult *result);
const char *devaddr_import_result_get_conflict (DevaddrImportResult *result, guint index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrImportResult, devaddr_import_result_unref)

G_END_DECLS
