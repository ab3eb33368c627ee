/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A load generator for devaddrd: many connections drive a mixed workload
 * (addr.reserve, addr.lookup, addr.release, domain.assign, and vm.delete to
 * keep the assigned domains bounded) for a fixed time.  It reports
 * throughput and p50/p99/p999 latency per method, the daemon's peak RSS,
 * and ratios against baselines measured in the same run (the fdatasync
 * rate of the state directory, and server.info round trips on the same
 * connections).  Every worker keeps a model of what the daemon
 * acknowledged to it; at the end the daemon's state must equal the model.
 *
 *   bench/load [--socket PATH] [--connections N] [--seconds S] [--mix R:L:D:A] [--seed N]
 *
 * Without --socket it starts a devaddrd of the build tree in a temporary
 * directory.  Exit status 1 when the state differs from the model.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench-util.h"
#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

enum { OP_RESERVE, OP_LOOKUP, OP_RELEASE, OP_ASSIGN, OP_DELETE, OP_BASELINE, N_OPS };

static const char *const op_names[N_OPS] = {
  "addr.reserve", "addr.lookup", "addr.release", "domain.assign", "vm.delete", "server.info",
};

/* how many domains a worker keeps assigned before it deletes the oldest */
#define DOMAINS_KEPT 4
/* VMs a worker reserves in, besides the host scope */
#define VMS_PER_WORKER 2

typedef struct {
  char *scope;   /* a VM name, or NULL for the host */
  char *alias;
  char *type;
  char *address;
} Held;

static void
held_free (Held *held)
{
  g_free (held->scope);
  g_free (held->alias);
  g_free (held->type);
  g_free (held->address);
  g_free (held);
}

typedef struct {
  /* set up by main */
  const char *socket_path;
  const char *xml;
  guint index;
  guint mix[4];  /* weights of reserve, lookup, release, assign */
  gint64 deadline;
  gboolean baseline; /* only server.info, for the baseline */
  /* results */
  GArray *latency[N_OPS]; /* gint64 microseconds */
  guint errors[N_OPS];    /* answered with an error the model expected */
  char *failure;          /* the first thing that went wrong, for the report */
  /* the model: what the daemon acknowledged to this worker */
  GPtrArray *held;        /* Held, in no particular order */
  GQueue domains;         /* names of assigned domain VMs, oldest first */
  GHashTable *domain_reservations; /* domain VM -> its reservations (GPtrArray of Held) */
  guint next_alias;
  guint next_domain;
  int fd;
  GString *in;
  GRand *rand;
} Worker;

static void
worker_fail (Worker *w, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
worker_fail (Worker *w, const char *format, ...)
{
  va_list args;

  if (w->failure != NULL)
    return;
  va_start (args, format);
  w->failure = g_strdup_vprintf (format, args);
  va_end (args);
}

/* one request, one reply: the parsed reply object, or NULL (connection
 * gone, or garbage) */
static JsonNode *
call (Worker *w, int op, const char *method, const char *params)
{
  g_autoptr (GString) line = g_string_new (NULL);
  gint64 t0;
  const char *p;
  gsize done = 0;
  char *nl;
  JsonNode *reply;
  g_autoptr (GError) error = NULL;
  gint64 elapsed;

  g_string_printf (line, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"%s\",\"params\":%s}\n", w->next_alias, method,
                   params);
  t0 = g_get_monotonic_time ();
  for (p = line->str; done < line->len;) {
    ssize_t n = write (w->fd, p + done, line->len - done);

    if (n <= 0) {
      worker_fail (w, "%s: write: %s", method, g_strerror (errno));
      return NULL;
    }
    done += (gsize) n;
  }
  while ((nl = memchr (w->in->str, '\n', w->in->len)) == NULL) {
    char buf[65536];
    ssize_t n = read (w->fd, buf, sizeof buf);

    if (n <= 0) {
      worker_fail (w, "%s: the daemon closed the connection", method);
      return NULL;
    }
    g_string_append_len (w->in, buf, n);
  }
  elapsed = g_get_monotonic_time () - t0;
  reply = da_json_parse (w->in->str, (gsize) (nl - w->in->str), NULL, NULL, &error);
  g_string_erase (w->in, 0, nl - w->in->str + 1);
  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply)) {
    worker_fail (w, "%s: unreadable reply: %s", method, error != NULL ? error->message : "not an object");
    g_clear_pointer (&reply, json_node_unref);
    return NULL;
  }
  g_array_append_val (w->latency[op], elapsed);
  return reply;
}

static JsonObject *
result_of (JsonNode *reply)
{
  JsonObject *obj = json_node_get_object (reply);

  return json_object_has_member (obj, "result") ? json_object_get_object_member (obj, "result") : NULL;
}

static const char *
reason_of (JsonNode *reply)
{
  JsonObject *obj = json_node_get_object (reply);
  JsonObject *error, *data;

  if (!json_object_has_member (obj, "error"))
    return NULL;
  error = json_object_get_object_member (obj, "error");
  data = json_object_has_member (error, "data") ? json_object_get_object_member (error, "data") : NULL;
  return data != NULL && json_object_has_member (data, "reason") ? json_object_get_string_member (data, "reason")
                                                                  : "(no reason)";
}

static char *
scope_params (const char *scope)
{
  g_autoptr (GString) text = g_string_new (NULL);

  if (scope == NULL) {
    g_string_append (text, "\"scope\":\"host\"");
  } else {
    g_string_append (text, "\"vm\":");
    da_json_append_string (text, scope, -1);
  }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
worker_vm (Worker *w, guint i)
{
  return g_strdup_printf ("load%u-vm%u", w->index, i);
}

static void
do_reserve (Worker *w)
{
  /* a third in the host scope; the rest in the worker's VMs, mostly ids,
   * sometimes a PCI slot so that exhausted answers happen too */
  guint pick = g_rand_int_range (w->rand, 0, 12);
  g_autofree char *vm = pick < 4 ? NULL : worker_vm (w, pick % VMS_PER_WORKER);
  const char *type = pick >= 10 ? "pci" : "id";
  g_autofree char *alias = g_strdup_printf ("w%u-%u", w->index, w->next_alias++);
  g_autofree char *scope = scope_params (vm);
  g_autofree char *params = g_strdup_printf ("{%s,\"type\":\"%s\",\"alias\":\"%s\"}", scope, type, alias);
  g_autoptr (JsonNode) reply = call (w, OP_RESERVE, "addr.reserve", params);
  JsonObject *result;
  Held *held;

  if (reply == NULL)
    return;
  if ((result = result_of (reply)) == NULL) {
    /* a full PCI bus is the only refusal the model expects */
    if (g_strcmp0 (type, "pci") == 0 && g_strcmp0 (reason_of (reply), "exhausted") == 0)
      w->errors[OP_RESERVE]++;
    else
      worker_fail (w, "addr.reserve %s: %s", alias, reason_of (reply));
    return;
  }
  held = g_new0 (Held, 1);
  held->scope = g_steal_pointer (&vm);
  held->alias = g_steal_pointer (&alias);
  held->type = g_strdup (type);
  held->address = g_strdup (json_object_get_string_member (result, "address"));
  g_ptr_array_add (w->held, held);
}

static void
do_lookup (Worker *w)
{
  Held *held;
  g_autofree char *scope = NULL;
  g_autofree char *params = NULL;
  g_autoptr (JsonNode) reply = NULL;
  JsonObject *result;

  if (w->held->len == 0)
    return;
  held = g_ptr_array_index (w->held, g_rand_int_range (w->rand, 0, (gint32) w->held->len));
  scope = scope_params (held->scope);
  params = g_strdup_printf ("{%s,\"alias\":\"%s\"}", scope, held->alias);
  if ((reply = call (w, OP_LOOKUP, "addr.lookup", params)) == NULL)
    return;
  /* what was acknowledged is what the daemon says, at every moment */
  result = result_of (reply);
  if (result == NULL || g_strcmp0 (json_object_get_string_member (result, "address"), held->address) != 0)
    worker_fail (w, "addr.lookup %s: expected %s, got %s", held->alias, held->address,
                 result != NULL ? json_object_get_string_member (result, "address") : reason_of (reply));
}

static void
do_release (Worker *w)
{
  guint i;
  Held *held;
  g_autofree char *scope = NULL;
  g_autofree char *params = NULL;
  g_autoptr (JsonNode) reply = NULL;

  if (w->held->len == 0)
    return;
  i = (guint) g_rand_int_range (w->rand, 0, (gint32) w->held->len);
  held = g_ptr_array_index (w->held, i);
  scope = scope_params (held->scope);
  params = g_strdup_printf ("{%s,\"alias\":\"%s\"}", scope, held->alias);
  if ((reply = call (w, OP_RELEASE, "addr.release", params)) == NULL)
    return;
  if (result_of (reply) == NULL)
    worker_fail (w, "addr.release %s: %s", held->alias, reason_of (reply));
  else
    g_ptr_array_remove_index_fast (w->held, i);
}

static void
do_delete_oldest_domain (Worker *w)
{
  g_autofree char *vm = g_queue_pop_head (&w->domains);
  g_autofree char *params = NULL;
  g_autoptr (JsonNode) reply = NULL;

  if (vm == NULL)
    return;
  params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
  if ((reply = call (w, OP_DELETE, "vm.delete", params)) == NULL)
    return;
  if (result_of (reply) == NULL)
    worker_fail (w, "vm.delete %s: %s", vm, reason_of (reply));
  else
    g_hash_table_remove (w->domain_reservations, vm);
}

static void
do_assign (Worker *w)
{
  g_autofree char *vm = g_strdup_printf ("load%u-dom%u", w->index, w->next_domain++);
  g_autoptr (GString) params = g_string_new (NULL);
  g_autoptr (JsonNode) reply = NULL;
  JsonObject *result;
  JsonArray *reservations;
  GPtrArray *kept;

  if (g_queue_get_length (&w->domains) >= DOMAINS_KEPT)
    do_delete_oldest_domain (w);
  g_string_printf (params, "{\"vm\":\"%s\",\"xml\":", vm);
  da_json_append_string (params, w->xml, -1);
  g_string_append_c (params, '}');
  if ((reply = call (w, OP_ASSIGN, "domain.assign", params->str)) == NULL)
    return;
  if ((result = result_of (reply)) == NULL) {
    worker_fail (w, "domain.assign %s: %s", vm, reason_of (reply));
    return;
  }
  reservations = json_object_get_array_member (result, "reservations");
  kept = g_ptr_array_new_with_free_func ((GDestroyNotify) held_free);
  for (guint i = 0; i < json_array_get_length (reservations); i++) {
    JsonObject *r = json_array_get_object_element (reservations, i);
    Held *held;

    /* the machine template's reservations a device sits on are not the
     * worker's (vm.get lists them all, with the same flag) */
    if (json_object_has_member (r, "builtin") && json_object_get_boolean_member (r, "builtin"))
      continue;
    held = g_new0 (Held, 1);
    held->scope = g_strdup (vm);
    held->alias = g_strdup (json_object_get_string_member (r, "alias"));
    held->type = g_strdup (json_object_get_string_member (r, "type"));
    held->address = g_strdup (json_object_get_string_member (r, "address"));
    g_ptr_array_add (kept, held);
  }
  g_hash_table_insert (w->domain_reservations, g_strdup (vm), kept);
  g_queue_push_tail (&w->domains, g_steal_pointer (&vm));
}

static gboolean
worker_connect (Worker *w)
{
  w->fd = bench_connect_unix (w->socket_path);
  if (w->fd < 0) {
    worker_fail (w, "connect %s: %s", w->socket_path, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

static gpointer
work (gpointer data)
{
  Worker *w = data;
  guint total = w->mix[0] + w->mix[1] + w->mix[2] + w->mix[3];

  while (w->failure == NULL && g_get_monotonic_time () < w->deadline) {
    guint pick;

    if (w->baseline) {
      g_autoptr (JsonNode) reply = call (w, OP_BASELINE, "server.info", "{}");

      if (reply != NULL && result_of (reply) == NULL)
        worker_fail (w, "server.info: %s", reason_of (reply));
      continue;
    }
    pick = (guint) g_rand_int_range (w->rand, 0, (gint32) total);
    if (pick < w->mix[0])
      do_reserve (w);
    else if ((pick -= w->mix[0]) < w->mix[1])
      do_lookup (w);
    else if ((pick -= w->mix[1]) < w->mix[2])
      do_release (w);
    else
      do_assign (w);
  }
  return NULL;
}

/* ---- the check at the end ---- */

/* "scope/alias" -> "type address" of every reservation the model holds */
static void
model_add (GHashTable *model, const Held *held)
{
  g_hash_table_insert (model, g_strdup_printf ("%s/%s", held->scope != NULL ? held->scope : "(host)", held->alias),
                       g_strdup_printf ("%s %s", held->type, held->address));
}

static guint
compare_vm (Worker *checker, const char *vm, GHashTable *model, guint *n_checked)
{
  g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
  g_autoptr (JsonNode) reply = call (checker, OP_LOOKUP, "vm.get", params);
  JsonObject *result;
  JsonArray *reservations;
  guint differences = 0, seen = 0;
  GHashTableIter iter;
  gpointer key, value;
  g_autofree char *prefix = g_strdup_printf ("%s/", vm);

  if (reply == NULL || (result = result_of (reply)) == NULL) {
    g_printerr ("  %s: the model has it, the daemon says %s\n", vm, reply != NULL ? reason_of (reply) : "nothing");
    return 1;
  }
  reservations = json_object_get_array_member (result, "reservations");
  for (guint i = 0; i < json_array_get_length (reservations); i++) {
    JsonObject *r = json_array_get_object_element (reservations, i);
    g_autofree char *k = NULL;
    g_autofree char *v = NULL;
    const char *expected;

    /* the machine template's own reservations are not the workers' */
    if (json_object_has_member (r, "builtin") && json_object_get_boolean_member (r, "builtin"))
      continue;
    k = g_strdup_printf ("%s/%s", vm, json_object_get_string_member (r, "alias"));
    v = g_strdup_printf ("%s %s", json_object_get_string_member (r, "type"), json_object_get_string_member (r, "address"));
    expected = g_hash_table_lookup (model, k);
    seen++;
    if (g_strcmp0 (expected, v) != 0) {
      g_printerr ("  %s: daemon %s, model %s\n", k, v, expected != NULL ? expected : "(none)");
      differences++;
    }
  }
  /* and nothing the model holds is missing from the daemon */
  g_hash_table_iter_init (&iter, model);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, prefix))
      (*n_checked)++;
  if (seen != *n_checked) {
    g_printerr ("  %s: the daemon holds %u reservations, the model %u\n", vm, seen, *n_checked);
    differences++;
  }
  return differences;
}

static guint
check_state (const char *socket_path, Worker *workers, guint n_workers, gboolean own_daemon, guint *n_vms,
             guint *n_reservations)
{
  Worker checker = { .socket_path = socket_path };
  g_autoptr (GHashTable) model = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint differences = 0, host = 0;
  GHashTableIter iter;
  gpointer key, value;

  checker.in = g_string_new (NULL);
  for (guint i = 0; i < N_OPS; i++)
    checker.latency[i] = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!worker_connect (&checker))
    g_error ("%s", checker.failure);
  for (guint i = 0; i < n_workers; i++) {
    Worker *w = &workers[i];

    for (guint v = 0; v < VMS_PER_WORKER; v++)
      g_hash_table_add (vms, worker_vm (w, v));
    for (guint h = 0; h < w->held->len; h++) {
      Held *held = g_ptr_array_index (w->held, h);

      model_add (model, held);
      if (held->scope == NULL) {
        g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", held->alias);
        g_autoptr (JsonNode) reply = call (&checker, OP_LOOKUP, "addr.lookup", params);
        JsonObject *result = reply != NULL ? result_of (reply) : NULL;

        host++;
        if (result == NULL || g_strcmp0 (json_object_get_string_member (result, "address"), held->address) != 0) {
          g_printerr ("  host/%s: model %s, daemon %s\n", held->alias, held->address,
                      result != NULL ? json_object_get_string_member (result, "address") : "(none)");
          differences++;
        }
      }
    }
    g_hash_table_iter_init (&iter, w->domain_reservations);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      GPtrArray *kept = value;

      g_hash_table_add (vms, g_strdup (key));
      for (guint h = 0; h < kept->len; h++)
        model_add (model, g_ptr_array_index (kept, h));
    }
  }
  g_hash_table_iter_init (&iter, vms);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    guint n = 0;

    differences += compare_vm (&checker, key, model, &n);
    *n_reservations += n;
  }
  *n_reservations += host;
  *n_vms = g_hash_table_size (vms);
  /* with a daemon of its own, nobody else holds host ids or VMs: the
   * daemon's counts must be the model's too */
  if (own_daemon) {
    g_autoptr (JsonNode) stats = call (&checker, OP_LOOKUP, "pool.stats", "{\"scope\":\"host\",\"type\":\"id\"}");
    g_autoptr (JsonNode) list = call (&checker, OP_LOOKUP, "vm.list", "{}");
    JsonObject *s = stats != NULL ? result_of (stats) : NULL;
    JsonNode *l = list != NULL ? json_object_get_member (json_node_get_object (list), "result") : NULL;
    guint64 used = s != NULL ? (guint64) json_object_get_int_member (s, "used") : 0;
    guint listed = l != NULL && JSON_NODE_HOLDS_ARRAY (l) ? json_array_get_length (json_node_get_array (l)) : 0;

    if (used != host) {
      g_printerr ("  host id pool: the daemon uses %" G_GUINT64_FORMAT ", the model %u\n", used, host);
      differences++;
    }
    if (listed != g_hash_table_size (vms)) {
      g_printerr ("  vm.list: the daemon has %u VMs, the model %u\n", listed, g_hash_table_size (vms));
      differences++;
    }
  }
  if (checker.failure != NULL) {
    g_printerr ("  %s\n", checker.failure);
    differences++;
  }
  close (checker.fd);
  g_string_free (checker.in, TRUE);
  for (guint i = 0; i < N_OPS; i++)
    g_array_unref (checker.latency[i]);
  return differences;
}

/* ---- running it ---- */

static Worker *
workers_new (const char *socket_path, const char *xml, guint n, const guint mix[4], guint32 seed)
{
  Worker *workers = g_new0 (Worker, n);

  for (guint i = 0; i < n; i++) {
    Worker *w = &workers[i];

    w->socket_path = socket_path;
    w->xml = xml;
    w->index = i;
    memcpy (w->mix, mix, sizeof w->mix);
    for (guint op = 0; op < N_OPS; op++)
      w->latency[op] = g_array_new (FALSE, FALSE, sizeof (gint64));
    w->held = g_ptr_array_new_with_free_func ((GDestroyNotify) held_free);
    g_queue_init (&w->domains);
    w->domain_reservations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                    (GDestroyNotify) g_ptr_array_unref);
    w->in = g_string_new (NULL);
    w->rand = g_rand_new_with_seed (seed + i);
    w->fd = -1;
  }
  return workers;
}

static void
workers_free (Worker *workers, guint n)
{
  for (guint i = 0; i < n; i++) {
    Worker *w = &workers[i];

    for (guint op = 0; op < N_OPS; op++)
      g_array_unref (w->latency[op]);
    g_ptr_array_unref (w->held);
    g_queue_clear_full (&w->domains, g_free);
    g_hash_table_unref (w->domain_reservations);
    g_string_free (w->in, TRUE);
    g_rand_free (w->rand);
    g_free (w->failure);
    if (w->fd >= 0)
      close (w->fd);
  }
  g_free (workers);
}

/* run every worker until the deadline; FALSE (and the first failure
 * printed) when one went wrong */
static gboolean
run_workers (Worker *workers, guint n, double seconds)
{
  g_autofree GThread **threads = g_new0 (GThread *, n);
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++) {
    workers[i].deadline = deadline;
    threads[i] = g_thread_new ("load", work, &workers[i]);
  }
  for (guint i = 0; i < n; i++) {
    g_thread_join (threads[i]);
    if (workers[i].failure != NULL) {
      g_printerr ("load: connection %u: %s\n", i, workers[i].failure);
      ok = FALSE;
    }
  }
  return ok;
}

/* the VMs every worker reserves in */
static gboolean
create_vms (Worker *workers, guint n)
{
  for (guint i = 0; i < n; i++) {
    Worker *w = &workers[i];

    if (!worker_connect (w))
      return FALSE;
    for (guint v = 0; v < VMS_PER_WORKER; v++) {
      g_autofree char *vm = worker_vm (w, v);
      g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\",\"template\":\"pc\"}", vm);
      g_autoptr (JsonNode) reply = call (w, OP_BASELINE, "vm.create", params);

      if (reply == NULL || result_of (reply) == NULL) {
        worker_fail (w, "vm.create %s: %s", vm, reply != NULL ? reason_of (reply) : "no reply");
        return FALSE;
      }
    }
    g_array_set_size (w->latency[OP_BASELINE], 0);
  }
  return TRUE;
}

static gboolean
parse_mix (const char *text, guint mix[4])
{
  g_auto (GStrv) parts = g_strsplit (text, ":", -1);

  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++) {
    guint64 v;

    if (!g_ascii_string_to_unsigned (parts[i], 10, 0, 1000, &v, NULL))
      return FALSE;
    mix[i] = (guint) v;
  }
  return mix[0] + mix[1] + mix[2] + mix[3] > 0;
}

static char *
read_example_xml (void)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *path = g_build_filename (srcdir != NULL ? srcdir : DA_SRC_DATADIR "/..", "examples",
                                            "domain-pc.xml", NULL);
  g_autoptr (GError) error = NULL;
  char *xml = NULL;

  if (!g_file_get_contents (path, &xml, NULL, &error))
    g_error ("%s", error->message);
  return xml;
}

static double
state_sync_rate (DaTestDaemon *devaddrd, double seconds)
{
  /* an external daemon's state directory is not ours to write into */
  return devaddrd != NULL ? bench_fdatasync_rate (devaddrd->state_dir, seconds) : 0;
}

static void
store_syncs (const char *socket_path, gint64 *records, gint64 *syncs)
{
  g_autoptr (DaTestClient) client = da_test_client_connect (socket_path, NULL);
  g_autoptr (JsonNode) info = client != NULL ? da_test_client_call_ok (client, "server.info", NULL) : NULL;
  JsonObject *store;

  *records = *syncs = 0;
  if (info == NULL)
    return;
  store = json_object_get_object_member (json_node_get_object (info), "store");
  *records = json_object_get_int_member (store, "records");
  *syncs = json_object_get_int_member (store, "syncs");
}

int
main (int argc, char **argv)
{
  g_autofree char *socket_arg = NULL;
  g_autofree char *mix_arg = NULL;
  int connections = 32;
  double seconds = 10;
  gint64 seed_arg = -1;
  gboolean tamper = FALSE;
  GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_arg, "a running devaddrd (default: start one)", "PATH" },
    { "connections", 'c', 0, G_OPTION_ARG_INT, &connections, "concurrent connections (default 32)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "how long the mixed load runs (default 10)", "S" },
    { "mix", 0, 0, G_OPTION_ARG_STRING, &mix_arg, "weights of reserve:lookup:release:assign (default 40:40:15:5)", "R:L:D:A" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed_arg, "random seed (default: random, printed)", "N" },
    { "tamper", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &tamper, "change the model before the check (tests the check)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- mixed load on devaddrd, checked against a model");
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autofree char *xml = read_example_xml ();
  guint mix[4] = { 40, 40, 15, 5 };
  const char *socket_path;
  Worker *workers, *baseline;
  guint32 seed;
  double sync_rate, baseline_rate;
  gint64 records0, syncs0, records1, syncs1, t0, elapsed;
  guint64 total = 0, rss0, rss_peak;
  guint n_vms = 0, n_reservations = 0, differences;
  GPid pid;
  int probe;
  gboolean ok;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || connections < 1 || connections > 1000
      || seconds <= 0 || (mix_arg != NULL && !parse_mix (mix_arg, mix))) {
    g_printerr ("load: %s\n", error != NULL ? error->message : "bad --connections, --seconds or --mix");
    return 2;
  }
  seed = seed_arg >= 0 ? (guint32) seed_arg : g_random_int ();
  if (socket_arg == NULL) {
    /* snapshots during the run, as a long-lived daemon takes them */
    devaddrd = da_test_daemon_new (NULL);
    if (!da_test_daemon_start (devaddrd, &error))
      g_error ("%s", error->message);
    socket_path = devaddrd->socket_path;
  } else {
    socket_path = socket_arg;
  }
  if ((probe = bench_connect_unix (socket_path)) < 0)
    g_error ("connect %s: %s", socket_path, g_strerror (errno));
  pid = bench_peer_pid (probe);
  close (probe);
  rss0 = bench_status_kb (pid, "VmRSS:");

  printf ("load: %d connections, %.0f s, mix reserve %u : lookup %u : release %u : assign %u, seed %u\n",
          connections, seconds, mix[0], mix[1], mix[2], mix[3], seed);

  /* baselines in this run: the disk, and the cheapest round trip on the
   * same number of connections */
  sync_rate = state_sync_rate (devaddrd, 1.0);
  baseline = workers_new (socket_path, xml, (guint) connections, mix, seed);
  for (int i = 0; i < connections; i++) {
    baseline[i].baseline = TRUE;
    if (!worker_connect (&baseline[i]))
      g_error ("%s", baseline[i].failure);
  }
  t0 = g_get_monotonic_time ();
  if (!run_workers (baseline, (guint) connections, MIN (seconds / 4, 2.0)))
    return 1;
  elapsed = g_get_monotonic_time () - t0;
  baseline_rate = 0;
  for (int i = 0; i < connections; i++)
    baseline_rate += baseline[i].latency[OP_BASELINE]->len;
  baseline_rate /= elapsed / (double) G_USEC_PER_SEC;

  workers = workers_new (socket_path, xml, (guint) connections, mix, seed);
  if (!create_vms (workers, (guint) connections)) {
    g_printerr ("load: %s\n", workers[0].failure != NULL ? workers[0].failure : "vm.create failed");
    return 1;
  }
  store_syncs (socket_path, &records0, &syncs0);
  t0 = g_get_monotonic_time ();
  ok = run_workers (workers, (guint) connections, seconds);
  elapsed = g_get_monotonic_time () - t0;
  store_syncs (socket_path, &records1, &syncs1);
  rss_peak = bench_status_kb (pid, "VmHWM:");

  printf ("\n  %-14s %9s %9s %8s %8s %8s %8s\n", "method", "calls", "per s", "p50 us", "p99 us", "p999 us", "refused");
  for (guint op = 0; op < N_OPS; op++) {
    g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (gint64));
    guint refused = 0;
    Worker *from = op == OP_BASELINE ? baseline : workers;
    double span = op == OP_BASELINE ? (double) MIN (seconds / 4, 2.0) : elapsed / (double) G_USEC_PER_SEC;

    for (int i = 0; i < connections; i++) {
      g_array_append_vals (all, from[i].latency[op]->data, from[i].latency[op]->len);
      refused += from[i].errors[op];
    }
    if (op != OP_BASELINE)
      total += all->len;
    printf ("  %-14s %9u %9.0f %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8u%s\n",
            op_names[op], all->len, all->len / span,
            bench_percentile ((gint64 *) all->data, all->len, 0.50),
            bench_percentile ((gint64 *) all->data, all->len, 0.99),
            bench_percentile ((gint64 *) all->data, all->len, 0.999), refused,
            op == OP_BASELINE ? "  (baseline)" : "");
  }
  {
    double rate = total / (elapsed / (double) G_USEC_PER_SEC);
    gint64 records = records1 - records0, syncs = MAX (syncs1 - syncs0, 1);

    printf ("\n  mixed load: %.0f calls/s, %.2fx the server.info rate on the same connections\n", rate,
            rate / baseline_rate);
    printf ("  durable: %" G_GINT64_FORMAT " records in %" G_GINT64_FORMAT " syncs (%.1f per sync)", records, syncs,
            (double) records / (double) syncs);
    if (sync_rate > 0)
      printf (", %.0f syncs/s = %.2fx the raw fdatasync rate (%.0f/s)", syncs / (elapsed / (double) G_USEC_PER_SEC),
              syncs / (elapsed / (double) G_USEC_PER_SEC) / sync_rate, sync_rate);
    printf ("\n");
  }
  if (pid > 0)
    printf ("  daemon pid %d: RSS %.1f MB before, peak %.1f MB\n", pid, rss0 / 1024.0, rss_peak / 1024.0);

  /* the check must see a model that is off by one address */
  if (tamper)
    for (int i = 0; i < connections; i++)
      if (workers[i].held->len > 0) {
        Held *held = g_ptr_array_index (workers[i].held, 0);

        g_free (held->address);
        held->address = g_strdup ("tampered");
        break;
      }
  differences = check_state (socket_path, workers, (guint) connections, devaddrd != NULL, &n_vms, &n_reservations);
  if (differences == 0 && ok)
    printf ("  model check: %u VMs, %u reservations: the daemon's state equals the model\n", n_vms, n_reservations);
  else
    printf ("  model check: %u VMs, %u reservations: %u DIFFERENCES%s\n", n_vms, n_reservations, differences,
            ok ? "" : " (and a connection failed)");

  workers_free (baseline, (guint) connections);
  workers_free (workers, (guint) connections);
  if (devaddrd != NULL)
    da_test_daemon_stop (devaddrd);
  return differences == 0 && ok ? 0 : 1;
}
