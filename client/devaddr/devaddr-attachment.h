/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-reservation.h>

G_BEGIN_DECLS

/**
 * DevaddrAttachment:
 *
 * The answer of devaddr_client_attach_device(): the device XML with its
 * address filled in, ready for `virsh attach-device`, and the reservation
 * behind it.  Immutable, reference counted.
 */
typedef struct _DevaddrAttachment DevaddrAttachment;

/**
 * DEVADDR_TYPE_ATTACHMENT:
 *
 * The #GType of #DevaddrAttachment, a boxed type.
 */
#define DEVADDR_TYPE_ATTACHMENT (devaddr_attachment_get_type ())

GType devaddr_attachment_get_type (void);
DevaddrAttachment *devaddr_attachment_ref (DevaddrAttachment *attachment);
void devaddr_attachment_unref (DevaddrAttachment *attachment);

const char *devaddr_attachment_get_xml (DevaddrAttachment *attachment);
DevaddrReservation *devaddr_attachment_get_reservation (DevaddrAttachment *attachment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrAttachment, devaddr_attachment_unref)

G_END_DECLS
