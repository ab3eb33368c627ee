/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-channel.h"
#include "da-result.h"
#include "devaddr-private.h"

/**
 * SECTION:devaddr-client
 * @title: DevaddrClient
 * @short_description: a connection to devaddrd
 *
 * A #DevaddrClient calls the methods of devaddr-protocol(7) on one
 * connection to devaddrd.  Every method has a blocking form and an
 * asynchronous pair (`_async` and `_finish`).  The connection is made by
 * the first call (or devaddr_client_connect()); if it is lost, the calls
 * in flight fail with %DEVADDR_ERROR_DISCONNECTED and the next call
 * connects again.
 *
 * Several asynchronous calls may be in flight at once on the one
 * connection; the daemon answers them as they complete and the replies are
 * matched to the calls by id.
 *
 * # Threads
 *
 * A #DevaddrClient is thread-safe: any thread may make calls on it, also
 * several threads at once.  The socket is served by a thread of the client
 * (one per client), so blocking calls never need a running main loop and
 * never dispatch other sources of the caller's thread.  The callback of an
 * asynchronous call runs in the thread-default main context of the thread
 * that started the call.  #DevaddrClient::changed and
 * #DevaddrClient::disconnected are emitted in the thread-default main
 * context of the thread that created the client, which must be running
 * for them to arrive.
 *
 * # Cancelling
 *
 * Cancelling a call stops the wait for its reply; the call then fails with
 * %G_IO_ERROR_CANCELLED.  A request already sent may still take effect in
 * the daemon.  Reserving the same alias again returns the same
 * reservation, so a cancelled reservation is safe to retry.
 */

#define REPLY "result"

/* shared with the I/O thread, which may outlive the client's last
 * reference by a little: it reaches the client through a weak reference */
typedef struct {
  gatomicrefcount ref;
  GWeakRef client;
  GMainContext *owner;
} Shared;

struct _DevaddrClient {
  GObject parent_instance;
  char *socket_path;
  Shared *shared;
  DaChannel *channel;
};

enum {
  PROP_0,
  PROP_SOCKET_PATH,
  N_PROPS
};

enum {
  SIGNAL_CHANGED,
  SIGNAL_DISCONNECTED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

/**
 * devaddr_client_get_type:
 *
 * Returns: the #GType of #DevaddrClient
 */
G_DEFINE_FINAL_TYPE (DevaddrClient, devaddr_client, G_TYPE_OBJECT)

static Shared *
shared_ref (Shared *shared)
{
  g_atomic_ref_count_inc (&shared->ref);
  return shared;
}

static void
shared_unref (Shared *shared)
{
  if (!g_atomic_ref_count_dec (&shared->ref))
    return;
  g_weak_ref_clear (&shared->client);
  g_main_context_unref (shared->owner);
  g_free (shared);
}

/* ------------------------------------------------------------------ */
/* signals, delivered in the owner's context */

typedef struct {
  Shared *shared;
  DevaddrChange *change; /* NULL: disconnected */
} Emission;

static void
emission_free (Emission *emission)
{
  shared_unref (emission->shared);
  g_clear_pointer (&emission->change, devaddr_change_unref);
  g_free (emission);
}

static gboolean
emit_in_owner (gpointer user_data)
{
  Emission *emission = user_data;
  g_autoptr (DevaddrClient) self = g_weak_ref_get (&emission->shared->client);

  if (self == NULL)
    return G_SOURCE_REMOVE;
  if (emission->change != NULL)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0, emission->change);
  else
    g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0);
  return G_SOURCE_REMOVE;
}

static void
emit_later (Shared *shared, DevaddrChange *change)
{
  g_autoptr (GSource) source = g_idle_source_new ();
  Emission *emission = g_new0 (Emission, 1);

  emission->shared = shared_ref (shared);
  emission->change = change;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_in_owner, emission, (GDestroyNotify) emission_free);
  g_source_set_static_name (source, "[devaddr] client signal");
  g_source_attach (source, shared->owner);
}

/* in the I/O thread */
static void
on_notification (const char *method, JsonNode *params, gpointer user_data)
{
  Shared *shared = user_data;
  g_autoptr (GError) error = NULL;
  DevaddrChange *change;

  if (g_strcmp0 (method, "addr.changed") != 0)
    return;
  change = da_change_new_from_json (params, "params", &error);
  if (change == NULL) {
    g_debug ("dropping a malformed addr.changed: %s", error->message);
    return;
  }
  emit_later (shared, change);
}

/* in the I/O thread */
static void
on_lost (const GError *error, gpointer user_data)
{
  emit_later (user_data, NULL);
}

/* ------------------------------------------------------------------ */

static void
devaddr_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DevaddrClient *self = DEVADDR_CLIENT (object);

  switch (prop_id) {
  case PROP_SOCKET_PATH:
    g_value_set_string (value, self->socket_path);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
}

static void
devaddr_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DevaddrClient *self = DEVADDR_CLIENT (object);

  switch (prop_id) {
  case PROP_SOCKET_PATH:
    g_free (self->socket_path);
    self->socket_path = g_value_dup_string (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
}

static void
devaddr_client_constructed (GObject *object)
{
  DevaddrClient *self = DEVADDR_CLIENT (object);

  G_OBJECT_CLASS (devaddr_client_parent_class)->constructed (object);
  if (self->socket_path == NULL)
    self->socket_path = g_strdup (devaddr_client_get_default_socket_path ());
  self->shared = g_new0 (Shared, 1);
  g_atomic_ref_count_init (&self->shared->ref);
  g_weak_ref_init (&self->shared->client, self);
  self->shared->owner = g_main_context_ref_thread_default ();
  self->channel = da_channel_new (self->socket_path, on_notification, on_lost, shared_ref (self->shared),
                                  (GDestroyNotify) shared_unref);
}

static void
devaddr_client_finalize (GObject *object)
{
  DevaddrClient *self = DEVADDR_CLIENT (object);

  g_clear_pointer (&self->channel, da_channel_free);
  g_clear_pointer (&self->shared, shared_unref);
  g_free (self->socket_path);
  G_OBJECT_CLASS (devaddr_client_parent_class)->finalize (object);
}

static void
devaddr_client_class_init (DevaddrClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = devaddr_client_get_property;
  object_class->set_property = devaddr_client_set_property;
  object_class->constructed = devaddr_client_constructed;
  object_class->finalize = devaddr_client_finalize;

  /**
   * DevaddrClient:socket-path:
   *
   * The Unix socket of devaddrd; %NULL at construction means
   * devaddr_client_get_default_socket_path().
   */
  props[PROP_SOCKET_PATH] = g_param_spec_string ("socket-path", NULL, NULL, NULL,
                                                 G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * DevaddrClient::changed:
   * @self: the #DevaddrClient
   * @change: the #DevaddrChange
   *
   * A reservation changed.  Emitted for every `addr.changed` notification
   * after devaddr_client_watch(), in the thread-default main context of
   * the thread that created the client.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 1, DEVADDR_TYPE_CHANGE);

  /**
   * DevaddrClient::disconnected:
   * @self: the #DevaddrClient
   *
   * The connection to the daemon ended (the daemon went away, or
   * devaddr_client_disconnect() was called).  A watch ends with it:
   * changes made until the next devaddr_client_watch() are not reported.
   * Emitted in the thread-default main context of the thread that created
   * the client.
   */
  signals[SIGNAL_DISCONNECTED] = g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                               NULL, NULL, G_TYPE_NONE, 0);
}

static void
devaddr_client_init (DevaddrClient *self)
{
}

/**
 * devaddr_client_get_default_socket_path:
 *
 * The socket devaddr_client_new() connects to: `$DEVADDR_SOCKET` if set
 * and not empty, else %DEVADDR_DEFAULT_SOCKET.
 *
 * Returns: a socket path
 */
const char *
devaddr_client_get_default_socket_path (void)
{
  const char *env = g_getenv ("DEVADDR_SOCKET");

  return env != NULL && *env != '\0' ? env : DEVADDR_DEFAULT_SOCKET;
}

/**
 * devaddr_client_new:
 *
 * A client of the default socket (see
 * devaddr_client_get_default_socket_path()).  Nothing is connected yet.
 *
 * Returns: (transfer full): a new #DevaddrClient
 */
DevaddrClient *
devaddr_client_new (void)
{
  return g_object_new (DEVADDR_TYPE_CLIENT, NULL);
}

/**
 * devaddr_client_new_for_socket:
 * @path: (nullable): the daemon's socket, or %NULL for the default
 *
 * A client of the socket at @path, such as the read-only socket
 * %DEVADDR_DEFAULT_RO_SOCKET.  Nothing is connected yet.
 *
 * Returns: (transfer full): a new #DevaddrClient
 */
DevaddrClient *
devaddr_client_new_for_socket (const char *path)
{
  return g_object_new (DEVADDR_TYPE_CLIENT, "socket-path", path, NULL);
}

/**
 * devaddr_client_get_socket_path:
 * @self: a #DevaddrClient
 *
 * Returns: the socket the client connects to
 */
const char *
devaddr_client_get_socket_path (DevaddrClient *self)
{
  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  return self->socket_path;
}

/**
 * devaddr_client_is_connected:
 * @self: a #DevaddrClient
 *
 * Returns: %TRUE while a connection is open; it may close at any moment
 */
gboolean
devaddr_client_is_connected (DevaddrClient *self)
{
  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  return da_channel_is_connected (self->channel);
}

/**
 * devaddr_client_disconnect:
 * @self: a #DevaddrClient
 *
 * Closes the connection, if one is open.  Calls in flight fail with
 * %DEVADDR_ERROR_DISCONNECTED; the next call connects again.
 */
void
devaddr_client_disconnect (DevaddrClient *self)
{
  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  da_channel_disconnect (self->channel);
}

/* ------------------------------------------------------------------ */
/* the machinery every method shares */

static void
call_start (DevaddrClient *self, const char *method, JsonObject *params, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  char *name = g_strdup (method);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, name, g_free);
  /* GLib 2.74 keeps the pointer: name lives as long as the task */
  g_task_set_name (task, name != NULL ? name : "connect");
  da_channel_call (self->channel, task, method, params);
}

static JsonNode *
call_finish (DevaddrClient *self, GAsyncResult *res, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (res, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (res)) == source_tag, NULL);
  return g_task_propagate_pointer (G_TASK (res), error);
}

/* the method a result came from, for the message of a malformed one */
static void
prefix_method (GAsyncResult *res, GError **error)
{
  const char *method = g_task_get_task_data (G_TASK (res));

  if (error != NULL && *error != NULL && method != NULL)
    g_prefix_error (error, "%s: ", method);
}

/* blocking calls run the asynchronous one in a context of their own */
typedef struct {
  GMainContext *context;
  GAsyncResult *result;
} SyncCall;

static void
sync_call_init (SyncCall *sync)
{
  sync->context = g_main_context_new ();
  sync->result = NULL;
  g_main_context_push_thread_default (sync->context);
}

static void
sync_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SyncCall *sync = user_data;

  sync->result = g_object_ref (res);
}

static GAsyncResult *
sync_call_wait (SyncCall *sync)
{
  while (sync->result == NULL)
    g_main_context_iteration (sync->context, TRUE);
  return sync->result;
}

static void
sync_call_clear (SyncCall *sync)
{
  if (sync->context == NULL)
    return;
  g_main_context_pop_thread_default (sync->context);
  g_clear_object (&sync->result);
  g_main_context_unref (sync->context);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SyncCall, sync_call_clear)

static JsonObject *
params_new (void)
{
  return json_object_new ();
}

/* vm, or the host scope */
static JsonObject *
params_new_scope (const char *vm)
{
  JsonObject *params = json_object_new ();

  if (vm != NULL)
    json_object_set_string_member (params, "vm", vm);
  else
    json_object_set_string_member (params, "scope", "host");
  return params;
}

static GPtrArray *
array_result (GAsyncResult *res, JsonNode *result, gpointer (*parse) (JsonNode *, const char *, GError **),
              GDestroyNotify free_func, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (free_func);
  JsonArray *array = NULL;

  if (!da_result_get_array (result, REPLY, &array, error)) {
    prefix_method (res, error);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    g_autofree char *path = da_result_index_path (REPLY, i);
    gpointer item = parse (json_array_get_element (array, i), path, error);

    if (item == NULL) {
      prefix_method (res, error);
      return NULL;
    }
    g_ptr_array_add (list, item);
  }
  return g_steal_pointer (&list);
}

static DevaddrReservation *
reservation_result (GAsyncResult *res, JsonNode *result, GError **error)
{
  DevaddrReservation *reservation;

  if (result == NULL)
    return NULL;
  reservation = da_reservation_new_from_json (result, REPLY, error);
  if (reservation == NULL)
    prefix_method (res, error);
  return reservation;
}

/* the result of addr.release and device.detach */
static gboolean
release_result (GAsyncResult *res, JsonNode *result, char **alias, DevaddrState *state, GError **error)
{
  const char *alias_text = NULL, *state_text = NULL;
  JsonObject *obj = NULL;

  if (!da_result_get_object (result, REPLY, &obj, error)
      || !da_result_member_string (obj, REPLY, "alias", TRUE, &alias_text, error)
      || !da_result_member_string (obj, REPLY, "state", TRUE, &state_text, error)) {
    prefix_method (res, error);
    return FALSE;
  }
  if (alias != NULL)
    *alias = g_strdup (alias_text);
  if (state != NULL)
    *state = da_release_state_from_string (state_text);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* connect */

/**
 * devaddr_client_connect:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Connects now rather than on the first call, to learn early whether the
 * daemon is there.  Connecting while connected does nothing.
 *
 * Returns: %TRUE when connected; %FALSE with
 *   %DEVADDR_ERROR_CONNECTION_FAILED, or %DEVADDR_ERROR_PERMISSION_DENIED
 *   when the caller may not open the socket
 */
gboolean
devaddr_client_connect (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  sync_call_init (&sync);
  devaddr_client_connect_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_connect_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_connect_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when connected or failed
 * @user_data: data for @callback
 *
 * Starts devaddr_client_connect().
 */
void
devaddr_client_connect_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  call_start (self, NULL, NULL, cancellable, callback, user_data, devaddr_client_connect_async);
}

/**
 * devaddr_client_connect_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_connect_async().
 *
 * Returns: %TRUE when connected
 */
gboolean
devaddr_client_connect_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (res, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (res)) == devaddr_client_connect_async, FALSE);
  return g_task_propagate_boolean (G_TASK (res), error);
}

/* ------------------------------------------------------------------ */
/* any method */

/**
 * devaddr_client_call:
 * @self: a #DevaddrClient
 * @method: a method of devaddr-protocol(7), such as "pool.stats"
 * @params: (nullable): its named parameters; not changed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls any method and returns its result as the daemon sent it, for
 * methods or parameters the typed calls do not cover.
 *
 * Returns: (transfer full): the result member of the reply, or %NULL
 */
JsonNode *
devaddr_client_call (DevaddrClient *self, const char *method, JsonObject *params, GCancellable *cancellable,
                     GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_call_async (self, method, params, cancellable, sync_call_done, &sync);
  return devaddr_client_call_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_call_async:
 * @self: a #DevaddrClient
 * @method: a method of devaddr-protocol(7)
 * @params: (nullable): its named parameters; copied, not changed
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_call().
 */
void
devaddr_client_call_async (DevaddrClient *self, const char *method, JsonObject *params, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (method != NULL);
  call_start (self, method, params != NULL ? da_json_object_deep_copy (params) : NULL, cancellable, callback,
              user_data, devaddr_client_call_async);
}

/**
 * devaddr_client_call_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_call_async().
 *
 * Returns: (transfer full): the result, or %NULL
 */
JsonNode *
devaddr_client_call_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  return call_finish (self, res, devaddr_client_call_async, error);
}

/* ------------------------------------------------------------------ */
/* server.info */

/**
 * devaddr_client_get_server_info:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Describes the running daemon (`server.info`).
 *
 * Returns: (transfer full): the daemon's description, or %NULL
 */
DevaddrServerInfo *
devaddr_client_get_server_info (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_get_server_info_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_get_server_info_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_server_info_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_server_info(); finish with devaddr_client_get_server_info_finish().
 */
void
devaddr_client_get_server_info_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  call_start (self, "server.info", params, cancellable, callback, user_data, devaddr_client_get_server_info_async);
}

/**
 * devaddr_client_get_server_info_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_server_info_async().
 *
 * Returns: (transfer full): the daemon's description, or %NULL
 */
DevaddrServerInfo *
devaddr_client_get_server_info_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_server_info_async, error);
  DevaddrServerInfo *info;

  if (result == NULL)
    return NULL;
  info = da_server_info_new_from_json (result, REPLY, error);
  if (info == NULL)
    prefix_method (res, error);
  return info;
}

/* ------------------------------------------------------------------ */
/* rpc.discover */

/**
 * devaddr_client_discover:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The OpenRPC description of the protocol the daemon speaks
 * (`rpc.discover`).
 *
 * Returns: (transfer full): the OpenRPC document, or %NULL
 */
JsonNode *
devaddr_client_discover (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_discover_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_discover_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_discover_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_discover(); finish with devaddr_client_discover_finish().
 */
void
devaddr_client_discover_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  call_start (self, "rpc.discover", params, cancellable, callback, user_data, devaddr_client_discover_async);
}

/**
 * devaddr_client_discover_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_discover_async().
 *
 * Returns: (transfer full): the OpenRPC document, or %NULL
 */
JsonNode *
devaddr_client_discover_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_discover_async, error);

  if (result != NULL && !JSON_NODE_HOLDS_OBJECT (result)) {
    g_set_error_literal (error, DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                         "rpc.discover: malformed reply: result: expected an object");
    return NULL;
  }
  return g_steal_pointer (&result);
}

/* ------------------------------------------------------------------ */
/* types.list */

/**
 * devaddr_client_get_types:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The address types of the daemon's catalog (`types.list`).
 *
 * Returns: (transfer container) (element-type DevaddrTypeInfo): the
 *   types, or %NULL
 */
GPtrArray *
devaddr_client_get_types (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_get_types_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_get_types_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_types_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_types(); finish with devaddr_client_get_types_finish().
 */
void
devaddr_client_get_types_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  call_start (self, "types.list", params, cancellable, callback, user_data, devaddr_client_get_types_async);
}

/**
 * devaddr_client_get_types_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_types_async().
 *
 * Returns: (transfer container) (element-type DevaddrTypeInfo): the
 *   types, or %NULL
 */
GPtrArray *
devaddr_client_get_types_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_types_async, error);

  if (result == NULL)
    return NULL;
  return array_result (res, result, (gpointer (*) (JsonNode *, const char *, GError **)) da_type_info_new_from_json,
                       (GDestroyNotify) devaddr_type_info_unref, error);
}

/* ------------------------------------------------------------------ */
/* templates.list */

/**
 * devaddr_client_get_templates:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The machine templates the daemon knows (`templates.list`).
 *
 * Returns: (transfer container) (element-type DevaddrTemplateInfo): the
 *   templates, or %NULL
 */
GPtrArray *
devaddr_client_get_templates (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_get_templates_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_get_templates_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_templates_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_templates(); finish with devaddr_client_get_templates_finish().
 */
void
devaddr_client_get_templates_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  call_start (self, "templates.list", params, cancellable, callback, user_data, devaddr_client_get_templates_async);
}

/**
 * devaddr_client_get_templates_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_templates_async().
 *
 * Returns: (transfer container) (element-type DevaddrTemplateInfo): the
 *   templates, or %NULL
 */
GPtrArray *
devaddr_client_get_templates_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_templates_async, error);

  if (result == NULL)
    return NULL;
  return array_result (res, result, (gpointer (*) (JsonNode *, const char *, GError **)) da_template_info_new_from_json,
                       (GDestroyNotify) devaddr_template_info_unref, error);
}

/* ------------------------------------------------------------------ */
/* vm.create */

/**
 * devaddr_client_create_vm:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @template_name: (nullable): a template of devaddr_client_get_templates(), or %NULL for "pc"
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Creates a VM whose pools are laid out by a machine template
 * (`vm.create`). Creating a VM that exists with the same template succeeds
 * and changes nothing; with another template it fails with
 * %DEVADDR_ERROR_CONFLICT.
 *
 * Returns: %TRUE if the VM exists now
 */
gboolean
devaddr_client_create_vm (DevaddrClient *self, const char *vm, const char *template_name, GCancellable *cancellable,
                          GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (vm != NULL, FALSE);
  sync_call_init (&sync);
  devaddr_client_create_vm_async (self, vm, template_name, cancellable, sync_call_done, &sync);
  return devaddr_client_create_vm_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_create_vm_async:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @template_name: (nullable): a template of devaddr_client_get_templates(), or %NULL for "pc"
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_create_vm(); finish with devaddr_client_create_vm_finish().
 */
void
devaddr_client_create_vm_async (DevaddrClient *self, const char *vm, const char *template_name,
                                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  if (template_name != NULL)
    json_object_set_string_member (params, "template", template_name);
  call_start (self, "vm.create", params, cancellable, callback, user_data, devaddr_client_create_vm_async);
}

/**
 * devaddr_client_create_vm_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_create_vm_async().
 *
 * Returns: %TRUE if the VM exists now
 */
gboolean
devaddr_client_create_vm_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_create_vm_async, error);

  return result != NULL;
}

/* ------------------------------------------------------------------ */
/* vm.delete */

/**
 * devaddr_client_delete_vm:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @released: (out) (optional): how many reservations went with the VM
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Deletes a VM and releases all its reservations (`vm.delete`).
 *
 * Returns: %TRUE if the VM was deleted
 */
gboolean
devaddr_client_delete_vm (DevaddrClient *self, const char *vm, guint *released, GCancellable *cancellable,
                          GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (vm != NULL, FALSE);
  sync_call_init (&sync);
  devaddr_client_delete_vm_async (self, vm, cancellable, sync_call_done, &sync);
  return devaddr_client_delete_vm_finish (self, sync_call_wait (&sync), released, error);
}

/**
 * devaddr_client_delete_vm_async:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_delete_vm(); finish with devaddr_client_delete_vm_finish().
 */
void
devaddr_client_delete_vm_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  call_start (self, "vm.delete", params, cancellable, callback, user_data, devaddr_client_delete_vm_async);
}

/**
 * devaddr_client_delete_vm_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @released: (out) (optional): how many reservations went with the VM
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_delete_vm_async().
 *
 * Returns: %TRUE if the VM was deleted
 */
gboolean
devaddr_client_delete_vm_finish (DevaddrClient *self, GAsyncResult *res, guint *released, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_delete_vm_async, error);
  JsonObject *obj = NULL;
  guint64 n = 0;

  if (result == NULL)
    return FALSE;
  if (!da_result_get_object (result, REPLY, &obj, error)
      || !da_result_member_uint (obj, REPLY, "released", TRUE, &n, error)) {
    prefix_method (res, error);
    return FALSE;
  }
  if (released != NULL)
    *released = (guint) MIN (n, G_MAXUINT);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* vm.list */

/**
 * devaddr_client_get_vms:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The VMs the daemon knows (`vm.list`), with the number of reservations of
 * each but not the reservations.
 *
 * Returns: (transfer container) (element-type DevaddrVm): the VMs, or
 *   %NULL
 */
GPtrArray *
devaddr_client_get_vms (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_get_vms_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_get_vms_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_vms_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_vms(); finish with devaddr_client_get_vms_finish().
 */
void
devaddr_client_get_vms_async (DevaddrClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  call_start (self, "vm.list", params, cancellable, callback, user_data, devaddr_client_get_vms_async);
}

/**
 * devaddr_client_get_vms_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_vms_async().
 *
 * Returns: (transfer container) (element-type DevaddrVm): the VMs, or
 *   %NULL
 */
GPtrArray *
devaddr_client_get_vms_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_vms_async, error);
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_vm_unref);
  JsonArray *array = NULL;

  if (result == NULL)
    return NULL;
  if (!da_result_get_array (result, REPLY, &array, error)) {
    prefix_method (res, error);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    g_autofree char *path = da_result_index_path (REPLY, i);
    DevaddrVm *vm = da_vm_new_from_json (json_array_get_element (array, i), path, FALSE, error);

    if (vm == NULL) {
      prefix_method (res, error);
      return NULL;
    }
    g_ptr_array_add (list, vm);
  }
  return g_steal_pointer (&list);
}

/* ------------------------------------------------------------------ */
/* vm.get */

/**
 * devaddr_client_get_vm:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * One VM with all its reservations (`vm.get`).
 *
 * Returns: (transfer full): the VM, or %NULL
 */
DevaddrVm *
devaddr_client_get_vm (DevaddrClient *self, const char *vm, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (vm != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_get_vm_async (self, vm, cancellable, sync_call_done, &sync);
  return devaddr_client_get_vm_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_vm_async:
 * @self: a #DevaddrClient
 * @vm: the VM's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_vm(); finish with devaddr_client_get_vm_finish().
 */
void
devaddr_client_get_vm_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  call_start (self, "vm.get", params, cancellable, callback, user_data, devaddr_client_get_vm_async);
}

/**
 * devaddr_client_get_vm_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_vm_async().
 *
 * Returns: (transfer full): the VM, or %NULL
 */
DevaddrVm *
devaddr_client_get_vm_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_vm_async, error);
  DevaddrVm *vm;

  if (result == NULL)
    return NULL;
  vm = da_vm_new_from_json (result, REPLY, TRUE, error);
  if (vm == NULL)
    prefix_method (res, error);
  return vm;
}

/* ------------------------------------------------------------------ */
/* host.get */

/**
 * devaddr_client_get_host_reservations:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The host scope's reservations: MACs, vsock CIDs and the other types
 * reserved host-wide (`host.get`).
 *
 * Returns: (transfer container) (element-type DevaddrReservation): the
 *   reservations, or %NULL
 */
GPtrArray *
devaddr_client_get_host_reservations (DevaddrClient *self, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  sync_call_init (&sync);
  devaddr_client_get_host_reservations_async (self, cancellable, sync_call_done, &sync);
  return devaddr_client_get_host_reservations_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_host_reservations_async:
 * @self: a #DevaddrClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_host_reservations(); finish with
 * devaddr_client_get_host_reservations_finish().
 */
void
devaddr_client_get_host_reservations_async (DevaddrClient *self, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  call_start (self, "host.get", params_new (), cancellable, callback, user_data,
              devaddr_client_get_host_reservations_async);
}

/**
 * devaddr_client_get_host_reservations_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_host_reservations_async().
 *
 * Returns: (transfer container) (element-type DevaddrReservation): the
 *   reservations, or %NULL
 */
GPtrArray *
devaddr_client_get_host_reservations_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_host_reservations_async, error);
  g_autofree char *path = da_result_path (REPLY, "reservations");
  JsonObject *obj = NULL;
  JsonArray *list = NULL;
  GPtrArray *reservations;

  if (result == NULL)
    return NULL;
  if (!da_result_get_object (result, REPLY, &obj, error)
      || !da_result_member_array (obj, REPLY, "reservations", TRUE, &list, error)
      || (reservations = da_reservations_new_from_json (list, path, error)) == NULL) {
    prefix_method (res, error);
    return NULL;
  }
  return reservations;
}

/* ------------------------------------------------------------------ */
/* addr.reserve */

/**
 * devaddr_client_reserve:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope (MACs, vsock CIDs ...)
 * @request: what to reserve
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reserves an address (`addr.reserve`): the exact address of @request, or
 * one the daemon chooses within its constraint. Reserving an alias that
 * already has a reservation of the same type returns that reservation, so
 * retries are safe.
 *
 * Returns: (transfer full): the reservation, or %NULL
 */
DevaddrReservation *
devaddr_client_reserve (DevaddrClient *self, const char *vm, DevaddrReserveRequest *request, GCancellable *cancellable,
                        GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_reserve_async (self, vm, request, cancellable, sync_call_done, &sync);
  return devaddr_client_reserve_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_reserve_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope (MACs, vsock CIDs ...)
 * @request: what to reserve
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_reserve(); finish with devaddr_client_reserve_finish().
 */
void
devaddr_client_reserve_async (DevaddrClient *self, const char *vm, DevaddrReserveRequest *request,
                              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (request != NULL);
  params = devaddr_reserve_request_to_json (request);
  if (vm != NULL)
    json_object_set_string_member (params, "vm", vm);
  else
    json_object_set_string_member (params, "scope", "host");
  call_start (self, "addr.reserve", params, cancellable, callback, user_data, devaddr_client_reserve_async);
}

/**
 * devaddr_client_reserve_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_reserve_async().
 *
 * Returns: (transfer full): the reservation, or %NULL
 */
DevaddrReservation *
devaddr_client_reserve_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_reserve_async, error);

  return reservation_result (res, result, error);
}

/* ------------------------------------------------------------------ */
/* addr.reserve */

/**
 * devaddr_client_reserve_batch:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @requests: (element-type DevaddrReserveRequest): 1 to 256 requests
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reserves several addresses at once, all or nothing (`addr.reserve` with
 * `requests`). If one cannot be had, none is made; the error message names
 * the request that failed.
 *
 * Returns: (transfer container) (element-type DevaddrReservation): the
 *   reservations in the order of @requests, or %NULL
 */
GPtrArray *
devaddr_client_reserve_batch (DevaddrClient *self, const char *vm, GPtrArray *requests, GCancellable *cancellable,
                              GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (requests != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_reserve_batch_async (self, vm, requests, cancellable, sync_call_done, &sync);
  return devaddr_client_reserve_batch_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_reserve_batch_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @requests: (element-type DevaddrReserveRequest): 1 to 256 requests
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_reserve_batch(); finish with devaddr_client_reserve_batch_finish().
 */
void
devaddr_client_reserve_batch_async (DevaddrClient *self, const char *vm, GPtrArray *requests, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;
  JsonArray *list;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (requests != NULL);
  params = params_new_scope (vm);
  list = json_array_new ();
  for (guint i = 0; i < requests->len; i++)
    json_array_add_object_element (list, devaddr_reserve_request_to_json (g_ptr_array_index (requests, i)));
  json_object_set_array_member (params, "requests", list);
  call_start (self, "addr.reserve", params, cancellable, callback, user_data, devaddr_client_reserve_batch_async);
}

/**
 * devaddr_client_reserve_batch_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_reserve_batch_async().
 *
 * Returns: (transfer container) (element-type DevaddrReservation): the
 *   reservations in the order of @requests, or %NULL
 */
GPtrArray *
devaddr_client_reserve_batch_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_reserve_batch_async, error);
  JsonObject *obj = NULL;
  JsonArray *list = NULL;
  GPtrArray *reservations;

  if (result == NULL)
    return NULL;
  if (!da_result_get_object (result, REPLY, &obj, error)
      || !da_result_member_array (obj, REPLY, "reservations", TRUE, &list, error)) {
    prefix_method (res, error);
    return NULL;
  }
  reservations = da_reservations_new_from_json (list, REPLY ".reservations", error);
  if (reservations == NULL)
    prefix_method (res, error);
  return reservations;
}

/* ------------------------------------------------------------------ */
/* addr.commit */

/**
 * devaddr_client_commit:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the reservation's alias
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Makes a held reservation active (`addr.commit`), e.g. once the hotplug
 * it was held for succeeded.
 *
 * Returns: (transfer full): the reservation, now active, or %NULL
 */
DevaddrReservation *
devaddr_client_commit (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                       GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_commit_async (self, vm, alias, cancellable, sync_call_done, &sync);
  return devaddr_client_commit_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_commit_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the reservation's alias
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_commit(); finish with devaddr_client_commit_finish().
 */
void
devaddr_client_commit_async (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (alias != NULL);
  params = params_new_scope (vm);
  json_object_set_string_member (params, "alias", alias);
  call_start (self, "addr.commit", params, cancellable, callback, user_data, devaddr_client_commit_async);
}

/**
 * devaddr_client_commit_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_commit_async().
 *
 * Returns: (transfer full): the reservation, now active, or %NULL
 */
DevaddrReservation *
devaddr_client_commit_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_commit_async, error);

  return reservation_result (res, result, error);
}

/* ------------------------------------------------------------------ */
/* addr.release */

/**
 * devaddr_client_release:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the reservation's alias
 * @phase: which phase
 * @state: (out) (optional): %DEVADDR_STATE_RELEASING or %DEVADDR_STATE_RELEASED
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Releases a reservation (`addr.release`): at once, or in two phases
 * around an unplug (%DEVADDR_RELEASE_BEGIN when the unplug is sent,
 * %DEVADDR_RELEASE_CONFIRM when it completed).
 *
 * Returns: %TRUE on success
 */
gboolean
devaddr_client_release (DevaddrClient *self, const char *vm, const char *alias, DevaddrReleasePhase phase,
                        DevaddrState *state, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);
  sync_call_init (&sync);
  devaddr_client_release_async (self, vm, alias, phase, cancellable, sync_call_done, &sync);
  return devaddr_client_release_finish (self, sync_call_wait (&sync), state, error);
}

/**
 * devaddr_client_release_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the reservation's alias
 * @phase: which phase
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_release(); finish with devaddr_client_release_finish().
 */
void
devaddr_client_release_async (DevaddrClient *self, const char *vm, const char *alias, DevaddrReleasePhase phase,
                              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (alias != NULL);
  params = params_new_scope (vm);
  json_object_set_string_member (params, "alias", alias);
  if (devaddr_release_phase_to_string (phase) != NULL)
    json_object_set_string_member (params, "phase", devaddr_release_phase_to_string (phase));
  call_start (self, "addr.release", params, cancellable, callback, user_data, devaddr_client_release_async);
}

/**
 * devaddr_client_release_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @state: (out) (optional): %DEVADDR_STATE_RELEASING or %DEVADDR_STATE_RELEASED
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_release_async().
 *
 * Returns: %TRUE on success
 */
gboolean
devaddr_client_release_finish (DevaddrClient *self, GAsyncResult *res, DevaddrState *state, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_release_async, error);

  if (result == NULL)
    return FALSE;
  return release_result (res, result, NULL, state, error);
}

/* ------------------------------------------------------------------ */
/* addr.lookup */

/**
 * devaddr_client_lookup:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the alias
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The reservation of an alias (`addr.lookup`).
 *
 * Returns: (transfer full): the reservation, or %NULL with
 *   %DEVADDR_ERROR_NOT_FOUND
 */
DevaddrReservation *
devaddr_client_lookup (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                       GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_lookup_async (self, vm, alias, cancellable, sync_call_done, &sync);
  return devaddr_client_lookup_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_lookup_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @alias: the alias
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_lookup(); finish with devaddr_client_lookup_finish().
 */
void
devaddr_client_lookup_async (DevaddrClient *self, const char *vm, const char *alias, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (alias != NULL);
  params = params_new_scope (vm);
  json_object_set_string_member (params, "alias", alias);
  call_start (self, "addr.lookup", params, cancellable, callback, user_data, devaddr_client_lookup_async);
}

/**
 * devaddr_client_lookup_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_lookup_async().
 *
 * Returns: (transfer full): the reservation, or %NULL with
 *   %DEVADDR_ERROR_NOT_FOUND
 */
DevaddrReservation *
devaddr_client_lookup_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_lookup_async, error);

  return reservation_result (res, result, error);
}

/* ------------------------------------------------------------------ */
/* addr.lookup */

/**
 * devaddr_client_lookup_address:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @address_type: the address type, such as "pci"
 * @address: the address in the text form of its type
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The reservation that holds an address (`addr.lookup` by type and
 * address); an address inside a run of several counts.
 *
 * Returns: (transfer full): the reservation, or %NULL with
 *   %DEVADDR_ERROR_NOT_FOUND when the address is free
 */
DevaddrReservation *
devaddr_client_lookup_address (DevaddrClient *self, const char *vm, const char *address_type, const char *address,
                               GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (address_type != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_lookup_address_async (self, vm, address_type, address, cancellable, sync_call_done, &sync);
  return devaddr_client_lookup_address_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_lookup_address_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @address_type: the address type, such as "pci"
 * @address: the address in the text form of its type
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_lookup_address(); finish with devaddr_client_lookup_address_finish().
 */
void
devaddr_client_lookup_address_async (DevaddrClient *self, const char *vm, const char *address_type, const char *address,
                                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (address_type != NULL);
  g_return_if_fail (address != NULL);
  params = params_new_scope (vm);
  json_object_set_string_member (params, "type", address_type);
  json_object_set_string_member (params, "address", address);
  call_start (self, "addr.lookup", params, cancellable, callback, user_data, devaddr_client_lookup_address_async);
}

/**
 * devaddr_client_lookup_address_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_lookup_address_async().
 *
 * Returns: (transfer full): the reservation, or %NULL with
 *   %DEVADDR_ERROR_NOT_FOUND when the address is free
 */
DevaddrReservation *
devaddr_client_lookup_address_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_lookup_address_async, error);

  return reservation_result (res, result, error);
}

/* ------------------------------------------------------------------ */
/* pool.stats */

/**
 * devaddr_client_get_pool_stats:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @address_type: the address type
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Occupancy of one pool (`pool.stats`): one address type of a VM or of the
 * host scope.
 *
 * Returns: (transfer full): the counts, or %NULL
 */
DevaddrPoolStats *
devaddr_client_get_pool_stats (DevaddrClient *self, const char *vm, const char *address_type, GCancellable *cancellable,
                               GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (address_type != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_get_pool_stats_async (self, vm, address_type, cancellable, sync_call_done, &sync);
  return devaddr_client_get_pool_stats_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_get_pool_stats_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): the VM, or %NULL for the host scope
 * @address_type: the address type
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_get_pool_stats(); finish with devaddr_client_get_pool_stats_finish().
 */
void
devaddr_client_get_pool_stats_async (DevaddrClient *self, const char *vm, const char *address_type,
                                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (address_type != NULL);
  params = params_new_scope (vm);
  json_object_set_string_member (params, "type", address_type);
  call_start (self, "pool.stats", params, cancellable, callback, user_data, devaddr_client_get_pool_stats_async);
}

/**
 * devaddr_client_get_pool_stats_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_get_pool_stats_async().
 *
 * Returns: (transfer full): the counts, or %NULL
 */
DevaddrPoolStats *
devaddr_client_get_pool_stats_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_get_pool_stats_async, error);
  DevaddrPoolStats *stats;

  if (result == NULL)
    return NULL;
  stats = da_pool_stats_new_from_json (result, REPLY, error);
  if (stats == NULL)
    prefix_method (res, error);
  return stats;
}

/* ------------------------------------------------------------------ */
/* watch */

/**
 * devaddr_client_watch:
 * @self: a #DevaddrClient
 * @vm: (nullable): only changes of this VM; %NULL for all
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Subscribes the connection to changes (`watch`): from now on
 * #DevaddrClient::changed is emitted for every reservation change of @vm,
 * or of every scope. Watching again adds to the subscription (another
 * VM, or every scope); each change is still emitted once. The
 * subscription lasts as long as the connection; after
 * #DevaddrClient::disconnected, watch again.
 *
 * Returns: %TRUE when subscribed
 */
gboolean
devaddr_client_watch (DevaddrClient *self, const char *vm, GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  sync_call_init (&sync);
  devaddr_client_watch_async (self, vm, cancellable, sync_call_done, &sync);
  return devaddr_client_watch_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_watch_async:
 * @self: a #DevaddrClient
 * @vm: (nullable): only changes of this VM; %NULL for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_watch(); finish with devaddr_client_watch_finish().
 */
void
devaddr_client_watch_async (DevaddrClient *self, const char *vm, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  params = params_new ();
  if (vm != NULL)
    json_object_set_string_member (params, "vm", vm);
  call_start (self, "watch", params, cancellable, callback, user_data, devaddr_client_watch_async);
}

/**
 * devaddr_client_watch_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_watch_async().
 *
 * Returns: %TRUE when subscribed
 */
gboolean
devaddr_client_watch_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_watch_async, error);

  return result != NULL;
}

/* ------------------------------------------------------------------ */
/* domain.assign */

/**
 * devaddr_client_assign_domain:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the domain XML, at most 1 MiB
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Fills in every missing `<address>` of a libvirt domain XML
 * (`domain.assign`). Devices that have an address keep it (static
 * reservations); the others get one (dynamic). All or nothing.
 *
 * Returns: (transfer full): the assigned XML and the reservations, or
 *   %NULL
 */
DevaddrAssignment *
devaddr_client_assign_domain (DevaddrClient *self, const char *vm, const char *xml, GCancellable *cancellable,
                              GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (vm != NULL, NULL);
  g_return_val_if_fail (xml != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_assign_domain_async (self, vm, xml, cancellable, sync_call_done, &sync);
  return devaddr_client_assign_domain_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_assign_domain_async:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the domain XML, at most 1 MiB
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_assign_domain(); finish with devaddr_client_assign_domain_finish().
 */
void
devaddr_client_assign_domain_async (DevaddrClient *self, const char *vm, const char *xml, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  g_return_if_fail (xml != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  json_object_set_string_member (params, "xml", xml);
  call_start (self, "domain.assign", params, cancellable, callback, user_data, devaddr_client_assign_domain_async);
}

/**
 * devaddr_client_assign_domain_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_assign_domain_async().
 *
 * Returns: (transfer full): the assigned XML and the reservations, or
 *   %NULL
 */
DevaddrAssignment *
devaddr_client_assign_domain_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_assign_domain_async, error);
  DevaddrAssignment *assignment;

  if (result == NULL)
    return NULL;
  assignment = da_assignment_new_from_json (result, REPLY, error);
  if (assignment == NULL)
    prefix_method (res, error);
  return assignment;
}

/* ------------------------------------------------------------------ */
/* domain.import */

/**
 * devaddr_client_import_domain:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the domain XML, at most 1 MiB
 * @flags: %DEVADDR_IMPORT_NONE (all or nothing) or %DEVADDR_IMPORT_PARTIAL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Adopts the addresses of an existing domain XML as reservations
 * (`domain.import`), creating the VM when it does not exist.
 *
 * By default the import is all or nothing: if any address is held by
 * another reservation, it fails with %DEVADDR_ERROR_CONFLICT naming both
 * devices and nothing is adopted.  With %DEVADDR_IMPORT_PARTIAL the
 * addresses that do not clash are adopted and each clash is listed in the
 * result (devaddr_import_result_get_n_conflicts()), which then is not an
 * error.
 *
 * Returns: (transfer full): the reservations and the conflicts, or %NULL
 */
DevaddrImportResult *
devaddr_client_import_domain (DevaddrClient *self, const char *vm, const char *xml, DevaddrImportFlags flags,
                              GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (vm != NULL, NULL);
  g_return_val_if_fail (xml != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_import_domain_async (self, vm, xml, flags, cancellable, sync_call_done, &sync);
  return devaddr_client_import_domain_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_import_domain_async:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the domain XML, at most 1 MiB
 * @flags: %DEVADDR_IMPORT_NONE (all or nothing) or %DEVADDR_IMPORT_PARTIAL
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_import_domain(); finish with devaddr_client_import_domain_finish().
 */
void
devaddr_client_import_domain_async (DevaddrClient *self, const char *vm, const char *xml, DevaddrImportFlags flags,
                                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  g_return_if_fail (xml != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  json_object_set_string_member (params, "xml", xml);
  if (flags & DEVADDR_IMPORT_PARTIAL)
    json_object_set_boolean_member (params, "partial", TRUE);
  call_start (self, "domain.import", params, cancellable, callback, user_data, devaddr_client_import_domain_async);
}

/**
 * devaddr_client_import_domain_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_import_domain_async().
 *
 * Returns: (transfer full): the reservations and the conflicts, or %NULL
 */
DevaddrImportResult *
devaddr_client_import_domain_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_import_domain_async, error);
  DevaddrImportResult *imported;

  if (result == NULL)
    return NULL;
  imported = da_import_result_new_from_json (result, REPLY, error);
  if (imported == NULL)
    prefix_method (res, error);
  return imported;
}

/* ------------------------------------------------------------------ */
/* device.attach */

/**
 * devaddr_client_attach_device:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the device XML, such as an `<interface>`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Gives one device XML an address, for hotplug (`device.attach`).
 *
 * Returns: (transfer full): the device XML with its address and the
 *   reservation, or %NULL
 */
DevaddrAttachment *
devaddr_client_attach_device (DevaddrClient *self, const char *vm, const char *xml, GCancellable *cancellable,
                              GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), NULL);
  g_return_val_if_fail (vm != NULL, NULL);
  g_return_val_if_fail (xml != NULL, NULL);
  sync_call_init (&sync);
  devaddr_client_attach_device_async (self, vm, xml, cancellable, sync_call_done, &sync);
  return devaddr_client_attach_device_finish (self, sync_call_wait (&sync), error);
}

/**
 * devaddr_client_attach_device_async:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: the device XML, such as an `<interface>`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_attach_device(); finish with devaddr_client_attach_device_finish().
 */
void
devaddr_client_attach_device_async (DevaddrClient *self, const char *vm, const char *xml, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  g_return_if_fail (xml != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  json_object_set_string_member (params, "xml", xml);
  call_start (self, "device.attach", params, cancellable, callback, user_data, devaddr_client_attach_device_async);
}

/**
 * devaddr_client_attach_device_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_attach_device_async().
 *
 * Returns: (transfer full): the device XML with its address and the
 *   reservation, or %NULL
 */
DevaddrAttachment *
devaddr_client_attach_device_finish (DevaddrClient *self, GAsyncResult *res, GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_attach_device_async, error);
  DevaddrAttachment *attachment;

  if (result == NULL)
    return NULL;
  attachment = da_attachment_new_from_json (result, REPLY, error);
  if (attachment == NULL)
    prefix_method (res, error);
  return attachment;
}

/* ------------------------------------------------------------------ */
/* device.detach */

/**
 * devaddr_client_detach_device:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: (nullable): the device XML, or %NULL to name the device by @alias
 * @alias: (nullable): the device alias, or %NULL to name it by @xml
 * @phase: which phase
 * @released_alias: (out) (optional) (transfer full): the alias released
 * @state: (out) (optional): %DEVADDR_STATE_RELEASING or %DEVADDR_STATE_RELEASED
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Releases the address of one device, for hot-unplug (`device.detach`),
 * named by its device XML or by its alias; @phase as for
 * devaddr_client_release().
 *
 * Returns: %TRUE on success
 */
gboolean
devaddr_client_detach_device (DevaddrClient *self, const char *vm, const char *xml, const char *alias,
                              DevaddrReleasePhase phase, char **released_alias, DevaddrState *state,
                              GCancellable *cancellable, GError **error)
{
  g_auto (SyncCall) sync = { NULL, NULL };

  g_return_val_if_fail (DEVADDR_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (vm != NULL, FALSE);
  g_return_val_if_fail (xml != NULL || alias != NULL, FALSE);
  sync_call_init (&sync);
  devaddr_client_detach_device_async (self, vm, xml, alias, phase, cancellable, sync_call_done, &sync);
  return devaddr_client_detach_device_finish (self, sync_call_wait (&sync), released_alias, state, error);
}

/**
 * devaddr_client_detach_device_async:
 * @self: a #DevaddrClient
 * @vm: the VM
 * @xml: (nullable): the device XML, or %NULL to name the device by @alias
 * @alias: (nullable): the device alias, or %NULL to name it by @xml
 * @phase: which phase
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts devaddr_client_detach_device(); finish with devaddr_client_detach_device_finish().
 */
void
devaddr_client_detach_device_async (DevaddrClient *self, const char *vm, const char *xml, const char *alias,
                                    DevaddrReleasePhase phase, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  JsonObject *params;

  g_return_if_fail (DEVADDR_IS_CLIENT (self));
  g_return_if_fail (vm != NULL);
  g_return_if_fail (xml != NULL || alias != NULL);
  params = params_new ();
  json_object_set_string_member (params, "vm", vm);
  if (xml != NULL)
    json_object_set_string_member (params, "xml", xml);
  if (alias != NULL)
    json_object_set_string_member (params, "alias", alias);
  if (devaddr_release_phase_to_string (phase) != NULL)
    json_object_set_string_member (params, "phase", devaddr_release_phase_to_string (phase));
  call_start (self, "device.detach", params, cancellable, callback, user_data, devaddr_client_detach_device_async);
}

/**
 * devaddr_client_detach_device_finish:
 * @self: a #DevaddrClient
 * @res: the #GAsyncResult
 * @released_alias: (out) (optional) (transfer full): the alias released
 * @state: (out) (optional): %DEVADDR_STATE_RELEASING or %DEVADDR_STATE_RELEASED
 * @error: return location for a #GError
 *
 * Finishes devaddr_client_detach_device_async().
 *
 * Returns: %TRUE on success
 */
gboolean
devaddr_client_detach_device_finish (DevaddrClient *self, GAsyncResult *res, char **released_alias, DevaddrState *state,
                                     GError **error)
{
  g_autoptr (JsonNode) result = call_finish (self, res, devaddr_client_detach_device_async, error);

  if (result == NULL)
    return FALSE;
  return release_result (res, result, released_alias, state, error);
}

