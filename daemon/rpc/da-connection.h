/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

#include "daemon/da-daemon.h"
#include "daemon/rpc/da-server.h"
#include "protocol/da-jsonrpc.h"

G_BEGIN_DECLS

/*
 * One client: newline-delimited JSON-RPC in, replies and notifications
 * out.  Reading pauses while the answers the client has not read (written,
 * computed and waiting for a commit or for the rest of their batch) take
 * more than max_output, and the rest of a batch is refused past it, so a
 * client that never reads cannot make the daemon buffer without bound; a
 * client that stops reading notifications for long is dropped, and so is
 * one that leaves a request line unfinished for frame_timeout_s.  After
 * the client closes its sending side, the replies it is owed are still
 * written.
 */

DaConnection *da_connection_new (DaServer *server, DaDaemon *daemon, GSocket *socket, gboolean read_only,
                                 GError **error);
DaConnection *da_connection_ref (DaConnection *connection);
void da_connection_unref (DaConnection *connection);
void da_connection_close (DaConnection *connection);

gboolean da_connection_is_read_only (DaConnection *connection);
gboolean da_connection_may_mutate (DaConnection *connection);
uid_t da_connection_get_uid (DaConnection *connection);
gsize da_connection_get_unsent (DaConnection *connection);
/* write what is queued, blocking at most until deadline (monotonic µs) */
void da_connection_flush (DaConnection *connection, gint64 deadline);

/* answers computed for the connection and held until they may leave
 * count against its output limit; the daemon says how many bytes of them
 * it holds (bytes < 0: fewer) */
void da_connection_add_waiting (DaConnection *connection, gssize bytes);
/* the answer to call index of batch: result is compact JSON text (NULL:
 * null), or error */
void da_connection_complete (DaConnection *connection, DaJsonrpcBatch *batch, guint index, const char *result,
                             const GError *error, JsonObject *error_data);
void da_connection_notify (DaConnection *connection, const char *method, JsonNode *params);

G_END_DECLS
