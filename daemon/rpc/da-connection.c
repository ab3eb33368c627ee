/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/rpc/da-connection.h"
#include "protocol/da-frame.h"
#include "protocol/da-json.h"
#include "protocol/da-rpc-error.h"

#define READ_CHUNK (64 * 1024)
#define MAX_GROUPS 256

/* a frame being answered; finished once every call has been */
typedef struct {
  DaJsonrpcBatch *batch;
  gboolean dispatching;
} Batch;

struct _DaConnection {
  int ref;
  DaServer *server;
  DaDaemon *daemon;
  GSocket *socket;
  gboolean read_only;
  uid_t uid;
  gid_t gid;
  gboolean may_mutate;
  DaFrameReader *reader;
  GSource *in_source;
  GSource *out_source;
  GSource *line_timer;  /* runs out when an unfinished line is not finished */
  guint64 timed_line;   /* the line it is for, by da_frame_reader_get_lines() */
  GByteArray *out;
  gsize out_sent;
  GPtrArray *batches; /* Batch */
  guint pending;
  gsize waiting;       /* answers the daemon holds until what they reflect is durable */
  gboolean processing;  /* in process_frames () */
  gboolean read_closed;
  gboolean closed;
};

static void connection_update_sources (DaConnection *connection);
static void process_frames (DaConnection *connection);

static void
batch_free (Batch *batch)
{
  da_jsonrpc_batch_free (batch->batch);
  g_free (batch);
}

static gboolean
read_peer (DaConnection *connection, GError **error)
{
  int fd = g_socket_get_fd (connection->socket);
  struct ucred cred;
  socklen_t len = sizeof cred;
  gid_t groups[MAX_GROUPS];
  socklen_t groups_len = sizeof groups;
  guint n_groups = 0;

  /* read once, at accept: what the peer was then is what it is allowed */
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "SO_PEERCRED: %s", g_strerror (errno));
    return FALSE;
  }
  connection->uid = cred.uid;
  connection->gid = cred.gid;
#ifdef SO_PEERGROUPS
  if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &groups_len) == 0)
    n_groups = groups_len / sizeof (gid_t);
#endif
  connection->may_mutate = cred.uid == 0
                           || (cred.uid == geteuid () && da_config_owner_may_mutate (da_server_get_config (connection->server)))
                           || da_server_group_allows (connection->server, cred.gid, groups, n_groups);
  return TRUE;
}

DaConnection *
da_connection_new (DaServer *server, DaDaemon *daemon, GSocket *socket, gboolean read_only, GError **error)
{
  DaConnection *connection = g_new0 (DaConnection, 1);
  DaConfig *config = da_server_get_config (server);

  connection->ref = 1;
  connection->server = server;
  connection->daemon = daemon;
  connection->socket = g_object_ref (socket);
  connection->read_only = read_only;
  connection->reader = da_frame_reader_new (config->max_frame);
  connection->out = g_byte_array_new ();
  connection->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_free);
  g_socket_set_blocking (socket, FALSE);
  if (!read_peer (connection, error)) {
    connection->closed = TRUE;
    da_connection_unref (connection);
    return NULL;
  }
  connection_update_sources (connection);
  return connection;
}

DaConnection *
da_connection_ref (DaConnection *connection)
{
  connection->ref++;
  return connection;
}

void
da_connection_unref (DaConnection *connection)
{
  if (connection == NULL || --connection->ref > 0)
    return;
  g_warn_if_fail (connection->closed);
  g_clear_pointer (&connection->reader, da_frame_reader_free);
  g_byte_array_unref (connection->out);
  g_ptr_array_unref (connection->batches);
  g_object_unref (connection->socket);
  g_free (connection);
}

gboolean
da_connection_is_read_only (DaConnection *connection)
{
  return connection->read_only;
}

gboolean
da_connection_may_mutate (DaConnection *connection)
{
  return connection->may_mutate;
}

uid_t
da_connection_get_uid (DaConnection *connection)
{
  return connection->uid;
}

gsize
da_connection_get_unsent (DaConnection *connection)
{
  return connection->out->len - connection->out_sent;
}

void
da_connection_add_waiting (DaConnection *connection, gssize bytes)
{
  g_return_if_fail (bytes >= 0 || connection->waiting >= (gsize) -bytes);
  connection->waiting = (gsize) ((gssize) connection->waiting + bytes);
}

/* what the client has to read before it has all its answers: written,
 * waiting for a commit, and waiting for the rest of their batch */
static gsize
get_owed (DaConnection *connection)
{
  gsize owed = da_connection_get_unsent (connection) + connection->waiting;

  for (guint i = 0; i < connection->batches->len; i++)
    owed += da_jsonrpc_batch_get_reply_bytes (((Batch *) g_ptr_array_index (connection->batches, i))->batch);
  return owed;
}

void
da_connection_close (DaConnection *connection)
{
  if (connection->closed)
    return;
  connection->closed = TRUE;
  if (connection->in_source != NULL) {
    g_source_destroy (connection->in_source);
    g_clear_pointer (&connection->in_source, g_source_unref);
  }
  if (connection->out_source != NULL) {
    g_source_destroy (connection->out_source);
    g_clear_pointer (&connection->out_source, g_source_unref);
  }
  if (connection->line_timer != NULL) {
    g_source_destroy (connection->line_timer);
    g_clear_pointer (&connection->line_timer, g_source_unref);
  }
  /* answers still on their way have nowhere to go; mutations stay made */
  da_daemon_connection_closed (connection->daemon, connection);
  g_ptr_array_set_size (connection->batches, 0);
  g_socket_close (connection->socket, NULL);
  da_server_connection_closed (connection->server, connection);
}

/* ------------------------------------------------------------------ */
/* output */

static gboolean
write_some (DaConnection *connection)
{
  while (connection->out_sent < connection->out->len) {
    GError *error = NULL;
    gssize n = g_socket_send_with_blocking (connection->socket, (const char *) connection->out->data + connection->out_sent,
                                            connection->out->len - connection->out_sent, FALSE, NULL, &error);

    if (n < 0) {
      gboolean again = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);

      if (!again)
        g_debug ("connection uid %u: write: %s", connection->uid, error->message);
      g_error_free (error);
      return again;
    }
    connection->out_sent += (gsize) n;
  }
  g_byte_array_set_size (connection->out, 0);
  connection->out_sent = 0;
  return TRUE;
}

static void
finish_if_done (DaConnection *connection)
{
  /* a client that closed its side is owed its answers, then goodbye */
  if (connection->read_closed && connection->pending == 0 && connection->batches->len == 0
      && da_connection_get_unsent (connection) == 0)
    da_connection_close (connection);
}

/* one line out: text is a JSON text without its newline */
static void
queue_text (DaConnection *connection, GString *text)
{
  DaConfig *config;

  if (connection->closed || text == NULL)
    return;
  g_string_append_c (text, '\n');
  g_byte_array_append (connection->out, (const guint8 *) text->str, (guint) text->len);
  if (!write_some (connection)) {
    da_connection_close (connection);
    return;
  }
  config = da_server_get_config (connection->server);
  /* reading is paused past max_output; what still piles up is
   * notifications nobody reads */
  if (da_connection_get_unsent (connection) > 2 * config->max_output) {
    g_info ("connection uid %u: %zu bytes unread, dropping it", connection->uid, da_connection_get_unsent (connection));
    da_connection_close (connection);
    return;
  }
  connection_update_sources (connection);
}

static void
queue_node (DaConnection *connection, JsonNode *node)
{
  g_autoptr (GString) text = NULL;

  if (connection->closed || node == NULL)
    return;
  text = g_string_new (NULL);
  da_json_append (text, node);
  queue_text (connection, text);
}

void
da_connection_notify (DaConnection *connection, const char *method, JsonNode *params)
{
  g_autoptr (JsonNode) message = NULL;

  if (connection->closed)
    return;
  message = da_jsonrpc_notification_new (method, json_node_ref (params));
  queue_node (connection, message);
}

void
da_connection_flush (DaConnection *connection, gint64 deadline)
{
  while (!connection->closed && da_connection_get_unsent (connection) > 0) {
    struct pollfd pfd = { g_socket_get_fd (connection->socket), POLLOUT, 0 };
    gint64 left = deadline - g_get_monotonic_time ();

    if (left <= 0 || poll (&pfd, 1, (int) (left / 1000) + 1) <= 0 || !write_some (connection))
      break;
  }
}

/* ------------------------------------------------------------------ */
/* answers */

static Batch *
find_batch (DaConnection *connection, DaJsonrpcBatch *batch, guint *index)
{
  for (guint i = 0; i < connection->batches->len; i++) {
    Batch *b = g_ptr_array_index (connection->batches, i);

    if (b->batch == batch) {
      *index = i;
      return b;
    }
  }
  return NULL;
}

static void
finish_batch (DaConnection *connection, guint position)
{
  Batch *b = g_ptr_array_index (connection->batches, position);
  g_autoptr (GString) reply = da_jsonrpc_batch_build_reply (b->batch);

  g_ptr_array_remove_index (connection->batches, position);
  queue_text (connection, reply);
}

void
da_connection_complete (DaConnection *connection, DaJsonrpcBatch *batch, guint index, const char *result,
                        const GError *error, JsonObject *error_data)
{
  guint position;
  Batch *b;

  if (connection->closed || (b = find_batch (connection, batch, &position)) == NULL)
    return;
  if (error != NULL)
    da_jsonrpc_batch_return_error (batch, index, error, error_data);
  else
    da_jsonrpc_batch_return_result_json (batch, index, result);
  connection->pending--;
  if (!b->dispatching && da_jsonrpc_batch_get_n_pending (batch) == 0)
    finish_batch (connection, position);
  if (!connection->closed) {
    process_frames (connection);
    finish_if_done (connection);
  }
}

/* ------------------------------------------------------------------ */
/* input */

/* reading pauses while the client owes more than max_output: a client
 * that never reads cannot make the daemon hold more than about twice that
 * for it (what it owed before the last request plus that answer) */
static gboolean
output_full (DaConnection *connection)
{
  return get_owed (connection) > da_server_get_config (connection->server)->max_output;
}

static void
handle_frame (DaConnection *connection, const char *frame, gsize len)
{
  DaConfig *config = da_server_get_config (connection->server);
  DaJsonLimits limits = DA_JSON_LIMITS_DEFAULT;
  Batch *b = g_new0 (Batch, 1);
  guint position;

  limits.max_depth = config->max_depth;
  b->batch = da_jsonrpc_batch_new_from_frame (frame, len, &limits);
  b->dispatching = TRUE;
  g_ptr_array_add (connection->batches, b);
  for (guint i = 0; i < da_jsonrpc_batch_get_n_calls (b->batch); i++) {
    DaJsonrpcCall *call = da_jsonrpc_batch_get_call (b->batch, i);

    /* an invalid entry was answered when the frame was classified */
    if (call->error != NULL)
      continue;
    if (connection->pending >= config->max_pending) {
      g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                                              "more than %u requests of this connection are in progress",
                                              config->max_pending);

      da_jsonrpc_batch_return_error (b->batch, i, error, NULL);
    } else if (output_full (connection)) {
      /* a batch's answers leave together: the rest of a batch whose
       * answers so far fill the output is refused, not held */
      g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                                              "the answers this connection has not read take %" G_GSIZE_FORMAT
                                              " bytes, more than %" G_GSIZE_FORMAT " (output-bytes)",
                                              get_owed (connection), config->max_output);

      da_jsonrpc_batch_return_error (b->batch, i, error, NULL);
    } else {
      connection->pending++;
      da_daemon_dispatch (connection->daemon, connection, b->batch, i);
      if (connection->closed)
        return;
    }
  }
  b->dispatching = FALSE;
  if (da_jsonrpc_batch_get_n_pending (b->batch) == 0 && find_batch (connection, b->batch, &position) != NULL)
    finish_batch (connection, position);
}

static void
process_frames (DaConnection *connection)
{
  const char *frame;
  gsize len;
  DaFrameStatus status;

  /* an answer completed while a frame is handled (a read answered at
   * once) comes back here: the loop below goes on with the next frame, so
   * frames are answered in order and the stack does not grow with them */
  if (connection->processing)
    return;
  connection->processing = TRUE;
  /* frames wait in the reader while the client is not reading replies */
  while (!connection->closed && !output_full (connection)
         && (status = da_frame_reader_next (connection->reader, &frame, &len)) != DA_FRAME_NONE) {
    if (status == DA_FRAME_TOO_LARGE) {
      g_autoptr (JsonNode) reply = da_jsonrpc_frame_too_large_response_new (da_frame_reader_get_max_frame (connection->reader));

      queue_node (connection, reply);
    } else {
      handle_frame (connection, frame, len);
    }
  }
  connection->processing = FALSE;
  if (!connection->closed)
    connection_update_sources (connection);
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  DaConnection *connection = user_data;
  char buffer[READ_CHUNK];
  GError *error = NULL;
  gssize n;

  da_connection_ref (connection);
  n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL, &error);
  if (n < 0) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_debug ("connection uid %u: read: %s", connection->uid, error->message);
      da_connection_close (connection);
    }
    g_error_free (error);
  } else if (n == 0) {
    connection->read_closed = TRUE;
    da_frame_reader_end (connection->reader);
    process_frames (connection);
    finish_if_done (connection);
  } else {
    da_frame_reader_feed (connection->reader, buffer, (gsize) n);
    process_frames (connection);
  }
  if (!connection->closed)
    connection_update_sources (connection);
  da_connection_unref (connection);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  DaConnection *connection = user_data;

  da_connection_ref (connection);
  if (!write_some (connection)) {
    da_connection_close (connection);
  } else {
    process_frames (connection);
    finish_if_done (connection);
    if (!connection->closed)
      connection_update_sources (connection);
  }
  da_connection_unref (connection);
  return G_SOURCE_CONTINUE;
}

/* a peer that begins a request line and does not finish it (slowloris)
 * would hold its connection, and up to frame-bytes, for ever */
static gboolean
on_line_timeout (gpointer user_data)
{
  DaConnection *connection = user_data;
  guint timeout = da_server_get_config (connection->server)->frame_timeout_s;
  g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                                          "Limit exceeded: a request line was not finished within %u s (frame-timeout)",
                                          timeout);
  g_autoptr (JsonNode) reply = da_jsonrpc_error_response_new (NULL, error, NULL);

  g_info ("connection uid %u: a request line unfinished after %u s, dropping it", connection->uid, timeout);
  g_clear_pointer (&connection->line_timer, g_source_unref);
  da_connection_ref (connection);
  queue_node (connection, reply);
  da_connection_close (connection);
  da_connection_unref (connection);
  return G_SOURCE_REMOVE;
}

/* the clock of an unfinished line runs while the daemon reads the
 * connection; it starts again when reading resumes after a pause for
 * unread answers, and with every new line */
static void
update_line_timer (DaConnection *connection, gboolean reading)
{
  guint timeout = da_server_get_config (connection->server)->frame_timeout_s;
  gboolean want = reading && timeout > 0 && da_frame_reader_in_line (connection->reader);
  guint64 line = da_frame_reader_get_lines (connection->reader);

  if (connection->line_timer != NULL && (!want || line != connection->timed_line)) {
    g_source_destroy (connection->line_timer);
    g_clear_pointer (&connection->line_timer, g_source_unref);
  }
  if (want && connection->line_timer == NULL) {
    connection->timed_line = line;
    connection->line_timer = g_timeout_source_new ((guint) MIN ((guint64) timeout * 1000, G_MAXUINT));
    g_source_set_callback (connection->line_timer, on_line_timeout, connection, NULL);
    g_source_attach (connection->line_timer, NULL);
  }
}

/* read while there is room for the answers; write while there is output */
static void
connection_update_sources (DaConnection *connection)
{
  gboolean want_in = !connection->closed && !connection->read_closed && !output_full (connection);
  gboolean want_out = !connection->closed && da_connection_get_unsent (connection) > 0;

  if (!connection->closed)
    update_line_timer (connection, want_in);
  if (want_in && connection->in_source == NULL) {
    connection->in_source = g_socket_create_source (connection->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback (connection->in_source, (GSourceFunc) (void (*) (void)) on_readable, connection, NULL);
    g_source_attach (connection->in_source, NULL);
  } else if (!want_in && connection->in_source != NULL) {
    g_source_destroy (connection->in_source);
    g_clear_pointer (&connection->in_source, g_source_unref);
  }
  if (want_out && connection->out_source == NULL) {
    connection->out_source = g_socket_create_source (connection->socket, G_IO_OUT | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback (connection->out_source, (GSourceFunc) (void (*) (void)) on_writable, connection, NULL);
    g_source_attach (connection->out_source, NULL);
  } else if (!want_out && connection->out_source != NULL) {
    g_source_destroy (connection->out_source);
    g_clear_pointer (&connection->out_source, g_source_unref);
  }
}
