/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "daemon/da-config.h"
#include "daemon/da-daemon.h"

G_BEGIN_DECLS

/*
 * The listening sockets: inherited from systemd by name ("devaddrd" for
 * the read-write socket, "devaddrd-ro" for the read-only one) or bound by
 * the daemon itself; accepting connections within the per-uid and total
 * limits.
 */
typedef struct _DaServer DaServer;

DaServer *da_server_new (DaDaemon *daemon, DaConfig *config, void (*changed) (gpointer), gpointer user_data);
/* activated: whether the sockets came from systemd */
gboolean da_server_listen (DaServer *server, gboolean *activated, GError **error);
void da_server_stop_listening (DaServer *server);
/* after a reload: limits and the group may have changed */
void da_server_reconfigure (DaServer *server);
/* write out what connections still have queued, for at most timeout_us */
void da_server_flush (DaServer *server, gint64 timeout_us);
guint da_server_get_n_connections (DaServer *server);
void da_server_free (DaServer *server);

/* for connections */
DaConfig *da_server_get_config (DaServer *server);
gboolean da_server_group_allows (DaServer *server, gid_t gid, const gid_t *groups, guint n_groups);
void da_server_connection_closed (DaServer *server, DaConnection *connection);

G_END_DECLS
