/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/da-daemon.h"
#include "daemon/da-notify.h"
#include "daemon/da-record.h"
#include "daemon/da-test-hook.h"
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
  char *result;             /* compact JSON text, counted by the connection as waiting */
  gsize result_len;
  GError *error;
  JsonObject *error_data;
  gboolean is_mutation;     /* re-run means run again, not just answer again */
  Commit *commit;           /* the call's own record, if it made one */
} Reply;

/* one per connection, however often it called watch */
typedef struct {
  DaConnection *connection;
  gboolean all;             /* every scope */
  GHashTable *vms;          /* else these VMs' */
} Watcher;

struct _DaDaemon {
  DaConfig *config;
  DaEngine *engine;
  DaStore *store;
  DaTestHook *test_hook;
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
  guint status_source;
  gboolean activated;
  gboolean stopping;
  char *recovery_summary;
  JsonObject *recovery;     /* what the last recovery found, for server.info */
  GSourceFunc quit_func;
  gpointer quit_data;
};

static void schedule_expiry (DaDaemon *daemon);
static void update_idle (DaDaemon *daemon);
static void schedule_status (DaDaemon *daemon);

static void
commit_free (Commit *commit)
{
  if (commit->txn != NULL)
    da_txn_free (commit->txn);
  if (commit->notifications != NULL)
    g_ptr_array_unref (commit->notifications);
  g_free (commit);
}

/* the result goes, and the connection no longer counts it */
static void
reply_clear_result (Reply *reply)
{
  if (reply->result == NULL)
    return;
  da_connection_add_waiting (reply->connection, -(gssize) reply->result_len);
  g_clear_pointer (&reply->result, g_free);
  reply->result_len = 0;
}

static void
reply_free (Reply *reply)
{
  reply_clear_result (reply);
  da_connection_unref (reply->connection);
  g_clear_error (&reply->error);
  if (reply->error_data != NULL)
    json_object_unref (reply->error_data);
  g_free (reply);
}

static void
watcher_free (Watcher *watcher)
{
  da_connection_unref (watcher->connection);
  g_hash_table_unref (watcher->vms);
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
    g_autofree char *result = g_steal_pointer (&reply->result);

    g_queue_pop_head (&daemon->replies);
    /* from here the connection counts it where it puts it */
    da_connection_add_waiting (reply->connection, -(gssize) reply->result_len);
    da_connection_complete (reply->connection, reply->batch, reply->index, result, reply->error, reply->error_data);
    reply_free (reply);
  }
  update_idle (daemon);
}

static void
queue_reply (DaDaemon *daemon, DaConnection *connection, DaJsonrpcBatch *batch, guint index, GString *text,
             GError *error, JsonObject *error_data, gboolean is_mutation, Commit *commit)
{
  Reply *reply = g_new0 (Reply, 1);

  reply->needs = daemon->state_seq;
  reply->connection = da_connection_ref (connection);
  reply->batch = batch;
  reply->index = index;
  /* an answer waits as the text it will be, a fraction of the tree it
   * would be */
  if (text != NULL) {
    /* a query's answer bigger than the output limit is refused; a change
     * that was made is always reported */
    if (!is_mutation && text->len > daemon->config->max_output) {
      error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_LIMIT,
                           "the result is %" G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT " (output-bytes)",
                           text->len, daemon->config->max_output);
      g_string_free (text, TRUE);
    } else {
      reply->result_len = text->len;
      reply->result = g_string_free (text, FALSE);
      da_connection_add_waiting (connection, (gssize) reply->result_len);
    }
  }
  reply->error = error;
  reply->error_data = error_data;
  reply->is_mutation = is_mutation;
  reply->commit = commit;
  g_queue_push_tail (&daemon->replies, reply);
}

static void
notify_watchers (DaDaemon *daemon, GPtrArray *notifications)
{
  g_autoptr (GPtrArray) watchers = NULL;

  if (notifications == NULL || notifications->len == 0 || daemon->watchers->len == 0)
    return;
  /* a watcher that does not read is dropped in the middle of this and
   * leaves daemon->watchers: go through a copy, so that the one after it
   * is not skipped (a closed connection takes no more notifications) */
  watchers = g_ptr_array_new_full (daemon->watchers->len, (GDestroyNotify) watcher_free);
  for (guint w = 0; w < daemon->watchers->len; w++) {
    Watcher *watcher = g_ptr_array_index (daemon->watchers, w);
    Watcher *copy = g_new0 (Watcher, 1);

    copy->connection = da_connection_ref (watcher->connection);
    copy->all = watcher->all;
    copy->vms = g_hash_table_ref (watcher->vms);
    g_ptr_array_add (watchers, copy);
  }
  for (guint i = 0; i < notifications->len; i++) {
    JsonNode *params = g_ptr_array_index (notifications, i);
    JsonObject *obj = json_node_get_object (params);
    const char *vm = json_object_has_member (obj, "vm") ? json_object_get_string_member (obj, "vm") : NULL;

    for (guint w = 0; w < watchers->len; w++) {
      Watcher *watcher = g_ptr_array_index (watchers, w);

      if (watcher->all || (vm != NULL && g_hash_table_contains (watcher->vms, vm)))
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
        reply_clear_result (reply);
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
    schedule_status (daemon);
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
  if (!da_connection_may_mutate (connection) && da_config_owner_may_mutate (daemon->config))
    return g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_PERMISSION_DENIED,
                        "%s needs root, the daemon's user (uid %u) or membership of group %s (peer uid %u)",
                        method->name, (guint) geteuid (), daemon->config->group, da_connection_get_uid (connection));
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
  queue_reply (daemon, connection, batch, index, result != NULL ? da_methods_take_result_text (&ctx, result) : NULL,
               error, ctx.error_data, method != NULL && (method->flags & DA_METHOD_MUTATES), commit);
  if (ctx.result_text != NULL)
    g_string_free (ctx.result_text, TRUE);
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
  Watcher *watcher = NULL;

  /* watch again: the subscription grows, and a change is still sent once */
  for (guint i = 0; i < daemon->watchers->len && watcher == NULL; i++)
    if (((Watcher *) g_ptr_array_index (daemon->watchers, i))->connection == connection)
      watcher = g_ptr_array_index (daemon->watchers, i);
  if (watcher == NULL) {
    watcher = g_new0 (Watcher, 1);
    watcher->connection = da_connection_ref (connection);
    watcher->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_ptr_array_add (daemon->watchers, watcher);
  }
  if (vm == NULL)
    watcher->all = TRUE;
  else
    g_hash_table_add (watcher->vms, g_strdup (vm));
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
  da_notify (DA_NOTIFY_NEEDED, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* what systemctl status shows */

#define STATUS_INTERVAL_MS 1000

static void
send_status (DaDaemon *daemon, const char *before)
{
  /* a status update alone may be dropped when the manager is not reading */
  da_notify (*before == '\0' ? DA_NOTIFY_DROPPABLE : DA_NOTIFY_NEEDED,
             "%sSTATUS=serving %u vms, %" G_GUINT64_FORMAT " reservations", before,
              da_engine_get_n_vms (daemon->engine), da_engine_get_n_reservations (daemon->engine));
}

static gboolean
status_fired (gpointer user_data)
{
  DaDaemon *daemon = user_data;

  daemon->status_source = 0;
  send_status (daemon, "");
  return G_SOURCE_REMOVE;
}

/* the state changed: STATUS= follows within a second, and at most once a
 * second however busy the daemon is */
static void
schedule_status (DaDaemon *daemon)
{
  if (daemon->status_source == 0 && !daemon->stopping)
    daemon->status_source = g_timeout_add (STATUS_INTERVAL_MS, status_fired, daemon);
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

/* records recovery could not use that may have been acknowledged: those
 * of a damaged snapshot, at most those of damaged journal stretches, and
 * those that did not apply */
static guint64
recovery_dropped (const DaStoreRecovery *report, guint64 skipped)
{
  guint64 dropped = report->snapshot_records_lost + skipped;

  for (guint i = 0; i < report->damage->len; i++) {
    const DaStoreDamage *damage = &g_array_index (report->damage, DaStoreDamage, i);

    if (strcmp (damage->file, "snapshot") != 0)
      dropped += damage->records_lost;
  }
  return dropped;
}

#define RECOVERY_DAMAGE_LISTED 16

static JsonObject *
describe_recovery (const DaStoreRecovery *report, guint64 skipped, const char *summary)
{
  JsonObject *obj = json_object_new ();
  JsonArray *damage = json_array_new ();
  gboolean snapshot_damaged = FALSE;

  for (guint i = 0; i < report->damage->len; i++) {
    const DaStoreDamage *d = &g_array_index (report->damage, DaStoreDamage, i);

    snapshot_damaged |= strcmp (d->file, "snapshot") == 0;
    if (i < RECOVERY_DAMAGE_LISTED) {
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "file", d->file);
      json_object_set_int_member (entry, "offset", (gint64) d->offset);
      json_object_set_int_member (entry, "length", (gint64) d->length);
      json_object_set_int_member (entry, "records_lost", (gint64) d->records_lost);
      json_array_add_object_element (damage, entry);
    }
  }
  json_object_set_string_member (obj, "summary", summary);
  json_object_set_double_member (obj, "duration_ms", report->duration_usec / 1000.0);
  json_object_set_int_member (obj, "snapshot_records", (gint64) report->snapshot_records);
  json_object_set_int_member (obj, "journal_records", (gint64) report->journal_records);
  json_object_set_int_member (obj, "segments", report->segments);
  json_object_set_int_member (obj, "bytes", (gint64) report->bytes);
  json_object_set_int_member (obj, "tail_bytes_cut", (gint64) report->tail_bytes_cut);
  json_object_set_int_member (obj, "tail_records_cut", (gint64) report->tail_records_cut);
  json_object_set_int_member (obj, "damaged_regions", report->damage->len);
  json_object_set_int_member (obj, "damaged_bytes", (gint64) report->damaged_bytes);
  json_object_set_boolean_member (obj, "snapshot_damaged", snapshot_damaged);
  json_object_set_int_member (obj, "snapshot_records_lost", (gint64) report->snapshot_records_lost);
  json_object_set_int_member (obj, "skipped_records", (gint64) skipped);
  json_object_set_int_member (obj, "dropped_records", (gint64) recovery_dropped (report, skipped));
  json_object_set_boolean_member (obj, "removed_snapshot_tmp", report->removed_snapshot_tmp);
  json_object_set_array_member (obj, "damage", damage);
  return obj;
}

/* one warning per damaged stretch: what an administrator looks for first */
static void
log_recovery_losses (DaDaemon *daemon, const DaStoreRecovery *report, guint64 skipped)
{
  for (guint i = 0; i < report->damage->len; i++) {
    const DaStoreDamage *d = &g_array_index (report->damage, DaStoreDamage, i);

    if (d->length == 0)
      g_warning ("recovery: %s/%s is missing or unreadable; %s%s", daemon->config->state_dir, d->file,
                 d->records_lost > 0 ? "records were lost" : "an unknown number of records was lost",
                 daemon->config->accept_data_loss ? " (accepted with --accept-data-loss)" : "");
    else
      g_warning ("recovery: dropped %" G_GUINT64_FORMAT " damaged bytes at offset %" G_GUINT64_FORMAT " of %s/%s "
                 "(%s%" G_GUINT64_FORMAT " records lost, between sequence %" G_GUINT64_FORMAT " and %"
                 G_GUINT64_FORMAT ")", d->length, d->offset, daemon->config->state_dir, d->file,
                 strcmp (d->file, "snapshot") == 0 ? "" : "at most ", d->records_lost, d->seq_before, d->seq_after);
  }
  if (report->tail_bytes_cut > 0)
    g_warning ("recovery: cut a torn tail of %" G_GUINT64_FORMAT " bytes (%" G_GUINT64_FORMAT
               " whole records without a commit) from the journal in %s", report->tail_bytes_cut,
               report->tail_records_cut, daemon->config->state_dir);
  if (report->snapshot_records_lost > 0 || skipped > 0 || report->damage->len > 0)
    g_warning ("recovery: %" G_GUINT64_FORMAT " records dropped in %" G_GUINT64_FORMAT " damaged bytes "
               "(%" G_GUINT64_FORMAT " of the snapshot, %" G_GUINT64_FORMAT " that did not apply); "
               "a new snapshot replaces the damaged files",
               recovery_dropped (report, skipped), report->damaged_bytes, report->snapshot_records_lost, skipped);
}

gboolean
da_daemon_start (DaDaemon *daemon, GError **error)
{
  g_autoptr (DaCatalog) catalog = load_catalog (daemon->config, error);
  DaStoreOptions options = { .accept_data_loss = daemon->config->accept_data_loss,
                             .group_delay_us = daemon->config->group_delay_us,
                             .preallocate_bytes = daemon->config->journal_preallocate };
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
  daemon->test_hook = da_test_hook_install (daemon->store);
  if (!da_store_recover (daemon->store, recover_record, &rec, &report, error)) {
    /* the store speaks of its own option; say what the administrator can do */
    if (error != NULL && g_error_matches (*error, DA_STORE_ERROR, DA_STORE_ERROR_CORRUPT)) {
      g_autofree char *message = (*error)->message;

      (*error)->message = g_strdup_printf ("%s.  To start with what can be read and give up the rest, start "
                                           "devaddrd once with --accept-data-loss (or accept-data-loss=true in "
                                           "devaddrd.conf)", message);
    }
    return FALSE;
  }
  summary = da_store_recovery_describe (&report);
  daemon->recovery_summary = g_strdup_printf ("%s; %" G_GUINT64_FORMAT " changes applied%s", summary, rec.applied,
                                              rec.skipped > 0 ? ", some records skipped" : "");
  daemon->recovery = describe_recovery (&report, rec.skipped, daemon->recovery_summary);
  g_info ("%s in %" G_GINT64_FORMAT " ms: %u vms, %" G_GUINT64_FORMAT " reservations",
          daemon->recovery_summary, report.duration_usec / 1000, da_engine_get_n_vms (daemon->engine),
          da_engine_get_n_reservations (daemon->engine));
  log_recovery_losses (daemon, &report, rec.skipped);
  daemon->state_seq = daemon->durable_seq = report.last_seq;
  /* a long journal is folded into a snapshot soon; after damage at once,
   * so that the damaged files are replaced by what was kept and the next
   * start is a normal one */
  daemon->records_since_snapshot = report.journal_records;
  if (report.damage->len > 0 || rec.skipped > 0)
    daemon->records_since_snapshot = MAX (daemon->records_since_snapshot, daemon->config->snapshot_records);
  if (!da_store_start (daemon->store, NULL, error))
    return FALSE;
  /* a damaged snapshot can take the layout of host pools with it, leaving
   * their replayed reservations in pools with no addresses to give */
  if (report.damage->len > 0 || rec.skipped > 0) {
    DaTxn *txn = da_txn_new (daemon->engine);
    g_autoptr (GError) local = NULL;
    guint n = da_engine_restore_host_pools (daemon->engine, txn, &local);

    if (local != NULL)
      g_warning ("recovery: cannot lay out the host pools again: %s", local->message);
    else if (n > 0)
      g_warning ("recovery: %u host pool%s had lost %s layout with the damage and %s laid out again from the "
                 "catalog", n, n == 1 ? "" : "s", n == 1 ? "its" : "their", n == 1 ? "was" : "were");
    append_commit (daemon, txn, NULL);
  }

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
  send_status (daemon, "READY=1\n");
  return TRUE;
}

void
da_daemon_stop (DaDaemon *daemon)
{
  if (daemon->stopping)
    return;
  daemon->stopping = TRUE;
  g_clear_handle_id (&daemon->expiry_source, g_source_remove);
  g_clear_handle_id (&daemon->idle_source, g_source_remove);
  g_clear_handle_id (&daemon->watchdog_source, g_source_remove);
  g_clear_handle_id (&daemon->status_source, g_source_remove);
  if (daemon->server != NULL)
    da_server_stop_listening (daemon->server);
  /* said once nobody new can connect */
  da_notify (DA_NOTIFY_NEEDED, "STOPPING=1\nSTATUS=finishing %u commits", g_queue_get_length (&daemon->commits));
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
  /* closing a connection tells the daemon, which drops its replies and
   * watchers: the server goes first, while those are still there */
  g_clear_pointer (&daemon->server, da_server_free);
  while ((reply = g_queue_pop_head (&daemon->replies)) != NULL)
    reply_free (reply);
  while ((commit = g_queue_pop_head (&daemon->commits)) != NULL)
    commit_free (commit);
  g_ptr_array_unref (daemon->watchers);
  g_clear_pointer (&daemon->store, da_store_free);
  g_clear_pointer (&daemon->test_hook, da_test_hook_free);
  g_clear_pointer (&daemon->engine, da_engine_free);
  g_free (daemon->recovery_summary);
  g_clear_pointer (&daemon->recovery, json_object_unref);
  g_free (daemon);
}

static gboolean
reload (DaDaemon *daemon, const char *config_path, gboolean required, GError **error)
{
  g_autoptr (DaConfig) fresh = da_config_new_default ();
  g_autoptr (DaCatalog) catalog = NULL;
  DaConfig *config = daemon->config;

  /* sockets and the state directory stay as they are; limits, group,
   * cool-down and the catalog take effect.  The catalog is the running one
   * unless the file names one (the command line's --local is kept). */
  g_strfreev (fresh->catalog_dirs);
  fresh->catalog_dirs = g_strdupv (config->catalog_dirs);
  if (config_path != NULL && !da_config_load (fresh, config_path, required, error))
    return FALSE;
  catalog = load_catalog (fresh, error);
  if (catalog == NULL)
    return FALSE;
  da_engine_set_catalog (daemon->engine, catalog);
  da_engine_set_cooldown (daemon->engine, fresh->cooldown_us);
  g_strfreev (config->catalog_dirs);
  config->catalog_dirs = g_steal_pointer (&fresh->catalog_dirs);
  g_free (config->group);
  config->group = g_steal_pointer (&fresh->group);
  config->owner_may_mutate = fresh->owner_may_mutate;
  config->cooldown_us = fresh->cooldown_us;
  config->snapshot_records = fresh->snapshot_records;
  config->max_frame = fresh->max_frame;
  config->max_depth = fresh->max_depth;
  config->max_pending = fresh->max_pending;
  config->max_connections_per_uid = fresh->max_connections_per_uid;
  config->max_connections = fresh->max_connections;
  config->max_output = fresh->max_output;
  config->max_xml = fresh->max_xml;
  config->frame_timeout_s = fresh->frame_timeout_s;
  if (config->idle_timeout_s == 0 || fresh->idle_timeout_s != 0)
    config->idle_timeout_s = fresh->idle_timeout_s != 0 ? fresh->idle_timeout_s : config->idle_timeout_s;
  da_server_reconfigure (daemon->server);
  g_info ("reloaded %s: %u address types, %u templates", config_path != NULL ? config_path : "the defaults",
          da_catalog_get_types (catalog)->len, da_catalog_get_templates (catalog)->len);
  return TRUE;
}

gboolean
da_daemon_reload (DaDaemon *daemon, const char *config_path, gboolean required, GError **error)
{
  gboolean ok;

  /* systemd shows the unit reloading until READY=1 comes, either way */
  da_notify (DA_NOTIFY_NEEDED, "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time ());
  ok = reload (daemon, config_path, required, error);
  /* logged before READY=1, so that whoever waits for it finds the line */
  if (ok) {
    send_status (daemon, "READY=1\n");
  } else {
    g_warning ("reload failed, keeping the running configuration: %s", (*error)->message);
    da_notify (DA_NOTIFY_NEEDED, "READY=1\nSTATUS=reload failed, running configuration kept: %s", (*error)->message);
  }
  return ok;
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
  json_object_set_int_member (store, "recomputed", (gint64) daemon->recomputed);
  if (daemon->recovery != NULL)
    json_object_set_object_member (store, "recovery", json_object_ref (daemon->recovery));
  json_object_set_object_member (info, "store", store);

  json_object_set_int_member (limits, "frame_bytes", (gint64) daemon->config->max_frame);
  json_object_set_int_member (limits, "depth", daemon->config->max_depth);
  json_object_set_int_member (limits, "pending_per_connection", daemon->config->max_pending);
  json_object_set_int_member (limits, "connections_per_uid", daemon->config->max_connections_per_uid);
  json_object_set_int_member (limits, "xml_bytes", (gint64) daemon->config->max_xml);
  json_object_set_int_member (limits, "output_bytes", (gint64) daemon->config->max_output);
  json_object_set_int_member (limits, "connections", daemon->config->max_connections);
  json_object_set_int_member (limits, "frame_timeout_s", daemon->config->frame_timeout_s);
  json_object_set_object_member (info, "limits", limits);
  return info;
}
