/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include <devaddr/devaddr-enums.h>

G_BEGIN_DECLS

/**
 * DevaddrReserveRequest:
 *
 * What devaddr_client_reserve() asks for: a type and an alias, and either
 * an exact address or a constraint on where the daemon may choose.  The
 * setters build the constraint; devaddr_reserve_request_set_constraint()
 * takes a whole one as JSON for the rarely used parts.  Reference counted;
 * not thread-safe while being built.
 */
typedef struct _DevaddrReserveRequest DevaddrReserveRequest;

/**
 * DEVADDR_TYPE_RESERVE_REQUEST:
 *
 * The #GType of #DevaddrReserveRequest, a boxed type.
 */
#define DEVADDR_TYPE_RESERVE_REQUEST (devaddr_reserve_request_get_type ())

GType devaddr_reserve_request_get_type (void);
DevaddrReserveRequest *devaddr_reserve_request_new (const char *address_type, const char *alias);
DevaddrReserveRequest *devaddr_reserve_request_ref (DevaddrReserveRequest *request);
void devaddr_reserve_request_unref (DevaddrReserveRequest *request);

const char *devaddr_reserve_request_get_address_type (DevaddrReserveRequest *request);
const char *devaddr_reserve_request_get_alias (DevaddrReserveRequest *request);
void devaddr_reserve_request_set_address (DevaddrReserveRequest *request, const char *address);
void devaddr_reserve_request_set_mode (DevaddrReserveRequest *request, DevaddrMode mode);
void devaddr_reserve_request_set_hold (DevaddrReserveRequest *request, guint seconds);
void devaddr_reserve_request_set_range (DevaddrReserveRequest *request,
                                        const char *dimension,
                                        guint64 min,
                                        guint64 max);
void devaddr_reserve_request_set_count (DevaddrReserveRequest *request, guint64 count);
void devaddr_reserve_request_set_align (DevaddrReserveRequest *request, guint64 align);
void devaddr_reserve_request_set_min (DevaddrReserveRequest *request, const char *address);
void devaddr_reserve_request_set_max (DevaddrReserveRequest *request, const char *address);
void devaddr_reserve_request_add_tag (DevaddrReserveRequest *request, const char *tag);
void devaddr_reserve_request_add_not_tag (DevaddrReserveRequest *request, const char *tag);
void devaddr_reserve_request_set_policy (DevaddrReserveRequest *request, DevaddrPolicy policy);
void devaddr_reserve_request_set_isolate (DevaddrReserveRequest *request, const char *dimension);
void devaddr_reserve_request_set_constraint (DevaddrReserveRequest *request, JsonObject *constraint);
JsonObject *devaddr_reserve_request_to_json (DevaddrReserveRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrReserveRequest, devaddr_reserve_request_unref)

G_END_DECLS
