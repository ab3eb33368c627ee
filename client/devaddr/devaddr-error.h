/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * DEVADDR_ERROR:
 *
 * The error domain of every error libdevaddr reports, except
 * %G_IO_ERROR_CANCELLED for a cancelled call.
 */
#define DEVADDR_ERROR (devaddr_error_quark ())

/**
 * DevaddrError:
 * @DEVADDR_ERROR_FAILED: an application error this library does not know
 *   (a newer daemon); the message says what happened
 * @DEVADDR_ERROR_NOT_FOUND: an unknown VM, alias, type or template
 *   (reason `not-found`)
 * @DEVADDR_ERROR_CONFLICT: the address or alias is held by another
 *   reservation (reason `conflict`)
 * @DEVADDR_ERROR_EXHAUSTED: no free address satisfies the constraint
 *   (reason `exhausted`)
 * @DEVADDR_ERROR_INVALID_ADDRESS: address text that does not parse, or a
 *   value out of range for its type (reason `invalid-address`)
 * @DEVADDR_ERROR_PERMISSION_DENIED: the caller may not do this (reason
 *   `permission-denied`); also a socket the caller may not connect to
 * @DEVADDR_ERROR_READ_ONLY: a change asked on the read-only socket
 *   (reason `read-only`)
 * @DEVADDR_ERROR_LIMIT: a protocol or engine limit was reached (reason
 *   `limit`)
 * @DEVADDR_ERROR_UNAVAILABLE: the daemon cannot take changes now, e.g. it
 *   is shutting down or its disk failed (reason `unavailable`)
 * @DEVADDR_ERROR_INVALID_PARAMS: the daemon refused the parameters
 *   (JSON-RPC -32602); the message starts with the offending path
 * @DEVADDR_ERROR_METHOD_NOT_FOUND: the daemon does not know the method
 *   (JSON-RPC -32601), e.g. an older daemon
 * @DEVADDR_ERROR_PROTOCOL: the daemon and the library do not understand
 *   each other: a reply that is not JSON-RPC or does not have the shape
 *   the protocol describes, or -32700/-32600 from the daemon
 * @DEVADDR_ERROR_INTERNAL: the daemon failed (JSON-RPC -32603)
 * @DEVADDR_ERROR_CONNECTION_FAILED: the socket could not be connected to:
 *   no daemon, or no socket at that path
 * @DEVADDR_ERROR_DISCONNECTED: the connection was lost or closed while the
 *   call was in flight; the call may or may not have taken effect, and the
 *   next call connects again
 *
 * Error codes of %DEVADDR_ERROR.  The application errors map one to one to
 * the stable `error.data.reason` strings of the protocol, see
 * devaddr_error_to_reason().
 */
typedef enum {
  DEVADDR_ERROR_FAILED,
  DEVADDR_ERROR_NOT_FOUND,
  DEVADDR_ERROR_CONFLICT,
  DEVADDR_ERROR_EXHAUSTED,
  DEVADDR_ERROR_INVALID_ADDRESS,
  DEVADDR_ERROR_PERMISSION_DENIED,
  DEVADDR_ERROR_READ_ONLY,
  DEVADDR_ERROR_LIMIT,
  DEVADDR_ERROR_UNAVAILABLE,
  DEVADDR_ERROR_INVALID_PARAMS,
  DEVADDR_ERROR_METHOD_NOT_FOUND,
  DEVADDR_ERROR_PROTOCOL,
  DEVADDR_ERROR_INTERNAL,
  DEVADDR_ERROR_CONNECTION_FAILED,
  DEVADDR_ERROR_DISCONNECTED,
  /*< private >*/
  DEVADDR_ERROR_LAST
} DevaddrError;

GQuark devaddr_error_quark (void);
const char *devaddr_error_to_reason (DevaddrError code);
DevaddrError devaddr_error_from_reason (const char *reason);

G_END_DECLS
