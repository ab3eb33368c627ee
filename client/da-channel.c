/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <string.h>

#include "da-channel.h"
#include "da-result.h"
#include "devaddr-private.h"
#include "protocol/da-frame.h"
#include "protocol/da-json.h"
#include "protocol/da-jsonrpc.h"
#include "protocol/da-limits.h"

/* replies can be far larger than requests (vm.get of a big VM); the daemon
 * caps its frames at 256 MiB whatever its configuration */
#define REPLY_FRAME_MAX (256 * 1024 * 1024)
#define READ_CHUNK (64 * 1024)

typedef struct {
  gatomicrefcount ref;
  DaChannel *channel;
  GTask *task;
  char *method; /* NULL: connect only */
  JsonObject *params;
  GCancellable *cancellable;
  gulong cancel_id;
  gint64 id;
  gboolean done; /* the task has been returned (the reply may still be due) */
} Call;

struct _DaChannel {
  char *path;
  DaChannelNotifyFunc notify;
  DaChannelLostFunc lost;
  gpointer user_data;
  GDestroyNotify user_data_free;
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  gint connected; /* atomic: read from any thread */
  gboolean free_on_exit; /* freed from its own thread: the thread cleans up */

  /* everything below belongs to the I/O thread */
  GSocket *socket;
  GSource *in_source;
  GSource *out_source;
  DaFrameReader *reader;
  GByteArray *out;
  gsize out_sent;
  GHashTable *in_flight; /* id -> Call, sent and not yet answered */
  GQueue waiting;        /* Call, held back by the daemon's pending limit */
  gint64 next_id;
};

static void connection_lost (DaChannel *channel, const GError *error);
static void send_waiting (DaChannel *channel);

static Call *
call_ref (Call *call)
{
  g_atomic_ref_count_inc (&call->ref);
  return call;
}

static void
call_unref (Call *call)
{
  if (!g_atomic_ref_count_dec (&call->ref))
    return;
  g_clear_object (&call->task);
  g_clear_object (&call->cancellable);
  g_clear_pointer (&call->params, json_object_unref);
  g_free (call->method);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_unref)

/* the task is answered once; a reply that comes later is dropped */
static gboolean
call_begin_return (Call *call)
{
  if (call->done)
    return FALSE;
  call->done = TRUE;
  if (call->cancel_id != 0) {
    g_cancellable_disconnect (call->cancellable, call->cancel_id);
    call->cancel_id = 0;
  }
  return TRUE;
}

static void
call_return_error (Call *call, const GError *error)
{
  if (call_begin_return (call))
    g_task_return_error (call->task, g_error_copy (error));
}

static void
call_return_result (Call *call, JsonNode *result)
{
  if (call_begin_return (call))
    g_task_return_pointer (call->task, da_json_deep_copy (result), (GDestroyNotify) json_node_unref);
}

/* ------------------------------------------------------------------ */
/* running something in the I/O thread */

static void
invoke (DaChannel *channel, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
  g_autoptr (GSource) source = g_idle_source_new ();

  /* always through the loop, never at once, even from the I/O thread:
   * callers may hold state a direct call would trample */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, "[devaddr] channel");
  g_source_attach (source, channel->context);
}

/* ------------------------------------------------------------------ */
/* output */

static gboolean on_writable (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
clear_out_source (DaChannel *channel)
{
  if (channel->out_source != NULL) {
    g_source_destroy (channel->out_source);
    g_clear_pointer (&channel->out_source, g_source_unref);
  }
}

/* FALSE if the connection broke (and was cleaned up) */
static gboolean
flush (DaChannel *channel)
{
  while (channel->out_sent < channel->out->len) {
    g_autoptr (GError) error = NULL;
    gssize n = g_socket_send_with_blocking (channel->socket, (const char *) channel->out->data + channel->out_sent,
                                            channel->out->len - channel->out_sent, FALSE, NULL, &error);

    if (n < 0) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        if (channel->out_source == NULL) {
          channel->out_source = g_socket_create_source (channel->socket, G_IO_OUT, NULL);
          g_source_set_callback (channel->out_source, (GSourceFunc) (void (*) (void)) on_writable, channel, NULL);
          g_source_attach (channel->out_source, channel->context);
        }
        return TRUE;
      } else {
        g_autoptr (GError) lost = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_DISCONNECTED,
                                               "lost the connection to devaddrd: %s", error->message);

        connection_lost (channel, lost);
        return FALSE;
      }
    }
    channel->out_sent += (gsize) n;
  }
  g_byte_array_set_size (channel->out, 0);
  channel->out_sent = 0;
  clear_out_source (channel);
  return TRUE;
}

static gboolean
on_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  DaChannel *channel = user_data;

  /* flush() drops this source once everything is out */
  flush (channel);
  return G_SOURCE_CONTINUE;
}

static void
send_call (DaChannel *channel, Call *call)
{
  g_autoptr (JsonNode) request = NULL;
  g_autoptr (JsonNode) id = json_node_new (JSON_NODE_VALUE);
  g_autoptr (GString) text = g_string_new (NULL);
  JsonNode *params = json_node_new (JSON_NODE_OBJECT);

  call->id = channel->next_id++;
  json_node_set_int (id, call->id);
  json_node_take_object (params, g_steal_pointer (&call->params));
  request = da_jsonrpc_request_new (call->method, params, id);
  da_json_append (text, request);
  if (text->len > DA_LIMIT_FRAME_MAX) {
    g_autoptr (GError) error = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_LIMIT,
                                            "%s: the request is %zu bytes, more than the %u a frame may have",
                                            call->method, text->len, (guint) DA_LIMIT_FRAME_MAX);

    call_return_error (call, error);
    return;
  }
  g_string_append_c (text, '\n');
  g_byte_array_append (channel->out, (const guint8 *) text->str, (guint) text->len);
  g_hash_table_insert (channel->in_flight, &call->id, call_ref (call));
  flush (channel);
}

/* ------------------------------------------------------------------ */
/* input */

static void
handle_response (DaChannel *channel, JsonObject *response)
{
  JsonNode *id = json_object_get_member (response, "id");
  JsonNode *result = json_object_get_member (response, "result");
  JsonNode *error_node = json_object_get_member (response, "error");
  gint64 key;
  Call *call;

  if ((result == NULL) == (error_node == NULL)) {
    g_autoptr (GError) error = g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                                    "malformed reply: it needs exactly one of result and error");

    connection_lost (channel, error);
    return;
  }
  if (id == NULL || JSON_NODE_HOLDS_NULL (id)) {
    /* the daemon could not tell which request this answers (it refused
     * the connection, or could not read a frame): everything in flight
     * shares the fate */
    g_autoptr (GError) error = da_error_new_from_json (error_node);

    connection_lost (channel, error);
    return;
  }
  if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64) {
    g_autoptr (GError) error = g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                                    "malformed reply: an id this client never sent");

    connection_lost (channel, error);
    return;
  }
  key = json_node_get_int (id);
  call = g_hash_table_lookup (channel->in_flight, &key);
  if (call == NULL) {
    g_autoptr (GError) error = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                            "malformed reply: id %" G_GINT64_FORMAT " is not in flight", key);

    connection_lost (channel, error);
    return;
  }
  call_ref (call);
  g_hash_table_remove (channel->in_flight, &key);
  if (error_node != NULL) {
    g_autoptr (GError) error = da_error_new_from_json (error_node);

    call_return_error (call, error);
  } else {
    call_return_result (call, result);
  }
  call_unref (call);
  send_waiting (channel);
}

/* FALSE once the connection is gone */
static gboolean
handle_frame (DaChannel *channel, const char *frame, gsize len)
{
  DaJsonLimits limits = { DA_LIMIT_DEPTH_MAX, G_MAXSIZE };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) message = da_json_parse (frame, len, &limits, NULL, &error);
  GSocket *socket = channel->socket;
  JsonObject *obj;

  if (message == NULL || !JSON_NODE_HOLDS_OBJECT (message)) {
    g_autoptr (GError) lost = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                           "devaddrd sent a line that is not a JSON-RPC response: %s",
                                           error != NULL ? error->message : "not an object");

    connection_lost (channel, lost);
    return FALSE;
  }
  obj = json_node_get_object (message);
  if (json_object_has_member (obj, "method")) {
    JsonNode *method = json_object_get_member (obj, "method");

    /* a notification; requests from the daemon do not exist */
    if (!json_object_has_member (obj, "id") && JSON_NODE_HOLDS_VALUE (method)
        && json_node_get_value_type (method) == G_TYPE_STRING && channel->notify != NULL)
      channel->notify (json_node_get_string (method), json_object_get_member (obj, "params"), channel->user_data);
    return TRUE;
  }
  handle_response (channel, obj);
  return channel->socket == socket;
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  DaChannel *channel = user_data;
  gboolean eof = FALSE;
  g_autoptr (GError) read_error = NULL;
  const char *frame;
  DaFrameStatus status;
  gsize len;

  for (;;) {
    char buf[READ_CHUNK];
    g_autoptr (GError) error = NULL;
    gssize n = g_socket_receive_with_blocking (socket, buf, sizeof buf, FALSE, NULL, &error);

    if (n > 0) {
      da_frame_reader_feed (channel->reader, buf, (gsize) n);
      continue;
    }
    if (n == 0)
      eof = TRUE;
    else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      read_error = g_steal_pointer (&error);
    break;
  }
  while ((status = da_frame_reader_next (channel->reader, &frame, &len)) != DA_FRAME_NONE) {
    if (status == DA_FRAME_TOO_LARGE) {
      g_autoptr (GError) error = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                                              "devaddrd sent a reply of more than %u bytes", REPLY_FRAME_MAX);

      connection_lost (channel, error);
      return G_SOURCE_REMOVE;
    }
    if (!handle_frame (channel, frame, len))
      return G_SOURCE_REMOVE;
  }
  if (eof || read_error != NULL) {
    g_autoptr (GError) error = NULL;

    if (eof)
      error = g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_DISCONNECTED, "devaddrd closed the connection");
    else
      error = g_error_new (DEVADDR_ERROR, DEVADDR_ERROR_DISCONNECTED, "lost the connection to devaddrd: %s",
                           read_error->message);
    connection_lost (channel, error);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* the connection */

static gboolean
ensure_connected (DaChannel *channel, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) local = NULL;

  if (channel->socket != NULL)
    return TRUE;
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &local);
  if (socket != NULL) {
    address = g_unix_socket_address_new (channel->path);
    if (!g_socket_connect (socket, address, NULL, &local))
      g_clear_object (&socket);
  }
  if (socket == NULL) {
    /* a socket we may not open is a matter of permission, not of a
     * missing daemon */
    DevaddrError code = g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED)
                          ? DEVADDR_ERROR_PERMISSION_DENIED
                          : DEVADDR_ERROR_CONNECTION_FAILED;

    g_set_error (error, DEVADDR_ERROR, code, "cannot connect to devaddrd at %s: %s", channel->path, local->message);
    return FALSE;
  }
  g_socket_set_blocking (socket, FALSE);
  channel->socket = g_steal_pointer (&socket);
  channel->reader = da_frame_reader_new (REPLY_FRAME_MAX);
  channel->in_source = g_socket_create_source (channel->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (channel->in_source, (GSourceFunc) (void (*) (void)) on_readable, channel, NULL);
  g_source_attach (channel->in_source, channel->context);
  g_atomic_int_set (&channel->connected, 1);
  return TRUE;
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  const Call *x = *(Call *const *) a;
  const Call *y = *(Call *const *) b;

  return x->id < y->id ? -1 : x->id > y->id;
}

static void
connection_lost (DaChannel *channel, const GError *error)
{
  g_autoptr (GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_unref);
  GHashTableIter iter;
  gpointer value;
  Call *call;

  if (channel->socket == NULL)
    return;
  if (channel->in_source != NULL) {
    g_source_destroy (channel->in_source);
    g_clear_pointer (&channel->in_source, g_source_unref);
  }
  clear_out_source (channel);
  g_socket_close (channel->socket, NULL);
  g_clear_object (&channel->socket);
  g_clear_pointer (&channel->reader, da_frame_reader_free);
  g_byte_array_set_size (channel->out, 0);
  channel->out_sent = 0;
  g_atomic_int_set (&channel->connected, 0);

  /* answered in the order they were sent */
  g_hash_table_iter_init (&iter, channel->in_flight);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (calls, call_ref (value));
  g_ptr_array_sort (calls, compare_ids);
  g_hash_table_remove_all (channel->in_flight);
  while ((call = g_queue_pop_head (&channel->waiting)) != NULL)
    g_ptr_array_add (calls, call);
  for (guint i = 0; i < calls->len; i++)
    call_return_error (g_ptr_array_index (calls, i), error);
  if (channel->lost != NULL)
    channel->lost (error, channel->user_data);
}

/* the daemon answers at most DA_LIMIT_PENDING_PER_CONNECTION requests of a
 * connection at a time and refuses the others; keep the rest here */
static void
send_waiting (DaChannel *channel)
{
  while (channel->socket != NULL && g_hash_table_size (channel->in_flight) < DA_LIMIT_PENDING_PER_CONNECTION) {
    g_autoptr (Call) call = g_queue_pop_head (&channel->waiting);

    if (call == NULL)
      break;
    if (!call->done)
      send_call (channel, call);
  }
}

static gboolean
cancel_in_thread (gpointer user_data)
{
  Call *call = user_data;

  /* stop waiting; if the request went out, its reply is dropped when it
   * comes, and it still counts against the daemon's pending limit */
  if (!call->done && g_task_return_error_if_cancelled (call->task))
    call_begin_return (call);
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Call *call = user_data;

  invoke (call->channel, cancel_in_thread, call_ref (call), (GDestroyNotify) call_unref);
}

static gboolean
submit_in_thread (gpointer user_data)
{
  Call *call = user_data;
  DaChannel *channel = call->channel;
  g_autoptr (GError) error = NULL;

  if (call->done)
    return G_SOURCE_REMOVE;
  if (g_task_return_error_if_cancelled (call->task)) {
    call_begin_return (call);
    return G_SOURCE_REMOVE;
  }
  /* connected here, so that the handler id is only ever touched by this
   * thread; a cancellation from now on reaches cancel_in_thread() */
  if (call->cancellable != NULL)
    call->cancel_id = g_cancellable_connect (call->cancellable, G_CALLBACK (on_cancelled), call_ref (call),
                                             (GDestroyNotify) call_unref);
  if (!ensure_connected (channel, &error)) {
    call_return_error (call, error);
    return G_SOURCE_REMOVE;
  }
  if (call->method == NULL) {
    if (call_begin_return (call))
      g_task_return_boolean (call->task, TRUE);
    return G_SOURCE_REMOVE;
  }
  g_queue_push_tail (&channel->waiting, call_ref (call));
  send_waiting (channel);
  return G_SOURCE_REMOVE;
}

void
da_channel_call (DaChannel *channel, GTask *task, const char *method, JsonObject *params)
{
  Call *call = g_new0 (Call, 1);

  g_atomic_ref_count_init (&call->ref);
  call->channel = channel;
  call->task = task;
  call->method = g_strdup (method);
  call->params = params != NULL ? params : json_object_new ();
  call->cancellable = g_task_get_cancellable (task) != NULL ? g_object_ref (g_task_get_cancellable (task)) : NULL;
  invoke (channel, submit_in_thread, call, (GDestroyNotify) call_unref);
}

static gboolean
disconnect_in_thread (gpointer user_data)
{
  DaChannel *channel = user_data;
  g_autoptr (GError) error = g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_DISCONNECTED,
                                                  "the client closed the connection");

  connection_lost (channel, error);
  return G_SOURCE_REMOVE;
}

void
da_channel_disconnect (DaChannel *channel)
{
  invoke (channel, disconnect_in_thread, channel, NULL);
}

gboolean
da_channel_is_connected (DaChannel *channel)
{
  return g_atomic_int_get (&channel->connected) != 0;
}

/* ------------------------------------------------------------------ */

static void channel_destroy (DaChannel *channel);

static gpointer
thread_main (gpointer user_data)
{
  DaChannel *channel = user_data;

  g_main_context_push_thread_default (channel->context);
  g_main_loop_run (channel->loop);
  g_main_context_pop_thread_default (channel->context);
  if (channel->free_on_exit) {
    GThread *self = channel->thread;

    channel_destroy (channel);
    g_thread_unref (self);
  }
  return NULL;
}

DaChannel *
da_channel_new (const char *path, DaChannelNotifyFunc notify, DaChannelLostFunc lost, gpointer user_data,
                GDestroyNotify user_data_free)
{
  DaChannel *channel = g_new0 (DaChannel, 1);

  channel->path = g_strdup (path);
  channel->notify = notify;
  channel->lost = lost;
  channel->user_data = user_data;
  channel->user_data_free = user_data_free;
  channel->context = g_main_context_new ();
  channel->loop = g_main_loop_new (channel->context, FALSE);
  channel->out = g_byte_array_new ();
  channel->in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) call_unref);
  g_queue_init (&channel->waiting);
  channel->next_id = 1;
  channel->thread = g_thread_new ("devaddr-client", thread_main, channel);
  return channel;
}

static gboolean
shutdown_in_thread (gpointer user_data)
{
  DaChannel *channel = user_data;
  g_autoptr (GError) error = g_error_new_literal (DEVADDR_ERROR, DEVADDR_ERROR_DISCONNECTED, "the client was freed");

  /* no lost callback for the owner that is going away */
  channel->lost = NULL;
  channel->notify = NULL;
  connection_lost (channel, error);
  g_main_loop_quit (channel->loop);
  return G_SOURCE_REMOVE;
}

static void
channel_destroy (DaChannel *channel)
{
  /* what was still queued for the thread (cancellations) goes with it */
  g_main_loop_unref (channel->loop);
  g_main_context_unref (channel->context);
  g_hash_table_unref (channel->in_flight);
  g_queue_clear_full (&channel->waiting, (GDestroyNotify) call_unref);
  g_byte_array_unref (channel->out);
  if (channel->user_data_free != NULL)
    channel->user_data_free (channel->user_data);
  g_free (channel->path);
  g_free (channel);
}

void
da_channel_free (DaChannel *channel)
{
  if (channel == NULL)
    return;
  if (g_thread_self () == channel->thread) {
    /* the last reference to the owner went with a task this thread
     * returned: the thread cannot join itself, so it cleans up once its
     * loop ends, after the code on its stack has unwound */
    channel->free_on_exit = TRUE;
    shutdown_in_thread (channel);
    return;
  }
  invoke (channel, shutdown_in_thread, channel, NULL);
  g_thread_join (channel->thread);
  channel_destroy (channel);
}
