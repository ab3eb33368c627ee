/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alloc-error.h"
#include "da-engine-private.h"
#include "da-util.h"

/* ------------------------------------------------------------------ */
/* names of enums, as they travel in the protocol and the journal */

static const char *const policy_names[] = { "first-fit", "next-fit", "last-fit", "random", NULL };
static const char *const mode_names[] = { "dynamic", "static", NULL };
static const char *const state_names[] = { "held", "active", "releasing", NULL };

static gboolean
name_to_index (const char *const *names, const char *text, int *out)
{
  for (int i = 0; text != NULL && names[i] != NULL; i++) {
    if (strcmp (names[i], text) == 0) {
      *out = i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
da_policy_to_string (DaPolicy policy)
{
  return policy <= DA_POLICY_RANDOM ? policy_names[policy] : "unknown";
}

gboolean
da_policy_from_string (const char *text, DaPolicy *policy)
{
  int i;

  if (!name_to_index (policy_names, text, &i))
    return FALSE;
  *policy = (DaPolicy) i;
  return TRUE;
}

const char *
da_mode_to_string (DaMode mode)
{
  return mode <= DA_MODE_STATIC ? mode_names[mode] : "unknown";
}

gboolean
da_mode_from_string (const char *text, DaMode *mode)
{
  int i;

  if (!name_to_index (mode_names, text, &i))
    return FALSE;
  *mode = (DaMode) i;
  return TRUE;
}

const char *
da_state_to_string (DaState state)
{
  return state <= DA_STATE_RELEASING ? state_names[state] : "unknown";
}

gboolean
da_state_from_string (const char *text, DaState *state)
{
  int i;

  if (!name_to_index (state_names, text, &i))
    return FALSE;
  *state = (DaState) i;
  return TRUE;
}

const char *
da_change_kind_to_string (DaChangeKind kind)
{
  switch (kind) {
  case DA_CHANGE_SCOPE_CREATE: return "scope-create";
  case DA_CHANGE_SCOPE_DELETE: return "scope-delete";
  case DA_CHANGE_POOL_ADD: return "pool-add";
  case DA_CHANGE_RESERVE: return "reserve";
  case DA_CHANGE_STATE: return "state";
  case DA_CHANGE_RELEASE: return "release";
  case DA_CHANGE_COOL: return "cool";
  case DA_CHANGE_CURSOR: return "cursor";
  case DA_CHANGE_POOL_REMOVE: return "pool-remove";
  default: return "unknown";
  }
}

void
da_change_free (DaChange *change)
{
  if (change == NULL)
    return;
  g_free (change->scope);
  g_free (change->template_name);
  g_free (change->type);
  g_free (change->alias);
  g_free (change->tag);
  g_free (change);
}

DaChange *
da_change_copy (const DaChange *change)
{
  DaChange *copy = g_memdup2 (change, sizeof (*change));

  copy->scope = g_strdup (change->scope);
  copy->template_name = g_strdup (change->template_name);
  copy->type = g_strdup (change->type);
  copy->alias = g_strdup (change->alias);
  copy->tag = g_strdup (change->tag);
  return copy;
}

/* below this many reservations a scope's alias index and maps stay in the
 * caches, where asking for memory ahead costs more than it saves */
#define PREFETCH_MIN_RESERVATIONS 4096

/* ------------------------------------------------------------------ */
/* transactions: changes for the journal, undo entries for rollback */

typedef enum {
  UNDO_SCOPE_CREATED,
  UNDO_SCOPE_DELETED,
  UNDO_POOL_CREATED,
  UNDO_KEYS_ADDED,
  UNDO_KEYS_REMOVED,
  UNDO_RESERVED,
  UNDO_STATE,
  UNDO_RELEASED,
} UndoKind;

typedef struct {
  UndoKind kind;
  guint n_changes_before;
  char *scope;
  char *type;
  char *tag;
  char *alias;
  DaScope *detached_scope;   /* SCOPE_DELETED: kept whole until commit */
  GHashTable *detached_held; /* SCOPE_DELETED: hold deadlines of its reservations */
  DaReservation *res;        /* RELEASED: kept whole until commit */
  GArray *added;             /* KEYS_ADDED: DaRange newly covered; KEYS_REMOVED: taken out */
  gboolean tag_created;      /* KEYS_ADDED: the tag is new; KEYS_REMOVED: the tag is gone */
  gboolean cooled;
  GArray *replaced_cooling;  /* RELEASED: cool-downs the new one replaced (Cooling) */
  guint64 cursor;
  guint64 count;             /* RELEASED: the run's length */
  DaState state;
  gint64 deadline;
} Undo;

struct _DaTxn {
  DaEngine *engine;
  GPtrArray *changes;  /* DaChange */
  GPtrArray *undos;    /* Undo */
};

static void scope_free (DaScope *scope);

static void
undo_free (DaEngine *engine, Undo *undo)
{
  g_free (undo->scope);
  g_free (undo->type);
  g_free (undo->tag);
  g_free (undo->alias);
  if (undo->detached_scope != NULL)
    scope_free (undo->detached_scope);
  if (undo->detached_held != NULL)
    g_hash_table_unref (undo->detached_held);
  if (undo->res != NULL)
    da_reservation_free (engine, undo->res);
  if (undo->added != NULL)
    g_array_unref (undo->added);
  if (undo->replaced_cooling != NULL)
    g_array_unref (undo->replaced_cooling);
  g_free (undo);
}

DaTxn *
da_txn_new (DaEngine *engine)
{
  DaTxn *txn = g_new0 (DaTxn, 1);

  txn->engine = engine;
  txn->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  /* undos are freed by hand: a kept reservation goes back to the engine */
  txn->undos = g_ptr_array_new ();
  return txn;
}

void
da_txn_free (DaTxn *txn)
{
  if (txn == NULL)
    return;
  g_ptr_array_unref (txn->changes);
  for (guint i = 0; i < txn->undos->len; i++)
    undo_free (txn->engine, g_ptr_array_index (txn->undos, i));
  g_ptr_array_unref (txn->undos);
  g_free (txn);
}

gboolean
da_txn_is_empty (DaTxn *txn)
{
  return txn->changes->len == 0 && txn->undos->len == 0;
}

GPtrArray *
da_txn_get_changes (DaTxn *txn)
{
  return txn->changes;
}

guint
da_txn_savepoint (DaTxn *txn)
{
  return txn->undos->len;
}

static Undo *
txn_record (DaTxn *txn, DaChange *change, UndoKind kind, const char *scope)
{
  Undo *undo;

  if (txn == NULL) {
    da_change_free (change);
    return NULL;
  }
  undo = g_new0 (Undo, 1);
  undo->kind = kind;
  undo->n_changes_before = txn->changes->len;
  undo->scope = g_strdup (scope);
  if (change != NULL)
    g_ptr_array_add (txn->changes, change);
  g_ptr_array_add (txn->undos, undo);
  return undo;
}

static DaChange *
change_new (DaChangeKind kind, DaScope *scope)
{
  DaChange *change = g_new0 (DaChange, 1);

  change->kind = kind;
  change->scope = g_strdup (scope->name);
  return change;
}

/* ------------------------------------------------------------------ */
/* reservations */

const char *
da_reservation_get_alias (const DaReservation *res)
{
  return res->alias;
}

DaAddressType *
da_reservation_get_address_type (const DaReservation *res)
{
  return res->pool->type;
}

DaScope *
da_reservation_get_scope (const DaReservation *res)
{
  return res->pool->scope;
}

guint64
da_reservation_get_start (const DaReservation *res)
{
  return res->start;
}

/* valid while the reservation is in its pool */
static guint64
reservation_count (const DaReservation *res)
{
  DaRange run;

  if (res->count != 0 || !da_range_map_lookup (res->pool->used, res->start, &run, NULL))
    return res->count;
  return run.end - run.start + 1;
}

guint64
da_reservation_get_count (const DaReservation *res)
{
  return reservation_count (res);
}

DaMode
da_reservation_get_mode (const DaReservation *res)
{
  return (DaMode) res->mode;
}

DaState
da_reservation_get_state (const DaReservation *res)
{
  return (DaState) res->state;
}

guint
da_reservation_get_flags (const DaReservation *res)
{
  return res->flags;
}

gint64
da_reservation_get_deadline (const DaReservation *res)
{
  gint64 *deadline = res->state == DA_STATE_HELD ? g_hash_table_lookup (res->pool->scope->engine->held, res) : NULL;

  return deadline != NULL ? *deadline : 0;
}

char *
da_reservation_format_address (const DaReservation *res)
{
  return da_address_type_format_key (res->pool->type, res->start);
}

/* the side table holds exactly the held reservations; most never are */
static void
set_held (DaEngine *engine, DaReservation *res, gboolean was_held, gint64 deadline)
{
  if (res->state == DA_STATE_HELD)
    g_hash_table_replace (engine->held, res, g_memdup2 (&deadline, sizeof deadline));
  else if (was_held)
    g_hash_table_remove (engine->held, res);
}

void
da_reservation_free (DaEngine *engine, DaReservation *res)
{
  da_slab_free (&engine->reservations, res->id);
}

/* put a detached reservation (back) into its pool and scope; hash is
 * its alias's.  FALSE, and nothing changes, when another reservation
 * holds some of its keys. */
static gboolean
attach_reservation (DaReservation *res, guint32 hash, guint64 count, gint64 deadline)
{
  DaPool *pool = res->pool;
  DaScope *scope = pool->scope;
  DaEngine *engine = scope->engine;

  if (!da_range_map_insert (pool->used, res->start, res->start + (count - 1), res))
    return FALSE;
  da_alias_index_insert (&scope->aliases, res->id, hash, res->start);
  pool->used_keys += count;
  pool->n_reservations++;
  engine->n_reservations++;
  if (scope->biggest_pool != pool
      && (scope->biggest_pool == NULL || pool->n_reservations > scope->biggest_pool->n_reservations))
    scope->biggest_pool = pool;
  if (res->state == DA_STATE_HELD)
    set_held (engine, res, FALSE, deadline);
  return TRUE;
}

/* returns the run's length, which a long run keeps only in the map;
 * hash is the alias's */
static guint64
detach_reservation (DaReservation *res, guint32 hash)
{
  DaPool *pool = res->pool;
  DaEngine *engine = pool->scope->engine;
  guint64 count = reservation_count (res);

  da_range_map_steal (pool->used, res->start);
  da_alias_index_remove (&pool->scope->aliases, res->id, hash);
  if (res->state == DA_STATE_HELD)
    g_hash_table_remove (engine->held, res);
  pool->used_keys -= count;
  pool->n_reservations--;
  engine->n_reservations--;
  return count;
}

static gchar *
scope_label (DaScope *scope)
{
  return *scope->name == '\0' ? g_strdup ("the host scope") : g_strdup_printf ("vm %s", scope->name);
}

/* ------------------------------------------------------------------ */
/* scopes and pools */

static DaScope *
scope_new (DaEngine *engine, const char *name, const char *template_name)
{
  DaScope *scope = g_new0 (DaScope, 1);

  scope->engine = engine;
  scope->name = g_strdup (name);
  scope->template_name = g_strdup (template_name);
  scope->pools = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) da_pool_free);
  da_alias_index_init (&scope->aliases, &engine->reservations, G_STRUCT_OFFSET (DaReservation, alias));
  return scope;
}

static void
scope_free (DaScope *scope)
{
  if (scope == NULL)
    return;
  da_alias_index_clear (&scope->aliases);
  g_hash_table_unref (scope->pools);
  g_free (scope->name);
  g_free (scope->template_name);
  g_free (scope);
}

DaEngine *
da_scope_get_engine (DaScope *scope)
{
  return scope->engine;
}

const char *
da_scope_get_name (DaScope *scope)
{
  return scope->name;
}

gboolean
da_scope_is_host (DaScope *scope)
{
  return *scope->name == '\0';
}

const char *
da_scope_get_template (DaScope *scope)
{
  return scope->template_name;
}

guint
da_scope_get_n_reservations (DaScope *scope)
{
  return da_alias_index_size (&scope->aliases);
}

DaPool *
da_scope_get_pool (DaScope *scope, const char *type)
{
  DaPool *pool = scope->last_pool;

  if (pool != NULL) {
    const char *name = da_address_type_get_name (pool->type);

    if (name == type || strcmp (name, type) == 0)
      return pool;
  }
  pool = g_hash_table_lookup (scope->pools, type);
  if (pool != NULL)
    scope->last_pool = pool;
  return pool;
}

static gint
compare_pools (gconstpointer a, gconstpointer b)
{
  const DaPool *pa = *(DaPool **) a;
  const DaPool *pb = *(DaPool **) b;

  return strcmp (da_address_type_get_name (pa->type), da_address_type_get_name (pb->type));
}

GPtrArray *
da_scope_list_pools (DaScope *scope)
{
  GPtrArray *pools = da_hash_table_values (scope->pools);

  g_ptr_array_sort (pools, compare_pools);
  return pools;
}

GPtrArray *
da_scope_list_reservations (DaScope *scope)
{
  g_autoptr (GPtrArray) pools = da_scope_list_pools (scope);
  GPtrArray *out = g_ptr_array_sized_new (da_scope_get_n_reservations (scope));

  for (guint i = 0; i < pools->len; i++) {
    g_autoptr (GPtrArray) res = da_pool_list_reservations (g_ptr_array_index (pools, i));

    g_ptr_array_extend (out, res, NULL, NULL);
  }
  return out;
}

DaReservation *
da_scope_lookup (DaScope *scope, const char *alias)
{
  return da_alias_index_lookup (&scope->aliases, alias, da_alias_hash (alias), NULL);
}

DaReservation *
da_scope_lookup_address (DaScope *scope, const char *type, guint64 key)
{
  DaPool *pool = da_scope_get_pool (scope, type);
  gpointer res = NULL;

  if (pool == NULL || !da_range_map_lookup (pool->used, key, NULL, &res))
    return NULL;
  return res;
}

static DaPool *
prim_pool_create (DaScope *scope, DaAddressType *type, DaTxn *txn)
{
  DaPool *pool = da_pool_new (scope, type);
  Undo *undo;

  scope->last_pool = NULL;
  g_hash_table_replace (scope->pools, g_strdup (da_address_type_get_name (type)), pool);
  undo = txn_record (txn, NULL, UNDO_POOL_CREATED, scope->name);
  if (undo != NULL)
    undo->type = g_strdup (da_address_type_get_name (type));
  return pool;
}

static gboolean
prim_pool_add (DaScope *scope, DaAddressType *type, guint64 start, guint64 end, const char *tag, DaTxn *txn,
               GError **error)
{
  const char *type_name = da_address_type_get_name (type);
  DaPool *pool = da_scope_get_pool (scope, type_name);
  DaRangeMap *set;
  gboolean tag_created = FALSE;
  g_autoptr (GArray) added = g_array_new (FALSE, FALSE, sizeof (DaRange));
  DaRangeMapIter iter;
  DaRange have;
  guint64 k = start;
  gboolean done = FALSE;
  DaChange *change;
  Undo *undo;

  if (start > end || end > da_address_type_get_key_max (type)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "keys %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " are outside the %s address space", start, end, type_name);
    return FALSE;
  }
  if (tag != NULL && !da_name_validate ("tag", tag, error))
    return FALSE;
  if (pool == NULL)
    pool = prim_pool_create (scope, type, txn);
  if (tag == NULL) {
    set = pool->ranges;
  } else {
    set = g_hash_table_lookup (pool->tags, tag);
    if (set == NULL) {
      set = da_range_map_new_set ();
      g_hash_table_replace (pool->tags, g_strdup (tag), set);
      tag_created = TRUE;
    }
  }

  /* the keys not covered yet are what an undo has to take away again */
  da_range_map_iter_init (&iter, set, start);
  while (!done) {
    DaRange gap;

    if (!da_range_map_iter_next (&iter, &have, NULL) || have.start > end) {
      gap = (DaRange) { k, end };
      g_array_append_val (added, gap);
      break;
    }
    if (have.start > k) {
      gap = (DaRange) { k, have.start - 1 };
      g_array_append_val (added, gap);
    }
    if (have.end >= end)
      done = TRUE;
    else
      k = MAX (k, have.end + 1);
  }
  if (added->len == 0 && !tag_created)
    return TRUE;
  da_range_map_insert (set, start, end, NULL);
  if (tag == NULL)
    da_pool_keys_changed (pool);

  change = change_new (DA_CHANGE_POOL_ADD, scope);
  change->type = g_strdup (type_name);
  change->start = start;
  change->end = end;
  change->tag = g_strdup (tag);
  undo = txn_record (txn, change, UNDO_KEYS_ADDED, scope->name);
  if (undo != NULL) {
    undo->type = g_strdup (type_name);
    undo->tag = g_strdup (tag);
    undo->added = g_steal_pointer (&added);
    undo->tag_created = tag_created;
  }
  return TRUE;
}

/* take [start, end] out of the pool keys (tag NULL) or out of one tag; a
 * tag left without keys is gone, as if it had never been added */
static void
prim_pool_remove (DaPool *pool, guint64 start, guint64 end, const char *tag, DaTxn *txn)
{
  DaRangeMap *set = tag != NULL ? g_hash_table_lookup (pool->tags, tag) : pool->ranges;
  g_autoptr (GArray) removed = g_array_new (FALSE, FALSE, sizeof (DaRange));
  DaRangeMapIter iter;
  DaRange have;
  gboolean tag_gone = FALSE;
  DaChange *change;
  Undo *undo;

  if (set == NULL)
    return;
  da_range_map_iter_init (&iter, set, start);
  while (da_range_map_iter_next (&iter, &have, NULL) && have.start <= end) {
    DaRange piece = { MAX (have.start, start), MIN (have.end, end) };

    g_array_append_val (removed, piece);
  }
  if (removed->len == 0)
    return;
  da_range_map_remove (set, start, end);
  if (tag == NULL)
    da_pool_keys_changed (pool);
  if (tag != NULL && da_range_map_n_ranges (set) == 0) {
    g_hash_table_remove (pool->tags, tag);
    tag_gone = TRUE;
  }

  change = change_new (DA_CHANGE_POOL_REMOVE, pool->scope);
  change->type = g_strdup (da_address_type_get_name (pool->type));
  change->start = start;
  change->end = end;
  change->tag = g_strdup (tag);
  undo = txn_record (txn, change, UNDO_KEYS_REMOVED, pool->scope->name);
  if (undo != NULL) {
    undo->type = g_strdup (da_address_type_get_name (pool->type));
    undo->tag = g_strdup (tag);
    undo->added = g_steal_pointer (&removed);
    undo->tag_created = tag_gone;
  }
}

/* hash is the alias's, len its length; NULL, and nothing changes, when
 * another reservation holds some of the keys */
static DaReservation *
prim_reserve (DaPool *pool, const char *alias, gsize len, guint32 hash, guint64 start, guint64 count, DaMode mode,
              DaState state, guint flags, gint64 deadline, gboolean move_cursor, DaTxn *txn)
{
  DaSlab *slab = &pool->scope->engine->reservations;
  guint32 id;
  DaReservation *res = da_slab_alloc (slab, G_STRUCT_OFFSET (DaReservation, alias) + len + 1, &id);
  guint64 old_cursor = pool->cursor;
  DaChange *change;
  Undo *undo;

  res->pool = pool;
  res->start = start;
  res->count = count <= G_MAXUINT32 ? (guint32) count : 0;
  res->id = id;
  res->mode = (guint8) mode;
  res->state = (guint8) state;
  res->flags = (guint8) flags;
  memcpy (res->alias, alias, len + 1);
  if (!attach_reservation (res, hash, count, deadline)) {
    da_slab_free (slab, id);
    return NULL;
  }
  if (move_cursor)
    pool->cursor = start + (count - 1) == G_MAXUINT64 ? 0 : start + count;
  if (txn == NULL)
    return res;

  change = change_new (DA_CHANGE_RESERVE, pool->scope);
  change->type = g_strdup (da_address_type_get_name (pool->type));
  change->alias = g_strdup (alias);
  change->start = start;
  change->count = count;
  change->mode = mode;
  change->state = state;
  change->flags = flags;
  change->time = state == DA_STATE_HELD ? deadline : 0;
  change->cursor = move_cursor;
  undo = txn_record (txn, change, UNDO_RESERVED, pool->scope->name);
  if (undo != NULL) {
    undo->alias = g_strdup (alias);
    undo->cursor = old_cursor;
  }
  return res;
}

static void
prim_state (DaReservation *res, DaState state, gint64 deadline, DaTxn *txn)
{
  DaEngine *engine = res->pool->scope->engine;
  DaState old_state = (DaState) res->state;
  gint64 old_deadline = da_reservation_get_deadline (res);
  DaChange *change;
  Undo *undo;

  res->state = (guint8) state;
  set_held (engine, res, old_state == DA_STATE_HELD, deadline);
  if (txn == NULL)
    return;

  change = change_new (DA_CHANGE_STATE, res->pool->scope);
  change->alias = g_strdup (res->alias);
  change->state = state;
  change->time = state == DA_STATE_HELD ? deadline : 0;
  undo = txn_record (txn, change, UNDO_STATE, res->pool->scope->name);
  if (undo != NULL) {
    undo->alias = g_strdup (res->alias);
    undo->state = old_state;
    undo->deadline = old_deadline;
  }
}

typedef struct {
  DaRange range;
  gint64 until;
} Cooling;

/* entries it overlaps are stale (those keys were reserved again since);
 * they go to replaced, if given, so that an undo can put them back */
static void
add_cooling (DaPool *pool, guint64 start, guint64 end, gint64 until, GArray *replaced)
{
  DaRange old;
  gpointer value;

  while (da_range_map_next (pool->cooling, start, &old, &value) && old.start <= end) {
    if (replaced != NULL) {
      Cooling c = { old, ((DaCooling *) value)->until };

      g_array_append_val (replaced, c);
    }
    da_pool_uncool (pool, old.start);
  }
  da_pool_cool (pool, start, end, until);
}

static void
prim_release (DaReservation *res, guint32 hash, gint64 now, gboolean expired, DaTxn *txn)
{
  DaPool *pool = res->pool;
  DaEngine *engine = pool->scope->engine;
  gint64 deadline = da_reservation_get_deadline (res);
  gboolean cooled = engine->cooldown > 0;
  g_autoptr (GArray) replaced = NULL;
  DaChange *change;
  guint64 count;
  Undo *undo;

  count = detach_reservation (res, hash);
  /* the cool-down entries a release replaces come back with its undo */
  if (cooled && txn != NULL)
    replaced = g_array_new (FALSE, FALSE, sizeof (Cooling));
  if (cooled) {
    /* what has cooled down goes, or a pool only ever searched first fit
     * would keep every address it ever released */
    da_pool_prune_cooling (pool, now);
    add_cooling (pool, res->start, res->start + (count - 1), now + engine->cooldown, replaced);
  }
  if (txn == NULL) {
    da_reservation_free (engine, res);
    return;
  }

  change = change_new (DA_CHANGE_RELEASE, pool->scope);
  change->alias = g_strdup (res->alias);
  change->time = now;
  change->expired = expired;
  /* what was freed, for watchers; replay needs only the alias */
  change->type = g_strdup (da_address_type_get_name (pool->type));
  change->start = res->start;
  change->count = count;
  undo = txn_record (txn, change, UNDO_RELEASED, pool->scope->name);
  undo->res = res;
  undo->count = count;
  undo->deadline = deadline;
  undo->cooled = cooled;
  undo->replaced_cooling = g_steal_pointer (&replaced);
}

static DaScope *
prim_scope_create (DaEngine *engine, const char *name, const char *template_name, DaTxn *txn)
{
  DaScope *scope = scope_new (engine, name, template_name);
  DaChange *change;

  g_hash_table_replace (engine->vms, scope->name, scope);
  change = change_new (DA_CHANGE_SCOPE_CREATE, scope);
  change->template_name = g_strdup (template_name);
  txn_record (txn, change, UNDO_SCOPE_CREATED, name);
  return scope;
}

static void
prim_scope_delete (DaEngine *engine, DaScope *scope, DaTxn *txn)
{
  g_autoptr (GHashTable) held = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  GHashTableIter iter;
  gpointer key, value;
  Undo *undo;

  /* take the scope out whole, hold deadlines included, so an undo can put
   * it back as it was */
  g_hash_table_iter_init (&iter, engine->held);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    if (((DaReservation *) key)->pool->scope == scope) {
      g_hash_table_insert (held, key, g_memdup2 (value, sizeof (gint64)));
      g_hash_table_iter_remove (&iter);
    }
  }
  engine->n_reservations -= da_scope_get_n_reservations (scope);
  g_hash_table_steal (engine->vms, scope->name);

  undo = txn_record (txn, change_new (DA_CHANGE_SCOPE_DELETE, scope), UNDO_SCOPE_DELETED, scope->name);
  if (undo != NULL) {
    undo->detached_scope = scope;
    undo->detached_held = g_steal_pointer (&held);
  } else {
    scope_free (scope);
  }
}

static void
undo_apply (DaEngine *engine, Undo *undo)
{
  DaScope *scope = da_engine_lookup_scope (engine, undo->scope);
  DaPool *pool = scope != NULL && undo->type != NULL ? da_scope_get_pool (scope, undo->type) : NULL;
  DaReservation *res = scope != NULL && undo->alias != NULL ? da_scope_lookup (scope, undo->alias) : NULL;

  switch (undo->kind) {
  case UNDO_SCOPE_CREATED:
    g_return_if_fail (scope != NULL && da_scope_get_n_reservations (scope) == 0);
    g_hash_table_steal (engine->vms, scope->name);
    scope_free (scope);
    break;
  case UNDO_SCOPE_DELETED: {
    DaScope *back = g_steal_pointer (&undo->detached_scope);
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_replace (engine->vms, back->name, back);
    engine->n_reservations += da_scope_get_n_reservations (back);
    g_hash_table_iter_init (&iter, undo->detached_held);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_replace (engine->held, key, g_memdup2 (value, sizeof (gint64)));
    break;
  }
  case UNDO_POOL_CREATED:
    g_return_if_fail (pool != NULL && pool->n_reservations == 0);
    scope->last_pool = NULL;
    if (scope->biggest_pool == pool)
      scope->biggest_pool = NULL;
    g_hash_table_remove (scope->pools, undo->type);
    break;
  case UNDO_KEYS_ADDED: {
    DaRangeMap *set;

    g_return_if_fail (pool != NULL);
    set = undo->tag != NULL ? g_hash_table_lookup (pool->tags, undo->tag) : pool->ranges;
    g_return_if_fail (set != NULL);
    for (guint i = 0; i < undo->added->len; i++) {
      DaRange *r = &g_array_index (undo->added, DaRange, i);

      da_range_map_remove (set, r->start, r->end);
    }
    if (undo->tag == NULL)
      da_pool_keys_changed (pool);
    if (undo->tag_created)
      g_hash_table_remove (pool->tags, undo->tag);
    break;
  }
  case UNDO_KEYS_REMOVED: {
    DaRangeMap *set;

    g_return_if_fail (pool != NULL);
    if (undo->tag != NULL && undo->tag_created)
      g_hash_table_replace (pool->tags, g_strdup (undo->tag), da_range_map_new_set ());
    set = undo->tag != NULL ? g_hash_table_lookup (pool->tags, undo->tag) : pool->ranges;
    g_return_if_fail (set != NULL);
    for (guint i = 0; i < undo->added->len; i++) {
      DaRange *r = &g_array_index (undo->added, DaRange, i);

      da_range_map_insert (set, r->start, r->end, NULL);
    }
    if (undo->tag == NULL)
      da_pool_keys_changed (pool);
    break;
  }
  case UNDO_RESERVED:
    g_return_if_fail (res != NULL);
    detach_reservation (res, da_alias_hash (res->alias));
    res->pool->cursor = undo->cursor;
    da_reservation_free (engine, res);
    break;
  case UNDO_STATE: {
    gboolean was_held;

    g_return_if_fail (res != NULL);
    was_held = res->state == DA_STATE_HELD;
    res->state = (guint8) undo->state;
    set_held (engine, res, was_held, undo->deadline);
    break;
  }
  case UNDO_RELEASED: {
    DaReservation *back = g_steal_pointer (&undo->res);

    if (undo->cooled) {
      da_pool_uncool (back->pool, back->start);
      for (guint i = 0; undo->replaced_cooling != NULL && i < undo->replaced_cooling->len; i++) {
        Cooling *c = &g_array_index (undo->replaced_cooling, Cooling, i);

        da_pool_cool (back->pool, c->range.start, c->range.end, c->until);
      }
    }
    if (!attach_reservation (back, da_alias_hash (back->alias), undo->count, undo->deadline))
      g_warn_if_reached ();
    break;
  }
  default:
    break;
  }
}

void
da_txn_rollback_to (DaTxn *txn, guint savepoint)
{
  guint n_changes;

  if (savepoint >= txn->undos->len)
    return;
  n_changes = ((Undo *) g_ptr_array_index (txn->undos, savepoint))->n_changes_before;
  for (guint i = txn->undos->len; i > savepoint; i--) {
    undo_apply (txn->engine, g_ptr_array_index (txn->undos, i - 1));
    undo_free (txn->engine, g_ptr_array_index (txn->undos, i - 1));
  }
  g_ptr_array_set_size (txn->undos, savepoint);
  g_ptr_array_set_size (txn->changes, n_changes);
}

void
da_txn_rollback (DaTxn *txn)
{
  if (txn == NULL)
    return;
  da_txn_rollback_to (txn, 0);
  da_txn_free (txn);
}

/* an operation of several steps is all or nothing even when the caller
 * keeps no transaction: it then runs in a private one */
typedef struct {
  DaTxn *txn;
  DaTxn *own;
  guint savepoint;
} Atomic;

static void
atomic_begin (Atomic *a, DaEngine *engine, DaTxn *txn)
{
  a->own = txn == NULL ? da_txn_new (engine) : NULL;
  a->txn = txn != NULL ? txn : a->own;
  a->savepoint = da_txn_savepoint (a->txn);
}

static void
atomic_end (Atomic *a, gboolean ok)
{
  if (!ok)
    da_txn_rollback_to (a->txn, a->savepoint);
  da_txn_free (a->own);
}

/* ------------------------------------------------------------------ */
/* engine */

DaEngine *
da_engine_new (DaCatalog *catalog)
{
  DaEngine *engine = g_new0 (DaEngine, 1);

  da_slab_init (&engine->reservations);
  engine->catalog = da_catalog_ref (catalog);
  engine->vms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) scope_free);
  engine->held = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  engine->host = scope_new (engine, "", "host");
  engine->cooldown = 60 * G_USEC_PER_SEC;
  engine->rand = g_rand_new ();
  return engine;
}

void
da_engine_free (DaEngine *engine)
{
  if (engine == NULL)
    return;
  g_hash_table_unref (engine->held);
  g_hash_table_unref (engine->vms);
  scope_free (engine->host);
  da_catalog_unref (engine->catalog);
  g_rand_free (engine->rand);
  da_slab_clear (&engine->reservations);
  g_free (engine);
}

DaCatalog *
da_engine_get_catalog (DaEngine *engine)
{
  return engine->catalog;
}

void
da_engine_set_catalog (DaEngine *engine, DaCatalog *catalog)
{
  DaCatalog *old = engine->catalog;

  engine->catalog = da_catalog_ref (catalog);
  da_catalog_unref (old);
}

void
da_engine_set_cooldown (DaEngine *engine, gint64 cooldown_us)
{
  engine->cooldown = MAX (cooldown_us, 0);
}

void
da_engine_set_seed (DaEngine *engine, guint32 seed)
{
  g_rand_set_seed (engine->rand, seed);
}

DaScope *
da_engine_get_host (DaEngine *engine)
{
  return engine->host;
}

DaScope *
da_engine_lookup_vm (DaEngine *engine, const char *vm)
{
  return vm != NULL ? g_hash_table_lookup (engine->vms, vm) : NULL;
}

DaScope *
da_engine_lookup_scope (DaEngine *engine, const char *name)
{
  if (name == NULL)
    return NULL;
  return *name == '\0' ? engine->host : da_engine_lookup_vm (engine, name);
}

static gint
compare_scopes (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(DaScope **) a)->name, (*(DaScope **) b)->name);
}

GPtrArray *
da_engine_list_vms (DaEngine *engine)
{
  GPtrArray *vms = da_hash_table_values (engine->vms);

  g_ptr_array_sort (vms, compare_scopes);
  return vms;
}

guint
da_engine_get_n_vms (DaEngine *engine)
{
  return g_hash_table_size (engine->vms);
}

guint64
da_engine_get_n_reservations (DaEngine *engine)
{
  return engine->n_reservations;
}

static DaAddressType *
lookup_type (DaEngine *engine, const char *name, GError **error)
{
  DaAddressType *type = name != NULL ? da_catalog_get_type (engine->catalog, name) : NULL;

  if (type == NULL) {
    GPtrArray *types = da_catalog_get_types (engine->catalog);
    g_autoptr (GString) known = g_string_new (NULL);

    for (guint i = 0; i < types->len; i++)
      g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", da_address_type_get_name (g_ptr_array_index (types, i)));
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                 "unknown address type \"%s\" (types: %s)", name != NULL ? name : "", known->str);
  }
  return type;
}

static gboolean
add_pieces (DaScope *scope, DaAddressType *type, GPtrArray *pieces, DaTxn *txn, GError **error)
{
  for (guint i = 0; i < pieces->len; i++) {
    DaPoolPiece *piece = g_ptr_array_index (pieces, i);
    g_autoptr (DaRangeMap) keys = da_range_map_new_set ();
    DaRangeMapIter iter;
    DaRange range;

    if (!da_address_type_add_spec (type, piece->spec, keys, error))
      return FALSE;
    da_range_map_iter_init (&iter, keys, 0);
    while (da_range_map_iter_next (&iter, &range, NULL)) {
      if (piece->pool_keys && !prim_pool_add (scope, type, range.start, range.end, NULL, txn, error))
        return FALSE;
      for (guint j = 0; piece->tags != NULL && piece->tags[j] != NULL; j++)
        if (!prim_pool_add (scope, type, range.start, range.end, piece->tags[j], txn, error))
          return FALSE;
    }
  }
  return TRUE;
}

/* a fixed place of the machine template, reserved as builtin */
static DaReservation *
reserve_builtin (DaScope *scope, const DaTemplateReservation *tres, DaTxn *txn, DaReservation **holder,
                 GError **error)
{
  DaAddressType *type = lookup_type (scope->engine, tres->type, error);
  DaRequest request = { 0 };

  if (type == NULL || !da_address_type_parse (type, tres->address, &request.address, error))
    return NULL;
  request.type = tres->type;
  request.alias = tres->alias;
  request.has_address = TRUE;
  request.flags = DA_RESERVATION_BUILTIN;
  da_constraint_init (&request.constraint, type, FALSE);
  request.constraint.count = tres->count;
  return da_scope_reserve (scope, &request, 0, txn, holder, error);
}

DaScope *
da_engine_create_vm (DaEngine *engine, const char *vm, const char *template_name, DaTxn *txn, GError **error)
{
  const DaTemplate *tmpl;
  DaScope *scope;
  Atomic atomic;
  gboolean ok = TRUE;

  if (!da_name_validate ("vm name", vm, error))
    return NULL;
  if (da_engine_lookup_vm (engine, vm) != NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "vm %s already exists", vm);
    return NULL;
  }
  tmpl = template_name != NULL ? da_catalog_get_template (engine->catalog, template_name) : NULL;
  if (tmpl == NULL) {
    GPtrArray *templates = da_catalog_get_templates (engine->catalog);
    g_autoptr (GString) known = g_string_new (NULL);

    for (guint i = 0; i < templates->len; i++)
      g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", ((DaTemplate *) g_ptr_array_index (templates, i))->name);
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                 "unknown template \"%s\" (templates: %s)", template_name != NULL ? template_name : "", known->str);
    return NULL;
  }

  atomic_begin (&atomic, engine, txn);
  scope = prim_scope_create (engine, vm, tmpl->name, atomic.txn);
  for (guint i = 0; ok && i < tmpl->buses->len; i++) {
    DaTemplateBus *bus = g_ptr_array_index (tmpl->buses, i);

    ok = da_scope_add_bus (scope, bus->model, bus->index, NULL, atomic.txn, error);
  }
  for (guint i = 0; ok && i < tmpl->pools->len; i++) {
    DaTemplatePool *tpool = g_ptr_array_index (tmpl->pools, i);
    DaAddressType *type = lookup_type (engine, tpool->type, error);

    ok = type != NULL && add_pieces (scope, type, tpool->pieces, atomic.txn, error);
  }
  for (guint i = 0; ok && i < tmpl->reservations->len; i++)
    ok = reserve_builtin (scope, g_ptr_array_index (tmpl->reservations, i), atomic.txn, NULL, error) != NULL;
  if (!ok)
    g_prefix_error (error, "template %s: ", tmpl->name);
  atomic_end (&atomic, ok);
  return ok ? scope : NULL;
}

gboolean
da_engine_delete_vm (DaEngine *engine, const char *vm, DaTxn *txn, GError **error)
{
  DaScope *scope = da_engine_lookup_vm (engine, vm);

  if (scope == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "no vm %s", vm != NULL ? vm : "");
    return FALSE;
  }
  prim_scope_delete (engine, scope, txn);
  return TRUE;
}

guint
da_engine_expire (DaEngine *engine, gint64 now, DaTxn *txn)
{
  g_autoptr (GPtrArray) due = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, engine->held);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (*(gint64 *) value <= now)
      g_ptr_array_add (due, key);
  for (guint i = 0; i < due->len; i++)
  {
    DaReservation *res = g_ptr_array_index (due, i);

    prim_release (res, da_alias_hash (res->alias), now, TRUE, txn);
  }
  return due->len;
}

gint64
da_engine_next_deadline (DaEngine *engine)
{
  gint64 next = G_MAXINT64;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, engine->held);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    next = MIN (next, *(gint64 *) value);
  return next;
}

/* ------------------------------------------------------------------ */
/* scope operations */

/* the keys and tags of the type's default pool, into scope's pool */
static gboolean
add_default_layout (DaScope *scope, DaAddressType *type, DaTxn *txn, GError **error)
{
  DaRangeMapIter iter;
  DaRange range;
  gboolean ok = TRUE;

  da_range_map_iter_init (&iter, da_address_type_get_default_pool (type), 0);
  while (ok && da_range_map_iter_next (&iter, &range, NULL))
    ok = prim_pool_add (scope, type, range.start, range.end, NULL, txn, error);
  for (const char *const *tag = da_address_type_get_default_tag_names (type); ok && *tag != NULL; tag++) {
    da_range_map_iter_init (&iter, da_address_type_get_default_tag (type, *tag), 0);
    while (ok && da_range_map_iter_next (&iter, &range, NULL))
      ok = prim_pool_add (scope, type, range.start, range.end, *tag, txn, error);
  }
  return ok;
}

DaPool *
da_scope_ensure_pool (DaScope *scope, const char *type_name, DaTxn *txn, GError **error)
{
  DaPool *pool = da_scope_get_pool (scope, type_name);
  DaAddressType *type;
  Atomic atomic;
  gboolean ok;

  if (pool != NULL)
    return pool;
  type = lookup_type (scope->engine, type_name, error);
  if (type == NULL)
    return NULL;
  atomic_begin (&atomic, scope->engine, txn);
  pool = prim_pool_create (scope, type, atomic.txn);
  ok = add_default_layout (scope, type, atomic.txn, error);
  atomic_end (&atomic, ok);
  return ok ? pool : NULL;
}

guint
da_engine_restore_host_pools (DaEngine *engine, DaTxn *txn, GError **error)
{
  g_autoptr (GPtrArray) pools = da_scope_list_pools (engine->host);
  Atomic atomic;
  gboolean ok = TRUE;
  guint n = 0;

  atomic_begin (&atomic, engine, txn);
  for (guint i = 0; ok && i < pools->len; i++) {
    DaPool *pool = g_ptr_array_index (pools, i);

    if (da_range_map_n_ranges (pool->ranges) > 0)
      continue;
    ok = add_default_layout (engine->host, pool->type, atomic.txn, error);
    n++;
  }
  atomic_end (&atomic, ok);
  return ok ? n : 0;
}

gboolean
da_scope_add_keys (DaScope *scope, const char *type_name, guint64 start, guint64 end, const char *tag,
                   DaTxn *txn, GError **error)
{
  DaAddressType *type = lookup_type (scope->engine, type_name, error);

  return type != NULL && prim_pool_add (scope, type, start, end, tag, txn, error);
}

gboolean
da_scope_add_bus (DaScope *scope, const char *model_name, guint64 index, const char *const *params,
                  DaTxn *txn, GError **error)
{
  const DaBusModel *model = da_catalog_get_bus_model (scope->engine->catalog, model_name);
  g_autoptr (GPtrArray) pieces = NULL;
  DaAddressType *type;
  Atomic atomic;
  gboolean ok;

  if (model == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "unknown bus model \"%s\"", model_name);
    return FALSE;
  }
  type = lookup_type (scope->engine, model->type, error);
  if (type == NULL)
    return FALSE;
  pieces = da_bus_model_expand (model, index, params, error);
  if (pieces == NULL)
    return FALSE;
  atomic_begin (&atomic, scope->engine, txn);
  ok = add_pieces (scope, type, pieces, atomic.txn, error);
  if (!ok)
    g_prefix_error (error, "bus %s %" G_GUINT64_FORMAT ": ", model_name, index);
  atomic_end (&atomic, ok);
  return ok;
}

gboolean
da_scope_remove_keys (DaScope *scope, const char *type_name, guint64 start, guint64 end, DaTxn *txn,
                      GError **error)
{
  DaAddressType *type = lookup_type (scope->engine, type_name, error);
  DaPool *pool;
  DaRange taken;
  gpointer holder;
  g_auto (GStrv) tags = NULL;
  Atomic atomic;

  if (type == NULL)
    return FALSE;
  if (start > end || end > da_address_type_get_key_max (type)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "keys %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " are outside the %s address space", start, end, type_name);
    return FALSE;
  }
  pool = da_scope_get_pool (scope, type_name);
  if (pool == NULL)
    return TRUE;
  if (da_range_map_next (pool->used, start, &taken, &holder) && taken.start <= end) {
    g_autofree char *label = scope_label (scope);
    g_autofree char *first = da_address_type_format_key (type, start);
    g_autofree char *last = da_address_type_format_key (type, end);
    g_autofree char *at = da_reservation_format_address (holder);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "cannot take %s addresses %s-%s out of %s: %s holds %s", type_name, first, last, label,
                 ((DaReservation *) holder)->alias, at);
    return FALSE;
  }
  tags = da_pool_list_tags (pool);
  atomic_begin (&atomic, scope->engine, txn);
  for (guint i = 0; tags[i] != NULL; i++)
    prim_pool_remove (pool, start, end, tags[i], atomic.txn);
  prim_pool_remove (pool, start, end, NULL, atomic.txn);
  atomic_end (&atomic, TRUE);
  return TRUE;
}

static DaReservation *
reserve_existing (DaScope *scope, DaReservation *res, const DaRequest *request, DaReservation **holder, GError **error)
{
  g_autofree char *label = scope_label (scope);
  g_autofree char *address = da_reservation_format_address (res);

  if (strcmp (da_address_type_get_name (res->pool->type), request->type) == 0
      && reservation_count (res) == request->constraint.count
      && (!request->has_address || request->address == res->start)
      && res->state != DA_STATE_RELEASING)
    return res;
  if (holder != NULL)
    *holder = res;
  if (res->state == DA_STATE_RELEASING)
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "%s is being released in %s (it holds %s address %s)", res->alias, label,
                 da_address_type_get_name (res->pool->type), address);
  else
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "alias %s already holds %s address %s in %s", res->alias,
                 da_address_type_get_name (res->pool->type), address, label);
  return NULL;
}

/* a key of an exclusive tag goes only to a request that requires it */
static gboolean
check_exclusive_tags (DaPool *pool, const DaConstraint *c, guint64 start, char **failure)
{
  for (const char *const *tag = da_address_type_get_exclusive_tags (pool->type); *tag != NULL; tag++) {
    const DaRangeMap *set = da_pool_get_tag (pool, *tag);

    if (set == NULL || !da_range_map_intersects (set, start, start + (c->count - 1))
        || g_strv_contains ((const char *const *) c->tags, *tag))
      continue;
    *failure = g_strdup_printf ("it is kept for requests with tag %s, and this one does not ask for it", *tag);
    return FALSE;
  }
  return TRUE;
}

/* an exact run that another reservation holds: the conflict, naming it */
static gboolean
exact_taken (DaScope *scope, DaPool *pool, const DaRequest *request, DaReservation **holder, GError **error)
{
  guint64 last = request->address + (request->constraint.count - 1);
  DaReservation *in_the_way;
  DaRange taken;
  gpointer other;
  g_autofree char *text = NULL;
  g_autofree char *at = NULL;
  g_autofree char *label = NULL;

  if (!da_range_map_next (pool->used, request->address, &taken, &other) || taken.start > last)
    return FALSE;
  in_the_way = other;
  text = da_address_type_format_key (pool->type, request->address);
  at = da_reservation_format_address (in_the_way);
  label = scope_label (scope);
  if (holder != NULL)
    *holder = in_the_way;
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
               "cannot reserve %s address %s for %s in %s: %s is held by %s (%s)",
               request->type, text, request->alias, label, at, in_the_way->alias,
               da_mode_to_string ((DaMode) in_the_way->mode));
  return TRUE;
}

DaReservation *
da_scope_reserve (DaScope *scope, const DaRequest *request, gint64 now, DaTxn *txn,
                  DaReservation **holder, GError **error)
{
  const DaConstraint *c = &request->constraint;
  DaReservation *existing, *res;
  DaAddressType *type;
  DaPool *pool;
  g_autofree char *label = NULL;
  g_autofree char *failure = NULL;
  guint64 start;
  guint32 hash;
  gsize len;
  DaMode mode;

  if (!da_name_validate_len ("alias", request->alias, &len, error))
    return NULL;
  hash = da_alias_hash_len (request->alias, len);
  /* in a large scope the alias's slot and the reservations near an exact
   * address are each a cache miss: ask for both at once */
  if (da_alias_index_size (&scope->aliases) >= PREFETCH_MIN_RESERVATIONS)
    da_alias_index_prefetch (&scope->aliases, hash);
  /* the pool's own type when it exists: one lookup less per reservation */
  pool = request->type != NULL ? da_scope_get_pool (scope, request->type) : NULL;
  if (pool != NULL && request->has_address)
    da_range_map_prefetch (pool->used, request->address);
  type = pool != NULL ? pool->type : lookup_type (scope->engine, request->type, error);
  if (type == NULL)
    return NULL;
  if (c->count == 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "count must be at least 1");
    return NULL;
  }
  /* a per-VM pool of a host-wide type would hand the same MAC to two VMs */
  if ((da_address_type_get_scope (type) == DA_TYPE_SCOPE_HOST && !da_scope_is_host (scope))
      || (da_address_type_get_scope (type) == DA_TYPE_SCOPE_VM && da_scope_is_host (scope))) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s addresses belong to %s: reserve them %s", request->type,
                 da_scope_is_host (scope) ? "a vm" : "the host",
                 da_scope_is_host (scope) ? "in the vm" : "with scope \"host\"");
    return NULL;
  }
  existing = da_alias_index_lookup (&scope->aliases, request->alias, hash, NULL);
  if (existing != NULL)
    return reserve_existing (scope, existing, request, holder, error);

  /* a pool made here and not used stays: it holds nothing and is what the
   * next request would make; a caller's transaction takes it back */
  if (pool == NULL && (pool = da_scope_ensure_pool (scope, request->type, txn, error)) == NULL)
    return NULL;

  if (request->has_address) {
    if (!da_address_type_validate_key (type, request->address, error))
      return NULL;
    if (request->address > G_MAXUINT64 - (c->count - 1)) {
      g_autofree char *text = da_address_type_format_key (type, request->address);

      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                   "%s address %s with count %" G_GUINT64_FORMAT " goes past the end of the address space",
                   request->type, text, c->count);
      return NULL;
    }
    /* a taken run is a conflict whatever else is wrong with it; whether
     * it is taken the insertion finds out, so a run that fits costs one
     * look at the reservations */
    if (!check_exclusive_tags (pool, c, request->address, &failure)
        || !da_pool_check_exact (pool, c, request->address, &failure)) {
      g_autofree char *text = NULL;

      if (exact_taken (scope, pool, request, holder, error))
        return NULL;
      text = da_address_type_format_key (type, request->address);
      label = scope_label (scope);
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                   "cannot reserve %s address %s for %s in %s: %s", request->type, text, request->alias, label, failure);
      return NULL;
    }
    start = request->address;
  } else {
    guint64 random = c->policy == DA_POLICY_RANDOM
                     ? ((guint64) g_rand_int (scope->engine->rand) << 32) | g_rand_int (scope->engine->rand) : 0;

    if (!da_pool_allocate (pool, c, now, random, &start, &failure)) {
      label = scope_label (scope);
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED,
                   "no free %s address for %s in %s: %s", request->type, request->alias, label, failure);
      return NULL;
    }
  }

  mode = request->has_mode ? request->mode : request->has_address ? DA_MODE_STATIC : DA_MODE_DYNAMIC;
  res = prim_reserve (pool, request->alias, len, hash, start, c->count, mode,
                      request->hold_until > 0 ? DA_STATE_HELD : DA_STATE_ACTIVE,
                      request->flags, request->hold_until,
                      !request->has_address && c->policy == DA_POLICY_NEXT_FIT, txn);
  /* only an exact run can be taken: a search finds free keys */
  if (res == NULL && !exact_taken (scope, pool, request, holder, error))
    g_return_val_if_reached (NULL);
  return res;
}

gboolean
da_scope_reserve_batch (DaScope *scope, const DaRequest *requests, guint n_requests, gint64 now,
                        DaTxn *txn, GPtrArray *reservations, guint *failed,
                        DaReservation **holder, GError **error)
{
  Atomic atomic;
  guint before = reservations != NULL ? reservations->len : 0;
  gboolean ok = TRUE;

  atomic_begin (&atomic, scope->engine, txn);
  for (guint i = 0; ok && i < n_requests; i++) {
    DaReservation *res = da_scope_reserve (scope, &requests[i], now, atomic.txn, holder, error);

    if (res == NULL) {
      ok = FALSE;
      if (failed != NULL)
        *failed = i;
      g_prefix_error (error, "request %u: ", i);
    } else if (reservations != NULL) {
      g_ptr_array_add (reservations, res);
    }
  }
  if (!ok && reservations != NULL)
    g_ptr_array_set_size (reservations, before);
  atomic_end (&atomic, ok);
  return ok;
}

/* *hash (if given) is the alias's.  In a large scope the alias's slot is
 * a cache miss, and so are the reservation and the leaf of the pool's map
 * holding its address, which the slot keeps: for a release, which needs
 * both, they are asked for at once, the leaf in the pool most reservations
 * are in (if the guess is wrong, only the wait is longer).  With a
 * cool-down the release also puts the run into that pool's cooling map,
 * whose leaf is another miss: it is asked for too. */
static DaReservation *
lookup_or_fail (DaScope *scope, const char *alias, gboolean releasing, guint32 *hash, GError **error)
{
  guint32 h = alias != NULL ? da_alias_hash (alias) : 0;
  DaReservation *res;
  guint64 start;

  if (releasing && alias != NULL && scope->biggest_pool != NULL
      && da_alias_index_size (&scope->aliases) >= PREFETCH_MIN_RESERVATIONS
      && da_alias_index_peek (&scope->aliases, h, &start)) {
    da_range_map_prefetch (scope->biggest_pool->used, start);
    if (scope->engine->cooldown > 0)
      da_range_map_prefetch (scope->biggest_pool->cooling, start);
  }
  res = alias != NULL ? da_alias_index_lookup (&scope->aliases, alias, h, NULL) : NULL;
  if (hash != NULL)
    *hash = h;
  if (res == NULL) {
    g_autofree char *label = scope_label (scope);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                 "%s has no reservation %s", label, alias != NULL ? alias : "");
  }
  return res;
}

DaReservation *
da_scope_commit (DaScope *scope, const char *alias, DaTxn *txn, GError **error)
{
  DaReservation *res = lookup_or_fail (scope, alias, FALSE, NULL, error);

  if (res == NULL)
    return NULL;
  if (res->state == DA_STATE_RELEASING) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "%s is being released and cannot be committed", alias);
    return NULL;
  }
  if (res->state == DA_STATE_HELD)
    prim_state (res, DA_STATE_ACTIVE, 0, txn);
  return res;
}

gboolean
da_scope_release (DaScope *scope, const char *alias, DaReleasePhase phase, gint64 now, DaTxn *txn,
                  int *state_after, GError **error)
{
  guint32 hash;
  DaReservation *res = lookup_or_fail (scope, alias, TRUE, &hash, error);
  int after = -1;

  if (res == NULL)
    return FALSE;
  if (res->flags & DA_RESERVATION_BUILTIN) {
    g_autofree char *label = scope_label (scope);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "%s belongs to the machine template of %s and cannot be released", alias, label);
    return FALSE;
  }
  switch (phase) {
  case DA_RELEASE_BEGIN:
    if (res->state != DA_STATE_RELEASING)
      prim_state (res, DA_STATE_RELEASING, 0, txn);
    after = DA_STATE_RELEASING;
    break;
  case DA_RELEASE_CONFIRM:
    if (res->state != DA_STATE_RELEASING) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                   "%s is not being released (it is %s); begin the release first", alias,
                   da_state_to_string ((DaState) res->state));
      return FALSE;
    }
    prim_release (res, hash, now, FALSE, txn);
    break;
  case DA_RELEASE_NOW:
  default:
    prim_release (res, hash, now, FALSE, txn);
    break;
  }
  if (state_after != NULL)
    *state_after = after;
  return TRUE;
}

gboolean
da_scope_drop_builtin (DaScope *scope, const char *alias, gint64 now, DaTxn *txn, GError **error)
{
  DaReservation *res = lookup_or_fail (scope, alias, FALSE, NULL, error);

  if (res == NULL)
    return FALSE;
  if (!(res->flags & DA_RESERVATION_BUILTIN)) {
    g_autofree char *label = scope_label (scope);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s in %s is not part of the machine template", alias, label);
    return FALSE;
  }
  prim_release (res, da_alias_hash (alias), now, FALSE, txn);
  return TRUE;
}

DaReservation *
da_scope_restore_builtin (DaScope *scope, const char *alias, DaTxn *txn, DaReservation **holder, GError **error)
{
  const DaTemplate *tmpl = da_catalog_get_template (scope->engine->catalog, scope->template_name);
  DaReservation *res = alias != NULL ? da_scope_lookup (scope, alias) : NULL;
  g_autofree char *label = scope_label (scope);

  if (res != NULL) {
    if (res->flags & DA_RESERVATION_BUILTIN)
      return res;
    if (holder != NULL)
      *holder = res;
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "%s in %s is a reservation of its own, not the machine's", alias, label);
    return NULL;
  }
  for (guint i = 0; tmpl != NULL && alias != NULL && i < tmpl->reservations->len; i++) {
    DaTemplateReservation *tres = g_ptr_array_index (tmpl->reservations, i);

    if (strcmp (tres->alias, alias) == 0)
      return reserve_builtin (scope, tres, txn, holder, error);
  }
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "the template of %s has no reservation %s",
               label, alias != NULL ? alias : "");
  return NULL;
}

/* ------------------------------------------------------------------ */
/* constraints */

void
da_constraint_init (DaConstraint *constraint, const DaAddressType *type, gboolean dynamic)
{
  /* field by field: every request starts here, and most types have no
   * default tags, so the tag lists are only cleared */
  constraint->count = 1;
  constraint->align = 1;
  constraint->min = 0;
  constraint->max = da_address_type_get_key_max (type);
  constraint->policy = DA_POLICY_FIRST_FIT;
  memset (constraint->tags, 0, sizeof constraint->tags);
  memset (constraint->not_tags, 0, sizeof constraint->not_tags);
  if (dynamic) {
    const char *const *tags = da_address_type_get_dynamic_tags (type);
    const char *const *not_tags = da_address_type_get_dynamic_not_tags (type);

    constraint->box = *da_address_type_get_dynamic_box (type);
    constraint->isolate = da_address_type_get_isolate (type);
    for (guint i = 0; tags[i] != NULL && i < DA_MAX_TAGS; i++)
      constraint->tags[i] = tags[i];
    for (guint i = 0; not_tags[i] != NULL && i < DA_MAX_TAGS; i++)
      constraint->not_tags[i] = not_tags[i];
  } else {
    da_address_type_full_box (type, &constraint->box);
    constraint->isolate = -1;
  }
}

gboolean
da_constraint_set_dimension (DaConstraint *constraint, const DaAddressType *type, const char *dimension,
                             guint64 lo, guint64 hi, GError **error)
{
  int i = da_address_type_find_dimension (type, dimension);
  const DaDimension *dim;

  if (i < 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s has no dimension \"%s\"", da_address_type_get_name (type), dimension);
    return FALSE;
  }
  dim = da_address_type_get_dimension (type, (guint) i);
  if (lo > hi || lo < dim->min || hi > dim->max) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "%s %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " is out of range %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                 dimension, lo, hi, dim->min, dim->max);
    return FALSE;
  }
  constraint->box.lo[i] = lo;
  constraint->box.hi[i] = hi;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* replay and snapshots */

static gboolean
replay_error (GError **error, const DaChange *change, const char *why)
{
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
               "cannot replay %s of scope \"%s\"%s%s: %s", da_change_kind_to_string (change->kind),
               change->scope != NULL ? change->scope : "", change->alias != NULL ? " alias " : "",
               change->alias != NULL ? change->alias : "", why);
  return FALSE;
}

static DaPool *
replay_pool (DaEngine *engine, DaScope *scope, const char *type_name, GError **error)
{
  DaPool *pool = type_name != NULL ? da_scope_get_pool (scope, type_name) : NULL;
  DaAddressType *type;

  if (pool != NULL)
    return pool;
  type = lookup_type (engine, type_name, error);
  return type != NULL ? prim_pool_create (scope, type, NULL) : NULL;
}

gboolean
da_engine_apply (DaEngine *engine, const DaChange *change, GError **error)
{
  DaScope *scope = da_engine_lookup_scope (engine, change->scope);
  DaReservation *res = NULL;
  DaPool *pool;

  if (change->kind == DA_CHANGE_SCOPE_CREATE) {
    if (scope != NULL)
      return replay_error (error, change, "the scope exists");
    if (!da_name_validate ("vm name", change->scope, error))
      return FALSE;
    prim_scope_create (engine, change->scope, change->template_name, NULL);
    return TRUE;
  }
  if (scope == NULL)
    return replay_error (error, change, "no such scope");
  if (change->alias != NULL)
    res = da_scope_lookup (scope, change->alias);

  switch (change->kind) {
  case DA_CHANGE_SCOPE_DELETE:
    if (da_scope_is_host (scope))
      return replay_error (error, change, "the host scope cannot be deleted");
    prim_scope_delete (engine, scope, NULL);
    return TRUE;
  case DA_CHANGE_POOL_ADD:
    pool = replay_pool (engine, scope, change->type, error);
    return pool != NULL && prim_pool_add (scope, pool->type, change->start, change->end, change->tag, NULL, error);
  case DA_CHANGE_RESERVE:
    pool = replay_pool (engine, scope, change->type, error);
    if (pool == NULL)
      return FALSE;
    if (change->alias == NULL)
      return replay_error (error, change, "no alias");
    if (!da_name_validate ("alias", change->alias, error))
      return FALSE;
    if (res != NULL)
      return replay_error (error, change, "the alias exists");
    if (change->count == 0 || change->start > G_MAXUINT64 - (change->count - 1)
        || change->start + (change->count - 1) > da_address_type_get_key_max (pool->type)
        || change->state > DA_STATE_RELEASING || change->mode > DA_MODE_STATIC)
      return replay_error (error, change, "bad address, count, state or mode");
    if (da_range_map_intersects (pool->used, change->start, change->start + (change->count - 1)))
      return replay_error (error, change, "the address is taken");
    prim_reserve (pool, change->alias, strlen (change->alias), da_alias_hash (change->alias), change->start, change->count,
                  change->mode, change->state, change->flags, change->time, change->cursor, NULL);
    return TRUE;
  case DA_CHANGE_STATE:
    if (res == NULL)
      return replay_error (error, change, "no such reservation");
    if (change->state > DA_STATE_RELEASING)
      return replay_error (error, change, "bad state");
    prim_state (res, change->state, change->time, NULL);
    return TRUE;
  case DA_CHANGE_RELEASE:
    if (res == NULL)
      return replay_error (error, change, "no such reservation");
    prim_release (res, da_alias_hash (res->alias), change->time, change->expired, NULL);
    return TRUE;
  case DA_CHANGE_COOL:
    pool = replay_pool (engine, scope, change->type, error);
    if (pool == NULL)
      return FALSE;
    if (change->start > change->end)
      return replay_error (error, change, "bad range");
    add_cooling (pool, change->start, change->end, change->time, NULL);
    return TRUE;
  case DA_CHANGE_CURSOR:
    pool = replay_pool (engine, scope, change->type, error);
    if (pool == NULL)
      return FALSE;
    pool->cursor = change->start;
    return TRUE;
  case DA_CHANGE_POOL_REMOVE:
    pool = replay_pool (engine, scope, change->type, error);
    if (pool == NULL)
      return FALSE;
    if (change->start > change->end)
      return replay_error (error, change, "bad range");
    if (change->tag == NULL && da_range_map_intersects (pool->used, change->start, change->end))
      return replay_error (error, change, "a reservation holds some of the keys");
    prim_pool_remove (pool, change->start, change->end, change->tag, NULL);
    return TRUE;
  case DA_CHANGE_SCOPE_CREATE:
  default:
    return replay_error (error, change, "unknown change");
  }
}

static void
dump_set (DaScope *scope, DaPool *pool, const DaRangeMap *set, const char *tag, DaChangeFunc func, gpointer user_data)
{
  DaRangeMapIter iter;
  DaRange range;
  DaChange change = { .kind = DA_CHANGE_POOL_ADD, .scope = scope->name, .tag = (char *) tag,
                      .type = (char *) da_address_type_get_name (pool->type) };

  da_range_map_iter_init (&iter, set, 0);
  while (da_range_map_iter_next (&iter, &range, NULL)) {
    change.start = range.start;
    change.end = range.end;
    func (&change, user_data);
  }
}

static void
dump_scope (DaScope *scope, gint64 now, DaChangeFunc func, gpointer user_data)
{
  g_autoptr (GPtrArray) pools = da_scope_list_pools (scope);

  if (!da_scope_is_host (scope)) {
    DaChange change = { .kind = DA_CHANGE_SCOPE_CREATE, .scope = scope->name, .template_name = scope->template_name };

    func (&change, user_data);
  }
  for (guint i = 0; i < pools->len; i++) {
    DaPool *pool = g_ptr_array_index (pools, i);
    char *type_name = (char *) da_address_type_get_name (pool->type);
    g_auto (GStrv) tags = da_pool_list_tags (pool);
    DaRangeMapIter iter;
    DaRange range;
    gpointer value;

    dump_set (scope, pool, pool->ranges, NULL, func, user_data);
    for (guint j = 0; tags[j] != NULL; j++)
      dump_set (scope, pool, g_hash_table_lookup (pool->tags, tags[j]), tags[j], func, user_data);
    if (pool->cursor != 0) {
      DaChange change = { .kind = DA_CHANGE_CURSOR, .scope = scope->name, .type = type_name, .start = pool->cursor };

      func (&change, user_data);
    }
    da_range_map_iter_init (&iter, pool->cooling, 0);
    while (da_range_map_iter_next (&iter, &range, &value)) {
      DaChange change = { .kind = DA_CHANGE_COOL, .scope = scope->name, .type = type_name,
                          .start = range.start, .end = range.end, .time = ((DaCooling *) value)->until };

      if (change.time > now)
        func (&change, user_data);
    }
    da_range_map_iter_init (&iter, pool->used, 0);
    while (da_range_map_iter_next (&iter, NULL, &value)) {
      DaReservation *res = value;
      DaChange change = { .kind = DA_CHANGE_RESERVE, .scope = scope->name, .type = type_name,
                          .alias = res->alias, .start = res->start, .count = reservation_count (res),
                          .mode = (DaMode) res->mode, .state = (DaState) res->state, .flags = res->flags,
                          .time = da_reservation_get_deadline (res) };

      func (&change, user_data);
    }
  }
}

void
da_engine_dump (DaEngine *engine, gint64 now, DaChangeFunc func, gpointer user_data)
{
  g_autoptr (GPtrArray) vms = da_engine_list_vms (engine);

  dump_scope (engine->host, now, func, user_data);
  for (guint i = 0; i < vms->len; i++)
    dump_scope (g_ptr_array_index (vms, i), now, func, user_data);
}
