/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/alloc/da-range-map.h"
#include "tests/common/da-test-suite.h"

/* This file is built three times: against the library, and with the range
 * map compiled in with tiny nodes (DA_RANGE_MAP_LEAF_MAX and friends set),
 * so that the same operations split and merge nodes many levels deep, once
 * of them with every map taken as large from its first node on
 * (DA_RANGE_MAP_LARGE_BYTES=1), so that each look remembers its way and the
 * change after it starts from there. */
#if defined(DA_RANGE_MAP_LARGE_BYTES)
#define VARIANT "tiny nodes, every map large"
#elif defined(DA_RANGE_MAP_LEAF_MAX)
#define VARIANT "tiny nodes"
#else
#define VARIANT "default nodes"
#endif

#ifdef DA_RANGE_MAP_COUNT_VISITS
extern guint64 da_range_map_visits;
#endif

/* ------------------------------------------------------------------------
 * the model: a universe of cells.  Cells [0, n_low) are the keys 0.., one
 * cell stands for the whole middle of the key space, and the last n_high
 * cells are the keys ..G_MAXUINT64.  Every operation the tests make is cell
 * aligned, so a bitmap of cells (sets) or a sorted array (maps) describes
 * the map exactly, edges and 2^64 included; queries use any key. */

typedef struct {
  guint64 start;
  guint64 end;
  gpointer value;
} Entry;

typedef struct {
  gboolean is_set;
  guint n_low;
  guint n_high;
  guint n_cells;
  guint8 *cells;   /* sets */
  GArray *entries; /* the expected ranges in order; derived from cells for sets */
} Model;

static guint64
cell_start (const Model *m, guint c)
{
  if (c <= m->n_low)
    return c;
  return G_MAXUINT64 - (m->n_cells - 1 - c);
}

static guint64
cell_end (const Model *m, guint c)
{
  if (c < m->n_low)
    return c;
  if (c == m->n_low)
    return G_MAXUINT64 - m->n_high;
  return cell_start (m, c);
}

static Model *
model_new (gboolean is_set, guint n_low, guint n_high)
{
  Model *m = g_new0 (Model, 1);

  m->is_set = is_set;
  m->n_low = n_low;
  m->n_high = n_high;
  m->n_cells = n_low + 1 + n_high;
  m->cells = g_new0 (guint8, m->n_cells);
  m->entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  return m;
}

static void
model_free (Model *m)
{
  g_free (m->cells);
  g_array_unref (m->entries);
  g_free (m);
}

static Entry *
entry_at (const Model *m, guint i)
{
  return &g_array_index (m->entries, Entry, i);
}

static void
model_rebuild_from_cells (Model *m)
{
  g_array_set_size (m->entries, 0);
  for (guint c = 0; c < m->n_cells;) {
    Entry e = { 0 };
    guint d = c;

    if (!m->cells[c]) {
      c++;
      continue;
    }
    while (d + 1 < m->n_cells && m->cells[d + 1])
      d++;
    e.start = cell_start (m, c);
    e.end = cell_end (m, d);
    g_array_append_val (m->entries, e);
    c = d + 1;
  }
}

static gint
model_lookup (const Model *m, guint64 key)
{
  for (guint i = 0; i < m->entries->len; i++) {
    if (entry_at (m, i)->start <= key && key <= entry_at (m, i)->end)
      return (gint) i;
  }
  return -1;
}

static gint
model_next (const Model *m, guint64 key)
{
  for (guint i = 0; i < m->entries->len; i++) {
    if (entry_at (m, i)->end >= key)
      return (gint) i;
  }
  return -1;
}

static gint
model_prev (const Model *m, guint64 key)
{
  for (guint i = m->entries->len; i > 0; i--) {
    if (entry_at (m, i - 1)->start <= key)
      return (gint) i - 1;
  }
  return -1;
}

static gboolean
model_intersects (const Model *m, guint64 s, guint64 e)
{
  for (guint i = 0; i < m->entries->len; i++) {
    if (entry_at (m, i)->start <= e && entry_at (m, i)->end >= s)
      return TRUE;
  }
  return FALSE;
}

static guint64
model_n_keys (const Model *m)
{
  guint64 total = 0;

  for (guint i = 0; i < m->entries->len; i++) {
    guint64 len = entry_at (m, i)->end - entry_at (m, i)->start + 1;

    if (len == 0 || total + len < total)
      return G_MAXUINT64;
    total += len;
  }
  return total;
}

/* the uncovered runs, in order, as the complement of the entries */
static GArray *
model_free_runs (const Model *m)
{
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (Entry));
  guint64 next = 0;
  gboolean more = TRUE;

  for (guint i = 0; i < m->entries->len && more; i++) {
    const Entry *e = entry_at (m, i);

    if (e->start > next) {
      Entry run = { next, e->start - 1, NULL };

      g_array_append_val (runs, run);
    }
    if (e->end == G_MAXUINT64)
      more = FALSE;
    else
      next = e->end + 1;
  }
  if (more) {
    Entry run = { next, G_MAXUINT64, NULL };

    g_array_append_val (runs, run);
  }
  return runs;
}

static gboolean
model_find_gap (const Model *m, guint64 lo, guint64 hi, guint64 count, gboolean last, guint64 *found)
{
  g_autoptr (GArray) runs = model_free_runs (m);
  gboolean any = FALSE;

  if (count == 0 || lo > hi)
    return FALSE;
  for (guint i = 0; i < runs->len; i++) {
    const Entry *r = &g_array_index (runs, Entry, i);
    guint64 s = MAX (r->start, lo), e = MIN (r->end, hi);

    if (s > e || e - s < count - 1)
      continue;
    if (!last) {
      *found = s;
      return TRUE;
    }
    *found = e - (count - 1);
    any = TRUE;
  }
  return any;
}

static guint64
model_largest_gap (const Model *m, guint64 lo, guint64 hi)
{
  g_autoptr (GArray) runs = model_free_runs (m);
  guint64 best = 0;

  if (lo > hi)
    return 0;
  for (guint i = 0; i < runs->len; i++) {
    const Entry *r = &g_array_index (runs, Entry, i);
    guint64 s = MAX (r->start, lo), e = MIN (r->end, hi);

    if (s <= e)
      best = MAX (best, e - s == G_MAXUINT64 ? G_MAXUINT64 : e - s + 1);
  }
  return best;
}

/* key by key over a small window: the most literal reading of the contract */
static void
brute_gaps (const Model *m, guint64 lo, guint64 hi, guint64 count, gboolean *ok_first, guint64 *first,
            gboolean *ok_last, guint64 *last, guint64 *largest)
{
  guint64 run = 0;
  guint idx = 0;

  *ok_first = *ok_last = FALSE;
  *largest = 0;
  for (guint64 k = lo;; k++) {
    gboolean covered;

    while (idx < m->entries->len && entry_at (m, idx)->end < k)
      idx++;
    covered = idx < m->entries->len && entry_at (m, idx)->start <= k;
    run = covered ? 0 : run + 1;
    *largest = MAX (*largest, run);
    if (count > 0 && run >= count) {
      if (!*ok_first) {
        *ok_first = TRUE;
        *first = k - count + 1;
      }
      *ok_last = TRUE;
      *last = k - count + 1;
    }
    if (k == hi)
      break;
  }
}

/* ------------------------------------------------------------------------
 * values and log capture */

static guint n_freed;
static gpointer last_freed;
static guint last_freed_id;
static guint n_criticals;

static void
value_free_counted (gpointer value)
{
  n_freed++;
  last_freed = value;
  last_freed_id = *(guint *) value;
  g_free (value);
}

static gpointer
value_dup (gconstpointer value, gpointer user_data)
{
  return g_memdup2 (value, sizeof (guint));
}

static gpointer
value_new (guint id)
{
  guint *v = g_new (guint, 1);

  *v = id;
  return v;
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  /* the iterator misuse test expects exactly one critical */
  if (level & G_LOG_LEVEL_CRITICAL) {
    n_criticals++;
    return G_LOG_WRITER_HANDLED;
  }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* ------------------------------------------------------------------------
 * the comparison of every query with the model */

/* ck_assert records every passing assertion with a system call; the
 * comparison loops run millions of them, so they only call check to fail */
#define EXPECT(cond, ...) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) \
      ck_abort_msg (__VA_ARGS__); \
  } G_STMT_END

static const char *ctx_what = "";
static guint ctx_seed;
static guint ctx_step;

#define CTX "%s (" VARIANT ", seed %u, step %u): "
#define CTX_ARGS ctx_what, ctx_seed, ctx_step

static guint64
random_key (const Model *m, GRand *r)
{
  guint c = (guint) g_rand_int_range (r, 0, (gint32) m->n_cells);
  guint64 wide = ((guint64) g_rand_int (r) << 32) | g_rand_int (r);

  switch (g_rand_int_range (r, 0, 8)) {
  case 0:
  case 1:
    return cell_start (m, c);
  case 2:
    return cell_end (m, c);
  case 3:
    return cell_start (m, c) - 1; /* wraps at 0 on purpose */
  case 4:
    return cell_end (m, c) + 1; /* wraps at the top on purpose */
  case 5:
    return m->n_low + wide % (G_MAXUINT64 - m->n_high - m->n_low + 1);
  case 6:
    return g_rand_boolean (r) ? 0 : G_MAXUINT64;
  default:
    return wide;
  }
}

static guint64
random_count (const Model *m, GRand *r)
{
  guint64 middle = G_MAXUINT64 - m->n_high - m->n_low + 1;

  switch (g_rand_int_range (r, 0, 16)) {
  case 0:
    return 0;
  case 1:
    return G_MAXUINT64;
  case 2:
    return G_MAXUINT64 - (guint64) g_rand_int_range (r, 0, 4096);
  case 3:
    return middle + (guint64) g_rand_int_range (r, -2, 3);
  case 4:
  case 5:
  case 6:
    return (guint64) g_rand_int_range (r, 1, 80);
  default:
    return (guint64) g_rand_int_range (r, 1, 5);
  }
}

static void
assert_entry (const Model *m, gint expect, gboolean got, const DaRange *range, gpointer value, const char *what,
              guint64 key)
{
  EXPECT (got == (expect >= 0), CTX "%s (%" G_GUINT64_FORMAT ") returned %d, expected %d", CTX_ARGS, what,
                 key, got, expect >= 0);
  if (expect >= 0) {
    const Entry *e = entry_at (m, (guint) expect);

    EXPECT (range->start == e->start && range->end == e->end && value == e->value,
                   CTX "%s (%" G_GUINT64_FORMAT ") gave [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                       "] %p, expected [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] %p",
                   CTX_ARGS, what, key, range->start, range->end, value, e->start, e->end, e->value);
  }
}

static void
verify_iteration (DaRangeMap *map, const Model *m, guint64 from)
{
  DaRangeMapIter iter;
  DaRange range;
  gpointer value;
  gint i = model_next (m, from);

  da_range_map_iter_init (&iter, map, from);
  while (da_range_map_iter_next (&iter, &range, &value)) {
    EXPECT (i >= 0 && (guint) i < m->entries->len, CTX "iterator from %" G_GUINT64_FORMAT " yields too much",
                   CTX_ARGS, from);
    assert_entry (m, i, TRUE, &range, value, "iterator", from);
    i++;
  }
  EXPECT (i < 0 || (guint) i == m->entries->len, CTX "iterator from %" G_GUINT64_FORMAT " stopped at %d of %u",
                 CTX_ARGS, from, i, m->entries->len);
}

static void
verify_gaps (DaRangeMap *map, const Model *m, guint64 lo, guint64 hi, guint64 count)
{
  guint64 got = 0, want = 0;
  gboolean ok, want_ok;
  guint64 largest = da_range_map_largest_gap (map, lo, hi);

  ok = da_range_map_find_gap (map, lo, hi, count, &got);
  want_ok = model_find_gap (m, lo, hi, count, FALSE, &want);
  EXPECT (ok == want_ok && (!ok || got == want),
                 CTX "find_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") = %d %" G_GUINT64_FORMAT
                     ", expected %d %" G_GUINT64_FORMAT,
                 CTX_ARGS, lo, hi, count, ok, got, want_ok, want);
  ok = da_range_map_find_gap_last (map, lo, hi, count, &got);
  want_ok = model_find_gap (m, lo, hi, count, TRUE, &want);
  EXPECT (ok == want_ok && (!ok || got == want),
                 CTX "find_gap_last (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                     ") = %d %" G_GUINT64_FORMAT ", expected %d %" G_GUINT64_FORMAT,
                 CTX_ARGS, lo, hi, count, ok, got, want_ok, want);
  want = model_largest_gap (m, lo, hi);
  EXPECT (largest == want,
                 CTX "largest_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") = %" G_GUINT64_FORMAT
                     ", expected %" G_GUINT64_FORMAT,
                 CTX_ARGS, lo, hi, largest, want);

  /* small windows are also read key by key */
  if (lo <= hi && hi - lo < 3000) {
    gboolean b_first_ok, b_last_ok;
    guint64 b_first = 0, b_last = 0, b_largest;

    brute_gaps (m, lo, hi, count, &b_first_ok, &b_first, &b_last_ok, &b_last, &b_largest);
    ok = da_range_map_find_gap (map, lo, hi, count, &got);
    EXPECT (ok == b_first_ok && (!ok || got == b_first),
                   CTX "find_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                       ") disagrees with a key by key scan",
                   CTX_ARGS, lo, hi, count);
    ok = da_range_map_find_gap_last (map, lo, hi, count, &got);
    EXPECT (ok == b_last_ok && (!ok || got == b_last),
                   CTX "find_gap_last (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                       ") disagrees with a key by key scan",
                   CTX_ARGS, lo, hi, count);
    EXPECT (largest == b_largest,
                   CTX "largest_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") disagrees with a key by key scan",
                   CTX_ARGS, lo, hi);
  }
}

/* compares everything the map can answer with the model */
static void
verify (DaRangeMap *map, const Model *m, GRand *r, guint n_queries)
{
  g_autoptr (GError) error = NULL;
  DaRange range;
  gpointer value;
  gboolean got;
  guint n = m->entries->len;

  EXPECT (da_range_map_check (map, &error), CTX "check: %s", CTX_ARGS, error->message);
  EXPECT (da_range_map_n_ranges (map) == n, CTX "n_ranges %u, expected %u", CTX_ARGS,
                 da_range_map_n_ranges (map), n);
  EXPECT (da_range_map_n_keys (map) == model_n_keys (m),
                 CTX "n_keys %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, CTX_ARGS, da_range_map_n_keys (map),
                 model_n_keys (m));
  EXPECT (da_range_map_is_set (map) == m->is_set, CTX "is_set", CTX_ARGS);
  EXPECT ((n == 0) == (da_range_map_memory (map) == 0), CTX "memory %" G_GSIZE_FORMAT " with %u ranges",
                 CTX_ARGS, da_range_map_memory (map), n);
  got = da_range_map_first (map, &range, &value);
  assert_entry (m, n > 0 ? 0 : -1, got, &range, value, "first", 0);
  got = da_range_map_last (map, &range, &value);
  assert_entry (m, n > 0 ? (gint) n - 1 : -1, got, &range, value, "last", 0);
  verify_iteration (map, m, 0);

  for (guint q = 0; q < n_queries; q++) {
    guint64 key = random_key (m, r);
    guint64 lo = random_key (m, r), hi = random_key (m, r);

    /* the calls come first: argument evaluation order is unspecified */
    got = da_range_map_lookup (map, key, &range, &value);
    assert_entry (m, model_lookup (m, key), got, &range, value, "lookup", key);
    got = da_range_map_next (map, key, &range, &value);
    assert_entry (m, model_next (m, key), got, &range, value, "next", key);
    got = da_range_map_prev (map, key, &range, &value);
    assert_entry (m, model_prev (m, key), got, &range, value, "prev", key);
    /* NULL out-arguments are allowed */
    EXPECT (da_range_map_lookup (map, key, NULL, NULL) == (model_lookup (m, key) >= 0), CTX "lookup without results", CTX_ARGS);

    if (g_rand_int_range (r, 0, 10) > 0 && lo > hi) {
      guint64 t = lo;

      lo = hi;
      hi = t;
    }
    if (g_rand_int_range (r, 0, 4) == 0 && lo <= G_MAXUINT64 - 2000)
      hi = lo + (guint64) g_rand_int_range (r, 0, 2000);
    EXPECT (da_range_map_intersects (map, lo, hi) == (lo <= hi && model_intersects (m, lo, hi)),
                   CTX "intersects (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")", CTX_ARGS, lo, hi);
    verify_gaps (map, m, lo, hi, random_count (m, r));
    if (q == 0)
      verify_iteration (map, m, key);
  }
}

/* ------------------------------------------------------------------------
 * differential runs */

static void
random_cells (const Model *m, GRand *r, guint *c1, guint *c2, guint max_len)
{
  guint len;

  switch (g_rand_int_range (r, 0, 10)) {
  case 0:
    len = (guint) g_rand_int_range (r, 1, (gint32) max_len + 1);
    break;
  case 1:
  case 2:
  case 3:
    len = (guint) g_rand_int_range (r, 1, (gint32) MIN (max_len, 32) + 1);
    break;
  default:
    len = (guint) g_rand_int_range (r, 1, (gint32) MIN (max_len, 4) + 1);
  }
  *c1 = (guint) g_rand_int_range (r, 0, (gint32) m->n_cells);
  *c2 = MIN (*c1 + len - 1, m->n_cells - 1);
}

/* whether to insert: phases of growth and of shrinking, so that the map
 * both fills up and drains */
static gboolean
choose_insert (guint step, guint phase, GRand *r)
{
  return g_rand_int_range (r, 0, 100) < ((step / phase) % 2 == 0 ? 75 : 28);
}

static void
run_set (guint seed, guint steps, guint phase, guint n_low, guint n_high, guint verify_every, guint n_queries)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  g_autoptr (DaRangeMap) map = da_range_map_new_set ();
  Model *m = model_new (TRUE, n_low, n_high);
  guint peak = 0;

  ctx_what = "set";
  ctx_seed = seed;
  for (guint step = 0; step < steps; step++) {
    guint c1, c2;
    guint64 s, e;

    ctx_step = step;
    random_cells (m, r, &c1, &c2, 700);
    s = cell_start (m, c1);
    e = cell_end (m, c2);
    if (g_rand_int_range (r, 0, 2000) == 0) {
      da_range_map_clear (map);
      memset (m->cells, 0, m->n_cells);
    } else if (choose_insert (step, phase, r)) {
      EXPECT (da_range_map_insert (map, s, e, NULL), CTX "insert failed", CTX_ARGS);
      memset (m->cells + c1, 1, c2 - c1 + 1);
    } else {
      gboolean any = FALSE;

      for (guint c = c1; c <= c2; c++)
        any |= m->cells[c];
      EXPECT (da_range_map_remove (map, s, e) == any, CTX "remove [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                     "] returned %d", CTX_ARGS, s, e, !any);
      memset (m->cells + c1, 0, c2 - c1 + 1);
    }
    model_rebuild_from_cells (m);
    peak = MAX (peak, m->entries->len);
    if (step % verify_every == 0 || step + 1 == steps) {
      verify (map, m, r, n_queries);
    } else {
      g_autoptr (GError) error = NULL;

      EXPECT (da_range_map_check (map, &error), CTX "check: %s", CTX_ARGS, error->message);
    }
    if (step % 331 == 0) {
      g_autoptr (DaRangeMap) copy = da_range_map_copy (map);

      verify (copy, m, r, 2);
    }
  }
  if (g_getenv ("DA_TEST_VERBOSE") != NULL)
    g_printerr ("set seed %u: at most %u ranges\n", seed, peak);
  model_free (m);
}

/* a window for the dense form: most changes fall inside it, the others
 * move the map to the tree until the window is set again */
typedef struct {
  guint64 lo;
  guint64 hi;
  guint inside;   /* percent of the changes inside the window */
  guint rewindow; /* steps between calls of set_window */
} Window;

/* map mode: inserts succeed unless they overlap, remove and steal go by
 * the exact start, and value_free runs exactly for removed values */
static void
run_map (guint seed, guint steps, guint phase, guint n_low, guint n_high, guint max_len, guint verify_every,
         guint n_queries, const Window *w)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  g_autoptr (DaRangeMap) map = da_range_map_new (value_free_counted);
  Model *m = model_new (FALSE, n_low, n_high);
  guint next_id = 1;
  guint peak = 0;
  guint w_first = G_MAXUINT, w_last = 0;
  guint n_dense = 0, n_moved = 0;

  ctx_what = w != NULL ? "windowed map" : "map";
  ctx_seed = seed;
  n_freed = 0;
  if (w != NULL) {
    /* the cells wholly inside the window */
    for (guint c = 0; c < m->n_cells; c++) {
      if (cell_start (m, c) >= w->lo && cell_end (m, c) <= w->hi) {
        w_first = MIN (w_first, c);
        w_last = MAX (w_last, c);
      }
    }
    g_assert (w_first <= w_last);
    da_range_map_set_window (map, w->lo, w->hi);
  }
  for (guint step = 0; step < steps; step++) {
    guint c1, c2;
    guint64 s, e;
    gboolean was_dense = da_range_map_is_dense (map);
    /* where an allocation may go */
    guint64 alloc_hi = G_MAXUINT64;

    ctx_step = step;
    random_cells (m, r, &c1, &c2, max_len);
    if (w != NULL && (guint) g_rand_int_range (r, 0, 100) < w->inside) {
      c2 = MIN (w_first + (c1 % (w_last - w_first + 1)) + (c2 - c1), w_last);
      c1 = w_first + (c1 % (w_last - w_first + 1));
      alloc_hi = cell_end (m, w_last);
    }
    s = cell_start (m, c1);
    e = cell_end (m, c2);
    if (w != NULL && step % w->rewindow == w->rewindow - 1) {
      /* mostly without the ranges outside the window first, so that the
       * map can go back to bitmaps */
      if (g_rand_int_range (r, 0, 4) > 0) {
        for (guint i = m->entries->len; i > 0; i--) {
          const Entry *x = entry_at (m, i - 1);

          if (x->start < w->lo || x->end > w->hi) {
            EXPECT (da_range_map_remove (map, x->start, x->end), CTX "remove %" G_GUINT64_FORMAT, CTX_ARGS, x->start);
            g_array_remove_index (m->entries, i - 1);
          }
        }
      }
      /* sometimes no window at all, which makes a tree */
      if (g_rand_int_range (r, 0, 5) == 0)
        da_range_map_set_window (map, 1, 0);
      else
        da_range_map_set_window (map, w->lo, w->hi);
      verify (map, m, r, 4);
      was_dense = da_range_map_is_dense (map);
    }
    if (choose_insert (step, phase, r) && g_rand_int_range (r, 0, 4) == 0) {
      /* an allocation: the first free run of the length from s, taken
       * right after the search found it (a large map remembers the way
       * the search took, and the insertion starts from there) */
      guint64 len = e - s + 1, k = 0, want = 0;
      gboolean found = da_range_map_find_gap (map, s, alloc_hi, len, &k);

      EXPECT (found == model_find_gap (m, s, alloc_hi, len, FALSE, &want) && (!found || k == want),
              CTX "find_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") before an insertion", CTX_ARGS, s, len);
      if (found) {
        gpointer v = value_new (next_id++);
        Entry entry = { k, k + (len - 1), v };
        guint at = 0;

        EXPECT (da_range_map_insert (map, k, k + (len - 1), v),
                CTX "insert [%" G_GUINT64_FORMAT ", +%" G_GUINT64_FORMAT "] where find_gap said", CTX_ARGS, k, len);
        while (at < m->entries->len && entry_at (m, at)->start < k)
          at++;
        g_array_insert_val (m->entries, at, entry);
      }
    } else if (choose_insert (step, phase, r)) {
      gpointer v = value_new (next_id++);
      guint at = 0;
      gboolean overlaps = FALSE;

      /* a look at the place first, sometimes, as a reservation does */
      if (g_rand_boolean (r))
        da_range_map_prefetch (map, s);
      for (guint i = 0; i < m->entries->len; i++) {
        overlaps |= entry_at (m, i)->start <= e && entry_at (m, i)->end >= s;
        if (entry_at (m, i)->start < s)
          at = i + 1;
      }
      EXPECT (da_range_map_insert (map, s, e, v) == !overlaps,
                     CTX "insert [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] returned %d", CTX_ARGS, s, e, overlaps);
      if (overlaps) {
        g_free (v);
      } else {
        Entry entry = { s, e, v };

        g_array_insert_val (m->entries, at, entry);
      }
    } else {
      /* mostly an existing start, sometimes any key */
      guint64 key = s;
      gint i;
      guint before = n_freed;

      if (m->entries->len > 0 && g_rand_int_range (r, 0, 4) > 0)
        key = entry_at (m, (guint) g_rand_int_range (r, 0, (gint32) m->entries->len))->start;
      i = model_lookup (m, key);
      if (i >= 0 && entry_at (m, (guint) i)->start != key)
        i = -1;
      /* a look at the place first, sometimes, as a release does */
      if (g_rand_boolean (r)) {
        gpointer value = NULL;

        EXPECT (da_range_map_lookup (map, key, NULL, &value) == (model_lookup (m, key) >= 0),
                CTX "lookup %" G_GUINT64_FORMAT " before a removal", CTX_ARGS, key);
      }
      if (g_rand_int_range (r, 0, 4) == 0) {
        gpointer got = da_range_map_steal (map, key);

        EXPECT (got == (i >= 0 ? entry_at (m, (guint) i)->value : NULL), CTX "steal %" G_GUINT64_FORMAT,
                       CTX_ARGS, key);
        EXPECT (n_freed == before, CTX "steal freed a value", CTX_ARGS);
        g_free (got);
      } else {
        /* the end argument means nothing in map mode */
        EXPECT (da_range_map_remove (map, key, g_rand_int (r)) == (i >= 0), CTX "remove %" G_GUINT64_FORMAT,
                       CTX_ARGS, key);
        EXPECT (n_freed == before + (i >= 0), CTX "remove freed %u values", CTX_ARGS, n_freed - before);
        if (i >= 0)
          EXPECT (last_freed == entry_at (m, (guint) i)->value, CTX "remove freed the wrong value", CTX_ARGS);
      }
      if (i >= 0)
        g_array_remove_index (m->entries, (guint) i);
    }
    peak = MAX (peak, m->entries->len);
    n_dense += da_range_map_is_dense (map);
    n_moved += was_dense && !da_range_map_is_dense (map);
    if (step % verify_every == 0 || step + 1 == steps) {
      verify (map, m, r, n_queries);
    } else {
      g_autoptr (GError) error = NULL;

      EXPECT (da_range_map_check (map, &error), CTX "check: %s", CTX_ARGS, error->message);
    }
    if (step % 331 == 0) {
      guint before = n_freed;
      g_autoptr (DaRangeMap) copy = da_range_map_copy (map);

      verify (copy, m, r, 2);
      g_clear_pointer (&copy, da_range_map_free);
      EXPECT (n_freed == before, CTX "freeing a copy freed values", CTX_ARGS);
    }
  }
  /* freeing the map frees every value left */
  {
    guint before = n_freed;

    g_clear_pointer (&map, da_range_map_free);
    ck_assert_uint_eq (n_freed, before + m->entries->len);
  }
  if (g_getenv ("DA_TEST_VERBOSE") != NULL)
    g_printerr ("map seed %u: at most %u ranges, %u of %u steps dense, %u moves to the tree\n", seed, peak,
                n_dense, steps, n_moved);
  /* the run tried both forms and the way between them */
  if (w != NULL) {
    ck_assert_msg (n_dense >= steps / 10, "seed %u: %u of %u steps dense", seed, n_dense, steps);
    ck_assert_msg (n_moved > 0, "seed %u: never moved to the tree", seed);
  }
  model_free (m);
}

START_TEST (test_differential_set)
{
  guint seed = 1000 + (guint) _i;

  run_set (seed, 4000, 700, 1024, 1024, 1, 12);
}
END_TEST

START_TEST (test_differential_map)
{
  guint seed = 2000 + (guint) _i;

  run_map (seed, 4000, 700, 1024, 1024, 40, 1, 12, NULL);
}
END_TEST

/* the same in the dense form: windows of several sizes and places, at
 * both edges of the key space, on word boundaries and off them */
static const Window windows[] = {
  { 0, 1023, 99, 150 },
  { G_MAXUINT64 - 1023, G_MAXUINT64, 99, 150 },
  { 300, 811, 99, 100 },
  { 5, 200, 99, 120 },
  { G_MAXUINT64 - 99, G_MAXUINT64, 99, 120 },
  { 0, 4095, 99, 200 },
  { 960, 1023, 97, 80 },
  { 1, 64, 98, 100 },
};

START_TEST (test_differential_dense)
{
  run_map (5000 + (guint) _i, 4000, 700, 1024, 1024, 40, 1, 12, &windows[_i]);
}
END_TEST

/* bigger universes grow trees of the default node size several levels
 * deep; the full comparison runs every few steps, the check every step */
START_TEST (test_differential_large)
{
  run_set (3000 + (guint) _i, 16000, 4000, 65536, 1024, 29, 8);
  run_map (4000 + (guint) _i, 45000, 15000, 65536, 1024, 2, 29, 8, NULL);
}
END_TEST

/* ------------------------------------------------------------------------
 * edge cases */

static void
assert_check (DaRangeMap *map)
{
  g_autoptr (GError) error = NULL;

  ck_assert_msg (da_range_map_check (map, &error), "check: %s", error ? error->message : "");
}

static void
assert_gap (DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, gboolean ok, guint64 k)
{
  guint64 got = 12345;
  gboolean r = da_range_map_find_gap (map, lo, hi, count, &got);

  ck_assert_msg (r == ok && (!ok || got == k),
                 "find_gap (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") = %d %" G_GUINT64_FORMAT
                 ", expected %d %" G_GUINT64_FORMAT,
                 lo, hi, count, r, got, ok, k);
}

static void
assert_gap_last (DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, gboolean ok, guint64 k)
{
  guint64 got = 12345;
  gboolean r = da_range_map_find_gap_last (map, lo, hi, count, &got);

  ck_assert_msg (r == ok && (!ok || got == k),
                 "find_gap_last (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") = %d %" G_GUINT64_FORMAT
                 ", expected %d %" G_GUINT64_FORMAT,
                 lo, hi, count, r, got, ok, k);
}

START_TEST (test_empty)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (NULL);
  DaRangeMapIter iter;
  DaRange range;

  ck_assert (!da_range_map_is_set (map));
  ck_assert_uint_eq (da_range_map_n_ranges (map), 0);
  ck_assert_uint_eq (da_range_map_n_keys (map), 0);
  ck_assert_uint_eq (da_range_map_memory (map), 0);
  ck_assert (!da_range_map_lookup (map, 0, &range, NULL));
  ck_assert (!da_range_map_next (map, 0, &range, NULL));
  ck_assert (!da_range_map_prev (map, G_MAXUINT64, &range, NULL));
  ck_assert (!da_range_map_first (map, &range, NULL));
  ck_assert (!da_range_map_last (map, &range, NULL));
  ck_assert (!da_range_map_intersects (map, 0, G_MAXUINT64));
  ck_assert (!da_range_map_remove (map, 0, G_MAXUINT64));
  ck_assert (da_range_map_steal (map, 0) == NULL);
  da_range_map_iter_init (&iter, map, 0);
  ck_assert (!da_range_map_iter_next (&iter, &range, NULL));

  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 0);
  assert_gap (map, 5, 10, 6, TRUE, 5);
  assert_gap (map, 5, 10, 7, FALSE, 0);
  assert_gap (map, 0, G_MAXUINT64, G_MAXUINT64, TRUE, 0);
  assert_gap (map, 1, G_MAXUINT64, G_MAXUINT64, TRUE, 1);
  assert_gap (map, 2, G_MAXUINT64, G_MAXUINT64, FALSE, 0);
  assert_gap (map, G_MAXUINT64, G_MAXUINT64, 1, TRUE, G_MAXUINT64);
  assert_gap (map, G_MAXUINT64, G_MAXUINT64, 2, FALSE, 0);
  assert_gap (map, 0, 10, 0, FALSE, 0);
  assert_gap (map, 10, 9, 1, FALSE, 0);
  assert_gap_last (map, 0, G_MAXUINT64, 1, TRUE, G_MAXUINT64);
  assert_gap_last (map, 0, G_MAXUINT64, G_MAXUINT64, TRUE, 1);
  assert_gap_last (map, 0, G_MAXUINT64 - 1, G_MAXUINT64, TRUE, 0);
  assert_gap_last (map, 0, 0, 1, TRUE, 0);
  assert_gap_last (map, 5, 10, 6, TRUE, 5);
  assert_gap_last (map, 5, 10, 2, TRUE, 9);
  assert_gap_last (map, 10, 9, 1, FALSE, 0);
  assert_gap_last (map, 0, 10, 0, FALSE, 0);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, G_MAXUINT64), G_MAXUINT64);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, G_MAXUINT64 - 1), G_MAXUINT64);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 1, G_MAXUINT64), G_MAXUINT64);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 2, G_MAXUINT64), G_MAXUINT64 - 1);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 7, 7), 1);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 8, 7), 0);
  /* a NULL found is allowed */
  ck_assert (da_range_map_find_gap (map, 0, 1, 1, NULL));
  assert_check (map);
}
END_TEST

START_TEST (test_key_space_edges)
{
  g_autoptr (DaRangeMap) set = da_range_map_new_set ();
  DaRange range;

  ck_assert (da_range_map_is_set (set));
  ck_assert (da_range_map_insert (set, 0, 0, NULL));
  ck_assert (da_range_map_insert (set, G_MAXUINT64, G_MAXUINT64, NULL));
  assert_check (set);
  ck_assert_uint_eq (da_range_map_n_keys (set), 2);
  ck_assert (da_range_map_lookup (set, 0, &range, NULL) && range.start == 0 && range.end == 0);
  ck_assert (da_range_map_lookup (set, G_MAXUINT64, &range, NULL) && range.start == G_MAXUINT64);
  ck_assert (!da_range_map_lookup (set, 1, NULL, NULL));
  ck_assert (da_range_map_next (set, 1, &range, NULL) && range.start == G_MAXUINT64);
  ck_assert (da_range_map_prev (set, G_MAXUINT64 - 1, &range, NULL) && range.start == 0);
  assert_gap (set, 0, G_MAXUINT64, 1, TRUE, 1);
  assert_gap (set, 0, G_MAXUINT64, G_MAXUINT64 - 1, TRUE, 1);
  assert_gap (set, 0, G_MAXUINT64, G_MAXUINT64, FALSE, 0);
  assert_gap_last (set, 0, G_MAXUINT64, 1, TRUE, G_MAXUINT64 - 1);
  assert_gap_last (set, 0, G_MAXUINT64, G_MAXUINT64 - 1, TRUE, 1);
  ck_assert_uint_eq (da_range_map_largest_gap (set, 0, G_MAXUINT64), G_MAXUINT64 - 1);

  /* filling the middle coalesces everything into [0, MAX]: 2^64 keys */
  ck_assert (da_range_map_insert (set, 1, G_MAXUINT64 - 1, NULL));
  assert_check (set);
  ck_assert_uint_eq (da_range_map_n_ranges (set), 1);
  ck_assert_uint_eq (da_range_map_n_keys (set), G_MAXUINT64);
  ck_assert (da_range_map_first (set, &range, NULL) && range.start == 0 && range.end == G_MAXUINT64);
  assert_gap (set, 0, G_MAXUINT64, 1, FALSE, 0);
  assert_gap_last (set, 0, G_MAXUINT64, 1, FALSE, 0);
  ck_assert_uint_eq (da_range_map_largest_gap (set, 0, G_MAXUINT64), 0);
  ck_assert (da_range_map_intersects (set, 77, 77));

  /* one key less is exactly G_MAXUINT64 keys, not a saturation */
  ck_assert (da_range_map_remove (set, 5, 5));
  assert_check (set);
  ck_assert_uint_eq (da_range_map_n_ranges (set), 2);
  ck_assert_uint_eq (da_range_map_n_keys (set), G_MAXUINT64);
  assert_gap (set, 0, G_MAXUINT64, 1, TRUE, 5);
  ck_assert (da_range_map_remove (set, G_MAXUINT64 - 1, G_MAXUINT64));
  ck_assert_uint_eq (da_range_map_n_keys (set), G_MAXUINT64 - 2);
  assert_gap_last (set, 0, G_MAXUINT64, 2, TRUE, G_MAXUINT64 - 1);
  ck_assert (da_range_map_remove (set, 0, G_MAXUINT64));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 0);
  ck_assert_uint_eq (da_range_map_memory (set), 0);
  assert_check (set);
}
END_TEST

START_TEST (test_map_full_space)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (value_free_counted);
  gpointer value = NULL;
  DaRange range;

  n_freed = 0;
  ck_assert (da_range_map_insert (map, 0, G_MAXUINT64, value_new (1)));
  ck_assert_uint_eq (da_range_map_n_keys (map), G_MAXUINT64);
  ck_assert (!da_range_map_insert (map, 5, 5, NULL));
  ck_assert (!da_range_map_insert (map, G_MAXUINT64, G_MAXUINT64, NULL));
  ck_assert (da_range_map_lookup (map, 123, &range, &value) && *(guint *) value == 1);
  ck_assert (da_range_map_remove (map, 0, 0));
  ck_assert_uint_eq (n_freed, 1);

  /* two ranges covering everything: the running count wraps and comes back */
  ck_assert (da_range_map_insert (map, 0, 9, value_new (2)));
  ck_assert (da_range_map_insert (map, 10, G_MAXUINT64, value_new (3)));
  assert_check (map);
  ck_assert_uint_eq (da_range_map_n_ranges (map), 2);
  ck_assert_uint_eq (da_range_map_n_keys (map), G_MAXUINT64);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, G_MAXUINT64), 0);
  ck_assert (da_range_map_remove (map, 10, 0));
  ck_assert_uint_eq (da_range_map_n_keys (map), 10);
  assert_gap (map, 0, G_MAXUINT64, G_MAXUINT64 - 9, TRUE, 10);
  assert_gap (map, 0, G_MAXUINT64, G_MAXUINT64 - 8, FALSE, 0);
  assert_gap_last (map, 0, G_MAXUINT64, 1, TRUE, G_MAXUINT64);
  assert_check (map);
  ck_assert_uint_eq (n_freed, 2);
}
END_TEST

START_TEST (test_set_coalescing)
{
  g_autoptr (DaRangeMap) set = da_range_map_new_set ();
  DaRange range;
  gpointer value = GUINT_TO_POINTER (1);

  ck_assert (!da_range_map_insert (set, 5, 4, NULL));
  ck_assert (da_range_map_insert (set, 1, 2, NULL));
  ck_assert (da_range_map_insert (set, 3, 4, GUINT_TO_POINTER (7)));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 1);
  ck_assert (da_range_map_first (set, &range, &value));
  ck_assert (range.start == 1 && range.end == 4 && value == NULL);

  /* removing the middle splits, and refilling it joins again */
  ck_assert (da_range_map_insert (set, 10, 20, NULL));
  ck_assert (da_range_map_remove (set, 13, 15));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 3);
  ck_assert (da_range_map_lookup (set, 12, &range, NULL) && range.start == 10 && range.end == 12);
  ck_assert (da_range_map_lookup (set, 16, &range, NULL) && range.start == 16 && range.end == 20);
  ck_assert (!da_range_map_remove (set, 13, 15));
  ck_assert (!da_range_map_remove (set, 5, 9));
  ck_assert (!da_range_map_remove (set, 9, 8));
  ck_assert_uint_eq (da_range_map_n_keys (set), 4 + 3 + 5);
  ck_assert (da_range_map_insert (set, 13, 15, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 2);
  ck_assert (da_range_map_lookup (set, 14, &range, NULL) && range.start == 10 && range.end == 20);
  /* an insertion already covered changes nothing */
  ck_assert (da_range_map_insert (set, 11, 19, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 2);
  ck_assert (da_range_map_insert (set, 21, 21, NULL));
  ck_assert (da_range_map_insert (set, 30, 40, NULL));
  ck_assert (da_range_map_insert (set, 50, 60, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 4);
  /* one insertion swallowing several ranges */
  ck_assert (da_range_map_insert (set, 5, 49, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 1);
  ck_assert (da_range_map_first (set, &range, NULL) && range.start == 1 && range.end == 60);
  /* removing both ends of one range */
  ck_assert (da_range_map_remove (set, 0, 1));
  ck_assert (da_range_map_remove (set, 60, 100));
  ck_assert (da_range_map_first (set, &range, NULL) && range.start == 2 && range.end == 59);
  /* steal in a set removes the range starting there */
  ck_assert (da_range_map_steal (set, 2) == NULL);
  ck_assert_uint_eq (da_range_map_n_ranges (set), 0);
  assert_check (set);
}
END_TEST

START_TEST (test_map_overlap)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (NULL);
  gpointer value = NULL;
  DaRange range;

  ck_assert (da_range_map_insert (map, 10, 20, GUINT_TO_POINTER (1)));
  ck_assert (!da_range_map_insert (map, 20, 30, GUINT_TO_POINTER (2)));
  ck_assert (!da_range_map_insert (map, 5, 10, GUINT_TO_POINTER (2)));
  ck_assert (!da_range_map_insert (map, 15, 16, GUINT_TO_POINTER (2)));
  ck_assert (!da_range_map_insert (map, 0, 100, GUINT_TO_POINTER (2)));
  ck_assert (!da_range_map_insert (map, 31, 30, GUINT_TO_POINTER (2)));
  ck_assert_uint_eq (da_range_map_n_ranges (map), 1);
  /* touching ranges stay apart in a map */
  ck_assert (da_range_map_insert (map, 21, 30, GUINT_TO_POINTER (2)));
  ck_assert (da_range_map_insert (map, 9, 9, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (map), 3);
  ck_assert (da_range_map_lookup (map, 21, &range, &value) && range.start == 21 && value == GUINT_TO_POINTER (2));
  ck_assert (da_range_map_lookup (map, 9, &range, &value) && value == NULL);
  ck_assert (da_range_map_intersects (map, 0, 9));
  ck_assert (!da_range_map_intersects (map, 0, 8));
  ck_assert (!da_range_map_intersects (map, 31, G_MAXUINT64));
  /* removal goes by the exact start */
  ck_assert (!da_range_map_remove (map, 11, 20));
  ck_assert (da_range_map_remove (map, 10, 0));
  ck_assert (!da_range_map_lookup (map, 15, NULL, NULL));
  assert_gap (map, 0, 100, 11, TRUE, 10);
  assert_gap (map, 0, 100, 12, TRUE, 31);
  assert_gap (map, 10, 15, 3, TRUE, 10);
  assert_gap_last (map, 0, 30, 11, TRUE, 10);
  assert_gap_last (map, 0, 30, 12, FALSE, 0);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, 30), 11);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 12, 25), 9);
  assert_check (map);
}
END_TEST

START_TEST (test_value_free)
{
  DaRangeMap *map = da_range_map_new (value_free_counted);
  gpointer stolen;

  n_freed = 0;
  for (guint i = 0; i < 1000; i++)
    ck_assert (da_range_map_insert (map, 10 * i, 10 * i + 4, value_new (i)));
  ck_assert (!da_range_map_insert (map, 3, 3, NULL));
  ck_assert_uint_eq (n_freed, 0);
  ck_assert (da_range_map_remove (map, 50, 54));
  ck_assert_uint_eq (n_freed, 1);
  ck_assert_uint_eq (last_freed_id, 5);
  stolen = da_range_map_steal (map, 60);
  ck_assert (stolen != NULL && *(guint *) stolen == 6);
  ck_assert_uint_eq (n_freed, 1);
  g_free (stolen);
  ck_assert (da_range_map_steal (map, 61) == NULL);
  ck_assert (!da_range_map_remove (map, 60, 64));
  ck_assert_uint_eq (n_freed, 1);

  da_range_map_clear (map);
  ck_assert_uint_eq (n_freed, 999);
  ck_assert_uint_eq (da_range_map_n_ranges (map), 0);
  ck_assert_uint_eq (da_range_map_memory (map), 0);
  assert_check (map);
  /* the map is usable after clear() */
  ck_assert (da_range_map_insert (map, 3, 3, value_new (3)));
  ck_assert (da_range_map_insert (map, 4, 4, value_new (4)));
  da_range_map_free (map);
  ck_assert_uint_eq (n_freed, 1001);
  da_range_map_free (NULL);
}
END_TEST

START_TEST (test_copy)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (value_free_counted);
  g_autoptr (DaRangeMap) shallow = NULL;
  g_autoptr (DaRangeMap) deep = NULL;
  g_autoptr (DaRangeMap) set = da_range_map_new_set ();
  g_autoptr (DaRangeMap) set_copy = NULL;
  gpointer a = NULL, b = NULL;
  DaRange range;

  n_freed = 0;
  for (guint i = 0; i < 3000; i++) {
    ck_assert (da_range_map_insert (map, 3 * i, 3 * i + 1, value_new (i)));
    ck_assert (da_range_map_insert (set, 3 * i, 3 * i + 1, NULL));
  }
  shallow = da_range_map_copy (map);
  deep = da_range_map_copy_full (map, value_dup, NULL);
  set_copy = da_range_map_copy (set);
  assert_check (shallow);
  assert_check (deep);
  assert_check (set_copy);
  ck_assert_uint_eq (da_range_map_memory (shallow), da_range_map_memory (map));
  ck_assert_uint_eq (da_range_map_n_keys (deep), 6000);
  ck_assert (da_range_map_lookup (shallow, 300, NULL, &a) && da_range_map_lookup (map, 300, NULL, &b) && a == b);
  ck_assert (da_range_map_lookup (deep, 300, NULL, &a) && a != b && *(guint *) a == 100);

  /* changing the original leaves the copies alone */
  ck_assert (da_range_map_remove (map, 300, 0));
  ck_assert (da_range_map_insert (map, 2, 2, value_new (9999)));
  ck_assert (da_range_map_remove (set, 0, 6000));
  ck_assert_uint_eq (n_freed, 1);
  ck_assert (da_range_map_lookup (deep, 300, NULL, &a) && *(guint *) a == 100);
  ck_assert (!da_range_map_lookup (shallow, 2, NULL, NULL));
  ck_assert (!da_range_map_lookup (deep, 2, NULL, NULL));
  ck_assert_uint_eq (da_range_map_n_ranges (set_copy), 3000);
  ck_assert (da_range_map_last (set_copy, &range, NULL) && range.end == 8998);
  ck_assert (da_range_map_is_set (set_copy));
  assert_check (set_copy);

  /* the shallow copy does not own values; the deep one does */
  ck_assert (da_range_map_remove (shallow, 600, 0));
  ck_assert_uint_eq (n_freed, 1);
  g_clear_pointer (&shallow, da_range_map_free);
  ck_assert_uint_eq (n_freed, 1);
  g_clear_pointer (&deep, da_range_map_free);
  ck_assert_uint_eq (n_freed, 3001);
}
END_TEST

START_TEST (test_iterator)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (NULL);
  DaRangeMapIter iter;
  DaRange range;
  gpointer value;
  guint n = 0;

  for (guint i = 0; i < 5000; i++)
    ck_assert (da_range_map_insert (map, 10 * i + 5, 10 * i + 7, GUINT_TO_POINTER (i + 1)));
  /* from a key inside a range, in a gap, and past the end */
  da_range_map_iter_init (&iter, map, 16);
  while (da_range_map_iter_next (&iter, &range, &value)) {
    ck_assert_uint_eq (range.start, 10 * (n + 1) + 5);
    ck_assert_uint_eq (GPOINTER_TO_UINT (value), n + 2);
    n++;
  }
  ck_assert_uint_eq (n, 4999);
  ck_assert (!da_range_map_iter_next (&iter, &range, &value));
  da_range_map_iter_init (&iter, map, 18);
  ck_assert (da_range_map_iter_next (&iter, &range, NULL) && range.start == 25);
  da_range_map_iter_init (&iter, map, 49998);
  ck_assert (!da_range_map_iter_next (&iter, NULL, NULL));

  /* changing the map makes a live iterator refuse with a critical */
  da_range_map_iter_init (&iter, map, 0);
  ck_assert (da_range_map_iter_next (&iter, &range, NULL));
  ck_assert (da_range_map_insert (map, 0, 0, NULL));
  n_criticals = 0;
  ck_assert (!da_range_map_iter_next (&iter, &range, NULL));
  ck_assert_uint_eq (n_criticals, 1);
  /* a failed insertion is no change */
  da_range_map_iter_init (&iter, map, 0);
  ck_assert (!da_range_map_insert (map, 0, 0, NULL));
  ck_assert (da_range_map_iter_next (&iter, &range, NULL) && range.start == 0);
  ck_assert_uint_eq (n_criticals, 1);
}
END_TEST

/* sequential fills, both directions, removal from both ends, with the full
 * check after every step */
START_TEST (test_sequential_edges)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (NULL);
  const guint n = 3000;
  guint64 base = G_MAXUINT64 / 2;

  for (guint i = 0; i < n; i++) {
    ck_assert (da_range_map_insert (map, base + 2 * (guint64) i, base + 2 * (guint64) i, NULL));
    ck_assert (da_range_map_insert (map, base - 2 * (guint64) i - 2, base - 2 * (guint64) i - 2, NULL));
    assert_check (map);
  }
  ck_assert_uint_eq (da_range_map_n_ranges (map), 2 * n);
  for (guint i = 0; i < 2 * n; i++) {
    DaRange range;

    if (i % 2 == 0)
      ck_assert (da_range_map_first (map, &range, NULL));
    else
      ck_assert (da_range_map_last (map, &range, NULL));
    ck_assert (da_range_map_remove (map, range.start, range.end));
    assert_check (map);
  }
  ck_assert_uint_eq (da_range_map_memory (map), 0);
}
END_TEST

/* windows filled to their last key, at both edges of the key space and of
 * the largest size, set before the filling or after it; each form and
 * each move between them is compared with the model */
static const struct {
  guint64 lo;
  guint64 hi;
  guint64 width; /* of each range */
  gboolean window_first;
} full_windows[] = {
  { 0, 255, 1, TRUE },
  { 0, 255, 3, FALSE },
  { G_MAXUINT64 - 255, G_MAXUINT64, 1, FALSE },
  { G_MAXUINT64 - 255, G_MAXUINT64, 2, TRUE },
  { 0, 4095, 1, TRUE },
  { G_MAXUINT64 - 4095, G_MAXUINT64, 5, FALSE },
  { 1000, 1099, 1, TRUE },
  { 100, 163, 64, FALSE },
};

static void
model_insert (Model *m, guint64 start, guint64 end, gpointer value)
{
  Entry x = { start, end, value };
  guint at = 0;

  while (at < m->entries->len && entry_at (m, at)->start < start)
    at++;
  g_array_insert_val (m->entries, at, x);
}

START_TEST (test_dense_full_window)
{
  guint64 lo = full_windows[_i].lo, hi = full_windows[_i].hi, width = full_windows[_i].width;
  g_autoptr (GRand) r = g_rand_new_with_seed (6000 + (guint) _i);
  DaRangeMap *map = da_range_map_new (value_free_counted);
  DaRangeMap *deep;
  Model *m = model_new (FALSE, 4096, 4096);
  guint64 outside = lo > 0 ? lo - 1 : hi + 1;
  DaRangeMapIter iter;
  DaRange range;
  gpointer a = NULL, b = NULL;
  guint id = 1, n;

  ctx_what = "full window";
  ctx_seed = (guint) _i;
  ctx_step = 0;
  n_freed = 0;
  if (full_windows[_i].window_first)
    da_range_map_set_window (map, lo, hi);
  for (guint64 k = lo;; k++) {
    guint64 e = hi - k < width - 1 ? hi : k + (width - 1);
    gpointer v = value_new (id++);

    ck_assert (da_range_map_insert (map, k, e, v));
    model_insert (m, k, e, v);
    if (e == hi)
      break;
    k = e;
  }
  n = m->entries->len;
  if (!full_windows[_i].window_first) {
    ck_assert (!da_range_map_is_dense (map));
    da_range_map_set_window (map, lo, hi);
  }
  ck_assert (da_range_map_is_dense (map));
  verify (map, m, r, 300);
  assert_gap (map, lo, hi, 1, FALSE, 0);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, lo > 0 ? 0 : hi + 1);
  assert_gap_last (map, 0, G_MAXUINT64, 1, TRUE, hi < G_MAXUINT64 ? G_MAXUINT64 : lo - 1);
  ck_assert_uint_eq (da_range_map_largest_gap (map, lo, hi), 0);

  /* the same window again changes nothing: a live iterator goes on */
  da_range_map_iter_init (&iter, map, 0);
  da_range_map_set_window (map, lo, hi);
  ck_assert (da_range_map_iter_next (&iter, &range, NULL) && range.start == lo);

  /* a deep copy keeps the bitmaps and owns its values */
  deep = da_range_map_copy_full (map, value_dup, NULL);
  assert_check (deep);
  ck_assert (da_range_map_is_dense (deep));
  ck_assert_uint_eq (da_range_map_memory (deep), da_range_map_memory (map));
  ck_assert (da_range_map_lookup (deep, hi, NULL, &a) && da_range_map_lookup (map, hi, NULL, &b));
  ck_assert (a != b && *(guint *) a == *(guint *) b);

  /* a window that leaves a range out makes a tree, and the live iterator
   * refuses with a critical */
  n_criticals = 0;
  da_range_map_set_window (map, lo + 1, hi);
  ck_assert (!da_range_map_is_dense (map));
  ck_assert (!da_range_map_iter_next (&iter, &range, NULL));
  ck_assert_uint_eq (n_criticals, 1);
  verify (map, m, r, 100);
  da_range_map_set_window (map, lo, hi);
  ck_assert (da_range_map_is_dense (map));
  verify (map, m, r, 100);

  /* an insertion reaching out of the window that fails changes nothing;
   * one that succeeds makes a tree for good */
  if (lo > 0)
    ck_assert (!da_range_map_insert (map, outside, lo, NULL));
  else
    ck_assert (!da_range_map_insert (map, hi, outside, NULL));
  ck_assert (da_range_map_is_dense (map));
  a = value_new (id++);
  ck_assert (da_range_map_insert (map, outside, outside, a));
  model_insert (m, outside, outside, a);
  ck_assert (!da_range_map_is_dense (map));
  verify (map, m, r, 100);
  ck_assert (da_range_map_remove (map, outside, outside));
  g_array_remove_index (m->entries, lo > 0 ? 0 : m->entries->len - 1);
  ck_assert (!da_range_map_is_dense (map));
  verify (map, m, r, 100);
  da_range_map_set_window (map, lo, hi);
  ck_assert (da_range_map_is_dense (map));
  verify (map, m, r, 100);

  /* emptied range by range in a scattered order, the bitmaps go */
  for (guint i = 0; m->entries->len > 0; i++) {
    guint j = (guint) ((i * 7919ULL) % m->entries->len);
    const Entry *x = entry_at (m, j);

    if (i % 2 == 0) {
      ck_assert (da_range_map_remove (map, x->start, 0));
    } else {
      a = da_range_map_steal (map, x->start);
      ck_assert (a == x->value);
      g_free (a);
    }
    g_array_remove_index (m->entries, j);
    if (i % 37 == 0)
      verify (map, m, r, 8);
    else
      assert_check (map);
  }
  ck_assert_uint_eq (da_range_map_memory (map), 0);
  ck_assert (da_range_map_is_dense (map));
  verify (map, m, r, 20);

  /* every value went once: the original's as it emptied, the copy's now */
  ck_assert_uint_eq (n_freed, (n + 1) / 2 + 1);
  da_range_map_free (deep);
  ck_assert_uint_eq (n_freed, (n + 1) / 2 + 1 + n);
  da_range_map_free (map);
  model_free (m);
}
END_TEST

/* the floor: the keys below it are covered, and only a search for one
 * free key from at or below it may raise it */
START_TEST (test_floor)
{
  g_autoptr (DaRangeMap) map = da_range_map_new (NULL);

  for (guint64 k = 0; k < 1000; k++) {
    ck_assert (da_range_map_insert (map, k, k, NULL));
    assert_check (map);
  }
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 1000);
  assert_gap (map, 0, 999, 1, FALSE, 0);
  /* a removal below the floor: the hole is found from below it */
  ck_assert (da_range_map_remove (map, 500, 500));
  assert_check (map);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 500);
  assert_gap (map, 501, G_MAXUINT64, 1, TRUE, 1000);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 500);
  ck_assert (da_range_map_insert (map, 500, 500, NULL));
  assert_gap (map, 0, 999, 1, FALSE, 0);

  /* a hole of one and a hole of three above it: a search for three keys
   * finds the second and leaves the first below the floor */
  ck_assert (da_range_map_remove (map, 10, 10));
  for (guint64 k = 20; k <= 22; k++)
    ck_assert (da_range_map_remove (map, k, k));
  assert_check (map);
  assert_gap (map, 0, G_MAXUINT64, 3, TRUE, 20);
  assert_check (map);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 10);
  assert_gap (map, 11, G_MAXUINT64, 1, TRUE, 20);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 10);
  assert_gap (map, 0, 9, 1, FALSE, 0);
  assert_gap (map, 0, 10, 1, TRUE, 10);
  assert_gap (map, 0, 10, 2, FALSE, 0);
  assert_gap_last (map, 0, 999, 1, TRUE, 22);
  assert_gap_last (map, 0, 19, 1, TRUE, 10);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, 999), 3);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, 19), 1);
  assert_check (map);

  /* filling the first hole raises the floor to the next one */
  ck_assert (da_range_map_insert (map, 10, 10, NULL));
  assert_check (map);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 20);
  assert_gap (map, 0, 19, 1, FALSE, 0);
  assert_gap_last (map, 0, 999, 2, TRUE, 21);

  /* up to the last key: nothing is free once the holes are filled */
  ck_assert (da_range_map_insert (map, 1000, G_MAXUINT64, NULL));
  for (guint64 k = 20; k <= 22; k++) {
    ck_assert (da_range_map_insert (map, k, k, NULL));
    assert_check (map);
  }
  assert_gap (map, 0, G_MAXUINT64, 1, FALSE, 0);
  ck_assert_uint_eq (da_range_map_largest_gap (map, 0, G_MAXUINT64), 0);
  ck_assert (da_range_map_remove (map, 1000, 0));
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 1000);
  ck_assert (da_range_map_remove (map, 0, 0));
  assert_check (map);
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 0);
  assert_gap (map, 1, G_MAXUINT64, 1, TRUE, 1000);
  assert_gap (map, 1, G_MAXUINT64, 2, TRUE, 1000);

  /* emptied, the map starts again from nothing */
  da_range_map_clear (map);
  assert_check (map);
  ck_assert (da_range_map_insert (map, 5, 5, NULL));
  assert_gap (map, 0, G_MAXUINT64, 1, TRUE, 0);
  assert_check (map);
}
END_TEST

static guint64
mix64 (guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/* memory follows the number of ranges: packed for sequential fills, and
 * back to nothing once everything is removed */
START_TEST (test_memory)
{
  const guint n = 100000;
  g_autoptr (DaRangeMap) seq = da_range_map_new (NULL);
  g_autoptr (DaRangeMap) rnd = da_range_map_new (NULL);
  g_autoptr (DaRangeMap) set = da_range_map_new_set ();
  double seq_bytes, rnd_bytes;
  guint inserted = 0;

  for (guint i = 0; i < n; i++) {
    ck_assert (da_range_map_insert (seq, 4 * (guint64) i, 4 * (guint64) i + 1, NULL));
    ck_assert (da_range_map_insert (set, 4 * (guint64) i, 4 * (guint64) i + 1, NULL));
  }
  for (guint i = 0; inserted < n; i++) {
    guint64 k = mix64 (i) >> 1;

    inserted += da_range_map_insert (rnd, k, k, NULL);
  }
  assert_check (seq);
  assert_check (rnd);
  seq_bytes = (double) da_range_map_memory (seq) / n;
  rnd_bytes = (double) da_range_map_memory (rnd) / n;
#ifdef DA_RANGE_MAP_LEAF_MAX
  /* tiny nodes: sequential fills still pack clearly better than random */
  ck_assert_msg (seq_bytes < 0.85 * rnd_bytes, "sequential %.1f bytes per range, random %.1f", seq_bytes, rnd_bytes);
#else
  ck_assert_msg (seq_bytes <= 26.0, "sequential fill takes %.1f bytes per range", seq_bytes);
  ck_assert_msg (rnd_bytes <= 40.0, "random fill takes %.1f bytes per range", rnd_bytes);
  /* sets keep no values */
  ck_assert_msg ((double) da_range_map_memory (set) / n <= 18.0, "set takes %.1f bytes per range",
                 (double) da_range_map_memory (set) / n);
#endif

  /* remove everything in an order unrelated to the insertion order */
  for (guint i = 0; i < n; i++) {
    guint j = (guint) ((i * 7919ULL) % n);

    ck_assert (da_range_map_remove (seq, 4 * (guint64) j, 0));
    if (i % 1000 == 0)
      assert_check (seq);
  }
  ck_assert_uint_eq (da_range_map_memory (seq), 0);
  for (guint i = 0; inserted > 0; i++) {
    guint64 k = mix64 (i) >> 1;

    inserted -= da_range_map_remove (rnd, k, k);
    if (i % 1000 == 0)
      assert_check (rnd);
  }
  ck_assert_uint_eq (da_range_map_memory (rnd), 0);
  ck_assert (da_range_map_remove (set, 0, G_MAXUINT64));
  ck_assert_uint_eq (da_range_map_memory (set), 0);
  assert_check (set);
}
END_TEST

/* a pool's map of reservations: 192 of 256 keys taken one by one, in
 * random order, take no more as bitmaps than as a tree */
START_TEST (test_memory_dense)
{
  g_autoptr (DaRangeMap) tree = da_range_map_new (NULL);
  g_autoptr (DaRangeMap) dense = da_range_map_new (NULL);
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  const guint64 base = 0x10000;
  guint order[256];

  for (guint i = 0; i < 256; i++)
    order[i] = i;
  for (guint i = 255; i > 0; i--) {
    guint j = (guint) g_rand_int_range (r, 0, (gint32) i + 1), t = order[i];

    order[i] = order[j];
    order[j] = t;
  }
  da_range_map_set_window (dense, base, base + 255);
  ck_assert_uint_eq (da_range_map_memory (dense), 0);
  for (guint i = 0; i < 192; i++) {
    ck_assert (da_range_map_insert (tree, base + order[i], base + order[i], GUINT_TO_POINTER (i + 1)));
    ck_assert (da_range_map_insert (dense, base + order[i], base + order[i], GUINT_TO_POINTER (i + 1)));
  }
  assert_check (tree);
  assert_check (dense);
  ck_assert (da_range_map_is_dense (dense));
  ck_assert_msg (da_range_map_memory (dense) <= da_range_map_memory (tree), "bitmaps take %" G_GSIZE_FORMAT
                 " bytes, a tree %" G_GSIZE_FORMAT, da_range_map_memory (dense), da_range_map_memory (tree));
  /* a block of values goes with the last start of its word */
  for (guint i = 0; i < 192; i++) {
    if (order[i] < 64)
      ck_assert (da_range_map_remove (dense, base + order[i], 0));
  }
  assert_check (dense);
  ck_assert_uint_lt (da_range_map_memory (dense), da_range_map_memory (tree));
  da_range_map_clear (dense);
  ck_assert_uint_eq (da_range_map_memory (dense), 0);
  assert_check (dense);
}
END_TEST

#ifdef DA_RANGE_MAP_COUNT_VISITS
/* the gap searches descend by the summaries: the number of nodes they look
 * at grows with the height, not with the number of ranges */
START_TEST (test_gap_search_is_logarithmic)
{
  g_autoptr (DaRangeMap) map = da_range_map_new_set ();
  const guint n = 50000;
  const guint64 hole = 100 + 2 * (guint64) (n - 50);
  const guint64 last_key = 100 + 2 * (guint64) (n - 1);
  guint64 k = 0;
  guint height_bound = 2;

  /* single keys one apart, and one hole of 9 keys near the end */
  for (guint i = 0; i < n; i++)
    ck_assert (da_range_map_insert (map, 100 + 2 * (guint64) i, 100 + 2 * (guint64) i, NULL));
  ck_assert (da_range_map_remove (map, hole, hole + 6));
  assert_check (map);
  for (guint m = n; m > 1; m /= 2)
    height_bound++;

  da_range_map_visits = 0;
  ck_assert (da_range_map_find_gap (map, 100, G_MAXUINT64, 5, &k));
  ck_assert_uint_eq (k, hole - 1);
  ck_assert_msg (da_range_map_visits <= 2 * height_bound, "find_gap visited %" G_GUINT64_FORMAT " nodes",
                 da_range_map_visits);

  da_range_map_visits = 0;
  ck_assert (da_range_map_find_gap_last (map, 0, last_key - 1, 5, &k));
  ck_assert_uint_eq (k, hole + 3);
  ck_assert_msg (da_range_map_visits <= 2 * height_bound, "find_gap_last visited %" G_GUINT64_FORMAT " nodes",
                 da_range_map_visits);

  /* a window starting and ending inside the tree, with no hole that fits */
  da_range_map_visits = 0;
  ck_assert (!da_range_map_find_gap (map, 1001, 40001, 2, &k));
  ck_assert_msg (da_range_map_visits <= 3 * height_bound, "failed find_gap visited %" G_GUINT64_FORMAT " nodes",
                 da_range_map_visits);
  da_range_map_visits = 0;
  ck_assert (!da_range_map_find_gap_last (map, 1001, 40001, 2, &k));
  ck_assert_msg (da_range_map_visits <= 3 * height_bound, "failed find_gap_last visited %" G_GUINT64_FORMAT " nodes",
                 da_range_map_visits);

  da_range_map_visits = 0;
  ck_assert_uint_eq (da_range_map_largest_gap (map, 101, last_key - 1), 9);
  ck_assert_msg (da_range_map_visits <= 4 * height_bound, "largest_gap visited %" G_GUINT64_FORMAT " nodes",
                 da_range_map_visits);
}
END_TEST
#endif

int
main (void)
{
  Suite *s = suite_create ("range-map (" VARIANT ")");
  TCase *tc = tcase_create ("edges");
  TCase *tc_diff = tcase_create ("differential");

  g_log_set_writer_func (log_writer, NULL, NULL);

  tcase_add_test (tc, test_empty);
  tcase_add_test (tc, test_key_space_edges);
  tcase_add_test (tc, test_map_full_space);
  tcase_add_test (tc, test_set_coalescing);
  tcase_add_test (tc, test_map_overlap);
  tcase_add_test (tc, test_value_free);
  tcase_add_test (tc, test_copy);
  tcase_add_test (tc, test_iterator);
  tcase_add_test (tc, test_sequential_edges);
  tcase_add_test (tc, test_memory);
  tcase_add_test (tc, test_memory_dense);
  tcase_add_test (tc, test_floor);
  tcase_add_loop_test (tc, test_dense_full_window, 0, G_N_ELEMENTS (full_windows));
#ifdef DA_RANGE_MAP_COUNT_VISITS
  tcase_add_test (tc, test_gap_search_is_logarithmic);
#endif
  suite_add_tcase (s, tc);

  tcase_add_loop_test (tc_diff, test_differential_set, 0, 12);
  tcase_add_loop_test (tc_diff, test_differential_map, 0, 12);
  tcase_add_loop_test (tc_diff, test_differential_large, 0, 2);
  tcase_add_loop_test (tc_diff, test_differential_dense, 0, G_N_ELEMENTS (windows));
  suite_add_tcase (s, tc_diff);

  return da_test_run_suite (s);
}
