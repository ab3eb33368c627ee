/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * One JSON-RPC connection to devaddrd, driven by a thread of its own.
 *
 * Calls may be started from any thread.  Each is a GTask: the channel
 * returns its result (a JsonNode, or TRUE for a bare connect) or its
 * error from the I/O thread, and GTask runs the callback in the context
 * the task was made in.  Many calls may be in flight at once; replies are
 * matched by id.  The connection is made on the first call and again on
 * the first call after it was lost.
 */

typedef struct _DaChannel DaChannel;

/* both run in the I/O thread */
typedef void (*DaChannelNotifyFunc) (const char *method, JsonNode *params, gpointer user_data);
typedef void (*DaChannelLostFunc) (const GError *error, gpointer user_data);

DaChannel *da_channel_new (const char *path, DaChannelNotifyFunc notify, DaChannelLostFunc lost, gpointer user_data,
                           GDestroyNotify user_data_free);
/* fails what is in flight with DEVADDR_ERROR_DISCONNECTED and ends the
 * thread; from any thread, the I/O thread included (a task it drops may
 * hold the owner's last reference) */
void da_channel_free (DaChannel *channel);

/* takes task and params; method NULL only connects (result TRUE) */
void da_channel_call (DaChannel *channel, GTask *task, const char *method, JsonObject *params);
void da_channel_disconnect (DaChannel *channel);
gboolean da_channel_is_connected (DaChannel *channel);

G_END_DECLS
