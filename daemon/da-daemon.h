/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "daemon/da-config.h"
#include "daemon/methods/da-methods.h"
#include "protocol/da-jsonrpc.h"

G_BEGIN_DECLS

/*
 * The daemon: the engine, the store and the sockets, and the rule that
 * joins them.  A call runs against the engine at once; a mutation's
 * changes go to the store as one record; no reply leaves before every
 * change it may reflect is durable, so nobody ever sees state a crash can
 * take back.  When the store fails, every mutation not yet durable is
 * rolled back, newest first, and answered "unavailable"; replies that had
 * been computed on that state are computed again.
 */

DaDaemon *da_daemon_new (DaConfig *config, GError **error);
/* a daemon around an engine, without a store or sockets, for running method
 * handlers in memory (the method fuzz target): never started, never
 * dispatches; server.info reports no store and no connections.  Takes the
 * engine; the config stays the caller's, as for da_daemon_new(). */
DaDaemon *da_daemon_new_detached (DaConfig *config, DaEngine *engine);
/* recover the state, take the sockets (inherited or bound), go */
gboolean da_daemon_start (DaDaemon *daemon, GError **error);
/* stop accepting, finish what is in flight, flush replies */
void da_daemon_stop (DaDaemon *daemon);
void da_daemon_free (DaDaemon *daemon);
/* SIGHUP: config and catalog again; state is kept.  On failure nothing
 * changes and the reason is logged.  required: a missing file is an error
 * (as at start with --config), else the defaults. */
gboolean da_daemon_reload (DaDaemon *daemon, const char *config_path, gboolean required, GError **error);
/* the daemon wants to exit (idle timeout); run the main loop until then */
void da_daemon_set_quit_func (DaDaemon *daemon, GSourceFunc func, gpointer user_data);

/* from the connection: run call index of a batch; the reply comes back
 * through da_connection_complete() when it may leave */
void da_daemon_dispatch (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index);
/* a connection went away */
void da_daemon_connection_closed (DaDaemon *daemon, DaConnection *connection);

/* for server.info and watch */
JsonObject *da_daemon_describe (DaDaemon *daemon);
gboolean da_daemon_watch (DaDaemon *daemon, DaConnection *connection, const char *vm, GError **error);

const DaConfig *da_daemon_get_config (DaDaemon *daemon);
DaEngine *da_daemon_get_engine (DaDaemon *daemon);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaDaemon, da_daemon_free)

G_END_DECLS
