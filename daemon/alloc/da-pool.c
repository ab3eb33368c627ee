/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-engine-private.h"

/*
 * Searching a pool is a fixpoint iteration over one candidate start k:
 * every constraint (alignment, box, pool ranges, required and forbidden
 * tags, free keys) either accepts k or moves it to the next start it could
 * accept.  Moves only go one way, and each one skips at least one range of
 * some set, so the search ends after at most as many moves as there are
 * ranges involved, each of them logarithmic; in the common case it is a
 * handful of moves.  Going forward, what a set answered stays true while k
 * has not passed the range (or free run) it named, so each set is asked
 * again only then.
 */

static gboolean
add_overflows (guint64 a, guint64 b)
{
  return a > G_MAXUINT64 - b;
}

/* Isolation: every block of s->block keys that the run [k, k + count - 1]
 * touches must be unreserved, wherever in its block the run starts.  The
 * keys that must be free for a run at k are [*first, *last]. */
static void
needed_free (const DaSearch *s, guint64 k, guint64 *first, guint64 *last)
{
  guint64 end = k + (s->count - 1);

  *first = k - k % s->block;
  end -= end % s->block;
  *last = add_overflows (end, s->block - 1) ? G_MAXUINT64 : end + (s->block - 1);
}

/* the fewest keys a run's blocks take: count rounded up to blocks; FALSE
 * when that does not fit in 64 bits */
static gboolean
blocks_length (const DaSearch *s, guint64 *length)
{
  guint64 rest = s->count % s->block;

  *length = s->count - rest;
  if (rest != 0 && add_overflows (*length, s->block))
    return FALSE;
  if (rest != 0)
    *length += s->block;
  return TRUE;
}

static gboolean
all_free (const DaRangeMap *used, guint64 first, guint64 last)
{
  guint64 at;

  if (first == 0 && last == G_MAXUINT64)
    return da_range_map_n_ranges (used) == 0;
  return da_range_map_find_gap (used, first, last, last - first + 1, &at) && at == first;
}

gboolean
da_search_forward (const DaSearch *s, const DaAddressType *type, guint64 from, guint64 *found)
{
  /* the last answer of each set; bit i of *_known: set i has answered */
  DaRange required[G_N_ELEMENTS (s->required)];
  DaRange forbidden[G_N_ELEMENTS (s->forbidden)];
  guint required_known = 0, forbidden_known = 0, forbidden_none = 0;
  DaRange free_run = { 0, 0 };
  gboolean free_known = FALSE;
  guint64 k, last_start;

  if (s->count == 0 || s->block == 0 || s->lo > s->hi || s->hi - s->lo < s->count - 1)
    return FALSE;
  /* every row of a box is as long as the others: a run longer than one
   * fits nowhere, and walking the rows to find that out takes forever */
  if (s->box != NULL && da_box_row_length (type, s->box) < s->count)
    return FALSE;
  last_start = s->hi - (s->count - 1);
  k = MAX (from, s->lo);

  for (;;) {
    guint64 next = k;
    gboolean moved = FALSE;

    if (k > last_start)
      return FALSE;

    if (s->align > 1 && k % s->align != 0) {
      if (add_overflows (k, s->align - k % s->align))
        return FALSE;
      k += s->align - k % s->align;
      continue;
    }

    if (s->box != NULL) {
      DaRange row;

      if (!da_box_next (type, s->box, k, &next))
        return FALSE;
      if (next != k) {
        k = next;
        continue;
      }
      da_box_row (type, s->box, k, &row);
      if (row.end - k < s->count - 1) {
        if (row.end == G_MAXUINT64)
          return FALSE;
        k = row.end + 1;
        continue;
      }
    }

    for (guint i = 0; i < s->n_required && !moved; i++) {
      DaRange *r = &required[i];

      /* the first range ending at or after k is the same until k passes it */
      if (!(required_known & (1u << i)) || k > r->end) {
        if (!da_range_map_next (s->required[i], k, r, NULL))
          return FALSE;
        required_known |= 1u << i;
      }
      if (r->start > k) {
        k = r->start;
        moved = TRUE;
      } else if (r->end - k < s->count - 1) {
        if (r->end == G_MAXUINT64)
          return FALSE;
        k = r->end + 1;
        moved = TRUE;
      }
    }
    if (moved)
      continue;

    for (guint i = 0; i < s->n_forbidden && !moved; i++) {
      DaRange *r = &forbidden[i];

      if (!(forbidden_known & (1u << i)) || (!(forbidden_none & (1u << i)) && k > r->end)) {
        if (da_range_map_next (s->forbidden[i], k, r, NULL))
          forbidden_none &= ~(1u << i);
        else
          forbidden_none |= 1u << i;
        forbidden_known |= 1u << i;
      }
      if (!(forbidden_none & (1u << i)) && r->start <= k + (s->count - 1)) {
        if (r->end == G_MAXUINT64)
          return FALSE;
        k = r->end + 1;
        moved = TRUE;
      }
    }
    if (moved)
      continue;

    if (s->used != NULL && s->block == 1) {
      /* a free run from free_run.start to free_run.end answers for every k
       * up to where count keys no longer fit in it */
      if (!free_known || k > free_run.end - (s->count - 1)) {
        if (!da_range_map_find_gap_run (s->used, k, G_MAXUINT64, s->count, &free_run))
          return FALSE;
        free_known = TRUE;
      }
      if (free_run.start > k) {
        k = free_run.start;
        continue;
      }
    } else if (s->used != NULL) {
      guint64 first, last, length;

      needed_free (s, k, &first, &last);
      if (!all_free (s->used, first, last)) {
        /* a later start in k's block needs at least the same keys: the
         * next candidate starts a block, where enough keys are free */
        if (!blocks_length (s, &length) || add_overflows (first, s->block)
            || !da_range_map_find_gap (s->used, first + s->block, G_MAXUINT64, length, &next))
          return FALSE;
        if (next % s->block != 0 && add_overflows (next, s->block - next % s->block))
          return FALSE;
        k = next % s->block == 0 ? next : next + (s->block - next % s->block);
        continue;
      }
    }

    *found = k;
    return TRUE;
  }
}

gboolean
da_search_backward (const DaSearch *s, const DaAddressType *type, guint64 from, guint64 *found)
{
  guint64 k;

  if (s->count == 0 || s->block == 0 || s->lo > s->hi || s->hi - s->lo < s->count - 1)
    return FALSE;
  if (s->box != NULL && da_box_row_length (type, s->box) < s->count)
    return FALSE;
  k = MIN (from, s->hi - (s->count - 1));

  for (;;) {
    guint64 next = k;
    gboolean moved = FALSE;
    DaRange r;

    if (k < s->lo)
      return FALSE;

    if (s->align > 1 && k % s->align != 0) {
      k -= k % s->align;
      continue;
    }

    if (s->box != NULL) {
      DaRange row;

      if (!da_box_prev (type, s->box, k, &next))
        return FALSE;
      if (next != k) {
        k = next;
        continue;
      }
      da_box_row (type, s->box, k, &row);
      if (row.end - k < s->count - 1) {
        if (row.end - row.start < s->count - 1) {
          if (row.start == 0)
            return FALSE;
          k = row.start - 1;
        } else {
          k = row.end - (s->count - 1);
        }
        continue;
      }
    }

    for (guint i = 0; i < s->n_required && !moved; i++) {
      if (!da_range_map_prev (s->required[i], k, &r, NULL))
        return FALSE;
      if (r.end - r.start < s->count - 1) {
        if (r.start == 0)
          return FALSE;
        k = r.start - 1;
        moved = TRUE;
      } else if (r.end - (s->count - 1) < k) {
        k = r.end - (s->count - 1);
        moved = TRUE;
      }
    }
    if (moved)
      continue;

    for (guint i = 0; i < s->n_forbidden && !moved; i++) {
      if (da_range_map_prev (s->forbidden[i], k + (s->count - 1), &r, NULL) && r.end >= k) {
        if (r.start < s->count)
          return FALSE;
        k = r.start - s->count;
        moved = TRUE;
      }
    }
    if (moved)
      continue;

    if (s->used != NULL && s->block == 1) {
      guint64 run_end = add_overflows (k, s->count - 1) ? G_MAXUINT64 : k + (s->count - 1);

      if (!da_range_map_find_gap_last (s->used, s->lo, run_end, s->count, &next))
        return FALSE;
      if (next != k) {
        k = next;
        continue;
      }
    } else if (s->used != NULL) {
      guint64 first, last, length, top, end;

      needed_free (s, k, &first, &last);
      if (!all_free (s->used, first, last)) {
        /* an earlier start ends its run at top at the latest: before k's
         * block when that block has a reserved key, else one key earlier */
        if (!all_free (s->used, first, first + (s->block - 1)))
          top = first - 1;
        else
          top = k + (s->count - 1) - 1;
        if (first == 0 && top == G_MAXUINT64)
          return FALSE;
        /* the latest free stretch of whole blocks up to top's block; the
         * run ends at its last block end (or top) */
        end = top - top % s->block;
        end = add_overflows (end, s->block - 1) ? G_MAXUINT64 : end + (s->block - 1);
        if (!blocks_length (s, &length) || !da_range_map_find_gap_last (s->used, 0, end, length, &next))
          return FALSE;
        end = next + (length - 1);
        if ((end + 1) % s->block != 0) {
          if (end % s->block + 1 > end)
            return FALSE;
          end -= end % s->block + 1;
        }
        end = MIN (end, top);
        if (end < s->count - 1)
          return FALSE;
        k = end - (s->count - 1);
        continue;
      }
    }

    *found = k;
    return TRUE;
  }
}

DaPool *
da_pool_new (DaScope *scope, DaAddressType *type)
{
  DaPool *pool = g_new0 (DaPool, 1);

  pool->scope = scope;
  pool->type = da_address_type_ref (type);
  pool->ranges = da_range_map_new_set ();
  pool->tags = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) da_range_map_free);
  /* the engine's slab owns the reservations */
  pool->used = da_range_map_new (NULL);
  pool->cooling = da_range_map_new (NULL);
  pool->cooling_order = g_array_new (FALSE, FALSE, sizeof (DaCoolingDue));
  return pool;
}

void
da_pool_keys_changed (DaPool *pool)
{
  DaRange first, last;

  /* a window too wide, or one that leaves a reservation out, keeps the tree */
  if (da_range_map_first (pool->ranges, &first, NULL) && da_range_map_last (pool->ranges, &last, NULL))
    da_range_map_set_window (pool->used, first.start, last.end);
}

void
da_pool_free (DaPool *pool)
{
  DaRangeMapIter iter;
  gpointer res;

  if (pool == NULL)
    return;
  da_range_map_iter_init (&iter, pool->used, 0);
  while (da_range_map_iter_next (&iter, NULL, &res))
    da_reservation_free (pool->scope->engine, res);
  da_range_map_iter_init (&iter, pool->cooling, 0);
  while (da_range_map_iter_next (&iter, NULL, &res))
    da_slab_free (&pool->scope->engine->reservations, ((DaCooling *) res)->id);
  da_range_map_free (pool->used);
  da_range_map_free (pool->cooling);
  g_array_unref (pool->cooling_order);
  da_range_map_free (pool->ranges);
  g_hash_table_unref (pool->tags);
  da_address_type_unref (pool->type);
  g_free (pool);
}

/* the heap of cool-down ends, ordered by until */
static void
due_push (GArray *heap, DaCoolingDue due)
{
  DaCoolingDue *d;
  guint i;

  g_array_append_val (heap, due);
  d = (DaCoolingDue *) (gpointer) heap->data;
  for (i = heap->len - 1; i > 0 && d[(i - 1) / 2].until > due.until; i = (i - 1) / 2)
    d[i] = d[(i - 1) / 2];
  d[i] = due;
}

static void
due_pop (GArray *heap)
{
  DaCoolingDue *d = (DaCoolingDue *) (gpointer) heap->data;
  DaCoolingDue last = d[heap->len - 1];
  guint n = heap->len - 1, i = 0;

  for (;;) {
    guint child = 2 * i + 1;

    if (child >= n)
      break;
    if (child + 1 < n && d[child + 1].until < d[child].until)
      child++;
    if (d[child].until >= last.until)
      break;
    d[i] = d[child];
    i = child;
  }
  d[i] = last;
  g_array_set_size (heap, n);
}

void
da_pool_cool (DaPool *pool, guint64 start, guint64 end, gint64 until)
{
  guint32 id;
  DaCooling *cooling = da_slab_alloc (&pool->scope->engine->reservations, sizeof (DaCooling), &id);

  cooling->until = until;
  cooling->id = id;
  if (!da_range_map_insert (pool->cooling, start, end, cooling)) {
    da_slab_free (&pool->scope->engine->reservations, id);
    return;
  }
  due_push (pool->cooling_order, (DaCoolingDue) { until, start });
}

gboolean
da_pool_uncool (DaPool *pool, guint64 start)
{
  DaCooling *cooling = da_range_map_steal (pool->cooling, start);

  /* its entry in the heap goes stale and is dropped when it comes up */
  if (cooling == NULL)
    return FALSE;
  da_slab_free (&pool->scope->engine->reservations, cooling->id);
  return TRUE;
}

void
da_pool_prune_cooling (DaPool *pool, gint64 now)
{
  GArray *heap = pool->cooling_order;

  while (heap->len > 0) {
    DaCoolingDue due = g_array_index (heap, DaCoolingDue, 0);
    DaRange range;
    gpointer value;

    if (due.until > now)
      break;
    due_pop (heap);
    /* a run cooled again since, or gone, has an entry of its own or none */
    if (da_range_map_lookup (pool->cooling, due.start, &range, &value) && range.start == due.start
        && ((DaCooling *) value)->until == due.until)
      da_pool_uncool (pool, due.start);
  }
}

DaAddressType *
da_pool_get_address_type (DaPool *pool)
{
  return pool->type;
}

const DaRangeMap *
da_pool_get_ranges (DaPool *pool)
{
  return pool->ranges;
}

const DaRangeMap *
da_pool_get_tag (DaPool *pool, const char *tag)
{
  return g_hash_table_lookup (pool->tags, tag);
}

static gint
compare_str_ptrs (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

char **
da_pool_list_tags (DaPool *pool)
{
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (pool->tags, NULL);
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; keys[i] != NULL; i++)
    g_ptr_array_add (out, g_strdup (keys[i]));
  g_ptr_array_sort (out, compare_str_ptrs);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

GPtrArray *
da_pool_list_reservations (DaPool *pool)
{
  GPtrArray *out = g_ptr_array_sized_new (pool->n_reservations);
  DaRangeMapIter iter;
  gpointer value;

  da_range_map_iter_init (&iter, pool->used, 0);
  while (da_range_map_iter_next (&iter, NULL, &value))
    g_ptr_array_add (out, value);
  return out;
}

static guint64
saturating_add (guint64 a, guint64 b)
{
  return add_overflows (a, b) ? G_MAXUINT64 : a + b;
}

static guint64
range_length (guint64 start, guint64 end)
{
  return end - start == G_MAXUINT64 ? G_MAXUINT64 : end - start + 1;
}

/* capacity, use and largest free run over the keys of [a, b] */
static void
count_piece (DaPool *pool, guint64 a, guint64 b, DaPoolCounts *counts)
{
  DaRangeMapIter iter;
  DaRange run;

  counts->capacity = saturating_add (counts->capacity, range_length (a, b));
  da_range_map_iter_init (&iter, pool->used, a);
  while (da_range_map_iter_next (&iter, &run, NULL) && run.start <= b)
    counts->used = saturating_add (counts->used, range_length (MAX (run.start, a), MIN (run.end, b)));
  counts->largest_free_run = MAX (counts->largest_free_run, da_range_map_largest_gap (pool->used, a, b));
}

void
da_pool_get_counts (DaPool *pool, DaPoolCounts *counts)
{
  DaRangeMapIter iter;
  DaRange range;

  memset (counts, 0, sizeof (*counts));
  counts->capacity = da_range_map_n_keys (pool->ranges);
  counts->used = pool->used_keys;
  counts->n_reservations = pool->n_reservations;
  da_range_map_iter_init (&iter, pool->ranges, 0);
  while (da_range_map_iter_next (&iter, &range, NULL))
    counts->largest_free_run = MAX (counts->largest_free_run, da_range_map_largest_gap (pool->used, range.start, range.end));
  counts->free = counts->capacity >= counts->used ? counts->capacity - counts->used : 0;
}

void
da_pool_get_counts_within (DaPool *pool, const DaRangeMap *within, DaPoolCounts *counts)
{
  DaRangeMapIter iter;
  DaRange piece;

  memset (counts, 0, sizeof (*counts));
  da_range_map_iter_init (&iter, within, 0);
  while (da_range_map_iter_next (&iter, &piece, NULL)) {
    DaRangeMapIter inner;
    DaRange range;

    da_range_map_iter_init (&inner, pool->ranges, piece.start);
    while (da_range_map_iter_next (&inner, &range, NULL) && range.start <= piece.end)
      count_piece (pool, MAX (range.start, piece.start), MIN (range.end, piece.end), counts);
  }
  counts->free = counts->capacity >= counts->used ? counts->capacity - counts->used : 0;
}

DaRangeMap *
da_pool_copy_free (DaPool *pool)
{
  DaRangeMap *free_keys = da_range_map_copy (pool->ranges);
  DaRangeMapIter iter;
  DaRange run;

  da_range_map_iter_init (&iter, pool->used, 0);
  while (da_range_map_iter_next (&iter, &run, NULL))
    da_range_map_remove (free_keys, run.start, run.end);
  return free_keys;
}

char *
da_pool_describe_ranges (DaPool *pool, guint max_ranges)
{
  GString *out = g_string_new (NULL);
  DaRangeMapIter iter;
  DaRange range;
  guint n = 0;

  da_range_map_iter_init (&iter, pool->ranges, 0);
  while (da_range_map_iter_next (&iter, &range, NULL)) {
    g_autofree char *first = da_address_type_format_key (pool->type, range.start);

    if (n++ == max_ranges) {
      g_string_append_printf (out, " and %u more", da_range_map_n_ranges (pool->ranges) - max_ranges);
      break;
    }
    if (out->len > 0)
      g_string_append (out, ", ");
    g_string_append (out, first);
    if (range.end != range.start) {
      g_autofree char *last = da_address_type_format_key (pool->type, range.end);

      g_string_append_printf (out, "-%s", last);
    }
  }
  if (out->len == 0)
    g_string_append (out, "no addresses");
  return g_string_free (out, FALSE);
}

/* the stages of a search, each adding one constraint; when a search fails
 * the first stage that fails on its own is the one to blame */
typedef enum {
  STAGE_POOL,
  STAGE_BOX,
  STAGE_ISOLATE,
  STAGE_TAGS,
  STAGE_ALIGN,
  STAGE_WINDOW,
  STAGE_COOLING,
  STAGE_ALL = STAGE_COOLING,
} Stage;

static gboolean
uses_cooling (DaPolicy policy)
{
  return policy == DA_POLICY_NEXT_FIT || policy == DA_POLICY_RANDOM;
}

static guint64
gcd64 (guint64 a, guint64 b)
{
  while (b != 0) {
    guint64 t = a % b;

    a = b;
    b = t;
  }
  return a;
}

/* FALSE when a required tag does not exist in the pool at all */
static gboolean
build_search (DaPool *pool, const DaConstraint *c, Stage stage, gboolean with_used, DaSearch *s)
{
  guint64 block = 1;

  /* the arrays are read only up to their counts */
  s->count = c->count;
  s->block = 1;
  s->align = 1;
  s->lo = 0;
  s->hi = da_address_type_get_key_max (pool->type);
  s->box = NULL;
  s->required[0] = pool->ranges;
  s->n_required = 1;
  s->n_forbidden = 0;
  s->used = with_used ? pool->used : NULL;

  if (stage >= STAGE_BOX && !da_box_is_full (pool->type, &c->box))
    s->box = &c->box;
  if (stage >= STAGE_ISOLATE && c->isolate >= 0) {
    block = da_address_type_get_dimension (pool->type, (guint) c->isolate)->weight;
    s->block = block;
  }
  if (stage >= STAGE_TAGS) {
    for (guint i = 0; c->tags[i] != NULL; i++) {
      const DaRangeMap *set = g_hash_table_lookup (pool->tags, c->tags[i]);

      if (set == NULL)
        return FALSE;
      s->required[s->n_required++] = set;
    }
    for (guint i = 0; c->not_tags[i] != NULL; i++) {
      const DaRangeMap *set = g_hash_table_lookup (pool->tags, c->not_tags[i]);

      if (set != NULL)
        s->forbidden[s->n_forbidden++] = set;
    }
  }
  if (stage >= STAGE_ALIGN && c->align > 1) {
    guint64 g = gcd64 (s->align, c->align);

    /* lcm; an alignment beyond 64 bits cannot be met */
    if (s->align / g > G_MAXUINT64 / c->align)
      s->align = G_MAXUINT64;
    else
      s->align = s->align / g * c->align;
  }
  if (stage >= STAGE_WINDOW) {
    s->lo = MAX (s->lo, c->min);
    s->hi = MIN (s->hi, c->max);
  }
  if (stage >= STAGE_COOLING && uses_cooling (c->policy) && da_range_map_n_ranges (pool->cooling) > 0)
    s->forbidden[s->n_forbidden++] = pool->cooling;
  return TRUE;
}

static gboolean
run_search (DaPool *pool, const DaSearch *s, DaPolicy policy, guint64 random, guint64 *found)
{
  guint64 last_start, from;

  if (s->lo > s->hi || s->hi - s->lo < s->count - 1)
    return FALSE;
  last_start = s->hi - (s->count - 1);
  switch (policy) {
  case DA_POLICY_LAST_FIT:
    return da_search_backward (s, pool->type, last_start, found);
  case DA_POLICY_NEXT_FIT:
    from = CLAMP (pool->cursor, s->lo, last_start);
    return da_search_forward (s, pool->type, from, found)
           || (from > s->lo && da_search_forward (s, pool->type, s->lo, found));
  case DA_POLICY_RANDOM: {
    /* a random start between the pool's first and last key, then first
     * fit from there, wrapping once; spread matters here, not uniformity
     * over the free keys */
    DaRange first, last;
    guint64 lo = s->lo, hi = last_start, span;

    if (da_range_map_first (pool->ranges, &first, NULL) && da_range_map_last (pool->ranges, &last, NULL)) {
      lo = MAX (lo, first.start);
      hi = MIN (hi, last.end >= s->count - 1 ? last.end - (s->count - 1) : 0);
    }
    if (lo > hi)
      return da_search_forward (s, pool->type, s->lo, found);
    span = hi - lo;
    from = span == G_MAXUINT64 ? random : lo + random % (span + 1);
    return da_search_forward (s, pool->type, from, found)
           || (from > s->lo && da_search_forward (s, pool->type, s->lo, found));
  }
  case DA_POLICY_FIRST_FIT:
  default:
    return da_search_forward (s, pool->type, s->lo, found);
  }
}

static char *
join_tags (const char *const *tags)
{
  return g_strjoinv (", ", (char **) tags);
}

static char *
explain_stage (DaPool *pool, const DaConstraint *c, Stage stage, gboolean dynamic)
{
  const char *full = dynamic ? da_address_type_get_full_message (pool->type) : NULL;
  g_autofree char *box = da_box_to_string (pool->type, &c->box);
  g_autofree char *within = box != NULL ? g_strdup_printf (" within %s", box) : g_strdup ("");

  if (full != NULL && stage <= STAGE_ISOLATE && da_box_row_length (pool->type, &c->box) >= c->count)
    return g_strdup_printf ("%s%s", full, within);
  switch (stage) {
  case STAGE_POOL:
    return c->count > 1 ? g_strdup_printf ("no run of %" G_GUINT64_FORMAT " free addresses", c->count)
                        : g_strdup ("the pool is full");
  case STAGE_BOX:
    if (da_box_row_length (pool->type, &c->box) < c->count)
      return g_strdup_printf ("a run of %" G_GUINT64_FORMAT " addresses does not fit%s, whose runs are %" G_GUINT64_FORMAT " long",
                              c->count, within, da_box_row_length (pool->type, &c->box));
    return g_strdup_printf ("nothing free%s", within);
  case STAGE_ISOLATE:
    return g_strdup_printf ("no %s is entirely free%s",
                            da_address_type_get_dimension (pool->type, (guint) c->isolate)->name, within);
  case STAGE_TAGS: {
    g_autofree char *tags = join_tags (c->tags);
    g_autofree char *not_tags = join_tags (c->not_tags);

    for (guint i = 0; c->tags[i] != NULL; i++)
      if (!g_hash_table_contains (pool->tags, c->tags[i]))
        return g_strdup_printf ("no address in the pool has tag %s", c->tags[i]);
    return g_strdup_printf ("nothing free%s%s%s%s%s", within,
                            *tags ? " with tags " : "", tags, *not_tags ? " and without " : "", not_tags);
  }
  case STAGE_ALIGN:
    return g_strdup_printf ("no free run aligned to 0x%" G_GINT64_MODIFIER "x%s", c->align, within);
  case STAGE_WINDOW: {
    g_autofree char *lo = da_address_type_format_key (pool->type, MIN (c->min, da_address_type_get_key_max (pool->type)));
    g_autofree char *hi = da_address_type_format_key (pool->type, MIN (c->max, da_address_type_get_key_max (pool->type)));

    return g_strdup_printf ("nothing free between %s and %s%s", lo, hi, within);
  }
  case STAGE_COOLING:
  default:
    return g_strdup ("every free address that fits was released moments ago and is cooling down");
  }
}

static char *
describe_failure (DaPool *pool, const DaConstraint *c, guint64 random, gboolean with_used)
{
  DaPoolCounts counts;
  g_autofree char *reason = NULL;

  for (Stage stage = STAGE_POOL; stage <= STAGE_ALL; stage++) {
    DaSearch s;
    guint64 found;

    if (!build_search (pool, c, stage, with_used, &s) || !run_search (pool, &s, DA_POLICY_FIRST_FIT, random, &found)) {
      reason = explain_stage (pool, c, stage, TRUE);
      break;
    }
  }
  if (reason == NULL)
    reason = g_strdup ("no address satisfies the constraint");
  da_pool_get_counts (pool, &counts);
  return g_strdup_printf ("%s (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " addresses in use, largest free run %" G_GUINT64_FORMAT ")",
                          reason, counts.used, counts.capacity, counts.largest_free_run);
}

gboolean
da_pool_allocate (DaPool *pool, const DaConstraint *constraint, gint64 now, guint64 random,
                  guint64 *start, char **failure)
{
  DaSearch s;
  DaRange keys, run;

  /* the usual request on a pool that is one run of keys (ids, MACs, the
   * ports of one bus): first fit asking only for a count, whose answer is
   * the first free run of count keys in that run */
  if (constraint->policy == DA_POLICY_FIRST_FIT && constraint->isolate < 0 && constraint->align <= 1
      && constraint->tags[0] == NULL && constraint->not_tags[0] == NULL
      && da_range_map_get_single (pool->ranges, &keys) && da_box_is_full (pool->type, &constraint->box)
      && MAX (keys.start, constraint->min) <= MIN (keys.end, constraint->max)
      && da_range_map_find_gap_run (pool->used, MAX (keys.start, constraint->min), MIN (keys.end, constraint->max),
                                    constraint->count, &run)) {
    *start = run.start;
    return TRUE;
  }
  if (uses_cooling (constraint->policy))
    da_pool_prune_cooling (pool, now);
  if (build_search (pool, constraint, STAGE_ALL, TRUE, &s)
      && run_search (pool, &s, constraint->policy, random, start))
    return TRUE;
  *failure = describe_failure (pool, constraint, random, TRUE);
  return FALSE;
}

/* whether the run at start passes every stage up to last on its own */
static gboolean
exact_fits (DaPool *pool, const DaConstraint *c, Stage last, guint64 start)
{
  DaSearch s;
  guint64 found;

  if (!build_search (pool, c, last, FALSE, &s))
    return FALSE;
  s.lo = MAX (s.lo, start);
  s.hi = MIN (s.hi, start + (c->count - 1));
  return da_search_forward (&s, pool->type, start, &found) && found == start;
}

gboolean
da_pool_check_exact (DaPool *pool, const DaConstraint *constraint, guint64 start, char **failure)
{
  DaConstraint exact;

  if (add_overflows (start, constraint->count - 1)) {
    *failure = g_strdup ("the run goes past the end of the address space");
    return FALSE;
  }
  /* the usual exact request asks for no tags, alignment nor box: it fits
   * when one range of the pool holds the run and the window does */
  if (constraint->tags[0] == NULL && constraint->not_tags[0] == NULL && constraint->align <= 1
      && start >= constraint->min && start + (constraint->count - 1) <= constraint->max
      && da_box_is_full (pool->type, &constraint->box)) {
    guint64 last = start + (constraint->count - 1);
    DaRange range;

    if (da_range_map_get_single (pool->ranges, &range) ? range.start <= start && last <= range.end
        : da_range_map_lookup (pool->ranges, start, &range, NULL) && last <= range.end)
      return TRUE;
  }
  /* an exact request ignores policy, isolation and cool-down: the caller chose */
  exact = *constraint;
  exact.policy = DA_POLICY_FIRST_FIT;
  exact.isolate = -1;
  /* a run that fits costs one search; only a failure goes stage by stage
   * to find the constraint to blame */
  if (exact_fits (pool, &exact, STAGE_WINDOW, start))
    return TRUE;
  for (Stage stage = STAGE_POOL; stage <= STAGE_WINDOW; stage++) {
    if (exact_fits (pool, &exact, stage, start))
      continue;
    if (stage == STAGE_POOL) {
      g_autofree char *ranges = da_pool_describe_ranges (pool, 4);

      *failure = g_strdup_printf ("it is not in the pool (the pool holds %s)", ranges);
    } else {
      g_autofree char *why = explain_stage (pool, &exact, stage, FALSE);

      *failure = g_strdup_printf ("it does not satisfy the constraint: %s", why);
    }
    return FALSE;
  }
  /* not reached: the last stage is the check above */
  return TRUE;
}
