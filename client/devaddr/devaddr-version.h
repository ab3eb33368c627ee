/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * DEVADDR_PROTOCOL_VERSION:
 *
 * The revision of the devaddr protocol this library speaks; the daemon
 * reports its own in devaddr_server_info_get_protocol().
 */
#define DEVADDR_PROTOCOL_VERSION 1

/**
 * DEVADDR_DEFAULT_SOCKET:
 *
 * The read-write socket of a system devaddrd.  The environment variable
 * `DEVADDR_SOCKET` overrides it for devaddr_client_new().
 */
#define DEVADDR_DEFAULT_SOCKET "/run/devaddr/devaddrd.sock"

/**
 * DEVADDR_DEFAULT_RO_SOCKET:
 *
 * The read-only socket of a system devaddrd: queries only, open to everyone.
 */
#define DEVADDR_DEFAULT_RO_SOCKET "/run/devaddr/devaddrd-ro.sock"

const char *devaddr_version_string (void);

G_END_DECLS
