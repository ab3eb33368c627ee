/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-enums.h>

G_BEGIN_DECLS

/**
 * DevaddrReservation:
 *
 * One address (or run of consecutive addresses) held for a device alias.
 * Immutable, reference counted.
 */
typedef struct _DevaddrReservation DevaddrReservation;

/**
 * DEVADDR_TYPE_RESERVATION:
 *
 * The #GType of #DevaddrReservation, a boxed type.
 */
#define DEVADDR_TYPE_RESERVATION (devaddr_reservation_get_type ())

GType devaddr_reservation_get_type (void);
DevaddrReservation *devaddr_reservation_ref (DevaddrReservation *reservation);
void devaddr_reservation_unref (DevaddrReservation *reservation);

const char *devaddr_reservation_get_alias (DevaddrReservation *reservation);
const char *devaddr_reservation_get_address_type (DevaddrReservation *reservation);
const char *devaddr_reservation_get_address (DevaddrReservation *reservation);
const char *const *devaddr_reservation_get_field_names (DevaddrReservation *reservation);
gboolean devaddr_reservation_get_field (DevaddrReservation *reservation, const char *name, guint64 *value);
guint64 devaddr_reservation_get_count (DevaddrReservation *reservation);
const char *devaddr_reservation_get_end (DevaddrReservation *reservation);
DevaddrMode devaddr_reservation_get_mode (DevaddrReservation *reservation);
DevaddrState devaddr_reservation_get_state (DevaddrReservation *reservation);
gboolean devaddr_reservation_get_builtin (DevaddrReservation *reservation);
GDateTime *devaddr_reservation_get_expires (DevaddrReservation *reservation);
char *devaddr_reservation_to_libvirt_address (DevaddrReservation *reservation, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrReservation, devaddr_reservation_unref)

G_END_DECLS
