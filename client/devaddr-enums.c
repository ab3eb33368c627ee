/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "devaddr-private.h"

/**
 * devaddr_mode_get_type:
 *
 * Returns: the #GType of #DevaddrMode
 */
G_DEFINE_ENUM_TYPE (DevaddrMode, devaddr_mode,
  G_DEFINE_ENUM_VALUE (DEVADDR_MODE_DEFAULT, "default"),
  G_DEFINE_ENUM_VALUE (DEVADDR_MODE_STATIC, "static"),
  G_DEFINE_ENUM_VALUE (DEVADDR_MODE_DYNAMIC, "dynamic"))

/**
 * devaddr_state_get_type:
 *
 * Returns: the #GType of #DevaddrState
 */
G_DEFINE_ENUM_TYPE (DevaddrState, devaddr_state,
  G_DEFINE_ENUM_VALUE (DEVADDR_STATE_UNKNOWN, "unknown"),
  G_DEFINE_ENUM_VALUE (DEVADDR_STATE_HELD, "held"),
  G_DEFINE_ENUM_VALUE (DEVADDR_STATE_ACTIVE, "active"),
  G_DEFINE_ENUM_VALUE (DEVADDR_STATE_RELEASING, "releasing"),
  G_DEFINE_ENUM_VALUE (DEVADDR_STATE_RELEASED, "released"))

/**
 * devaddr_policy_get_type:
 *
 * Returns: the #GType of #DevaddrPolicy
 */
G_DEFINE_ENUM_TYPE (DevaddrPolicy, devaddr_policy,
  G_DEFINE_ENUM_VALUE (DEVADDR_POLICY_DEFAULT, "default"),
  G_DEFINE_ENUM_VALUE (DEVADDR_POLICY_FIRST_FIT, "first-fit"),
  G_DEFINE_ENUM_VALUE (DEVADDR_POLICY_NEXT_FIT, "next-fit"),
  G_DEFINE_ENUM_VALUE (DEVADDR_POLICY_LAST_FIT, "last-fit"),
  G_DEFINE_ENUM_VALUE (DEVADDR_POLICY_RANDOM, "random"))

/**
 * devaddr_release_phase_get_type:
 *
 * Returns: the #GType of #DevaddrReleasePhase
 */
G_DEFINE_ENUM_TYPE (DevaddrReleasePhase, devaddr_release_phase,
  G_DEFINE_ENUM_VALUE (DEVADDR_RELEASE_NOW, "now"),
  G_DEFINE_ENUM_VALUE (DEVADDR_RELEASE_BEGIN, "begin"),
  G_DEFINE_ENUM_VALUE (DEVADDR_RELEASE_CONFIRM, "confirm"))

/**
 * devaddr_change_event_get_type:
 *
 * Returns: the #GType of #DevaddrChangeEvent
 */
G_DEFINE_ENUM_TYPE (DevaddrChangeEvent, devaddr_change_event,
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_UNKNOWN, "unknown"),
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_RESERVED, "reserved"),
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_COMMITTED, "committed"),
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_RELEASING, "releasing"),
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_RELEASED, "released"),
  G_DEFINE_ENUM_VALUE (DEVADDR_CHANGE_EVENT_EXPIRED, "expired"))

/**
 * devaddr_import_flags_get_type:
 *
 * Returns: the #GType of #DevaddrImportFlags
 */
G_DEFINE_FLAGS_TYPE (DevaddrImportFlags, devaddr_import_flags,
  G_DEFINE_ENUM_VALUE (DEVADDR_IMPORT_NONE, "none"),
  G_DEFINE_ENUM_VALUE (DEVADDR_IMPORT_PARTIAL, "partial"))

static const char *const mode_names[] = { NULL, "static", "dynamic" };
static const char *const state_names[] = { NULL, "held", "active", "releasing", "released" };
static const char *const policy_names[] = { NULL, "first-fit", "next-fit", "last-fit", "random" };
static const char *const phase_names[] = { NULL, "begin", "confirm" };
static const char *const event_names[] = { NULL, "reserved", "committed", "releasing", "released", "expired" };

static const char *
to_string (const char *const *names, guint n_names, guint value)
{
  return value < n_names ? names[value] : NULL;
}

static guint
from_string (const char *const *names, guint n_names, const char *text)
{
  for (guint i = 1; text != NULL && i < n_names; i++)
    if (strcmp (names[i], text) == 0)
      return i;
  return 0;
}

/**
 * devaddr_mode_to_string:
 * @mode: a #DevaddrMode
 *
 * Returns: (nullable): "static" or "dynamic"; %NULL for %DEVADDR_MODE_DEFAULT
 */
const char *
devaddr_mode_to_string (DevaddrMode mode)
{
  return to_string (mode_names, G_N_ELEMENTS (mode_names), mode);
}

/**
 * devaddr_mode_from_string:
 * @mode: (nullable): "static" or "dynamic"
 *
 * Returns: the #DevaddrMode; %DEVADDR_MODE_DEFAULT for anything else
 */
DevaddrMode
devaddr_mode_from_string (const char *mode)
{
  return (DevaddrMode) from_string (mode_names, G_N_ELEMENTS (mode_names), mode);
}

/**
 * devaddr_state_to_string:
 * @state: a #DevaddrState
 *
 * Returns: (nullable): "held", "active", "releasing" or "released"; %NULL
 *   for %DEVADDR_STATE_UNKNOWN
 */
const char *
devaddr_state_to_string (DevaddrState state)
{
  return to_string (state_names, G_N_ELEMENTS (state_names), state);
}

/**
 * devaddr_state_from_string:
 * @state: (nullable): a state as the protocol writes it
 *
 * Returns: the #DevaddrState; %DEVADDR_STATE_UNKNOWN for anything else
 */
DevaddrState
devaddr_state_from_string (const char *state)
{
  return (DevaddrState) from_string (state_names, G_N_ELEMENTS (state_names), state);
}

/**
 * devaddr_policy_to_string:
 * @policy: a #DevaddrPolicy
 *
 * Returns: (nullable): "first-fit", "next-fit", "last-fit" or "random";
 *   %NULL for %DEVADDR_POLICY_DEFAULT
 */
const char *
devaddr_policy_to_string (DevaddrPolicy policy)
{
  return to_string (policy_names, G_N_ELEMENTS (policy_names), policy);
}

/**
 * devaddr_policy_from_string:
 * @policy: (nullable): a policy as the protocol writes it
 *
 * Returns: the #DevaddrPolicy; %DEVADDR_POLICY_DEFAULT for anything else
 */
DevaddrPolicy
devaddr_policy_from_string (const char *policy)
{
  return (DevaddrPolicy) from_string (policy_names, G_N_ELEMENTS (policy_names), policy);
}

/**
 * devaddr_release_phase_to_string:
 * @phase: a #DevaddrReleasePhase
 *
 * Returns: (nullable): "begin" or "confirm"; %NULL for %DEVADDR_RELEASE_NOW,
 *   which is the absence of a phase on the wire
 */
const char *
devaddr_release_phase_to_string (DevaddrReleasePhase phase)
{
  return to_string (phase_names, G_N_ELEMENTS (phase_names), phase);
}

/**
 * devaddr_change_event_to_string:
 * @event: a #DevaddrChangeEvent
 *
 * Returns: (nullable): "reserved", "committed", "releasing", "released" or
 *   "expired"; %NULL for %DEVADDR_CHANGE_EVENT_UNKNOWN
 */
const char *
devaddr_change_event_to_string (DevaddrChangeEvent event)
{
  return to_string (event_names, G_N_ELEMENTS (event_names), event);
}

/**
 * devaddr_change_event_from_string:
 * @event: (nullable): an event as the protocol writes it
 *
 * Returns: the #DevaddrChangeEvent; %DEVADDR_CHANGE_EVENT_UNKNOWN for
 *   anything else
 */
DevaddrChangeEvent
devaddr_change_event_from_string (const char *event)
{
  return (DevaddrChangeEvent) from_string (event_names, G_N_ELEMENTS (event_names), event);
}

DevaddrState
da_release_state_from_string (const char *state)
{
  /* "free" is what early daemons called a finished release */
  if (state != NULL && strcmp (state, "free") == 0)
    return DEVADDR_STATE_RELEASED;
  return devaddr_state_from_string (state);
}
