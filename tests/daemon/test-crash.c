/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kill -9 at chosen moments under concurrent writers, round after round on
 * one state directory that keeps growing: during group commit (writers in
 * flight), during snapshot compaction (seen through inotify on the state
 * directory) and during recovery (a restart over a large state, killed
 * before READY).  After each restart:
 *   - every acknowledged mutation is there: reservations at the acked
 *     address in the acked state, releases and deleted VMs gone;
 *   - the one request each writer had in flight is there entirely or not
 *     at all (a batch reserves all of its aliases or none);
 *   - nothing is held twice: pool.stats used equals the addresses of the
 *     reservations one can list, and no address has two aliases;
 *   - the daemon answers its first request within 1 s of being started.
 *
 * DA_CRASH_ROUNDS (default 6) sets the rounds, DA_CRASH_SEED replays the
 * kill moments of a run (the seed is printed), DA_CRASH_BULK the number of
 * reservations of the large state (default 50000).  `make check-faults`
 * runs it with 120 rounds.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

#define WRITERS 4
#define SERVE_BOUND_US G_USEC_PER_SEC
/* caps that keep every pool far from exhausted and the checks cheap */
#define MAX_VMS 4
#define MAX_PER_VM 24
#define MAX_PCI 5
#define MAX_HOST 40

static const char domain_xml[] =
  "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
  "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
  "<disk type='file' device='disk'><source file='/var/lib/d.img'/><target dev='vda' bus='virtio'/></disk>"
  "<interface type='network'><source network='default'/><model type='virtio'/></interface>"
  "</devices></domain>";

/* ------------------------------------------------------------------ */
/* what the writers were told: a model of their own VMs and host aliases */

typedef struct {
  char *type;
  char *address;
  char *state;
} Expect;

static void
expect_free (Expect *e)
{
  g_free (e->type);
  g_free (e->address);
  g_free (e->state);
  g_free (e);
}

static Expect *
expect_from_json (JsonObject *res)
{
  Expect *e = g_new0 (Expect, 1);

  e->type = g_strdup (json_object_get_string_member (res, "type"));
  e->address = g_strdup (json_object_get_string_member (res, "address"));
  e->state = g_strdup (json_object_get_string_member (res, "state"));
  return e;
}

static GHashTable *
reservation_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) expect_free);
}

typedef enum {
  OP_NONE,
  OP_RESERVE,       /* single or batch: all of aliases appear, or none */
  OP_COMMIT,        /* held -> active */
  OP_RELEASE,       /* gone */
  OP_RELEASE_BEGIN, /* -> releasing */
  OP_VM_CREATE,     /* the vm appears, empty */
  OP_VM_DELETE,     /* the vm and all of its reservations go */
  OP_ASSIGN,        /* the vm appears with the domain's devices */
} OpKind;

static const char *const op_names[] = { "none", "reserve", "commit", "release", "release-begin", "vm.create",
                                        "vm.delete", "domain.assign" };

typedef struct {
  OpKind kind;
  char *vm;            /* NULL: the host scope */
  GPtrArray *aliases;
  const char *type;    /* OP_RESERVE */
  gboolean held;       /* OP_RESERVE with hold_s */
} Op;

/* what the writers share with the thread that kills */
typedef struct {
  GMutex lock;
  GCond acked_cond;
  guint acked;   /* answers this round */
  gint in_flight;
} Progress;

typedef struct {
  /* set before the thread starts */
  const char *socket_path;
  guint index;
  GRand *rand;
  Progress *progress;
  /* the model, the thread's while it runs and the checker's after */
  GHashTable *vms;  /* name -> GHashTable alias -> Expect (non-builtin reservations) */
  GHashTable *host; /* alias -> Expect */
  guint next_name;
  Op pending;       /* sent, never answered */
  /* an acked domain.assign whose VM could not be read back: the VM holds
   * at least what the reply listed */
  char *loose_vm;
  guint acked;
  GPtrArray *problems; /* replies that are not what the model predicts */
} Writer;

static void
op_clear (Op *op)
{
  g_clear_pointer (&op->vm, g_free);
  g_clear_pointer (&op->aliases, g_ptr_array_unref);
  op->kind = OP_NONE;
  op->type = NULL;
  op->held = FALSE;
}

static char *
random_key (GHashTable *table, GRand *rand, gboolean (*want) (gpointer value))
{
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (want == NULL || want (value))
      g_ptr_array_add (keys, key);
  if (keys->len == 0)
    return NULL;
  return g_strdup (g_ptr_array_index (keys, g_rand_int_range (rand, 0, (gint32) keys->len)));
}

static gboolean
is_held (gpointer value)
{
  return strcmp (((Expect *) value)->state, "held") == 0;
}

static guint
count_type (GHashTable *set, const char *type)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += strcmp (((Expect *) value)->type, type) == 0;
  return n;
}

/* the scope member of a request: "vm":"x" or "scope":"host" */
static char *
scope_json (const char *vm)
{
  return vm != NULL ? g_strdup_printf ("\"vm\":\"%s\"", vm) : g_strdup ("\"scope\":\"host\"");
}

/* chooses the next mutation and its request; the model changes only when
 * the answer comes */
static char *
writer_choose (Writer *w, const char **method)
{
  GRand *rand = w->rand;
  Op *op = &w->pending;
  guint n_vms = g_hash_table_size (w->vms);
  int dice = g_rand_int_range (rand, 0, 100);
  g_autofree char *vm = NULL;
  g_autofree char *scope = NULL;
  GHashTable *set;

  op_clear (op);
  op->aliases = g_ptr_array_new_with_free_func (g_free);
  if (n_vms == 0 || (dice < 4 && n_vms < MAX_VMS)) {
    op->kind = OP_VM_CREATE;
    op->vm = g_strdup_printf ("w%u-v%u", w->index, w->next_name++);
    *method = "vm.create";
    return g_strdup_printf ("{\"vm\":\"%s\"}", op->vm);
  }
  if (dice < 8 && n_vms < MAX_VMS) {
    op->kind = OP_ASSIGN;
    op->vm = g_strdup_printf ("w%u-d%u", w->index, w->next_name++);
    *method = "domain.assign";
    return g_strdup_printf ("{\"vm\":\"%s\",\"xml\":\"%s\"}", op->vm, domain_xml);
  }
  if (dice < 11 && n_vms > 1) {
    op->kind = OP_VM_DELETE;
    op->vm = random_key (w->vms, rand, NULL);
    *method = "vm.delete";
    return g_strdup_printf ("{\"vm\":\"%s\"}", op->vm);
  }

  /* the rest works on one scope: a vm of ours or the host */
  if (g_rand_boolean (rand))
    vm = random_key (w->vms, rand, NULL);
  set = vm != NULL ? g_hash_table_lookup (w->vms, vm) : w->host;
  scope = scope_json (vm);
  op->vm = g_strdup (vm);
  dice = g_rand_int_range (rand, 0, 100);
  if (g_hash_table_size (set) >= (vm != NULL ? MAX_PER_VM : MAX_HOST))
    dice = 60 + dice % 40;

  if (dice < 60) {
    guint n = dice < 20 ? (guint) g_rand_int_range (rand, 2, 7) : 1;
    GString *params = g_string_new ("{");
    const char *types[] = { "msi", "ccw", "pci" };

    op->kind = OP_RESERVE;
    op->type = vm != NULL ? types[g_rand_int_range (rand, 0, 3)] : "id";
    if (strcmp (op->type, "pci") == 0 && (n > 1 || count_type (set, "pci") >= MAX_PCI))
      op->type = "msi";
    op->held = dice % 4 == 0;
    for (guint i = 0; i < n; i++)
      g_ptr_array_add (op->aliases, g_strdup_printf ("w%u-a%u", w->index, w->next_name++));
    g_string_append (params, scope);
    if (n == 1) {
      g_string_append_printf (params, ",\"type\":\"%s\",\"alias\":\"%s\"%s%s", op->type,
                              (char *) op->aliases->pdata[0], op->held ? ",\"hold_s\":3600" : "",
                              strcmp (op->type, "pci") == 0 ? ",\"constraint\":{\"bus\":0}" : "");
    } else {
      g_string_append (params, ",\"requests\":[");
      for (guint i = 0; i < n; i++)
        g_string_append_printf (params, "%s{\"type\":\"%s\",\"alias\":\"%s\"%s}", i > 0 ? "," : "", op->type,
                                (char *) op->aliases->pdata[i], op->held ? ",\"hold_s\":3600" : "");
      g_string_append (params, "]");
    }
    g_string_append (params, "}");
    *method = "addr.reserve";
    return g_string_free (params, FALSE);
  }
  {
    g_autofree char *alias = dice < 75 ? random_key (set, rand, is_held) : random_key (set, rand, NULL);
    Expect *e;

    if (alias == NULL) {
      /* nothing to commit or release here: make a vm instead, or delete one */
      g_ptr_array_unref (g_steal_pointer (&op->aliases));
      g_clear_pointer (&op->vm, g_free);
      return writer_choose (w, method);
    }
    e = g_hash_table_lookup (set, alias);
    g_ptr_array_add (op->aliases, g_strdup (alias));
    if (strcmp (e->state, "held") == 0 && dice < 75) {
      op->kind = OP_COMMIT;
      *method = "addr.commit";
      return g_strdup_printf ("{%s,\"alias\":\"%s\"}", scope, alias);
    }
    *method = "addr.release";
    if (strcmp (e->state, "releasing") == 0) {
      op->kind = OP_RELEASE;
      return g_strdup_printf ("{%s,\"alias\":\"%s\",\"phase\":\"confirm\"}", scope, alias);
    }
    if (dice < 85) {
      op->kind = OP_RELEASE_BEGIN;
      return g_strdup_printf ("{%s,\"alias\":\"%s\",\"phase\":\"begin\"}", scope, alias);
    }
    op->kind = OP_RELEASE;
    return g_strdup_printf ("{%s,\"alias\":\"%s\"}", scope, alias);
  }
}

static void
writer_problem (Writer *w, const char *what, JsonNode *reply)
{
  g_autofree char *text = reply != NULL ? da_json_to_string (reply) : g_strdup ("(none)");

  g_ptr_array_add (w->problems, g_strdup_printf ("writer %u, %s %s: %s", w->index, op_names[w->pending.kind],
                                                 what, text));
}

/* the non-builtin reservations of a vm.get result */
static GHashTable *
vm_reservations (JsonObject *vm)
{
  GHashTable *set = reservation_table ();
  JsonArray *list = json_object_get_array_member (vm, "reservations");

  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *res = json_array_get_object_element (list, i);

    if (!json_object_get_boolean_member_with_default (res, "builtin", FALSE))
      g_hash_table_insert (set, g_strdup (json_object_get_string_member (res, "alias")), expect_from_json (res));
  }
  return set;
}

/* the answer came: the model follows it */
static void
writer_apply (Writer *w, DaTestClient *client, JsonNode *reply)
{
  Op *op = &w->pending;
  JsonObject *obj = json_node_get_object (reply);
  JsonObject *result;
  GHashTable *set;

  if (!json_object_has_member (obj, "result")) {
    writer_problem (w, "failed", reply);
    return;
  }
  result = json_object_get_object_member (obj, "result");
  set = op->vm != NULL ? g_hash_table_lookup (w->vms, op->vm) : w->host;
  switch (op->kind) {
  case OP_RESERVE:
    if (op->aliases->len == 1) {
      g_hash_table_insert (set, g_strdup (op->aliases->pdata[0]), expect_from_json (result));
    } else {
      JsonArray *list = json_object_get_array_member (result, "reservations");

      for (guint i = 0; i < json_array_get_length (list); i++) {
        JsonObject *res = json_array_get_object_element (list, i);

        g_hash_table_insert (set, g_strdup (json_object_get_string_member (res, "alias")), expect_from_json (res));
      }
    }
    break;
  case OP_COMMIT:
    g_hash_table_replace (set, g_strdup (op->aliases->pdata[0]), expect_from_json (result));
    break;
  case OP_RELEASE_BEGIN:
    {
      /* the answer has the alias and its state only */
      Expect *e = g_hash_table_lookup (set, op->aliases->pdata[0]);

      g_free (e->state);
      e->state = g_strdup (json_object_get_string_member (result, "state"));
    }
    break;
  case OP_RELEASE:
    g_hash_table_remove (set, op->aliases->pdata[0]);
    break;
  case OP_VM_CREATE:
    g_hash_table_insert (w->vms, g_strdup (op->vm), reservation_table ());
    break;
  case OP_VM_DELETE:
    g_hash_table_remove (w->vms, op->vm);
    break;
  case OP_ASSIGN:
    {
      g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", op->vm);
      g_autoptr (JsonNode) got = da_test_client_request (client, "vm.get", params);
      JsonArray *list = json_object_get_array_member (result, "reservations");
      GHashTable *listed = reservation_table ();

      /* the reply lists the domain's devices; vm.get says what else the vm holds */
      for (guint i = 0; i < json_array_get_length (list); i++) {
        JsonObject *res = json_array_get_object_element (list, i);

        if (!json_object_get_boolean_member_with_default (res, "builtin", FALSE))
          g_hash_table_insert (listed, g_strdup (json_object_get_string_member (res, "alias")), expect_from_json (res));
      }
      if (g_hash_table_size (listed) == 0)
        writer_problem (w, "listed no reservations", reply);
      if (got != NULL && json_object_has_member (json_node_get_object (got), "result")) {
        g_hash_table_unref (listed);
        listed = vm_reservations (json_object_get_object_member (json_node_get_object (got), "result"));
      } else {
        g_free (w->loose_vm);
        w->loose_vm = g_strdup (op->vm);
      }
      g_hash_table_insert (w->vms, g_strdup (op->vm), listed);
    }
    break;
  case OP_NONE:
    break;
  }
}

static gpointer
writer_run (gpointer data)
{
  Writer *w = data;
  g_autoptr (DaTestClient) client = da_test_client_connect (w->socket_path, NULL);

  while (client != NULL) {
    const char *method = NULL;
    g_autofree char *params = writer_choose (w, &method);
    g_autoptr (JsonNode) reply = NULL;

    g_atomic_int_inc (&w->progress->in_flight);
    reply = da_test_client_request (client, method, params);
    g_atomic_int_add (&w->progress->in_flight, -1);
    /* the daemon died: the request stays pending, to be found all or nothing */
    if (reply == NULL)
      break;
    writer_apply (w, client, reply);
    op_clear (&w->pending);
    w->acked++;
    g_mutex_lock (&w->progress->lock);
    w->progress->acked++;
    g_cond_signal (&w->progress->acked_cond);
    g_mutex_unlock (&w->progress->lock);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* after a restart: the model against what the daemon says */

typedef struct {
  DaTestClient *client;
  guint round;
  const char *seed_text;
} Checker;

/* the message is made only when the check fails */
#define check_that(c, cond, ...) \
  G_STMT_START { \
    if (!(cond)) { \
      g_autofree char *why_ = g_strdup_printf (__VA_ARGS__); \
      ck_abort_msg ("round %u (%s): %s", (c)->round, (c)->seed_text, why_); \
    } \
  } G_STMT_END

/* every reservation of the vm (builtin ones too) against pool.stats: used
 * is the number of addresses held, so a double booking shows up as a
 * difference, and two aliases on one address show up as a repeat */
static void
check_not_twice (Checker *c, const char *vm, JsonObject *got)
{
  JsonArray *list = json_object_get_array_member (got, "reservations");
  g_autoptr (GHashTable) per_type = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer type, sum;

  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *res = json_array_get_object_element (list, i);
    const char *t = json_object_get_string_member (res, "type");
    gint64 count = json_object_get_int_member_with_default (res, "count", 1);
    char *key = g_strdup_printf ("%s %s", t, json_object_get_string_member (res, "address"));

    check_that (c, g_hash_table_add (addresses, key), "vm %s: %s is held twice", vm, key);
    g_hash_table_insert (per_type, (gpointer) t,
                         GSIZE_TO_POINTER (GPOINTER_TO_SIZE (g_hash_table_lookup (per_type, t)) + (gsize) count));
  }
  g_hash_table_iter_init (&iter, per_type);
  while (g_hash_table_iter_next (&iter, &type, &sum)) {
    g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\",\"type\":\"%s\"}", vm, (char *) type);
    g_autoptr (JsonNode) stats = da_test_client_call_ok (c->client, "pool.stats", params);

    check_that (c, json_object_get_int_member (json_node_get_object (stats), "used") == (gint64) GPOINTER_TO_SIZE (sum),
                "vm %s: pool %s has %" G_GINT64_FORMAT " addresses used, its reservations %" G_GSIZE_FORMAT, vm,
                (char *) type, json_object_get_int_member (json_node_get_object (stats), "used"),
                GPOINTER_TO_SIZE (sum));
  }
}

static gboolean
expect_equal (const Expect *a, const Expect *b)
{
  return strcmp (a->type, b->type) == 0 && strcmp (a->address, b->address) == 0 && strcmp (a->state, b->state) == 0;
}

/* model against actual for one scope; the pending op (if it concerns this
 * scope) may have happened entirely or not at all; the model becomes what
 * is there */
static void
check_scope (Checker *c, Writer *w, const char *name, GHashTable *model, GHashTable *actual, const Op *op)
{
  g_autoptr (GPtrArray) added = g_ptr_array_new ();
  g_autoptr (GPtrArray) removed = g_ptr_array_new ();
  g_autoptr (GPtrArray) changed = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;
  const char *alias0 = op != NULL && op->aliases != NULL && op->aliases->len > 0 ? op->aliases->pdata[0] : NULL;

  g_hash_table_iter_init (&iter, model);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Expect *now = g_hash_table_lookup (actual, key);

    if (now == NULL)
      g_ptr_array_add (removed, key);
    else if (!expect_equal (value, now))
      g_ptr_array_add (changed, key);
  }
  g_hash_table_iter_init (&iter, actual);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (model, key))
      g_ptr_array_add (added, key);

  if (op == NULL || op->kind == OP_NONE) {
    check_that (c, removed->len == 0, "%s: acknowledged %s is lost", name, (char *) removed->pdata[0]);
    if (changed->len > 0) {
      Expect *was = g_hash_table_lookup (model, changed->pdata[0]);
      Expect *is = g_hash_table_lookup (actual, changed->pdata[0]);

      check_that (c, FALSE, "%s: %s was acknowledged as %s %s %s, is %s %s %s", name, (char *) changed->pdata[0],
                  was->type, was->address, was->state, is->type, is->address, is->state);
    }
    check_that (c, added->len == 0, "%s: %s is there though never acknowledged", name, (char *) added->pdata[0]);
    return;
  }
  switch (op->kind) {
  case OP_RESERVE:
    check_that (c, removed->len == 0 && changed->len == 0, "%s: an unacknowledged reserve changed other reservations",
                name);
    check_that (c, added->len == 0 || added->len == op->aliases->len,
                "%s: %u of the %u aliases of an unacknowledged reserve are there", name, added->len, op->aliases->len);
    for (guint i = 0; i < added->len; i++) {
      Expect *e = g_hash_table_lookup (actual, added->pdata[i]);

      check_that (c, g_ptr_array_find_with_equal_func (op->aliases, added->pdata[i], g_str_equal, NULL),
                  "%s: %s is there though never asked for", name, (char *) added->pdata[i]);
      check_that (c, strcmp (e->type, op->type) == 0 && strcmp (e->state, op->held ? "held" : "active") == 0,
                  "%s: %s is %s %s", name, (char *) added->pdata[i], e->type, e->state);
    }
    break;
  case OP_COMMIT:
  case OP_RELEASE_BEGIN:
    check_that (c, removed->len == 0 && added->len == 0, "%s: an unacknowledged %s added or removed reservations",
                name, op_names[op->kind]);
    check_that (c, changed->len == 0 || (changed->len == 1 && strcmp (changed->pdata[0], alias0) == 0),
                "%s: an unacknowledged %s of %s changed %s", name, op_names[op->kind], alias0,
                (char *) changed->pdata[0]);
    if (changed->len == 1) {
      Expect *was = g_hash_table_lookup (model, alias0);
      Expect *is = g_hash_table_lookup (actual, alias0);

      check_that (c, strcmp (was->address, is->address) == 0
                       && strcmp (is->state, op->kind == OP_COMMIT ? "active" : "releasing") == 0,
                  "%s: %s went from %s %s to %s %s", name, alias0, was->address, was->state, is->address, is->state);
    }
    break;
  case OP_RELEASE:
    check_that (c, added->len == 0 && changed->len == 0, "%s: an unacknowledged release changed others", name);
    check_that (c, removed->len == 0 || (removed->len == 1 && strcmp (removed->pdata[0], alias0) == 0),
                "%s: an unacknowledged release of %s took %s", name, alias0, (char *) removed->pdata[0]);
    break;
  case OP_ASSIGN:
    /* into a new vm: the whole domain or nothing, and then no vm at all */
    check_that (c, removed->len == 0 && changed->len == 0 && added->len > 0,
                "%s: an unacknowledged domain.assign left an empty vm", name);
    break;
  case OP_VM_CREATE:
    check_that (c, added->len == 0 && removed->len == 0 && changed->len == 0, "%s: a new vm is not empty", name);
    break;
  case OP_VM_DELETE:
    check_that (c, added->len == 0 && removed->len == 0 && changed->len == 0,
                "%s: a vm whose delete was not acknowledged lost or gained reservations", name);
    break;
  case OP_NONE:
    break;
  }
  (void) w;
}

/* the vm's non-builtin reservations, or NULL when there is no such vm */
static GHashTable *
fetch_vm (Checker *c, const char *vm)
{
  g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
  g_autoptr (JsonNode) reply = da_test_client_request (c->client, "vm.get", params);
  JsonObject *obj;

  check_that (c, reply != NULL, "vm.get %s: no answer", vm);
  obj = json_node_get_object (reply);
  if (!json_object_has_member (obj, "result")) {
    check_that (c, strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found") == 0,
                "vm.get %s failed", vm);
    return NULL;
  }
  check_not_twice (c, vm, json_object_get_object_member (obj, "result"));
  return vm_reservations (json_object_get_object_member (obj, "result"));
}

static void
check_writer (Checker *c, Writer *w, GHashTable *all_vms, guint *n_host)
{
  const Op *op = w->pending.kind != OP_NONE ? &w->pending : NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) host_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) host_actual = reservation_table ();
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < w->problems->len; i++)
    check_that (c, FALSE, "%s", (char *) w->problems->pdata[i]);

  g_hash_table_iter_init (&iter, w->vms);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  if (op != NULL && op->vm != NULL && !g_hash_table_contains (w->vms, op->vm))
    g_ptr_array_add (names, g_strdup (op->vm));

  for (guint i = 0; i < names->len; i++) {
    const char *vm = names->pdata[i];
    GHashTable *model = g_hash_table_lookup (w->vms, vm);
    g_autoptr (GHashTable) actual = fetch_vm (c, vm);
    const Op *here = op != NULL && g_strcmp0 (op->vm, vm) == 0 ? op : NULL;

    if (actual == NULL) {
      /* gone: only a vm whose delete was in flight, or whose creation was */
      check_that (c, model == NULL || (here != NULL && here->kind == OP_VM_DELETE), "vm %s is lost", vm);
      g_hash_table_remove (w->vms, vm);
      continue;
    }
    check_that (c, model != NULL || (here != NULL && (here->kind == OP_VM_CREATE || here->kind == OP_ASSIGN)),
                "vm %s is there though never acknowledged", vm);
    if (model == NULL) {
      g_autoptr (GHashTable) none = reservation_table ();

      check_scope (c, w, vm, none, actual, here);
    } else if (g_strcmp0 (w->loose_vm, vm) == 0) {
      /* what the assign reply listed must be there; the rest is learnt now */
      g_hash_table_iter_init (&iter, model);
      while (g_hash_table_iter_next (&iter, &key, &value)) {
        Expect *now = g_hash_table_lookup (actual, key);

        check_that (c, now != NULL && expect_equal (value, now), "vm %s: assigned %s is lost or moved", vm,
                    (char *) key);
      }
    } else {
      check_scope (c, w, vm, model, actual, here);
    }
    g_hash_table_insert (w->vms, g_strdup (vm), g_steal_pointer (&actual));
    g_hash_table_add (all_vms, g_strdup (vm));
  }
  g_clear_pointer (&w->loose_vm, g_free);

  /* host ids: looked up one by one, the pool's count says there are no others */
  g_hash_table_iter_init (&iter, w->host);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (host_names, g_strdup (key));
  for (guint i = 0; op != NULL && op->vm == NULL && op->aliases != NULL && i < op->aliases->len; i++)
    if (!g_hash_table_contains (w->host, op->aliases->pdata[i]))
      g_ptr_array_add (host_names, g_strdup (op->aliases->pdata[i]));
  for (guint i = 0; i < host_names->len; i++) {
    const char *alias = host_names->pdata[i];
    g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", alias);
    g_autoptr (JsonNode) reply = da_test_client_request (c->client, "addr.lookup", params);
    JsonObject *obj;

    check_that (c, reply != NULL, "addr.lookup %s: no answer", alias);
    obj = json_node_get_object (reply);
    if (json_object_has_member (obj, "result"))
      g_hash_table_insert (host_actual, g_strdup (alias), expect_from_json (json_object_get_object_member (obj, "result")));
    else
      check_that (c, strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found") == 0,
                  "addr.lookup %s failed", alias);
  }
  check_scope (c, w, "host", w->host, host_actual, op != NULL && op->vm == NULL ? op : NULL);
  g_hash_table_unref (w->host);
  w->host = g_steal_pointer (&host_actual);
  *n_host += g_hash_table_size (w->host);
  op_clear (&w->pending);
}

typedef struct {
  GHashTable *aliases; /* alias -> address */
} Bulk;

static void
check_all (Checker *c, Writer *writers, Bulk *bulk)
{
  g_autoptr (GHashTable) all_vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_host = 0;

  for (guint i = 0; i < WRITERS; i++)
    check_writer (c, &writers[i], all_vms, &n_host);

  /* exactly our vms, and nothing else */
  {
    g_autoptr (JsonNode) list = da_test_client_call_ok (c->client, "vm.list", NULL);
    JsonArray *array = json_node_get_array (list);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      const char *vm = json_object_get_string_member (json_array_get_object_element (array, i), "vm");

      check_that (c, strcmp (vm, "bulk") == 0 || g_hash_table_contains (all_vms, vm), "vm %s was deleted (or never "
                  "made) and is back", vm);
    }
    check_that (c, json_array_get_length (array) == g_hash_table_size (all_vms) + 1, "%u vms, expected %u",
                json_array_get_length (array), g_hash_table_size (all_vms) + 1);
  }
  /* the host's ids: exactly those of the writers, each at one address */
  {
    g_autoptr (JsonNode) stats = da_test_client_call_ok (c->client, "pool.stats", "{\"scope\":\"host\",\"type\":\"id\"}");
    JsonObject *obj = json_node_get_object (stats);
    gint64 reservations = json_object_get_int_member_with_default (obj, "reservations", 0);

    check_that (c, reservations == n_host, "the host holds %" G_GINT64_FORMAT " ids, the writers %u", reservations,
                n_host);
    check_that (c, json_object_get_int_member (obj, "used") == reservations, "host ids: %" G_GINT64_FORMAT
                " used by %" G_GINT64_FORMAT " reservations", json_object_get_int_member (obj, "used"), reservations);
  }
  /* the large state, every one of it */
  {
    g_autoptr (GHashTable) got = fetch_vm (c, "bulk");
    GHashTableIter iter;
    gpointer alias, address;

    check_that (c, got != NULL && g_hash_table_size (got) == g_hash_table_size (bulk->aliases),
                "the bulk vm holds %u reservations, %u were acknowledged", got != NULL ? g_hash_table_size (got) : 0,
                g_hash_table_size (bulk->aliases));
    g_hash_table_iter_init (&iter, bulk->aliases);
    while (g_hash_table_iter_next (&iter, &alias, &address)) {
      Expect *e = g_hash_table_lookup (got, alias);

      check_that (c, e != NULL && strcmp (e->address, address) == 0, "bulk %s lost or moved", (char *) alias);
    }
  }
}

/* ------------------------------------------------------------------ */
/* the kills */

typedef enum {
  PHASE_COMMIT,
  PHASE_SNAPSHOT,
  PHASE_RECOVERY,
  N_PHASES
} Phase;

typedef enum {
  LANDED_COMMIT,           /* writers in flight, no snapshot under way */
  LANDED_SNAPSHOT_ROTATE,  /* new journal segment created, snapshot.tmp not yet */
  LANDED_SNAPSHOT_WRITE,   /* snapshot.tmp being written and synced */
  LANDED_SNAPSHOT_CLEANUP, /* renamed, old segments not yet deleted */
  LANDED_BEFORE_STORE,     /* restart: before the state directory was opened */
  LANDED_RECOVERY,         /* restart: state directory locked, recovery not finished */
  LANDED_BEFORE_READY,     /* restart: recovered, READY not yet sent */
  LANDED_IDLE,             /* nothing in flight, or the restart was already READY */
  N_LANDED
} Landed;

static const char *const landed_names[] = { "group commit", "snapshot: new segment", "snapshot: writing",
                                            "snapshot: renamed, cleaning up", "start: before the store",
                                            "recovery", "recovered, before READY", "idle or too late" };

typedef enum {
  SNAP_IDLE,
  SNAP_ROTATE,
  SNAP_WRITE,
  SNAP_CLEANUP,
} SnapState;

typedef struct {
  int fd;
  SnapState state;
  gint64 window_start;
  gint64 window_est_us; /* how long a compaction takes, as last seen */
  gboolean lock_opened;
} Watch;

/* reads the state directory's events that are there; returns TRUE when a
 * compaction started among them */
static gboolean
watch_read (Watch *watch)
{
  char buf[16384] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gboolean started = FALSE;

  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    ssize_t n;

    if (poll (&pfd, 1, 0) <= 0)
      return started;
    n = read (watch->fd, buf, sizeof buf);
    if (n <= 0)
      return started;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *) p;
      const char *name = ev->len > 0 ? ev->name : "";
      gboolean journal = g_str_has_prefix (name, "journal.");

      if ((ev->mask & IN_OPEN) && strcmp (name, "lock") == 0)
        watch->lock_opened = TRUE;
      if ((ev->mask & IN_CREATE) && journal) {
        watch->state = SNAP_ROTATE;
        watch->window_start = g_get_monotonic_time ();
        started = TRUE;
      } else if ((ev->mask & IN_CREATE) && strcmp (name, "snapshot.tmp") == 0) {
        if (watch->state == SNAP_IDLE) {
          watch->window_start = g_get_monotonic_time ();
          started = TRUE;
        }
        watch->state = SNAP_WRITE;
      } else if ((ev->mask & IN_MOVED_FROM) && strcmp (name, "snapshot.tmp") == 0) {
        watch->state = SNAP_CLEANUP;
      } else if ((ev->mask & IN_DELETE) && journal && watch->state != SNAP_IDLE) {
        gint64 took = g_get_monotonic_time () - watch->window_start;

        /* the next offsets are drawn over what a compaction takes now */
        watch->window_est_us = (watch->window_est_us + MAX (took, 500)) / 2;
        watch->state = SNAP_IDLE;
      }
      p += sizeof *ev + ev->len;
    }
  }
}

/* waits until a compaction starts, at most timeout_us */
static gboolean
watch_wait_snapshot (Watch *watch, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  watch_read (watch);
  watch->state = SNAP_IDLE;
  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    gint64 left = deadline - g_get_monotonic_time ();

    if (left <= 0)
      return FALSE;
    if (poll (&pfd, 1, (int) MAX (left / 1000, 1)) > 0 && watch_read (watch))
      return TRUE;
  }
}

/* follows the directory until the moment comes */
static void
watch_until (Watch *watch, gint64 when)
{
  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    gint64 left = when - g_get_monotonic_time ();

    if (left <= 0)
      return;
    if (left < 1000) {
      g_usleep ((gulong) left);
      return;
    }
    if (poll (&pfd, 1, (int) (left / 1000)) > 0)
      watch_read (watch);
  }
}

typedef struct {
  guint landed[N_LANDED];
  guint kills;
  gint64 worst_serve_us;
  guint worst_serve_round;
  gint64 worst_serve_reservations;
  gint64 worst_serve_bytes;
  gint64 ready_est_us; /* spawn -> READY, as last measured */
  gint64 store_est_us; /* spawn -> the state directory's lock opened */
  guint64 reservations;
} Tally;

static void
count_kill (Tally *t, Landed landed)
{
  t->landed[landed]++;
  t->kills++;
}

static guint
count_lines (const char *text, const char *what)
{
  guint n = 0;

  for (const char *p = text; (p = strstr (p, what)) != NULL; p += strlen (what))
    n++;
  return n;
}

/* the kill of a restart: spawned, killed at a random moment before READY */
static void
kill_recovery (DaTestDaemon *devaddrd, Watch *watch, GRand *rand, Tally *t, guint round)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = da_test_daemon_log (devaddrd);
  guint recovered_before = count_lines (before, "recovered ");
  /* most kills aim between the opening of the store and READY, some before */
  gint64 from = t->store_est_us * 3 / 4;
  gint64 delay = g_rand_int_range (rand, (gint32) from, (gint32) MAX (t->ready_est_us, from + 1000));
  gint64 spawned;

  watch_read (watch);
  watch->lock_opened = FALSE;
  spawned = g_get_monotonic_time ();
  ck_assert_msg (da_test_daemon_spawn (devaddrd, &error), "round %u: %s", round, error ? error->message : "");
  watch_until (watch, spawned + delay);
  da_test_daemon_kill (devaddrd);
  watch_read (watch);
  if (da_test_daemon_ready_sent (devaddrd)) {
    count_kill (t, LANDED_IDLE);
  } else {
    g_autofree char *after = da_test_daemon_log (devaddrd);

    if (!watch->lock_opened)
      count_kill (t, LANDED_BEFORE_STORE);
    else if (count_lines (after, "recovered ") > recovered_before)
      count_kill (t, LANDED_BEFORE_READY);
    else
      count_kill (t, LANDED_RECOVERY);
  }
}

static void
restart_and_time (DaTestDaemon *devaddrd, Watch *watch, Checker *c, Tally *t)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) info = NULL;
  gint64 spawned, ready, served;
  JsonObject *store;

  watch_read (watch);
  watch->lock_opened = FALSE;
  spawned = g_get_monotonic_time ();
  check_that (c, da_test_daemon_spawn (devaddrd, &error), "restart: %s", error ? error->message : "");
  /* when the store is opened, so that kills during recovery can aim after it */
  while (!watch->lock_opened && g_get_monotonic_time () - spawned < SERVE_BOUND_US) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };

    if (poll (&pfd, 1, 100) > 0)
      watch_read (watch);
  }
  if (watch->lock_opened)
    t->store_est_us = g_get_monotonic_time () - spawned;
  check_that (c, da_test_daemon_wait_ready (devaddrd, &error), "restart: %s", error ? error->message : "");
  ready = g_get_monotonic_time ();
  c->client = da_test_client_connect (devaddrd->socket_path, &error);
  check_that (c, c->client != NULL, "connect: %s", error ? error->message : "");
  info = da_test_client_call_ok (c->client, "server.info", NULL);
  served = g_get_monotonic_time () - spawned;
  t->ready_est_us = ready - spawned;
  store = json_object_get_object_member (json_node_get_object (info), "store");
  check_that (c, served < SERVE_BOUND_US, "the first answer came %" G_GINT64_FORMAT " ms after the start (%"
              G_GINT64_FORMAT " reservations)", served / 1000, json_object_get_int_member (json_node_get_object (info),
                                                                                          "reservations"));
  if (served > t->worst_serve_us) {
    t->worst_serve_us = served;
    t->worst_serve_round = c->round;
    t->worst_serve_reservations = json_object_get_int_member (json_node_get_object (info), "reservations");
    t->worst_serve_bytes = json_object_get_int_member (store, "journal_bytes");
  }
  t->reservations = (guint64) json_object_get_int_member (json_node_get_object (info), "reservations");
}

static void
fill_bulk (DaTestClient *client, guint n, Bulk *bulk)
{
  g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"bulk\"}");

  for (guint done = 0; done < n;) {
    guint batch = MIN (256, n - done);
    GString *params = g_string_new ("{\"vm\":\"bulk\",\"requests\":[");
    g_autoptr (JsonNode) result = NULL;
    JsonArray *list;

    for (guint i = 0; i < batch; i++)
      g_string_append_printf (params, "%s{\"type\":\"ccw\",\"alias\":\"b%u\"}", i > 0 ? "," : "", done + i);
    g_string_append (params, "]}");
    result = da_test_client_call_ok (client, "addr.reserve", params->str);
    g_string_free (params, TRUE);
    list = json_object_get_array_member (json_node_get_object (result), "reservations");
    for (guint i = 0; i < json_array_get_length (list); i++) {
      JsonObject *res = json_array_get_object_element (list, i);

      g_hash_table_insert (bulk->aliases, g_strdup (json_object_get_string_member (res, "alias")),
                           g_strdup (json_object_get_string_member (res, "address")));
    }
    done += batch;
  }
}

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

START_TEST (test_kill_anywhere)
{
  const char *seed_env = g_getenv ("DA_CRASH_SEED");
  guint32 seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : g_random_int ();
  guint rounds = env_uint ("DA_CRASH_ROUNDS", 6);
  guint n_bulk = env_uint ("DA_CRASH_BULK", 50000);
  g_autofree char *seed_text = g_strdup_printf ("DA_CRASH_SEED=%u", seed);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  Writer writers[WRITERS];
  Bulk bulk = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free) };
  Tally tally = { { 0 } };
  Watch watch = { -1, SNAP_IDLE, 0, 20000, FALSE };
  Checker c = { NULL, 0, seed_text };
  Progress progress = { 0 };
  gint64 started = g_get_monotonic_time ();

  /* a failure names its seed: DA_CRASH_SEED=n reruns the same kill moments */
  g_print ("crash test %s, %u rounds, %u reservations in the large state\n", seed_text, rounds, n_bulk);
  /* compaction every hundred records, so that it is under way often */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=100\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  watch.fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  ck_assert (watch.fd >= 0);
  ck_assert (inotify_add_watch (watch.fd, devaddrd->state_dir, IN_CREATE | IN_MOVED_FROM | IN_DELETE | IN_OPEN) >= 0);
  c.client = da_test_client_connect (devaddrd->socket_path, NULL);
  fill_bulk (c.client, n_bulk, &bulk);
  g_clear_pointer (&c.client, da_test_client_free);

  for (guint i = 0; i < WRITERS; i++)
    writers[i] = (Writer) { devaddrd->socket_path, i, NULL, &progress,
                            g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref),
                            reservation_table (), 0, { 0 }, NULL, 0, g_ptr_array_new_with_free_func (g_free) };

  for (guint round = 0; round < rounds; round++) {
    Phase phase = (Phase) (round % N_PHASES);
    GThread *threads[WRITERS];
    gint64 delay;
    Landed landed;

    c.round = round;
    progress.acked = 0;
    for (guint i = 0; i < WRITERS; i++) {
      writers[i].rand = g_rand_new_with_seed (seed ^ (round * 7919u + i * 104729u + 1));
      threads[i] = g_thread_new ("writer", writer_run, &writers[i]);
    }
    /* the writers are under way once each has had an answer or two */
    g_mutex_lock (&progress.lock);
    while (progress.acked < 2 * WRITERS)
      ck_assert_msg (g_cond_wait_until (&progress.acked_cond, &progress.lock, g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND),
                     "round %u: the writers get no answers", round);
    g_mutex_unlock (&progress.lock);

    if (phase == PHASE_SNAPSHOT && watch_wait_snapshot (&watch, 10 * G_USEC_PER_SEC)) {
      delay = g_rand_int_range (rand, 0, (gint32) MAX (watch.window_est_us, 1000));
      watch_until (&watch, watch.window_start + delay);
    } else {
      delay = g_rand_int_range (rand, 0, 150000);
      watch_until (&watch, g_get_monotonic_time () + delay);
    }
    landed = g_atomic_int_get (&progress.in_flight) > 0 ? LANDED_COMMIT : LANDED_IDLE;
    da_test_daemon_kill (devaddrd);
    watch_read (&watch);
    if (watch.state == SNAP_ROTATE)
      landed = LANDED_SNAPSHOT_ROTATE;
    else if (watch.state == SNAP_WRITE)
      landed = LANDED_SNAPSHOT_WRITE;
    else if (watch.state == SNAP_CLEANUP)
      landed = LANDED_SNAPSHOT_CLEANUP;
    watch.state = SNAP_IDLE;
    count_kill (&tally, landed);
    for (guint i = 0; i < WRITERS; i++) {
      g_thread_join (threads[i]);
      g_clear_pointer (&writers[i].rand, g_rand_free);
    }
    if (phase == PHASE_RECOVERY)
      kill_recovery (devaddrd, &watch, rand, &tally, round);

    restart_and_time (devaddrd, &watch, &c, &tally);
    check_all (&c, writers, &bulk);
    g_clear_pointer (&c.client, da_test_client_free);
  }

  g_print ("%u rounds, %u kills in %.1f s; %" G_GUINT64_FORMAT " reservations at the end\n", rounds, tally.kills,
           (g_get_monotonic_time () - started) / 1e6, tally.reservations);
  for (guint i = 0; i < N_LANDED; i++)
    g_print ("  kills landed %-32s %u\n", landed_names[i], tally.landed[i]);
  g_print ("worst time from start to first answer: %.1f ms (round %u, %" G_GINT64_FORMAT " reservations, %"
           G_GINT64_FORMAT " journal bytes)\n", tally.worst_serve_us / 1000.0, tally.worst_serve_round,
           tally.worst_serve_reservations, tally.worst_serve_bytes);
  /* a long run must have hit every phase, many times */
  if (rounds >= 30) {
    ck_assert_uint_ge (tally.landed[LANDED_COMMIT], rounds / 10);
    ck_assert_uint_ge (tally.landed[LANDED_SNAPSHOT_WRITE] + tally.landed[LANDED_SNAPSHOT_ROTATE]
                       + tally.landed[LANDED_SNAPSHOT_CLEANUP], rounds / 10);
    ck_assert_uint_ge (tally.landed[LANDED_RECOVERY], rounds / 20);
  }

  for (guint i = 0; i < WRITERS; i++) {
    g_hash_table_unref (writers[i].vms);
    g_hash_table_unref (writers[i].host);
    op_clear (&writers[i].pending);
    g_ptr_array_unref (writers[i].problems);
  }
  g_hash_table_unref (bulk.aliases);
  close (watch.fd);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("crash");
  TCase *tc = tcase_create ("crash");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 900);
  tcase_add_test (tc, test_kill_anywhere);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
