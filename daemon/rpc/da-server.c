/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/rpc/da-connection.h"
#include "daemon/rpc/da-server.h"
#include "protocol/da-json.h"
#include "protocol/da-jsonrpc.h"
#include "protocol/da-rpc-error.h"

/* socket-activation names, as in the .socket units' FileDescriptorName= */
#define FD_NAME_RW "devaddrd"
#define FD_NAME_RO "devaddrd-ro"

/* file descriptors kept for the store, the listening sockets and the main
 * loop: connections get the rest */
#define FD_RESERVE 32
/* out of file descriptors, accept() fails and the connection stays
 * pending: try again after this long, or when a connection closes */
#define ACCEPT_RETRY_MS 100

typedef struct {
  DaServer *server;
  GSocket *socket;
  GSource *source;  /* NULL while accept() waits to be tried again */
  guint retry_source;
  gboolean failing; /* accept() failed and has not succeeded since */
  gboolean read_only;
  char *bound_path; /* bound by us: removed again at exit */
} Listener;

struct _DaServer {
  DaDaemon *daemon;
  DaConfig *config;
  GPtrArray *listeners;
  GPtrArray *connections;
  GHashTable *per_uid;  /* uid -> open connections */
  gboolean have_group;
  gid_t group_gid;
  void (*changed) (gpointer);
  gpointer changed_data;
};

static void
listener_free (Listener *listener)
{
  if (listener->source != NULL) {
    g_source_destroy (listener->source);
    g_source_unref (listener->source);
  }
  g_clear_handle_id (&listener->retry_source, g_source_remove);
  g_socket_close (listener->socket, NULL);
  g_object_unref (listener->socket);
  if (listener->bound_path != NULL)
    unlink (listener->bound_path);
  g_free (listener->bound_path);
  g_free (listener);
}

static void
resolve_group (DaServer *server)
{
  struct group grp, *found = NULL;
  char buf[4096];

  server->have_group = FALSE;
  if (server->config->group == NULL || *server->config->group == '\0')
    return;
  if (getgrnam_r (server->config->group, &grp, buf, sizeof buf, &found) == 0 && found != NULL) {
    server->have_group = TRUE;
    server->group_gid = found->gr_gid;
  } else {
    g_info ("group %s does not exist: only root%s may change reservations", server->config->group,
            da_config_owner_may_mutate (server->config) ? " and the daemon's own user" : "");
  }
}

/* a login shell's soft limit of 1024 open files is far below
 * connections=; the hard limit is the daemon's to take (the unit sets both
 * with LimitNOFILE=) */
static void
raise_fd_limit (DaServer *server)
{
  struct rlimit nofile;

  if (getrlimit (RLIMIT_NOFILE, &nofile) != 0)
    return;
  if (nofile.rlim_cur < nofile.rlim_max) {
    rlim_t soft = nofile.rlim_cur;

    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &nofile) == 0)
      g_debug ("raised the limit of open files from %ju to %ju", (uintmax_t) soft, (uintmax_t) nofile.rlim_cur);
    else
      nofile.rlim_cur = soft;
  }
  if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < (rlim_t) server->config->max_connections + FD_RESERVE)
    g_info ("a limit of %ju open files leaves room for %ju connections, fewer than connections=%u",
            (uintmax_t) nofile.rlim_cur, (uintmax_t) (nofile.rlim_cur > FD_RESERVE ? nofile.rlim_cur - FD_RESERVE : 0),
            server->config->max_connections);
}

/* the connections the open-files limit leaves room for, as it is now */
static guint64
fd_room (void)
{
  struct rlimit nofile;

  if (getrlimit (RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY)
    return G_MAXUINT64;
  return nofile.rlim_cur > FD_RESERVE ? nofile.rlim_cur - FD_RESERVE : 0;
}

DaServer *
da_server_new (DaDaemon *daemon, DaConfig *config, void (*changed) (gpointer), gpointer user_data)
{
  DaServer *server = g_new0 (DaServer, 1);

  server->daemon = daemon;
  server->config = config;
  server->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_free);
  server->connections = g_ptr_array_new ();
  server->per_uid = g_hash_table_new (NULL, NULL);
  server->changed = changed;
  server->changed_data = user_data;
  resolve_group (server);
  raise_fd_limit (server);
  return server;
}

DaConfig *
da_server_get_config (DaServer *server)
{
  return server->config;
}

void
da_server_reconfigure (DaServer *server)
{
  resolve_group (server);
}

gboolean
da_server_group_allows (DaServer *server, gid_t gid, const gid_t *groups, guint n_groups)
{
  if (!server->have_group)
    return FALSE;
  if (gid == server->group_gid)
    return TRUE;
  for (guint i = 0; i < n_groups; i++)
    if (groups[i] == server->group_gid)
      return TRUE;
  return FALSE;
}

guint
da_server_get_n_connections (DaServer *server)
{
  return server->connections->len;
}

/* refuse a peer over a limit with one clear error, then hang up */
static void
refuse (GSocket *socket, const char *why)
{
  g_autoptr (GError) error = g_error_new_literal (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT, why);
  g_autoptr (JsonNode) reply = da_jsonrpc_error_response_new (NULL, error, NULL);
  g_autoptr (GString) text = g_string_new (NULL);

  da_json_append (text, reply);
  g_string_append_c (text, '\n');
  g_socket_send_with_blocking (socket, text->str, text->len, FALSE, NULL, NULL);
  g_socket_close (socket, NULL);
}

static void
accept_one (Listener *listener, GSocket *socket)
{
  DaServer *server = listener->server;
  g_autoptr (GError) error = NULL;
  g_autoptr (GCredentials) creds = g_socket_get_credentials (socket, NULL);
  uid_t uid = creds != NULL ? g_credentials_get_unix_user (creds, NULL) : (uid_t) -1;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_uid, GUINT_TO_POINTER (uid)));
  DaConnection *connection;

  if (creds == NULL) {
    refuse (socket, "cannot read the peer's credentials");
    return;
  }
  if (server->connections->len >= server->config->max_connections) {
    g_autofree char *why = g_strdup_printf ("the daemon has %u connections, its limit", server->config->max_connections);

    refuse (socket, why);
    return;
  }
  if (count >= server->config->max_connections_per_uid) {
    g_autofree char *why = g_strdup_printf ("uid %u already has %u connections, the limit per uid", uid, count);

    refuse (socket, why);
    return;
  }
  /* refused while there are descriptors left for the store to work with */
  if (server->connections->len >= fd_room ()) {
    g_autofree char *why = g_strdup_printf ("the daemon has %u connections, all its limit of open files "
                                            "(RLIMIT_NOFILE) allows", server->connections->len);

    refuse (socket, why);
    return;
  }
  connection = da_connection_new (server, server->daemon, socket, listener->read_only, &error);
  if (connection == NULL) {
    g_info ("refusing a connection: %s", error->message);
    g_socket_close (socket, NULL);
    return;
  }
  g_hash_table_insert (server->per_uid, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (count + 1));
  g_ptr_array_add (server->connections, connection);
  g_debug ("connection from uid %u on the %s socket (%u open)", uid, listener->read_only ? "read-only" : "read-write",
           server->connections->len);
  if (server->changed != NULL)
    server->changed (server->changed_data);
}

static void listener_watch (Listener *listener);

/* a descriptor came free: accept() may work again */
static void
retry_accepting (DaServer *server)
{
  for (guint i = 0; i < server->listeners->len; i++) {
    Listener *listener = g_ptr_array_index (server->listeners, i);

    if (listener->retry_source != 0) {
      g_clear_handle_id (&listener->retry_source, g_source_remove);
      listener_watch (listener);
    }
  }
}

void
da_server_connection_closed (DaServer *server, DaConnection *connection)
{
  uid_t uid = da_connection_get_uid (connection);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_uid, GUINT_TO_POINTER (uid)));

  if (!g_ptr_array_remove_fast (server->connections, connection))
    return;
  if (count <= 1)
    g_hash_table_remove (server->per_uid, GUINT_TO_POINTER (uid));
  else
    g_hash_table_insert (server->per_uid, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (count - 1));
  da_connection_unref (connection);
  retry_accepting (server);
  if (server->changed != NULL)
    server->changed (server->changed_data);
}

static gboolean
on_retry (gpointer user_data)
{
  Listener *listener = user_data;

  listener->retry_source = 0;
  listener_watch (listener);
  return G_SOURCE_REMOVE;
}

static gboolean
on_incoming (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Listener *listener = user_data;

  /* take everything waiting, a few at a time so clients already in keep
   * being served */
  for (guint i = 0; i < 64; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GSocket) peer = g_socket_accept (socket, NULL, &error);

    if (peer == NULL) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      /* out of file descriptors (or memory), the connection stays pending
       * and the socket readable: asking again at once would spin and take
       * the main loop from the clients already in */
      if (!listener->failing)
        g_warning ("accept: %s; trying again every %d ms", error->message, ACCEPT_RETRY_MS);
      listener->failing = TRUE;
      g_source_destroy (listener->source);
      g_clear_pointer (&listener->source, g_source_unref);
      listener->retry_source = g_timeout_add (ACCEPT_RETRY_MS, on_retry, listener);
      return G_SOURCE_REMOVE;
    }
    if (listener->failing)
      g_info ("accepting connections again");
    listener->failing = FALSE;
    accept_one (listener, peer);
  }
  return G_SOURCE_CONTINUE;
}

static void
listener_watch (Listener *listener)
{
  listener->source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_callback (listener->source, (GSourceFunc) (void (*) (void)) on_incoming, listener, NULL);
  g_source_attach (listener->source, NULL);
}

static void
add_listener (DaServer *server, GSocket *socket, gboolean read_only, const char *bound_path)
{
  Listener *listener = g_new0 (Listener, 1);

  listener->server = server;
  listener->socket = socket;
  listener->read_only = read_only;
  listener->bound_path = g_strdup (bound_path);
  g_socket_set_blocking (socket, FALSE);
  listener_watch (listener);
  g_ptr_array_add (server->listeners, listener);
}

static gboolean
take_inherited (DaServer *server, int n, char **names, GError **error)
{
  for (int i = 0; i < n; i++) {
    int fd = SD_LISTEN_FDS_START + i;
    const char *name = names != NULL && names[i] != NULL ? names[i] : "unknown";
    gboolean read_only;
    GSocket *socket;

    if (strcmp (name, FD_NAME_RW) == 0 || (n == 1 && strcmp (name, "unknown") == 0)) {
      read_only = FALSE;
    } else if (strcmp (name, FD_NAME_RO) == 0) {
      read_only = TRUE;
    } else {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "inherited socket %d is named \"%s\"; expected %s or %s", fd, name, FD_NAME_RW, FD_NAME_RO);
      return FALSE;
    }
    if (sd_is_socket_unix (fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "inherited socket %d (%s) is not a listening Unix stream socket", fd, name);
      return FALSE;
    }
    socket = g_socket_new_from_fd (fd, error);
    if (socket == NULL)
      return FALSE;
    add_listener (server, socket, read_only, NULL);
    g_info ("listening on inherited %s socket", read_only ? "read-only" : "read-write");
  }
  return TRUE;
}

/* a socket file left by a daemon that died is taken over; one that
 * answers belongs to a daemon that is alive */
static gboolean
clear_stale_socket (const char *path, GError **error)
{
  struct stat st;
  g_autoptr (GSocket) probe = NULL;
  g_autoptr (GSocketAddress) address = NULL;

  if (lstat (path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s exists and is not a socket", path);
    return FALSE;
  }
  probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (probe == NULL)
    return FALSE;
  address = g_unix_socket_address_new (path);
  if (g_socket_connect (probe, address, NULL, NULL)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE, "another daemon is listening on %s", path);
    return FALSE;
  }
  unlink (path);
  return TRUE;
}

static gboolean
bind_socket (DaServer *server, const char *path, gboolean read_only, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  mode_t mode = read_only ? 0666 : 0660;

  if (strlen (path) >= sizeof (((struct sockaddr_un *) NULL)->sun_path)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME, "socket path %s is too long", path);
    return FALSE;
  }
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s: %s", dir, g_strerror (errno));
    return FALSE;
  }
  if (!clear_stale_socket (path, error))
    return FALSE;
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  address = g_unix_socket_address_new (path);
  /* a burst of hotplug scripts connecting at once must not see EAGAIN */
  g_socket_set_listen_backlog (socket, 512);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error)) {
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  /* the mode is the access control of the read-write socket; a failure to
   * set it must not leave a world-writable socket behind */
  if (chmod (path, mode) != 0 || (!read_only && server->have_group && geteuid () == 0
                                  && chown (path, 0, server->group_gid) != 0)) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot set the mode of %s: %s", path, g_strerror (errno));
    unlink (path);
    return FALSE;
  }
  add_listener (server, g_steal_pointer (&socket), read_only, path);
  g_info ("listening on %s (%s)", path, read_only ? "read-only" : "read-write");
  return TRUE;
}

gboolean
da_server_listen (DaServer *server, gboolean *activated, GError **error)
{
  char **names = NULL;
  int n = sd_listen_fds_with_names (1, &names);
  gboolean ok;

  if (n < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-n), "sd_listen_fds: %s", g_strerror (-n));
    return FALSE;
  }
  if (n > 0) {
    ok = take_inherited (server, n, names, error);
    g_strfreev (names);
    *activated = ok;
    return ok;
  }
  g_strfreev (names);
  *activated = FALSE;
  if (!bind_socket (server, server->config->socket_path, FALSE, error))
    return FALSE;
  if (server->config->ro_socket_path != NULL && *server->config->ro_socket_path != '\0'
      && !bind_socket (server, server->config->ro_socket_path, TRUE, error))
    return FALSE;
  return TRUE;
}

void
da_server_stop_listening (DaServer *server)
{
  g_ptr_array_set_size (server->listeners, 0);
}

void
da_server_flush (DaServer *server, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  g_autoptr (GPtrArray) connections = g_ptr_array_copy (server->connections, NULL, NULL);

  for (guint i = 0; i < connections->len; i++)
    da_connection_flush (g_ptr_array_index (connections, i), deadline);
}

void
da_server_free (DaServer *server)
{
  if (server == NULL)
    return;
  da_server_stop_listening (server);
  while (server->connections->len > 0)
    da_connection_close (g_ptr_array_index (server->connections, 0));
  g_ptr_array_unref (server->connections);
  g_ptr_array_unref (server->listeners);
  g_hash_table_unref (server->per_uid);
  g_free (server);
}
