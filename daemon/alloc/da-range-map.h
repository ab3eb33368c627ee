/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A range map holds disjoint inclusive ranges [start, end] of 64-bit keys,
 * each with a value.  It is an ordered B+tree whose leaves store the ranges
 * in arrays and whose inner nodes keep, for every child, the first start,
 * the last end and the largest gap between consecutive ranges inside that
 * child, so that "first free run of N keys at or after K" is logarithmic in
 * the number of ranges and never depends on the size of the key space.
 *
 * A map made with da_range_map_new_set() coalesces: touching or
 * overlapping insertions merge into one range and removal splits ranges.
 * That is a range set; its values are always NULL.
 *
 * Memory grows with the number of ranges only; a map of values whose keys
 * lie in a small window (da_range_map_set_window()) keeps bitmaps instead.
 */

typedef struct {
  guint64 start;
  guint64 end; /* inclusive */
} DaRange;

typedef struct _DaRangeMap DaRangeMap;

typedef struct {
  /* private */
  const DaRangeMap *map;
  gpointer leaf;
  guint index;
  guint64 serial;
} DaRangeMapIter;

DaRangeMap *da_range_map_new (GDestroyNotify value_free);
DaRangeMap *da_range_map_new_set (void);
void da_range_map_free (DaRangeMap *map);
void da_range_map_clear (DaRangeMap *map);
/* the copy holds the same value pointers; it does not own them, so its
 * value_free is NULL (use da_range_map_copy_full() to copy values) */
DaRangeMap *da_range_map_copy (const DaRangeMap *map);
/* the copy holds value_copy (value, user_data) for every value and frees
 * them with the original's value_free */
DaRangeMap *da_range_map_copy_full (const DaRangeMap *map, GCopyFunc value_copy, gpointer user_data);

gboolean da_range_map_is_set (const DaRangeMap *map);
guint da_range_map_n_ranges (const DaRangeMap *map);
/* number of keys covered, saturating at G_MAXUINT64 */
guint64 da_range_map_n_keys (const DaRangeMap *map);
/* bytes held by the map's own structure (nodes), excluding values */
gsize da_range_map_memory (const DaRangeMap *map);

/* map: insert a new range; FALSE (and nothing changes) when it overlaps one
 * already present or start > end.
 * set: add the keys, merging with overlapping and adjacent ranges; FALSE
 * only when start > end; value is ignored.
 * Both: FALSE when the map already holds G_MAXUINT ranges. */
gboolean da_range_map_insert (DaRangeMap *map, guint64 start, guint64 end, gpointer value);

/* map: remove the range that starts exactly at start (end is ignored),
 * calling value_free; FALSE when there is none.
 * set: remove the keys [start, end] (splitting ranges as needed; keys not
 * in the set are ignored); returns whether anything was removed. */
gboolean da_range_map_remove (DaRangeMap *map, guint64 start, guint64 end);
/* remove the range that starts exactly at start without calling value_free
 * and return its value; NULL when there is none (in a set too, which has
 * only NULL values) */
gpointer da_range_map_steal (DaRangeMap *map, guint64 start);

/* the range containing key; value may be NULL */
gboolean da_range_map_lookup (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value);
/* the first range with end >= key (the one containing key, else the next) */
gboolean da_range_map_next (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value);
/* the last range with start <= key (the one containing key, else the previous) */
gboolean da_range_map_prev (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value);
gboolean da_range_map_first (const DaRangeMap *map, DaRange *range, gpointer *value);
/* the map's only range; FALSE unless it holds exactly one (constant time) */
gboolean da_range_map_get_single (const DaRangeMap *map, DaRange *range);
gboolean da_range_map_last (const DaRangeMap *map, DaRange *range, gpointer *value);
/* start fetching the memory a lookup, insertion or removal at key will
 * read, so that the wait overlaps other work; changes nothing */
void da_range_map_prefetch (const DaRangeMap *map, guint64 key);
/* whether any key of [start, end] is covered */
gboolean da_range_map_intersects (const DaRangeMap *map, guint64 start, guint64 end);

/* The smallest k with lo <= k and k + count - 1 <= hi such that none of
 * [k, k + count - 1] is covered.  FALSE when there is none, and when
 * count == 0 or lo > hi.  Logarithmic. */
gboolean da_range_map_find_gap (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, guint64 *found);
/* The same k as run->start, and as run->end the last key of the uncovered
 * run it begins (which may lie past hi). */
gboolean da_range_map_find_gap_run (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, DaRange *run);
/* The largest such k. */
gboolean da_range_map_find_gap_last (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, guint64 *found);
/* The length of the longest uncovered run inside [lo, hi] (saturating at
 * G_MAXUINT64); 0 when lo > hi. */
guint64 da_range_map_largest_gap (const DaRangeMap *map, guint64 lo, guint64 hi);

/* Iterate in ascending order from the first range with end >= from.
 * The map must not change while an iterator is in use. */
void da_range_map_iter_init (DaRangeMapIter *iter, const DaRangeMap *map, guint64 from);
gboolean da_range_map_iter_next (DaRangeMapIter *iter, DaRange *range, gpointer *value);

/* The keys a map of values keeps as bitmaps: a window of at most this many. */
#define DA_RANGE_MAP_DENSE_KEYS 4096

/* A hint that the ranges of map will lie in [lo, hi].  While hi - lo <
 * DA_RANGE_MAP_DENSE_KEYS and every range lies inside the window, the map
 * keeps them as bitmaps (constant-time word scans) instead of a tree; an
 * insertion outside the window moves it to the tree for good, until the
 * next call.  A call whose window does not hold every range present, is too
 * large, or has lo > hi leaves the map a tree.  Only for maps of values (a
 * set ignores it).  Changes no answer of any function, but the map counts
 * as changed for a live iterator when its form changes. */
void da_range_map_set_window (DaRangeMap *map, guint64 lo, guint64 hi);
/* whether the map keeps its ranges as bitmaps now */
gboolean da_range_map_is_dense (const DaRangeMap *map);

/* internal consistency check for tests: ordering, disjointness, coalescing
 * of sets, node fill and every inner summary; FALSE with a message */
gboolean da_range_map_check (const DaRangeMap *map, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaRangeMap, da_range_map_free)

G_END_DECLS
