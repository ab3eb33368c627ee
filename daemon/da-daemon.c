/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <systemd/sd-daemon.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/da-daemon.h"
#include "daemon/da-record.h"
#include "daemon/rpc/da-connection.h"
#include "daemon/rpc/da-server.h"
#include "daemon/store/da-store.h"
#include "protocol/da-rpc-error.h"

/* a mutation the engine has applied and the store has not yet made durable */
typedef struct {
  guint64 seq;
  DaTxn *txn;
  GPtrArray *notifications; /* params of addr.changed */
} Commit;

/* a computed reply waiting until what it reflects is durable */
typedef struct {
  guint64 needs;
  DaConnection *connection;
  DaJsonrpcBatch *batch;
  guint index;
  JsonNode *result;
  GError *error;
  JsonObject *error_data;
  gboolean is_mutation;     /* re-run means run again, not just answer again */
  Commit *commit;           /* the call's own record, if it made one */
} Reply;

typedef struct {
  DaConnection *connection;
  char *vm;                 /* NULL: every scope */
} Watcher;

struct _DaDaemon {
  DaConfig *config;
  DaEngine *engine;
  DaStore *store;
  DaServer *server;
  gint64 started;
  guint64 state_seq;        /* newest record whose changes the engine holds */
  guint64 durable_seq;      /* every record up to here is on disk */
  GQueue commits;
  GQueue replies;
  GPtrArray *watchers;
  guint64 records_since_snapshot;
  gboolean snapshot_running;
  guint64 rollbacks;
  guint64 recomputed;
  guint expiry_source;
  gint64 expiry_at;
  guint idle_source;
  guint watchdog_source;
  gboolean activated;
  gboolean stopping;
  char *recovery_summary;
  GSourceFunc quit_func;
  gpointer quit_data;
};

static void schedule_expiry (DaDaemon *daemon);
static void update_idle (DaDaemon *daemon);

static void
commit_free (Commit *commit)
{
  if (commit->txn != NULL)
    da_txn_free (commit->txn);
  if (commit->notifications != NULL)
    g_ptr_array_unref (commit->notifications);
  g_free (commit);
}

static void
reply_free (Reply *reply)
{
  da_connection_unref (reply->connection);
  if (reply->result != NULL)
    json_node_unref (reply->result);
  g_clear_error (&reply->error);
  if (reply->error_data != NULL)
    json_object_unref (reply->error_data);
  g_free (reply);
}

static void
watcher_free (Watcher *watcher)
{
  da_connection_unref (watcher->connection);
  g_free (watcher->vm);
  g_free (watcher);
}

DaDaemon *
da_daemon_new (DaConfig *config, GError **error)
{
  DaDaemon *daemon = g_new0 (DaDaemon, 1);

  daemon->config = config;
  daemon->started = g_get_monotonic_time ();
  daemon->watchers = g_ptr_array_new_with_free_func ((GDestroyNotify) watcher_free);
  g_queue_init (&daemon->commits);
  g_queue_init (&daemon->replies);
  return daemon;
}

DaDaemon *
da_daemon_new_detached (DaConfig *config, DaEngine *engine)
{
  DaDaemon *daemon = da_daemon_new (config, NULL);

  daemon->engine = engine;
  return daemon;
}

const DaConfig *
da_daemon_get_config (DaDaemon *daemon)
{
  return daemon->config;
}

DaEngine *
da_daemon_get_engine (DaDaemon *daemon)
{
  return daemon->engine;
}

void
da_daemon_set_quit_func (DaDaemon *daemon, GSourceFunc func, gpointer user_data)
{
  daemon->quit_func = func;
  daemon->quit_data = user_data;
}

static DaCatalog *
load_catalog (const DaConfig *config, GError **error)
{
  DaCatalog *catalog = da_catalog_load ((const char *const *) config->catalog_dirs, error);

  if (catalog != NULL && da_catalog_get_types (catalog)->len == 0) {
    g_autofree char *dirs = g_strjoinv (", ", config->catalog_dirs);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "no address types found in %s", dirs);
    da_catalog_unref (catalog);
    return NULL;
  }
  return catalog;
}

/* ------------------------------------------------------------------ */
/* replies leave in commit order */

static void
release_replies (DaDaemon *daemon)
{
  Reply *reply;

  while ((reply = g_queue_peek_head (&daemon->replies)) != NULL && reply->needs <= daemon->durable_seq) {
    g_queue_pop_head (&daemon->replies);
    da_connection_complete (reply->connection, reply->batch, reply->index, reply->result, reply->error,
                            reply->error_data);
    reply_free (reply);
  }
  update_idle (daemon);
}

static void
queue_reply (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index, JsonNode *result,
             GError *error, JsonObject *error_data, gboolean is_mutation, Commit *commit)
{
  Reply *reply = g_new0 (Reply, 1);

  reply->needs = daemon->state_seq;
  reply->connection = da_connection_ref (connection);
  reply->batch = batch;
  reply->index = index;
  reply->result = result;
  reply->error = error;
  reply->error_data = error_data;
  reply->is_mutation = is_mutation;
  reply->commit = commit;
  g_queue_push_tail (&daemon->replies, reply);
}

static void
notify_watchers (DaDaemon *daemon, GPtrArray *notifications)
{
  for (guint i = 0; notifications != NULL && i < notifications->len; i++) {
    JsonNode *params = g_ptr_array_index (notifications, i);
    JsonObject *obj = json_node_get_object (params);
    const char *vm = json_object_has_member (obj, "vm") ? json_object_get_string_member (obj, "vm") : NULL;

    for (guint w = 0; w < daemon->watchers->len; w++) {
      Watcher *watcher = g_ptr_array_index (daemon->watchers, w);

      if (watcher->vm == NULL || g_strcmp0 (watcher->vm, vm) == 0)
        da_connection_notify (watcher->connection, "addr.changed", params);
    }
  }
}

/* ------------------------------------------------------------------ */
/* the store's answers */

static void maybe_snapshot (DaDaemon *daemon);
static void run_call (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index);

/* every mutation from failed_seq on is gone from disk: take it back out of
 * the engine, newest first, answer its caller "unavailable", and compute
 * again every reply that looked at that state */
static void
roll_back_from (DaDaemon *daemon, guint64 failed_seq, const GError *why)
{
  g_autoptr (GPtrArray) again = g_ptr_array_new ();
  GList *l;
  Commit *commit;

  while ((commit = g_queue_peek_tail (&daemon->commits)) != NULL && commit->seq >= failed_seq) {
    g_queue_pop_tail (&daemon->commits);
    da_txn_rollback (g_steal_pointer (&commit->txn));
    for (l = daemon->replies.head; l != NULL; l = l->next) {
      Reply *reply = l->data;

      if (reply->commit == commit) {
        if (reply->result != NULL)
          json_node_unref (g_steal_pointer (&reply->result));
        g_clear_error (&reply->error);
        g_clear_pointer (&reply->error_data, json_object_unref);
        reply->error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_UNAVAILABLE,
                                    "the change could not be made durable and was undone: %s", why->message);
        reply->commit = NULL;
        reply->needs = 0;
      }
    }
    daemon->rollbacks++;
    commit_free (commit);
  }
  daemon->state_seq = daemon->durable_seq;
  /* now writes may be tried again; records appended before this still fail */
  da_store_clear_failure (daemon->store);

  for (l = daemon->replies.head; l != NULL;) {
    GList *next = l->next;
    Reply *reply = l->data;

    if (reply->needs > daemon->durable_seq) {
      g_queue_delete_link (&daemon->replies, l);
      g_ptr_array_add (again, reply);
    }
    l = next;
  }
  /* the answered ones keep their place ahead of the recomputed ones */
  for (guint i = 0; i < again->len; i++) {
    Reply *reply = g_ptr_array_index (again, i);

    daemon->recomputed++;
    run_call (daemon, reply->connection, reply->batch, reply->index);
    reply_free (reply);
  }
  schedule_expiry (daemon);
}

static void
commit_done (guint64 seq, const GError *error, gpointer user_data)
{
  DaDaemon *daemon = user_data;
  Commit *commit = g_queue_peek_head (&daemon->commits);

  if (error == NULL) {
    daemon->durable_seq = MAX (daemon->durable_seq, seq);
    if (commit != NULL && commit->seq == seq) {
      g_queue_pop_head (&daemon->commits);
      for (GList *l = daemon->replies.head; l != NULL; l = l->next)
        if (((Reply *) l->data)->commit == commit)
          ((Reply *) l->data)->commit = NULL;
      notify_watchers (daemon, commit->notifications);
      commit_free (commit);
    }
    release_replies (daemon);
    maybe_snapshot (daemon);
    return;
  }
  /* callbacks come in order, so the failed record heads the queue, unless
   * an earlier failure already rolled it back */
  if (commit != NULL && commit->seq == seq) {
    g_warning ("store: record %" G_GUINT64_FORMAT " failed: %s; undoing every change not yet durable",
               seq, error->message);
    roll_back_from (daemon, seq, error);
  }
  release_replies (daemon);
}

static void
snapshot_done (guint64 seq, const GError *error, gpointer user_data)
{
  DaDaemon *daemon = user_data;

  daemon->snapshot_running = FALSE;
  if (error != NULL) {
    g_warning ("store: snapshot at %" G_GUINT64_FORMAT " failed: %s", seq, error->message);
    /* try again after another half interval */
    daemon->records_since_snapshot = daemon->config->snapshot_records / 2;
    return;
  }
  g_debug ("store: snapshot at %" G_GUINT64_FORMAT " is durable", seq);
}

static void
maybe_snapshot (DaDaemon *daemon)
{
  g_autoptr (DaSnapshotBuilder) builder = NULL;

  if (daemon->snapshot_running || daemon->records_since_snapshot < daemon->config->snapshot_records
      || da_store_is_failed (daemon->store))
    return;
  builder = da_snapshot_builder_new ((gsize) da_engine_get_n_reservations (daemon->engine) * 64);
  da_record_snapshot (daemon->engine, g_get_real_time (), builder);
  daemon->snapshot_running = TRUE;
  daemon->records_since_snapshot = 0;
  da_store_snapshot (daemon->store, da_snapshot_builder_steal (builder), snapshot_done, daemon);
}

/* hand a mutation's changes to the store; FALSE when there were none */
static Commit *
append_commit (DaDaemon *daemon, DaTxn *txn, GPtrArray *notifications)
{
  g_autoptr (GBytes) record = NULL;
  Commit *commit;

  if (da_txn_is_empty (txn) || da_txn_get_changes (txn)->len == 0) {
    da_txn_free (txn);
    if (notifications != NULL)
      g_ptr_array_unref (notifications);
    return NULL;
  }
  record = da_record_encode (da_txn_get_changes (txn));
  commit = g_new0 (Commit, 1);
  commit->txn = txn;
  commit->notifications = notifications;
  commit->seq = da_store_append (daemon->store, record, commit_done, daemon);
  daemon->state_seq = commit->seq;
  daemon->records_since_snapshot++;
  g_queue_push_tail (&daemon->commits, commit);
  return commit;
}

/* ------------------------------------------------------------------ */
/* calls */

static GError *
check_permission (DaDaemon *daemon, DaConnection *connection, const DaMethod *method)
{
  if (!(method->flags & DA_METHOD_MUTATES))
    return NULL;
  if (da_connection_is_read_only (connection))
    return g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_READ_ONLY,
                        "%s changes state and this is the read-only socket", method->name);
  if (!da_connection_may_mutate (connection))
    return g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_PERMISSION_DENIED,
                        "%s needs root or membership of group %s (peer uid %u)", method->name,
                        daemon->config->group, da_connection_get_uid (connection));
  if (daemon->stopping)
    return g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_UNAVAILABLE, "the daemon is shutting down");
  return NULL;
}

static void
run_call (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index)
{
  DaJsonrpcCall *call = da_jsonrpc_batch_get_call (batch, index);
  const DaMethod *method = da_methods_lookup (call->method);
  DaMethodContext ctx = { daemon, daemon->engine, NULL, g_get_real_time (), connection, NULL, NULL };
  g_autoptr (DaParams) params = NULL;
  GError *error = NULL;
  JsonNode *result = NULL;
  Commit *commit = NULL;

  if (method == NULL) {
    error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_METHOD_NOT_FOUND, "no method \"%s\"", call->method);
  } else if ((error = check_permission (daemon, connection, method)) == NULL
             && (params = da_params_new (call->params, &error)) != NULL) {
    if (method->flags & DA_METHOD_MUTATES)
      ctx.txn = da_txn_new (daemon->engine);
    result = method->func (&ctx, params, &error);
  }
  if (error != NULL)
    da_methods_map_error (&error);
  if (ctx.txn != NULL) {
    if (result == NULL) {
      /* a failed mutation leaves nothing behind */
      da_txn_rollback (g_steal_pointer (&ctx.txn));
      g_clear_pointer (&ctx.notifications, g_ptr_array_unref);
    } else {
      da_methods_notify_changes (&ctx, da_txn_get_changes (ctx.txn), 0);
      commit = append_commit (daemon, g_steal_pointer (&ctx.txn), g_steal_pointer (&ctx.notifications));
      schedule_expiry (daemon);
    }
  }
  g_clear_pointer (&ctx.notifications, g_ptr_array_unref);
  queue_reply (daemon, connection, batch, index, result, error, ctx.error_data,
               method != NULL && (method->flags & DA_METHOD_MUTATES), commit);
}

void
da_daemon_dispatch (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index)
{
  run_call (daemon, connection, batch, index);
  release_replies (daemon);
}

void
da_daemon_connection_closed (DaDaemon *daemon, DaConnection *connection)
{
  for (GList *l = daemon->replies.head; l != NULL;) {
    GList *next = l->next;
    Reply *reply = l->data;

    /* its mutations stay; only the answers have nowhere to go */
    if (reply->connection == connection) {
      g_queue_delete_link (&daemon->replies, l);
      reply_free (reply);
    }
    l = next;
  }
  for (guint i = daemon->watchers->len; i > 0; i--)
    if (((Watcher *) g_ptr_array_index (daemon->watchers, i - 1))->connection == connection)
      g_ptr_array_remove_index (daemon->watchers, i - 1);
  update_idle (daemon);
}

gboolean
da_daemon_watch (DaDaemon *daemon, DaConnection *connection, const char *vm, GError **error)
{
  Watcher *watcher = g_new0 (Watcher, 1);

  watcher->connection = da_connection_ref (connection);
  watcher->vm = g_strdup (vm);
  g_ptr_array_add (daemon->watchers, watcher);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* holds that run out */

static gboolean
expiry_fired (gpointer user_data)
{
  DaDaemon *daemon = user_data;
  DaMethodContext ctx = { daemon, daemon->engine, da_txn_new (daemon->engine), g_get_real_time (), NULL, NULL, NULL };
  guint n;

  daemon->expiry_source = 0;
  daemon->expiry_at = 0;
  n = da_engine_expire (daemon->engine, ctx.now, ctx.txn);
  if (n > 0) {
    g_info ("%u held reservation%s expired", n, n == 1 ? "" : "s");
    da_methods_notify_changes (&ctx, da_txn_get_changes (ctx.txn), 0);
    append_commit (daemon, ctx.txn, g_steal_pointer (&ctx.notifications));
  } else {
    da_txn_free (ctx.txn);
  }
  schedule_expiry (daemon);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (DaDaemon *daemon)
{
  gint64 next = da_engine_next_deadline (daemon->engine);
  gint64 delay_ms;

  if (next == daemon->expiry_at && daemon->expiry_source != 0)
    return;
  g_clear_handle_id (&daemon->expiry_source, g_source_remove);
  daemon->expiry_at = 0;
  if (next == G_MAXINT64 || daemon->stopping)
    return;
  delay_ms = MAX (0, (next - g_get_real_time () + 999) / 1000);
  daemon->expiry_at = next;
  daemon->expiry_source = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MIN (delay_ms, G_MAXUINT), expiry_fired,
                                              daemon, NULL);
}

/* ------------------------------------------------------------------ */
/* idle exit and the watchdog */

static gboolean
idle_fired (gpointer user_data)
{
  DaDaemon *daemon = user_data;

  daemon->idle_source = 0;
  if (da_server_get_n_connections (daemon->server) == 0 && g_queue_is_empty (&daemon->commits)) {
    g_info ("idle for %u s, exiting", daemon->config->idle_timeout_s);
    if (daemon->quit_func != NULL)
      daemon->quit_func (daemon->quit_data);
  }
  return G_SOURCE_REMOVE;
}

static void
update_idle (DaDaemon *daemon)
{
  gboolean idle;

  /* only a socket-activated daemon may go away: systemd brings it back */
  if (!daemon->activated || daemon->config->idle_timeout_s == 0 || daemon->server == NULL || daemon->stopping)
    return;
  idle = da_server_get_n_connections (daemon->server) == 0 && g_queue_is_empty (&daemon->commits);
  if (!idle)
    g_clear_handle_id (&daemon->idle_source, g_source_remove);
  else if (daemon->idle_source == 0)
    daemon->idle_source = g_timeout_add_seconds (daemon->config->idle_timeout_s, idle_fired, daemon);
}

static void
server_connections_changed (gpointer user_data)
{
  update_idle (user_data);
}

static gboolean
watchdog_fired (gpointer user_data)
{
  sd_notify (0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* start and stop */

typedef struct {
  DaDaemon *daemon;
  GByteArray *scratch;
  guint64 applied;
  guint64 skipped;
} Recovery;

static gboolean
apply_change (const DaChange *change, gpointer user_data, GError **error)
{
  Recovery *rec = user_data;

  if (!da_engine_apply (rec->daemon->engine, change, error))
    return FALSE;
  rec->applied++;
  return TRUE;
}

static gboolean
recover_record (guint64 seq, const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  Recovery *rec = user_data;
  g_autoptr (GError) local = NULL;

  /* a million records: decoded in place, nothing allocated per change */
  if (da_record_foreach (data, len, rec->scratch, apply_change, rec, &local))
    return TRUE;
  if (rec->daemon->config->accept_data_loss) {
    g_warning ("recovery: skipping record %" G_GUINT64_FORMAT ": %s", seq, local->message);
    rec->skipped++;
    return TRUE;
  }
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
               "record %" G_GUINT64_FORMAT " does not apply to the recovered state (%s); "
               "refusing to start rather than lose reservations (see --accept-data-loss)", seq, local->message);
  return FALSE;
}

gboolean
da_daemon_start (DaDaemon *daemon, GError **error)
{
  g_autoptr (DaCatalog) catalog = load_catalog (daemon->config, error);
  DaStoreOptions options = { .accept_data_loss = daemon->config->accept_data_loss,
                             .group_delay_us = daemon->config->group_delay_us };
  g_auto (DaStoreRecovery) report = { 0 };
  g_autoptr (GByteArray) scratch = g_byte_array_sized_new (512);
  Recovery rec = { daemon, scratch, 0, 0 };
  g_autofree char *summary = NULL;

  if (catalog == NULL)
    return FALSE;
  daemon->engine = da_engine_new (catalog);
  da_engine_set_cooldown (daemon->engine, daemon->config->cooldown_us);

  daemon->store = da_store_open (daemon->config->state_dir, &options, error);
  if (daemon->store == NULL)
    return FALSE;
  if (!da_store_recover (daemon->store, recover_record, &rec, &report, error))
    return FALSE;
  summary = da_store_recovery_describe (&report);
  daemon->recovery_summary = g_strdup_printf ("%s; %" G_GUINT64_FORMAT " changes applied%s", summary, rec.applied,
                                              rec.skipped > 0 ? ", some records skipped" : "");
  g_info ("%s in %" G_GINT64_FORMAT " ms: %u vms, %" G_GUINT64_FORMAT " reservations",
          daemon->recovery_summary, report.duration_usec / 1000, da_engine_get_n_vms (daemon->engine),
          da_engine_get_n_reservations (daemon->engine));
  daemon->state_seq = daemon->durable_seq = report.last_seq;
  /* a long journal is folded into a snapshot soon */
  daemon->records_since_snapshot = report.journal_records;
  if (!da_store_start (daemon->store, NULL, error))
    return FALSE;

  daemon->server = da_server_new (daemon, daemon->config, server_connections_changed, daemon);
  if (!da_server_listen (daemon->server, &daemon->activated, error))
    return FALSE;

  /* holds that ran out while the daemon was down */
  expiry_fired (daemon);
  maybe_snapshot (daemon);
  update_idle (daemon);
  {
    guint64 usec = 0;

    if (sd_watchdog_enabled (FALSE, &usec) > 0 && usec > 0)
      daemon->watchdog_source = g_timeout_add ((guint) MAX (usec / 2000, 1), watchdog_fired, daemon);
  }
  sd_notifyf (0, "READY=1\nSTATUS=serving %u vms, %" G_GUINT64_FORMAT " reservations",
              da_engine_get_n_vms (daemon->engine), da_engine_get_n_reservations (daemon->engine));
  return TRUE;
}

void
da_daemon_stop (DaDaemon *daemon)
{
  if (daemon->stopping)
    return;
  daemon->stopping = TRUE;
  sd_notify (0, "STOPPING=1\nSTATUS=finishing commits");
  g_clear_handle_id (&daemon->expiry_source, g_source_remove);
  g_clear_handle_id (&daemon->idle_source, g_source_remove);
  g_clear_handle_id (&daemon->watchdog_source, g_source_remove);
  if (daemon->server != NULL)
    da_server_stop_listening (daemon->server);
  /* every queued record becomes durable (or fails) and its callback runs */
  if (daemon->store != NULL)
    da_store_close (daemon->store);
  release_replies (daemon);
  if (daemon->server != NULL)
    da_server_flush (daemon->server, 2 * G_USEC_PER_SEC);
}

void
da_daemon_free (DaDaemon *daemon)
{
  Reply *reply;
  Commit *commit;

  if (daemon == NULL)
    return;
  da_daemon_stop (daemon);
  while ((reply = g_queue_pop_head (&daemon->replies)) != NULL)
    reply_free (reply);
  while ((commit = g_queue_pop_head (&daemon->commits)) != NULL)
    commit_free (commit);
  g_ptr_array_unref (daemon->watchers);
  g_clear_pointer (&daemon->server, da_server_free);
  g_clear_pointer (&daemon->store, da_store_free);
  g_clear_pointer (&daemon->engine, da_engine_free);
  g_free (daemon->recovery_summary);
  g_free (daemon);
}

gboolean
da_daemon_reload (DaDaemon *daemon, const char *config_path, GError **error)
{
  g_autoptr (DaConfig) fresh = da_config_new_default ();
  g_autoptr (DaCatalog) catalog = NULL;
  DaConfig *config = daemon->config;

  /* sockets and the state directory stay as they are; limits, group,
   * cool-down and the catalog take effect */
  if (config_path != NULL && !da_config_load (fresh, config_path, FALSE, error))
    return FALSE;
  g_strfreev (fresh->catalog_dirs);
  fresh->catalog_dirs = g_strdupv (config->catalog_dirs);
  if (config_path != NULL) {
    g_autoptr (GKeyFile) file = g_key_file_new ();
    g_auto (GStrv) dirs = NULL;

    if (g_key_file_load_from_file (file, config_path, G_KEY_FILE_NONE, NULL)
        && (dirs = g_key_file_get_string_list (file, "daemon", "catalog", NULL, NULL)) != NULL) {
      g_strfreev (fresh->catalog_dirs);
      fresh->catalog_dirs = g_steal_pointer (&dirs);
    }
  }
  catalog = load_catalog (fresh, error);
  if (catalog == NULL)
    return FALSE;
  da_engine_set_catalog (daemon->engine, catalog);
  da_engine_set_cooldown (daemon->engine, fresh->cooldown_us);
  g_strfreev (config->catalog_dirs);
  config->catalog_dirs = g_steal_pointer (&fresh->catalog_dirs);
  g_free (config->group);
  config->group = g_steal_pointer (&fresh->group);
  config->cooldown_us = fresh->cooldown_us;
  config->snapshot_records = fresh->snapshot_records;
  config->max_frame = fresh->max_frame;
  config->max_depth = fresh->max_depth;
  config->max_pending = fresh->max_pending;
  config->max_connections_per_uid = fresh->max_connections_per_uid;
  config->max_connections = fresh->max_connections;
  config->max_output = fresh->max_output;
  config->max_xml = fresh->max_xml;
  if (config->idle_timeout_s == 0 || fresh->idle_timeout_s != 0)
    config->idle_timeout_s = fresh->idle_timeout_s != 0 ? fresh->idle_timeout_s : config->idle_timeout_s;
  da_server_reconfigure (daemon->server);
  g_info ("reloaded: %u address types, %u templates", da_catalog_get_types (catalog)->len,
          da_catalog_get_templates (catalog)->len);
  return TRUE;
}

JsonObject *
da_daemon_describe (DaDaemon *daemon)
{
  JsonObject *info = json_object_new ();
  JsonObject *store = json_object_new ();
  JsonObject *limits = json_object_new ();
  DaStoreCounters counters = { 0 };

  /* a detached daemon has neither store nor server */
  if (daemon->store != NULL)
    da_store_get_counters (daemon->store, &counters);
  json_object_set_string_member (info, "version", PACKAGE_VERSION);
  json_object_set_int_member (info, "protocol", DA_PROTOCOL_VERSION);
  json_object_set_int_member (info, "uptime_s", (g_get_monotonic_time () - daemon->started) / G_USEC_PER_SEC);
  json_object_set_int_member (info, "vms", da_engine_get_n_vms (daemon->engine));
  json_object_set_int_member (info, "reservations", (gint64) da_engine_get_n_reservations (daemon->engine));
  json_object_set_int_member (info, "connections", daemon->server != NULL ? da_server_get_n_connections (daemon->server) : 0);
  json_object_set_boolean_member (info, "socket_activated", daemon->activated);

  json_object_set_string_member (store, "dir", daemon->store != NULL ? da_store_get_dir (daemon->store) : "");
  json_object_set_int_member (store, "durable_seq", (gint64) counters.last_durable_seq);
  json_object_set_int_member (store, "records", (gint64) counters.records_written);
  json_object_set_int_member (store, "syncs", (gint64) counters.groups);
  json_object_set_double_member (store, "records_per_sync",
                                 counters.groups > 0 ? (double) counters.records_written / (double) counters.groups : 0.0);
  json_object_set_int_member (store, "largest_group", (gint64) counters.largest_group);
  json_object_set_int_member (store, "journal_bytes", (gint64) counters.journal_bytes);
  json_object_set_int_member (store, "journal_segments", counters.journal_segments);
  json_object_set_int_member (store, "snapshots", (gint64) counters.snapshots);
  json_object_set_int_member (store, "failures", (gint64) counters.failures);
  json_object_set_boolean_member (store, "failed", counters.failed);
  json_object_set_int_member (store, "pending", g_queue_get_length (&daemon->commits));
  json_object_set_int_member (store, "rollbacks", (gint64) daemon->rollbacks);
  json_object_set_string_member (store, "recovery", daemon->recovery_summary != NULL ? daemon->recovery_summary : "");
  json_object_set_object_member (info, "store", store);

  json_object_set_int_member (limits, "frame_bytes", (gint64) daemon->config->max_frame);
  json_object_set_int_member (limits, "depth", daemon->config->max_depth);
  json_object_set_int_member (limits, "pending_per_connection", daemon->config->max_pending);
  json_object_set_int_member (limits, "connections_per_uid", daemon->config->max_connections_per_uid);
  json_object_set_int_member (limits, "xml_bytes", (gint64) daemon->config->max_xml);
  json_object_set_object_member (info, "limits", limits);
  return info;
}
