/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DevaddrMode:
 * @DEVADDR_MODE_DEFAULT: in a request, let the daemon decide (static with
 *   an address, dynamic without); in a reservation, a mode this library
 *   does not know
 * @DEVADDR_MODE_STATIC: the user chose the address; a clash is an error
 *   naming both devices
 * @DEVADDR_MODE_DYNAMIC: the daemon chose the address
 *
 * Who chose the address of a reservation.
 */
typedef enum {
  DEVADDR_MODE_DEFAULT,
  DEVADDR_MODE_STATIC,
  DEVADDR_MODE_DYNAMIC,
} DevaddrMode;

/**
 * DevaddrState:
 * @DEVADDR_STATE_UNKNOWN: a state this library does not know
 * @DEVADDR_STATE_HELD: tentative; expires unless committed
 * @DEVADDR_STATE_ACTIVE: in use
 * @DEVADDR_STATE_RELEASING: an unplug was sent; the address stays taken
 *   until the release is confirmed
 * @DEVADDR_STATE_RELEASED: gone; the address is free (after a cool-down)
 *
 * The life of a reservation.
 */
typedef enum {
  DEVADDR_STATE_UNKNOWN,
  DEVADDR_STATE_HELD,
  DEVADDR_STATE_ACTIVE,
  DEVADDR_STATE_RELEASING,
  DEVADDR_STATE_RELEASED,
} DevaddrState;

/**
 * DevaddrPolicy:
 * @DEVADDR_POLICY_DEFAULT: the daemon's default (first-fit)
 * @DEVADDR_POLICY_FIRST_FIT: the lowest free address; deterministic, the
 *   order libvirt uses
 * @DEVADDR_POLICY_NEXT_FIT: the next free address after the last one
 *   handed out, so a just-freed address is not reused at once
 * @DEVADDR_POLICY_LAST_FIT: the highest free address
 * @DEVADDR_POLICY_RANDOM: any free address
 *
 * How the daemon chooses among the free addresses that fit a constraint.
 */
typedef enum {
  DEVADDR_POLICY_DEFAULT,
  DEVADDR_POLICY_FIRST_FIT,
  DEVADDR_POLICY_NEXT_FIT,
  DEVADDR_POLICY_LAST_FIT,
  DEVADDR_POLICY_RANDOM,
} DevaddrPolicy;

/**
 * DevaddrReleasePhase:
 * @DEVADDR_RELEASE_NOW: free the address at once
 * @DEVADDR_RELEASE_BEGIN: mark the reservation releasing: the unplug was
 *   sent, the address stays taken
 * @DEVADDR_RELEASE_CONFIRM: the unplug completed: free the address
 *
 * How devaddr_client_release() and devaddr_client_detach_device() release.
 */
typedef enum {
  DEVADDR_RELEASE_NOW,
  DEVADDR_RELEASE_BEGIN,
  DEVADDR_RELEASE_CONFIRM,
} DevaddrReleasePhase;

/**
 * DevaddrChangeEvent:
 * @DEVADDR_CHANGE_EVENT_UNKNOWN: an event this library does not know
 * @DEVADDR_CHANGE_EVENT_RESERVED: a reservation was made
 * @DEVADDR_CHANGE_EVENT_COMMITTED: a held reservation became active
 * @DEVADDR_CHANGE_EVENT_RELEASING: a release began
 * @DEVADDR_CHANGE_EVENT_RELEASED: a reservation was released
 * @DEVADDR_CHANGE_EVENT_EXPIRED: a held reservation ran out
 *
 * What happened to a reservation, in a #DevaddrChange.
 */
typedef enum {
  DEVADDR_CHANGE_EVENT_UNKNOWN,
  DEVADDR_CHANGE_EVENT_RESERVED,
  DEVADDR_CHANGE_EVENT_COMMITTED,
  DEVADDR_CHANGE_EVENT_RELEASING,
  DEVADDR_CHANGE_EVENT_RELEASED,
  DEVADDR_CHANGE_EVENT_EXPIRED,
} DevaddrChangeEvent;

/**
 * DevaddrImportFlags:
 * @DEVADDR_IMPORT_NONE: all or nothing: an address held by another
 *   reservation fails the import with %DEVADDR_ERROR_CONFLICT naming both,
 *   and nothing is adopted
 * @DEVADDR_IMPORT_PARTIAL: adopt what does not clash and list the clashes
 *   in the result (devaddr_import_result_get_conflict())
 *
 * How devaddr_client_import_domain() treats clashes.
 */
typedef enum {
  DEVADDR_IMPORT_NONE = 0,
  DEVADDR_IMPORT_PARTIAL = 1 << 0,
} DevaddrImportFlags;

/**
 * DEVADDR_TYPE_MODE:
 *
 * The #GType of #DevaddrMode, an enumeration.
 */
#define DEVADDR_TYPE_MODE (devaddr_mode_get_type ())

/**
 * DEVADDR_TYPE_STATE:
 *
 * The #GType of #DevaddrState, an enumeration.
 */
#define DEVADDR_TYPE_STATE (devaddr_state_get_type ())

/**
 * DEVADDR_TYPE_POLICY:
 *
 * The #GType of #DevaddrPolicy, an enumeration.
 */
#define DEVADDR_TYPE_POLICY (devaddr_policy_get_type ())

/**
 * DEVADDR_TYPE_RELEASE_PHASE:
 *
 * The #GType of #DevaddrReleasePhase, an enumeration.
 */
#define DEVADDR_TYPE_RELEASE_PHASE (devaddr_release_phase_get_type ())

/**
 * DEVADDR_TYPE_CHANGE_EVENT:
 *
 * The #GType of #DevaddrChangeEvent, an enumeration.
 */
#define DEVADDR_TYPE_CHANGE_EVENT (devaddr_change_event_get_type ())

/**
 * DEVADDR_TYPE_IMPORT_FLAGS:
 *
 * The #GType of #DevaddrImportFlags, a set of flags.
 */
#define DEVADDR_TYPE_IMPORT_FLAGS (devaddr_import_flags_get_type ())

GType devaddr_mode_get_type (void);
GType devaddr_state_get_type (void);
GType devaddr_policy_get_type (void);
GType devaddr_release_phase_get_type (void);
GType devaddr_change_event_get_type (void);
GType devaddr_import_flags_get_type (void);

const char *devaddr_mode_to_string (DevaddrMode mode);
DevaddrMode devaddr_mode_from_string (const char *mode);
const char *devaddr_state_to_string (DevaddrState state);
DevaddrState devaddr_state_from_string (const char *state);
const char *devaddr_policy_to_string (DevaddrPolicy policy);
DevaddrPolicy devaddr_policy_from_string (const char *policy);
const char *devaddr_release_phase_to_string (DevaddrReleasePhase phase);
const char *devaddr_change_event_to_string (DevaddrChangeEvent event);
DevaddrChangeEvent devaddr_change_event_from_string (const char *event);

G_END_DECLS
