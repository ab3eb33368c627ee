/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writers for fault tests: each runs on its own connection, mixing single
 * and batch reserves, holds, commits, two-phase and plain releases,
 * vm.create, vm.delete and domain.assign on VMs and host aliases of its
 * own, and keeps a model of what the daemon acknowledged.  After a crash,
 * a full disk or a restart, da_test_writers_check() compares the models
 * with what the daemon says.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-writers.h"

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

static void
expect_free (DaTestExpect *e)
{
  g_free (e->type);
  g_free (e->address);
  g_free (e->state);
  g_free (e);
}

static DaTestExpect *
expect_from_json (JsonObject *res)
{
  DaTestExpect *e = g_new0 (DaTestExpect, 1);

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

static const char *const op_names[] = { "none", "reserve", "commit", "release", "release-begin", "vm.create",
                                        "vm.delete", "domain.assign" };

static void
op_clear (DaTestOp *op)
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
  return strcmp (((DaTestExpect *) value)->state, "held") == 0;
}

static guint
count_type (GHashTable *set, const char *type)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += strcmp (((DaTestExpect *) value)->type, type) == 0;
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
writer_choose (DaTestWriter *w, const char **method)
{
  GRand *rand = w->rand;
  DaTestOp *op = &w->pending;
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
    DaTestExpect *e;

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
writer_problem (DaTestWriter *w, const char *what, JsonNode *reply)
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
writer_apply (DaTestWriter *w, DaTestClient *client, JsonNode *reply)
{
  DaTestOp *op = &w->pending;
  JsonObject *obj = json_node_get_object (reply);
  JsonObject *result;
  GHashTable *set;

  if (!json_object_has_member (obj, "result")) {
    /* a change that could not be made durable was undone: the model stays */
    if (w->allow_unavailable
        && strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "unavailable") == 0)
      w->unavailable++;
    else
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
      DaTestExpect *e = g_hash_table_lookup (set, op->aliases->pdata[0]);

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

gpointer
da_test_writer_run (gpointer data)
{
  DaTestWriter *w = data;
  g_autoptr (DaTestClient) client = da_test_client_connect (w->socket_path, NULL);

  for (guint n = 0; client != NULL && (w->max_ops == 0 || n < w->max_ops); n++) {
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

/* every reservation of the vm (builtin ones too) against pool.stats: used
 * is the number of addresses held, so a double booking shows up as a
 * difference, and two aliases on one address show up as a repeat */
static void
check_not_twice (DaTestChecker *c, const char *vm, JsonObject *got)
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

    da_test_check (c, g_hash_table_add (addresses, key), "vm %s: %s is held twice", vm, key);
    g_hash_table_insert (per_type, (gpointer) t,
                         GSIZE_TO_POINTER (GPOINTER_TO_SIZE (g_hash_table_lookup (per_type, t)) + (gsize) count));
  }
  g_hash_table_iter_init (&iter, per_type);
  while (g_hash_table_iter_next (&iter, &type, &sum)) {
    g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\",\"type\":\"%s\"}", vm, (char *) type);
    g_autoptr (JsonNode) stats = da_test_client_call_ok (c->client, "pool.stats", params);

    da_test_check (c, json_object_get_int_member (json_node_get_object (stats), "used") == (gint64) GPOINTER_TO_SIZE (sum),
                "vm %s: pool %s has %" G_GINT64_FORMAT " addresses used, its reservations %" G_GSIZE_FORMAT, vm,
                (char *) type, json_object_get_int_member (json_node_get_object (stats), "used"),
                GPOINTER_TO_SIZE (sum));
  }
}

static gboolean
expect_equal (const DaTestExpect *a, const DaTestExpect *b)
{
  return strcmp (a->type, b->type) == 0 && strcmp (a->address, b->address) == 0 && strcmp (a->state, b->state) == 0;
}

/* model against actual for one scope; the pending op (if it concerns this
 * scope) may have happened entirely or not at all; the model becomes what
 * is there */
static void
check_scope (DaTestChecker *c, DaTestWriter *w, const char *name, GHashTable *model, GHashTable *actual, const DaTestOp *op)
{
  g_autoptr (GPtrArray) added = g_ptr_array_new ();
  g_autoptr (GPtrArray) removed = g_ptr_array_new ();
  g_autoptr (GPtrArray) changed = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;
  const char *alias0 = op != NULL && op->aliases != NULL && op->aliases->len > 0 ? op->aliases->pdata[0] : NULL;

  g_hash_table_iter_init (&iter, model);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    DaTestExpect *now = g_hash_table_lookup (actual, key);

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
    da_test_check (c, removed->len == 0, "%s: acknowledged %s is lost", name, (char *) removed->pdata[0]);
    if (changed->len > 0) {
      DaTestExpect *was = g_hash_table_lookup (model, changed->pdata[0]);
      DaTestExpect *is = g_hash_table_lookup (actual, changed->pdata[0]);

      da_test_check (c, FALSE, "%s: %s was acknowledged as %s %s %s, is %s %s %s", name, (char *) changed->pdata[0],
                  was->type, was->address, was->state, is->type, is->address, is->state);
    }
    da_test_check (c, added->len == 0, "%s: %s is there though never acknowledged", name, (char *) added->pdata[0]);
    return;
  }
  switch (op->kind) {
  case OP_RESERVE:
    da_test_check (c, removed->len == 0 && changed->len == 0, "%s: an unacknowledged reserve changed other reservations",
                name);
    da_test_check (c, added->len == 0 || added->len == op->aliases->len,
                "%s: %u of the %u aliases of an unacknowledged reserve are there", name, added->len, op->aliases->len);
    for (guint i = 0; i < added->len; i++) {
      DaTestExpect *e = g_hash_table_lookup (actual, added->pdata[i]);

      da_test_check (c, g_ptr_array_find_with_equal_func (op->aliases, added->pdata[i], g_str_equal, NULL),
                  "%s: %s is there though never asked for", name, (char *) added->pdata[i]);
      da_test_check (c, strcmp (e->type, op->type) == 0 && strcmp (e->state, op->held ? "held" : "active") == 0,
                  "%s: %s is %s %s", name, (char *) added->pdata[i], e->type, e->state);
    }
    break;
  case OP_COMMIT:
  case OP_RELEASE_BEGIN:
    da_test_check (c, removed->len == 0 && added->len == 0, "%s: an unacknowledged %s added or removed reservations",
                name, op_names[op->kind]);
    da_test_check (c, changed->len == 0 || (changed->len == 1 && strcmp (changed->pdata[0], alias0) == 0),
                "%s: an unacknowledged %s of %s changed %s", name, op_names[op->kind], alias0,
                (char *) changed->pdata[0]);
    if (changed->len == 1) {
      DaTestExpect *was = g_hash_table_lookup (model, alias0);
      DaTestExpect *is = g_hash_table_lookup (actual, alias0);

      da_test_check (c, strcmp (was->address, is->address) == 0
                       && strcmp (is->state, op->kind == OP_COMMIT ? "active" : "releasing") == 0,
                  "%s: %s went from %s %s to %s %s", name, alias0, was->address, was->state, is->address, is->state);
    }
    break;
  case OP_RELEASE:
    da_test_check (c, added->len == 0 && changed->len == 0, "%s: an unacknowledged release changed others", name);
    da_test_check (c, removed->len == 0 || (removed->len == 1 && strcmp (removed->pdata[0], alias0) == 0),
                "%s: an unacknowledged release of %s took %s", name, alias0, (char *) removed->pdata[0]);
    break;
  case OP_ASSIGN:
    /* into a new vm: the whole domain or nothing, and then no vm at all */
    da_test_check (c, removed->len == 0 && changed->len == 0 && added->len > 0,
                "%s: an unacknowledged domain.assign left an empty vm", name);
    break;
  case OP_VM_CREATE:
    da_test_check (c, added->len == 0 && removed->len == 0 && changed->len == 0, "%s: a new vm is not empty", name);
    break;
  case OP_VM_DELETE:
    da_test_check (c, added->len == 0 && removed->len == 0 && changed->len == 0,
                "%s: a vm whose delete was not acknowledged lost or gained reservations", name);
    break;
  case OP_NONE:
    break;
  }
  (void) w;
}

/* the vm's non-builtin reservations, or NULL when there is no such vm */
static GHashTable *
fetch_vm (DaTestChecker *c, const char *vm)
{
  g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
  g_autoptr (JsonNode) reply = da_test_client_request (c->client, "vm.get", params);
  JsonObject *obj;

  da_test_check (c, reply != NULL, "vm.get %s: no answer", vm);
  obj = json_node_get_object (reply);
  if (!json_object_has_member (obj, "result")) {
    da_test_check (c, strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found") == 0,
                "vm.get %s failed", vm);
    return NULL;
  }
  check_not_twice (c, vm, json_object_get_object_member (obj, "result"));
  return vm_reservations (json_object_get_object_member (obj, "result"));
}

static void
check_writer (DaTestChecker *c, DaTestWriter *w, GHashTable *all_vms, guint *n_host)
{
  const DaTestOp *op = w->pending.kind != OP_NONE ? &w->pending : NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) host_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) host_actual = reservation_table ();
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < w->problems->len; i++)
    da_test_check (c, FALSE, "%s", (char *) w->problems->pdata[i]);

  g_hash_table_iter_init (&iter, w->vms);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  if (op != NULL && op->vm != NULL && !g_hash_table_contains (w->vms, op->vm))
    g_ptr_array_add (names, g_strdup (op->vm));

  for (guint i = 0; i < names->len; i++) {
    const char *vm = names->pdata[i];
    GHashTable *model = g_hash_table_lookup (w->vms, vm);
    g_autoptr (GHashTable) actual = fetch_vm (c, vm);
    const DaTestOp *here = op != NULL && g_strcmp0 (op->vm, vm) == 0 ? op : NULL;

    if (actual == NULL) {
      /* gone: only a vm whose delete was in flight, or whose creation was */
      da_test_check (c, model == NULL || (here != NULL && here->kind == OP_VM_DELETE), "vm %s is lost", vm);
      g_hash_table_remove (w->vms, vm);
      continue;
    }
    da_test_check (c, model != NULL || (here != NULL && (here->kind == OP_VM_CREATE || here->kind == OP_ASSIGN)),
                "vm %s is there though never acknowledged", vm);
    if (model == NULL) {
      g_autoptr (GHashTable) none = reservation_table ();

      check_scope (c, w, vm, none, actual, here);
    } else if (g_strcmp0 (w->loose_vm, vm) == 0) {
      /* what the assign reply listed must be there; the rest is learnt now */
      g_hash_table_iter_init (&iter, model);
      while (g_hash_table_iter_next (&iter, &key, &value)) {
        DaTestExpect *now = g_hash_table_lookup (actual, key);

        da_test_check (c, now != NULL && expect_equal (value, now), "vm %s: assigned %s is lost or moved", vm,
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

    da_test_check (c, reply != NULL, "addr.lookup %s: no answer", alias);
    obj = json_node_get_object (reply);
    if (json_object_has_member (obj, "result"))
      g_hash_table_insert (host_actual, g_strdup (alias), expect_from_json (json_object_get_object_member (obj, "result")));
    else
      da_test_check (c, strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found") == 0,
                  "addr.lookup %s failed", alias);
  }
  check_scope (c, w, "host", w->host, host_actual, op != NULL && op->vm == NULL ? op : NULL);
  g_hash_table_unref (w->host);
  w->host = g_steal_pointer (&host_actual);
  *n_host += g_hash_table_size (w->host);
  op_clear (&w->pending);
}

void
da_test_writers_check (DaTestChecker *c, DaTestWriter *writers, guint n_writers, const char *bulk_vm,
                       GHashTable *bulk)
{
  g_autoptr (GHashTable) all_vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_host = 0;
  guint n_vms;

  for (guint i = 0; i < n_writers; i++)
    check_writer (c, &writers[i], all_vms, &n_host);
  n_vms = g_hash_table_size (all_vms) + (bulk_vm != NULL ? 1 : 0);

  /* exactly our vms, and nothing else */
  {
    g_autoptr (JsonNode) list = da_test_client_call_ok (c->client, "vm.list", NULL);
    JsonArray *array = json_node_get_array (list);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      const char *vm = json_object_get_string_member (json_array_get_object_element (array, i), "vm");

      da_test_check (c, g_strcmp0 (vm, bulk_vm) == 0 || g_hash_table_contains (all_vms, vm),
                     "vm %s was deleted (or never made) and is back", vm);
    }
    da_test_check (c, json_array_get_length (array) == n_vms, "%u vms, expected %u", json_array_get_length (array),
                   n_vms);
  }
  /* the host's ids: exactly those of the writers, each at one address */
  {
    g_autoptr (JsonNode) stats = da_test_client_call_ok (c->client, "pool.stats", "{\"scope\":\"host\",\"type\":\"id\"}");
    JsonObject *obj = json_node_get_object (stats);
    gint64 reservations = json_object_get_int_member_with_default (obj, "reservations", 0);

    da_test_check (c, reservations == n_host, "the host holds %" G_GINT64_FORMAT " ids, the writers %u", reservations,
                n_host);
    da_test_check (c, json_object_get_int_member (obj, "used") == reservations, "host ids: %" G_GINT64_FORMAT
                " used by %" G_GINT64_FORMAT " reservations", json_object_get_int_member (obj, "used"), reservations);
  }
  /* the large state, every one of it */
  if (bulk_vm != NULL) {
    g_autoptr (GHashTable) got = fetch_vm (c, bulk_vm);
    GHashTableIter iter;
    gpointer alias, address;

    da_test_check (c, got != NULL && g_hash_table_size (got) == g_hash_table_size (bulk),
                "vm %s holds %u reservations, %u were acknowledged", bulk_vm, got != NULL ? g_hash_table_size (got) : 0,
                g_hash_table_size (bulk));
    g_hash_table_iter_init (&iter, bulk);
    while (g_hash_table_iter_next (&iter, &alias, &address)) {
      DaTestExpect *e = g_hash_table_lookup (got, alias);

      da_test_check (c, e != NULL && strcmp (e->address, address) == 0, "bulk %s lost or moved", (char *) alias);
    }
  }
}

void
da_test_writer_init (DaTestWriter *w, const char *socket_path, guint index, DaTestProgress *progress)
{
  memset (w, 0, sizeof *w);
  w->socket_path = socket_path;
  w->index = index;
  w->progress = progress;
  w->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  w->host = reservation_table ();
  w->problems = g_ptr_array_new_with_free_func (g_free);
}

void
da_test_writer_clear (DaTestWriter *w)
{
  g_clear_pointer (&w->vms, g_hash_table_unref);
  g_clear_pointer (&w->host, g_hash_table_unref);
  op_clear (&w->pending);
  g_clear_pointer (&w->problems, g_ptr_array_unref);
  g_clear_pointer (&w->rand, g_rand_free);
  g_clear_pointer (&w->loose_vm, g_free);
}

void
da_test_writers_run (DaTestWriter *writers, guint n_writers, guint32 seed, GThread **threads)
{
  for (guint i = 0; i < n_writers; i++) {
    g_clear_pointer (&writers[i].rand, g_rand_free);
    writers[i].rand = g_rand_new_with_seed (seed ^ (i * 104729u + 1));
    threads[i] = g_thread_new ("writer", da_test_writer_run, &writers[i]);
  }
}

void
da_test_writers_join (DaTestWriter *writers, guint n_writers, GThread **threads)
{
  for (guint i = 0; i < n_writers; i++) {
    g_thread_join (threads[i]);
    g_clear_pointer (&writers[i].rand, g_rand_free);
  }
}
