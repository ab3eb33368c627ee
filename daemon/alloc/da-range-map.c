/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alloc-error.h"
#include "da-range-map.h"

/*
 * A B+tree.  Leaves keep their entries as three parallel arrays (start, end,
 * value; sets have no value array) and are linked left to right for the
 * iterator.  Inner nodes keep, per child, its first start, its last end and
 * the longest uncovered run strictly inside it; those summaries are both the
 * routing keys and what find_gap() descends by.  The summary of the root
 * itself is not stored anywhere and never needed.  Each leaf also keeps a
 * bit per entry saying whether a gap lies just before it, so that a dense
 * leaf (a pool filled in order, holes made and filled again) is searched
 * and summed up by its few holes instead of entry by entry.
 *
 * Fill: every node except the root holds at least MIN entries, with one
 * exception: appending past the last range (or prepending before the first)
 * splits the edge node at the insertion point so that sequential fills pack
 * nodes full, which leaves the leftmost and rightmost node of each level
 * possibly smaller (one entry for a leaf, two children for an inner node).
 * Removal always rebalances a node that drops below MIN: it merges with a
 * neighbour when both fit in one node, else the two share their entries
 * evenly.  A leaf's MIN is a quarter of its room, not half: a leaf merged
 * or refilled that way then takes a quarter of its room in removals before
 * it is rebalanced again, where with half it would be rebalanced every few
 * removals while random removals thin a map out (each time a look at a
 * neighbour, a cache miss in a large map, and a rescan of both).
 *
 * A map of values whose ranges lie in a small window keeps no tree but
 * bitmaps over the window (the dense form, below); every function answers
 * the same in either form.
 */

/* node sizes; the tests also build this file with tiny nodes so that
 * splits and merges happen at depth */
#ifndef DA_RANGE_MAP_LEAF_MAX
#define DA_RANGE_MAP_LEAF_MAX 64
#endif
#ifndef DA_RANGE_MAP_INNER_MAX
#define DA_RANGE_MAP_INNER_MAX 64
#endif

#define LEAF_MAX DA_RANGE_MAP_LEAF_MAX
#define LEAF_MIN (LEAF_MAX / 4)
#define INNER_MAX DA_RANGE_MAP_INNER_MAX
#define INNER_MIN (INNER_MAX / 2)
/* every inner node has two children or more and there are at most
 * G_MAXUINT ranges, so the height stays below 32 */
#define MAX_HEIGHT 40

#ifdef DA_RANGE_MAP_COUNT_VISITS
/* nodes the gap searches looked at, for the complexity tests */
guint64 da_range_map_visits;
#define COUNT_VISIT() (da_range_map_visits++)
#else
#define COUNT_VISIT() ((void) 0)
#endif

/* the gap bits of a leaf are one 64-bit word */
G_STATIC_ASSERT (LEAF_MAX >= 4 && LEAF_MAX <= 64);
G_STATIC_ASSERT (INNER_MAX >= 4 && INNER_MAX <= 65536);

typedef struct _DaLeaf DaLeaf;
struct _DaLeaf {
  DaLeaf *next;
  guint n;
  /* bit i: entry i - 1 and entry i do not touch (bit 0 is never set) */
  guint64 gaps;
  /* start[LEAF_MAX], end[LEAF_MAX], then value[LEAF_MAX] unless a set */
  guint64 keys[];
};

#define LEAF_START(l) ((l)->keys)
#define LEAF_END(l) ((l)->keys + LEAF_MAX)
#define LEAF_VALUE(l) ((gpointer *) ((l)->keys + 2 * LEAF_MAX))

typedef struct {
  guint n;
  guint64 first[INNER_MAX]; /* first start inside child i */
  guint64 last[INNER_MAX];  /* last end inside child i */
  guint64 gap[INNER_MAX];   /* longest uncovered run strictly inside child i */
  gpointer child[INNER_MAX];
} DaInner;

typedef struct {
  guint64 first;
  guint64 last;
  guint64 gap;
} DaSummary;

/* The way the last look at a map of values took: a gap search that found
 * its run inside a leaf, and in a large map any descent, with the keys
 * whose descent takes it too.  The insertion or removal right after a
 * look at the same place (the search for a free run, the prefetch of a
 * reservation's address) starts from there instead of descending again,
 * in a large map through nodes that are cache misses; an insertion at the
 * run a gap search found also skips the search in the leaf.  Any change of
 * the map makes it invalid.  Sets, which change rarely, have none, and
 * maps higher than FINGER_HEIGHT (billions of ranges) do without. */
#define FINGER_HEIGHT 8

typedef struct {
  gboolean valid;     /* keys lo..hi descend this way */
  gboolean gap_valid; /* the way ends at the leaf where a gap search found
                       * a free run starting at gap_key, before entry gap_pos
                       * (after the last when gap_last) */
  gboolean gap_last;
  guint64 lo;
  guint64 hi;
  guint64 gap_key;
  guint gap_pos;
  DaInner *node[FINGER_HEIGHT];
  guint index[FINGER_HEIGHT];
  DaLeaf *leaf;
  /* every key below floor is covered: a search for the first free key
   * (first fit from the start of a pool filled in order) starts there
   * instead of walking the full nodes before it.  An insertion at floor
   * raises it past the range, a removal below it lowers it to the range's
   * start and a search for one free key from at or below it moves it to
   * the key found.  Unlike the way, a change does not invalidate it. */
  guint64 floor;
} DaFinger;

typedef struct _DaDense DaDense;

struct _DaRangeMap {
  gpointer root; /* a DaLeaf when height == 0, else a DaInner; NULL when empty */
  guint height;
  gboolean is_set;
  GDestroyNotify value_free;
  guint n_ranges;
  /* keys covered modulo 2^64: with ranges present, 0 means 2^64 */
  guint64 n_keys;
  gsize memory;
  guint64 serial;
  DaFinger *finger; /* NULL for a set */
  gboolean large;   /* its nodes took LARGE_MAP_BYTES once */
  /* the dense form: windowed while the ranges are kept as bitmaps over
   * [window_lo, window_hi], which dense holds unless the map is empty */
  gboolean windowed;
  guint64 window_lo;
  guint64 window_hi;
  DaDense *dense;
};

/* the way from the root to a leaf: node[l] is the inner node at level l
 * and index[l] the child taken there */
typedef struct {
  DaInner *node[MAX_HEIGHT];
  guint index[MAX_HEIGHT];
  DaLeaf *leaf;
} DaPath;

typedef enum {
  SPLIT_HALF,
  SPLIT_APPEND,
  SPLIT_PREPEND,
} DaSplit;

/* ---------------------------------------------------------------- nodes */

/* A small map stays in the caches, where asking for memory ahead costs
 * more instructions than it saves, and so does remembering the way of
 * every descent (a short one): a map becomes large, for good, once its
 * nodes take this much */
#ifndef DA_RANGE_MAP_LARGE_BYTES
#define DA_RANGE_MAP_LARGE_BYTES (256 * 1024)
#endif
#define LARGE_MAP_BYTES DA_RANGE_MAP_LARGE_BYTES

static inline void
memory_grew (DaRangeMap *map, gsize bytes)
{
  map->memory += bytes;
  if (G_UNLIKELY (!map->large) && map->memory >= LARGE_MAP_BYTES)
    map->large = TRUE;
}

static inline gboolean
map_is_large (const DaRangeMap *map)
{
  return map->large;
}

static inline void
finger_invalidate (DaRangeMap *map)
{
  if (map->finger != NULL) {
    map->finger->valid = FALSE;
    map->finger->gap_valid = FALSE;
  }
}

static gsize
leaf_size (const DaRangeMap *map)
{
  return G_STRUCT_OFFSET (DaLeaf, keys) + (map->is_set ? 2 : 3) * LEAF_MAX * sizeof (guint64);
}

static DaLeaf *
leaf_new (DaRangeMap *map)
{
  DaLeaf *leaf = g_malloc (leaf_size (map));

  leaf->next = NULL;
  leaf->n = 0;
  leaf->gaps = 0;
  memory_grew (map, leaf_size (map));
  return leaf;
}

static void
leaf_free (DaRangeMap *map, DaLeaf *leaf)
{
  map->memory -= leaf_size (map);
  g_free (leaf);
}

static DaInner *
inner_new (DaRangeMap *map)
{
  DaInner *inner = g_new (DaInner, 1);

  inner->n = 0;
  memory_grew (map, sizeof (DaInner));
  return inner;
}

static void
inner_free (DaRangeMap *map, DaInner *inner)
{
  map->memory -= sizeof (DaInner);
  g_free (inner);
}

/* moves count entries; the ranges may overlap */
static inline void
leaf_move (const DaRangeMap *map, DaLeaf *dst, guint di, DaLeaf *src, guint si, guint count)
{
  if (count == 0)
    return;
  memmove (LEAF_START (dst) + di, LEAF_START (src) + si, count * sizeof (guint64));
  memmove (LEAF_END (dst) + di, LEAF_END (src) + si, count * sizeof (guint64));
  if (!map->is_set)
    memmove (LEAF_VALUE (dst) + di, LEAF_VALUE (src) + si, count * sizeof (gpointer));
}

static inline void
leaf_put (const DaRangeMap *map, DaLeaf *leaf, guint i, guint64 start, guint64 end, gpointer value)
{
  LEAF_START (leaf)[i] = start;
  LEAF_END (leaf)[i] = end;
  if (!map->is_set)
    LEAF_VALUE (leaf)[i] = value;
}

static inline void
leaf_get (const DaRangeMap *map, const DaLeaf *leaf, guint i, DaRange *range, gpointer *value)
{
  if (range != NULL) {
    range->start = LEAF_START (leaf)[i];
    range->end = LEAF_END (leaf)[i];
  }
  if (value != NULL)
    *value = map->is_set ? NULL : LEAF_VALUE (leaf)[i];
}

static inline void
inner_move (DaInner *dst, guint di, DaInner *src, guint si, guint count)
{
  memmove (dst->first + di, src->first + si, count * sizeof (guint64));
  memmove (dst->last + di, src->last + si, count * sizeof (guint64));
  memmove (dst->gap + di, src->gap + si, count * sizeof (guint64));
  memmove (dst->child + di, src->child + si, count * sizeof (gpointer));
}

static inline void
inner_set (DaInner *inner, guint i, gpointer child, const DaSummary *s)
{
  inner->first[i] = s->first;
  inner->last[i] = s->last;
  inner->gap[i] = s->gap;
  inner->child[i] = child;
}

static inline guint
node_n (gpointer node, gboolean is_leaf)
{
  return is_leaf ? ((DaLeaf *) node)->n : ((DaInner *) node)->n;
}

/* ------------------------------------------------------------ gap bits */

static inline guint
lowest_bit (guint64 m)
{
#if defined(__GNUC__) || defined(__clang__)
  return (guint) __builtin_ctzll (m);
#else
  guint i = 0;

  while (!(m & 1)) {
    m >>= 1;
    i++;
  }
  return i;
#endif
}

static inline guint
highest_bit (guint64 m)
{
#if defined(__GNUC__) || defined(__clang__)
  return 63 - (guint) __builtin_clzll (m);
#else
  guint i = 63;

  while (!(m & (G_GUINT64_CONSTANT (1) << i)))
    i--;
  return i;
#endif
}

/* bits [0, i) for i <= 64 */
static inline guint64
bits_below (guint i)
{
  return i >= 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << i) - 1;
}

/* the gap bit of entry i as it should be */
static inline guint64
gap_bit (const DaLeaf *leaf, guint i)
{
  if (i == 0 || i >= leaf->n)
    return 0;
  return (guint64) (LEAF_START (leaf)[i] - LEAF_END (leaf)[i - 1] >= 2) << i;
}

static inline void
leaf_fix_gap_bit (DaLeaf *leaf, guint i)
{
  if (i < 64)
    leaf->gaps = (leaf->gaps & ~(G_GUINT64_CONSTANT (1) << i)) | gap_bit (leaf, i);
}

static guint64
leaf_compute_gaps (const DaLeaf *leaf)
{
  const guint64 *start = LEAF_START (leaf);
  const guint64 *end = LEAF_END (leaf);
  guint64 gaps = 0;

  for (guint i = 1; i < leaf->n; i++)
    gaps |= (guint64) (start[i] - end[i - 1] >= 2) << i;
  return gaps;
}

/* an entry went in at pos: later bits move up one */
static inline void
leaf_gaps_inserted (DaLeaf *leaf, guint pos)
{
  guint64 high = pos + 1 >= 64 ? 0 : (leaf->gaps >> pos) << (pos + 1);

  leaf->gaps = (leaf->gaps & bits_below (pos)) | high;
  leaf_fix_gap_bit (leaf, pos);
  leaf_fix_gap_bit (leaf, pos + 1);
}

/* the entry at pos went away: later bits move down one */
static inline void
leaf_gaps_removed (DaLeaf *leaf, guint pos)
{
  guint64 high = pos + 1 >= 64 ? 0 : (leaf->gaps >> (pos + 1)) << pos;

  leaf->gaps = (leaf->gaps & bits_below (pos)) | high;
  leaf_fix_gap_bit (leaf, pos);
}

/* the number of elements <= key in a sorted array of n; branch-free so
 * that a random key costs no mispredicted branches.  The window halves
 * by powers of two, which lets the steps run without a length to keep. */
static inline guint
upper_bound (const guint64 *a, guint n, guint64 key)
{
  guint i = 0, step;

  if (n == 0)
    return 0;
  /* the largest power of two <= n; a[0, n - step) all hold when a[step - 1] does */
#if defined(__GNUC__) || defined(__clang__)
  step = 1u << (31 - (guint) __builtin_clz (n));
#else
  for (step = 1; step <= n / 2; step *= 2)
    ;
#endif
  if (a[step - 1] <= key)
    i = n - step;
  for (step >>= 1; step != 0; step >>= 1)
    i = a[i + step - 1] <= key ? i + step : i;
  return i + (i < n && a[i] <= key);
}

#define LEAF_UPPER(leaf, key) upper_bound (LEAF_START (leaf), (leaf)->n, (key))

/* the child whose keys may contain key: the last one starting at or
 * before it, or the first (at once when the second starts after key:
 * searches from the start of a pool go that way) */
static inline guint
inner_child_for (const DaInner *inner, guint64 key)
{
  guint i;

  if (inner->first[1] > key)
    return 0;
  i = upper_bound (inner->first, inner->n, key);
  return i - 1;
}

/* ------------------------------------------------------------ summaries */

/* uncovered keys between entry i - 1 and entry i */
static inline guint64
leaf_gap_before (const DaLeaf *leaf, guint i)
{
  return LEAF_START (leaf)[i] - LEAF_END (leaf)[i - 1] - 1;
}

static inline guint64
inner_gap_before (const DaInner *inner, guint i)
{
  return inner->first[i] - inner->last[i - 1] - 1;
}

/* a leaf of few holes is summed up by them; where most entries have a
 * gap before them (random keys) a plain pass over pairs of entries is
 * quicker than walking the bits */
static guint64
leaf_max_gap (const DaLeaf *leaf)
{
  const guint64 *start = LEAF_START (leaf);
  const guint64 *end = LEAF_END (leaf);
  guint64 m0 = 1, m1 = 1;
  guint64 m = leaf->gaps;

  /* up to eight holes by their bits; past that, every pair */
  for (guint k = 0; m != 0 && k < 8; k++, m &= m - 1) {
    guint i = lowest_bit (m);
    guint64 d = start[i] - end[i - 1];

    m0 = d > m0 ? d : m0;
  }
  if (m != 0) {
    guint i = 1;

    /* start[i] - end[i - 1] is the gap plus one */
    for (; i + 1 < leaf->n; i += 2) {
      guint64 a = start[i] - end[i - 1];
      guint64 b = start[i + 1] - end[i];

      m0 = a > m0 ? a : m0;
      m1 = b > m1 ? b : m1;
    }
    if (i < leaf->n) {
      guint64 a = start[i] - end[i - 1];

      m0 = a > m0 ? a : m0;
    }
  }
  return (m0 > m1 ? m0 : m1) - 1;
}

static guint64
inner_max_gap (const DaInner *inner)
{
  guint64 max = inner->gap[0];

  for (guint i = 1; i < inner->n; i++) {
    guint64 between = inner_gap_before (inner, i);

    max = MAX (max, inner->gap[i]);
    max = MAX (max, between);
  }
  return max;
}

static void
leaf_summary (const DaLeaf *leaf, DaSummary *s)
{
  s->first = LEAF_START (leaf)[0];
  s->last = LEAF_END (leaf)[leaf->n - 1];
  s->gap = leaf_max_gap (leaf);
}

static void
inner_summary (const DaInner *inner, DaSummary *s)
{
  s->first = inner->first[0];
  s->last = inner->last[inner->n - 1];
  s->gap = inner_max_gap (inner);
}

static void
node_summary (gpointer node, gboolean is_leaf, DaSummary *s)
{
  if (is_leaf)
    leaf_summary (node, s);
  else
    inner_summary (node, s);
}

/* the largest of the gaps on either side of entry i; FALSE when it has
 * no neighbour */
static inline gboolean
leaf_gaps_around (const DaLeaf *leaf, guint i, guint64 *max)
{
  gboolean any = FALSE;
  guint64 m = 0;

  if (i > 0 && i < leaf->n) {
    m = leaf_gap_before (leaf, i);
    any = TRUE;
  }
  if (i + 1 < leaf->n) {
    m = MAX (m, leaf_gap_before (leaf, i + 1));
    any = TRUE;
  }
  *max = m;
  return any;
}

/* the largest of child i's own gap and the runs on either side of it */
static inline guint64
inner_gaps_around (const DaInner *inner, guint i)
{
  guint64 m = inner->gap[i];

  if (i > 0)
    m = MAX (m, inner_gap_before (inner, i));
  if (i + 1 < inner->n)
    m = MAX (m, inner_gap_before (inner, i + 1));
  return m;
}

/* Whether a node's longest gap is known without a rescan after gaps up to
 * removed were replaced by gaps up to added: it is MAX (old_max, added)
 * unless a removed gap held the old maximum and nothing as long came in. */
static inline gboolean
new_max_gap (gboolean removed_any, guint64 removed, guint64 added, guint64 old_max)
{
  return !removed_any || removed < old_max || added >= old_max;
}

/* The node at path level lvl (the leaf when lvl == height) now has summary
 * s: store it in the parent and go up while something changes.  A node's
 * longest gap is updated without a rescan unless the gaps that changed
 * held the old maximum, which keeps an update O(height) in the usual case. */
static void
path_propagate (DaPath *path, guint lvl, DaSummary s)
{
  while (lvl > 0) {
    DaInner *p = path->node[lvl - 1];
    guint i = path->index[lvl - 1];
    guint64 removed, added, old_max;

    if (p->first[i] == s.first && p->last[i] == s.last && p->gap[i] == s.gap)
      return;
    /* the root's own summary is kept nowhere */
    if (lvl == 1) {
      p->first[i] = s.first;
      p->last[i] = s.last;
      p->gap[i] = s.gap;
      return;
    }
    removed = inner_gaps_around (p, i);
    p->first[i] = s.first;
    p->last[i] = s.last;
    p->gap[i] = s.gap;
    lvl--;
    added = inner_gaps_around (p, i);
    old_max = path->node[lvl - 1]->gap[path->index[lvl - 1]];
    s.first = p->first[0];
    s.last = p->last[p->n - 1];
    s.gap = new_max_gap (TRUE, removed, added, old_max) ? MAX (old_max, added) : inner_max_gap (p);
  }
}

/* the path's leaf changed in place: gaps up to removed went away (when
 * removed_any) and gaps up to added appeared */
static void
leaf_changed (DaRangeMap *map, DaPath *path, gboolean removed_any, guint64 removed, guint64 added)
{
  DaLeaf *leaf = path->leaf;
  DaInner *parent;
  guint64 old_max;
  DaSummary s;
  guint i;

  if (map->height == 0)
    return;
  parent = path->node[map->height - 1];
  i = path->index[map->height - 1];
  old_max = parent->gap[i];
  s.first = LEAF_START (leaf)[0];
  s.last = LEAF_END (leaf)[leaf->n - 1];
  s.gap = new_max_gap (removed_any, removed, added, old_max) ? MAX (old_max, added) : leaf_max_gap (leaf);
  /* most changes inside a leaf leave its summary as it was */
  if (s.first != parent->first[i] || s.last != parent->last[i] || s.gap != old_max)
    path_propagate (path, map->height, s);
}

/* --------------------------------------------------------------- search */

/* Asks for the cache lines a node's binary search reads, all at once: the
 * search would otherwise wait for them one after the other, each a trip to
 * memory in a large map.  Only those: the one end, value or child a search
 * then reads is one line, and asking for lines that go unread costs memory
 * bandwidth, which a random operation on a large map is short of (a line
 * costs about as much as a tenth of a trip). */

static inline void
prefetch_lines (const void *p, gsize size)
{
#if defined(__GNUC__) || defined(__clang__)
  /* sizes are constants: no loop is left */
#pragma GCC unroll 32
  for (gsize off = 0; off < size; off += 64)
    __builtin_prefetch ((const char *) p + off);
#endif
}

static inline void
prefetch_node (gconstpointer node, gboolean is_leaf)
{
  if (is_leaf)
    prefetch_lines (node, G_STRUCT_OFFSET (DaLeaf, keys) + LEAF_MAX * sizeof (guint64));
  else
    prefetch_lines (((const DaInner *) node)->first, INNER_MAX * sizeof (guint64));
}

static DaLeaf *
descend (const DaRangeMap *map, guint64 key, DaPath *path)
{
  DaFinger *f = map->finger;
  gpointer node = map->root;
  guint height = map->height;
  gboolean prefetch = map_is_large (map);
  guint64 lo = 0, hi = G_MAXUINT64;

  if (f == NULL || !prefetch || height > FINGER_HEIGHT) {
    for (guint l = 0; l < height; l++) {
      DaInner *inner = node;
      guint i = inner_child_for (inner, key);

      if (path != NULL) {
        path->node[l] = inner;
        path->index[l] = i;
      }
      node = inner->child[i];
      if (prefetch)
        prefetch_node (node, l + 1 == height);
    }
    if (path != NULL)
      path->leaf = node;
    return node;
  }

  /* the way of the last look, when key takes it; else the descent (asking
   * for each node's lines in a large map) is remembered */
  if (!f->valid || key < f->lo || key > f->hi) {
    for (guint l = 0; l < height; l++) {
      DaInner *inner = node;
      guint i = inner_child_for (inner, key);

      if (i > 0)
        lo = MAX (lo, inner->first[i]);
      if (i + 1 < inner->n)
        hi = MIN (hi, inner->first[i + 1] - 1);
      f->node[l] = inner;
      f->index[l] = i;
      node = inner->child[i];
      if (prefetch)
        prefetch_node (node, l + 1 == height);
    }
    f->leaf = node;
    f->lo = lo;
    f->hi = hi;
    f->valid = TRUE;
    f->gap_valid = FALSE;
  }
  if (path != NULL) {
    for (guint l = 0; l < height; l++) {
      path->node[l] = f->node[l];
      path->index[l] = f->index[l];
    }
    path->leaf = f->leaf;
  }
  return f->leaf;
}

/* Points path and pos at the first range with end >= key and returns TRUE;
 * when there is none, FALSE with pos just past the last range.  Either way
 * pos is where a range starting at key would be inserted. */
static gboolean
locate_next (const DaRangeMap *map, guint64 key, DaPath *path, guint *pos)
{
  const DaFinger *f = map->finger;
  DaLeaf *leaf;
  guint i;

  /* where a gap search just found a run starting at key: the entry after
   * the run's hole */
  if (f != NULL && f->gap_valid && key == f->gap_key) {
    for (guint l = 0; l < map->height; l++) {
      path->node[l] = f->node[l];
      path->index[l] = f->index[l];
    }
    path->leaf = f->leaf;
    *pos = f->gap_pos;
    return !f->gap_last;
  }
  leaf = descend (map, key, path);
  i = LEAF_UPPER (leaf, key);

  if (i > 0 && LEAF_END (leaf)[i - 1] >= key) {
    *pos = i - 1;
    return TRUE;
  }
  if (i < leaf->n) {
    *pos = i;
    return TRUE;
  }
  if (leaf->next == NULL) {
    *pos = i;
    return FALSE;
  }
  descend (map, LEAF_START (leaf->next)[0], path);
  *pos = 0;
  return TRUE;
}

static gboolean
path_is_leftmost (const DaRangeMap *map, const DaPath *path)
{
  for (guint l = 0; l < map->height; l++) {
    if (path->index[l] != 0)
      return FALSE;
  }
  return TRUE;
}

static void
bounds (const DaRangeMap *map, guint64 *first, guint64 *last)
{
  if (map->height == 0) {
    const DaLeaf *leaf = map->root;

    *first = LEAF_START (leaf)[0];
    *last = LEAF_END (leaf)[leaf->n - 1];
  } else {
    const DaInner *inner = map->root;

    *first = inner->first[0];
    *last = inner->last[inner->n - 1];
  }
}

/* ------------------------------------------------------------ insertion */

/* a map of values got [start, end]: it covers the floor only when it
 * starts there, since it overlaps nothing */
static inline void
floor_inserted (DaRangeMap *map, guint64 start, guint64 end)
{
  DaFinger *f = map->finger;

  if (f != NULL && start <= f->floor && end < G_MAXUINT64)
    f->floor = MAX (f->floor, end + 1);
}

static inline void
floor_removed (DaRangeMap *map, guint64 start)
{
  DaFinger *f = map->finger;

  if (f != NULL && start < f->floor)
    f->floor = start;
}

static inline void
count_add (DaRangeMap *map, guint64 start, guint64 end)
{
  /* modulo 2^64: the total never exceeds 2^64 because ranges are disjoint */
  map->n_keys += end - start + 1;
}

static inline void
count_sub (DaRangeMap *map, guint64 start, guint64 end)
{
  map->n_keys -= end - start + 1;
}

/* The node at path level lvl was split into itself (summary ls) and right
 * (summary rs), which goes just after it.  Splits the ancestors as needed. */
static void
split_done (DaRangeMap *map, DaPath *path, guint lvl, DaSummary ls, gpointer right, DaSummary rs, DaSplit kind)
{
  for (;;) {
    DaInner *p, *q;
    guint i, n, k;

    if (lvl == 0) {
      DaInner *root = inner_new (map);

      inner_set (root, 0, map->root, &ls);
      inner_set (root, 1, right, &rs);
      root->n = 2;
      map->root = root;
      map->height++;
      return;
    }
    p = path->node[lvl - 1];
    i = path->index[lvl - 1];
    n = p->n;
    inner_set (p, i, p->child[i], &ls);
    if (n < INNER_MAX) {
      inner_move (p, i + 2, p, i + 1, n - i - 1);
      inner_set (p, i + 1, right, &rs);
      p->n = n + 1;
      if (lvl > 1) {
        DaSummary s;

        inner_summary (p, &s);
        path_propagate (path, lvl - 1, s);
      }
      return;
    }

    /* n + 1 children with the new one at i + 1: the left node keeps k;
     * at the edges of a sequential fill the old node stays (nearly) full */
    if (kind == SPLIT_APPEND && i + 1 == n) {
      k = n - 1;
    } else if (kind == SPLIT_PREPEND && i == 0) {
      k = 2;
    } else {
      k = (n + 1) / 2;
      kind = SPLIT_HALF;
    }
    q = inner_new (map);
    if (i + 1 < k) {
      inner_move (q, 0, p, k - 1, n - k + 1);
      inner_move (p, i + 2, p, i + 1, k - i - 2);
      inner_set (p, i + 1, right, &rs);
    } else {
      inner_move (q, 0, p, k, i + 1 - k);
      inner_set (q, i + 1 - k, right, &rs);
      inner_move (q, i + 2 - k, p, i + 1, n - i - 1);
    }
    p->n = k;
    q->n = n + 1 - k;
    inner_summary (p, &ls);
    inner_summary (q, &rs);
    right = q;
    lvl--;
  }
}

/* inserts an entry at pos of the path's leaf; the caller checked order */
static void
leaf_insert (DaRangeMap *map, DaPath *path, guint pos, guint64 start, guint64 end, gpointer value)
{
  DaLeaf *leaf = path->leaf;
  DaLeaf *right;
  DaSummary ls, rs;
  DaSplit kind;
  guint n = leaf->n;
  guint k;

  finger_invalidate (map);
  map->n_ranges++;
  count_add (map, start, end);
  if (n < LEAF_MAX) {
    gboolean removed_any = pos > 0 && pos < n;
    guint64 removed = removed_any ? leaf_gap_before (leaf, pos) : 0;
    guint64 added;

    leaf_move (map, leaf, pos + 1, leaf, pos, n - pos);
    leaf_put (map, leaf, pos, start, end, value);
    leaf->n = n + 1;
    leaf_gaps_inserted (leaf, pos);
    leaf_gaps_around (leaf, pos, &added);
    leaf_changed (map, path, removed_any, removed, added);
    return;
  }

  if (pos == n && leaf->next == NULL) {
    kind = SPLIT_APPEND;
    k = n;
  } else if (pos == 0 && path_is_leftmost (map, path)) {
    kind = SPLIT_PREPEND;
    k = 1;
  } else {
    kind = SPLIT_HALF;
    k = (n + 1) / 2;
  }
  right = leaf_new (map);
  if (pos < k) {
    leaf_move (map, right, 0, leaf, k - 1, n - k + 1);
    leaf_move (map, leaf, pos + 1, leaf, pos, k - 1 - pos);
    leaf_put (map, leaf, pos, start, end, value);
  } else {
    leaf_move (map, right, 0, leaf, k, pos - k);
    leaf_put (map, right, pos - k, start, end, value);
    leaf_move (map, right, pos - k + 1, leaf, pos, n - pos);
  }
  leaf->n = k;
  right->n = n + 1 - k;
  leaf->gaps = leaf_compute_gaps (leaf);
  right->gaps = leaf_compute_gaps (right);
  right->next = leaf->next;
  leaf->next = right;
  leaf_summary (leaf, &ls);
  leaf_summary (right, &rs);
  split_done (map, path, map->height, ls, right, rs, kind);
}

static void
insert_first (DaRangeMap *map, guint64 start, guint64 end, gpointer value)
{
  DaLeaf *leaf = leaf_new (map);

  finger_invalidate (map);
  leaf_put (map, leaf, 0, start, end, value);
  leaf->n = 1;
  leaf->gaps = 0;
  map->root = leaf;
  map->height = 0;
  map->n_ranges = 1;
  map->n_keys = 0;
  count_add (map, start, end);
}

/* sets entry pos of the path's leaf to [start, end]; order is kept */
static void
leaf_modify (DaRangeMap *map, DaPath *path, guint pos, guint64 start, guint64 end)
{
  DaLeaf *leaf = path->leaf;
  gboolean removed_any;
  guint64 removed, added;

  finger_invalidate (map);
  removed_any = leaf_gaps_around (leaf, pos, &removed);
  count_sub (map, LEAF_START (leaf)[pos], LEAF_END (leaf)[pos]);
  count_add (map, start, end);
  LEAF_START (leaf)[pos] = start;
  LEAF_END (leaf)[pos] = end;
  leaf_fix_gap_bit (leaf, pos);
  leaf_fix_gap_bit (leaf, pos + 1);
  leaf_gaps_around (leaf, pos, &added);
  leaf_changed (map, path, removed_any, removed, added);
}

/* ---------------------------------------------------------------- dense */

/* A map of values whose ranges lie in a window of at most
 * DA_RANGE_MAP_DENSE_KEYS keys keeps them as two bitmaps over the window:
 * covered (every key of a range) and starts (the first key of each).  The
 * range starting at bit s ends just before the first later bit that is a
 * start or uncovered, so touching ranges stay apart.  Values are kept by
 * the bit of their start in blocks of 64, one per bitmap word, that exist
 * while their word holds a start.  Keys outside the window are uncovered,
 * and bits past the window's end are clear in both bitmaps.  The bitmaps
 * exist while the map holds a range, so an empty map takes nothing. */
struct _DaDense {
  guint64 lo;   /* the window's first key */
  guint n_bits; /* keys in the window */
  guint n_words;
  /* covered[n_words], starts[n_words], then gpointer *values[n_words] */
  guint64 words[];
};

#define DENSE_COVERED(d) ((d)->words)
#define DENSE_STARTS(d) ((d)->words + (d)->n_words)
#define DENSE_VALUES(d) ((gpointer **) ((d)->words + 2 * (d)->n_words))
#define DENSE_BLOCK_BYTES (64 * sizeof (gpointer))
#define DENSE_TOP(d) ((d)->lo + ((d)->n_bits - 1))
/* no bit */
#define NO_BIT G_MAXUINT

G_STATIC_ASSERT (DA_RANGE_MAP_DENSE_KEYS % 64 == 0);

static inline guint64
bit_of (guint b)
{
  return G_GUINT64_CONSTANT (1) << (b % 64);
}

/* the first set bit at or after from, or NO_BIT */
static inline guint
bits_next_set (const guint64 *w, guint n_words, guint from)
{
  guint i = from / 64;
  guint64 m;

  if (i >= n_words)
    return NO_BIT;
  m = w[i] & ~bits_below (from % 64);
  while (m == 0) {
    if (++i == n_words)
      return NO_BIT;
    m = w[i];
  }
  return i * 64 + lowest_bit (m);
}

/* the first clear bit at or after from; n_words * 64 when there is none */
static inline guint
bits_next_clear (const guint64 *w, guint n_words, guint from)
{
  guint i = from / 64;
  guint64 m;

  if (i >= n_words)
    return n_words * 64;
  m = ~w[i] & ~bits_below (from % 64);
  while (m == 0) {
    if (++i == n_words)
      return n_words * 64;
    m = ~w[i];
  }
  return i * 64 + lowest_bit (m);
}

/* the last set bit at or before upto, or NO_BIT */
static inline guint
bits_prev_set (const guint64 *w, guint upto)
{
  guint i = upto / 64;
  guint64 m = w[i] & bits_below (upto % 64 + 1);

  while (m == 0) {
    if (i-- == 0)
      return NO_BIT;
    m = w[i];
  }
  return i * 64 + highest_bit (m);
}

/* the last clear bit at or before upto, or NO_BIT */
static inline guint
bits_prev_clear (const guint64 *w, guint upto)
{
  guint i = upto / 64;
  guint64 m = ~w[i] & bits_below (upto % 64 + 1);

  while (m == 0) {
    if (i-- == 0)
      return NO_BIT;
    m = ~w[i];
  }
  return i * 64 + highest_bit (m);
}

/* sets (on) or clears bits a..b */
static inline void
bits_fill (guint64 *w, guint a, guint b, gboolean on)
{
  guint i = a / 64, j = b / 64;
  guint64 head = ~bits_below (a % 64);
  guint64 tail = bits_below (b % 64 + 1);

  if (i == j) {
    head &= tail;
    tail = 0;
  }
  w[i] = on ? w[i] | head : w[i] & ~head;
  for (guint k = i + 1; k < j; k++)
    w[k] = on ? G_MAXUINT64 : 0;
  if (tail != 0)
    w[j] = on ? w[j] | tail : w[j] & ~tail;
}

static inline gsize
dense_size (guint n_words)
{
  return G_STRUCT_OFFSET (DaDense, words) + n_words * (2 * sizeof (guint64) + sizeof (gpointer));
}

static DaDense *
dense_new (DaRangeMap *map)
{
  guint n_bits = (guint) (map->window_hi - map->window_lo) + 1;
  guint n_words = (n_bits + 63) / 64;
  DaDense *d = g_malloc0 (dense_size (n_words));

  d->lo = map->window_lo;
  d->n_bits = n_bits;
  d->n_words = n_words;
  map->memory += dense_size (n_words);
  return d;
}

/* frees the bitmaps and blocks, and the values when free_values */
static void
dense_free (DaRangeMap *map, DaDense *d, gboolean free_values)
{
  const guint64 *starts = DENSE_STARTS (d);
  gpointer **values = DENSE_VALUES (d);

  for (guint i = 0; i < d->n_words; i++) {
    if (values[i] == NULL)
      continue;
    if (free_values && map->value_free != NULL) {
      for (guint64 m = starts[i]; m != 0; m &= m - 1)
        map->value_free (values[i][lowest_bit (m)]);
    }
    g_free (values[i]);
    map->memory -= DENSE_BLOCK_BYTES;
  }
  map->memory -= dense_size (d->n_words);
  g_free (d);
}

/* the last bit of the range starting at bit s */
static inline guint
dense_end (const DaDense *d, guint s)
{
  const guint64 *covered = DENSE_COVERED (d);
  const guint64 *starts = DENSE_STARTS (d);
  guint i = s / 64;
  guint64 m = (starts[i] | ~covered[i]) & ~bits_below (s % 64 + 1);

  while (m == 0) {
    if (++i == d->n_words)
      return d->n_bits - 1;
    m = starts[i] | ~covered[i];
  }
  return i * 64 + lowest_bit (m) - 1;
}

static inline void
dense_get (const DaDense *d, guint s, DaRange *range, gpointer *value)
{
  if (range != NULL) {
    range->start = d->lo + s;
    range->end = d->lo + dense_end (d, s);
  }
  if (value != NULL)
    *value = DENSE_VALUES (d)[s / 64][s % 64];
}

static inline gboolean
dense_covers (const DaDense *d, guint b)
{
  return (DENSE_COVERED (d)[b / 64] & bit_of (b)) != 0;
}

/* whether any key of [start, end] is covered */
static gboolean
dense_intersects (const DaDense *d, guint64 start, guint64 end)
{
  guint a, b;

  if (d == NULL || end < d->lo || start > DENSE_TOP (d))
    return FALSE;
  a = start < d->lo ? 0 : (guint) (start - d->lo);
  b = end > DENSE_TOP (d) ? d->n_bits - 1 : (guint) (end - d->lo);
  return bits_next_set (DENSE_COVERED (d), d->n_words, a) <= b;
}

/* [start, end] lies in the window */
static gboolean
dense_insert (DaRangeMap *map, guint64 start, guint64 end, gpointer value)
{
  DaDense *d = map->dense;
  guint a, b, i;
  guint64 *covered;
  gpointer *block;

  if (d == NULL)
    d = map->dense = dense_new (map);
  covered = DENSE_COVERED (d);
  a = (guint) (start - d->lo);
  b = (guint) (end - d->lo);
  i = a / 64;
  if (i == b / 64) {
    /* within one word, as nearly every reservation */
    guint64 mask = ~bits_below (a % 64) & bits_below (b % 64 + 1);

    if (covered[i] & mask)
      return FALSE;
    covered[i] |= mask;
  } else {
    if (bits_next_set (covered, d->n_words, a) <= b)
      return FALSE;
    bits_fill (covered, a, b, TRUE);
  }
  DENSE_STARTS (d)[i] |= bit_of (a);
  block = DENSE_VALUES (d)[i];
  if (block == NULL) {
    block = DENSE_VALUES (d)[i] = g_malloc0 (DENSE_BLOCK_BYTES);
    map->memory += DENSE_BLOCK_BYTES;
  }
  block[a % 64] = value;
  map->n_ranges++;
  count_add (map, start, end);
  map->serial++;
  return TRUE;
}

/* removes the range starting exactly at start */
static gboolean
dense_remove_exact (DaRangeMap *map, guint64 start, gpointer *value)
{
  DaDense *d = map->dense;
  guint a, b, i;
  guint64 *starts;
  gpointer *block;

  if (d == NULL || start < d->lo || start > DENSE_TOP (d))
    return FALSE;
  a = (guint) (start - d->lo);
  i = a / 64;
  starts = DENSE_STARTS (d);
  if (!(starts[i] & bit_of (a)))
    return FALSE;
  b = dense_end (d, a);
  bits_fill (DENSE_COVERED (d), a, b, FALSE);
  starts[i] &= ~bit_of (a);
  block = DENSE_VALUES (d)[i];
  if (value != NULL)
    *value = block[a % 64];
  if (starts[i] == 0) {
    g_free (block);
    DENSE_VALUES (d)[i] = NULL;
    map->memory -= DENSE_BLOCK_BYTES;
  }
  map->n_ranges--;
  count_sub (map, start, d->lo + b);
  map->serial++;
  if (map->n_ranges == 0) {
    map->dense = NULL;
    dense_free (map, d, FALSE);
  }
  return TRUE;
}

static gboolean
dense_lookup (const DaDense *d, guint64 key, DaRange *range, gpointer *value)
{
  guint b;

  if (key < d->lo || key > DENSE_TOP (d))
    return FALSE;
  b = (guint) (key - d->lo);
  if (!dense_covers (d, b))
    return FALSE;
  dense_get (d, bits_prev_set (DENSE_STARTS (d), b), range, value);
  return TRUE;
}

/* the bit of the first range with end >= key, or NO_BIT */
static guint
dense_next (const DaDense *d, guint64 key)
{
  guint b;

  if (key > DENSE_TOP (d))
    return NO_BIT;
  b = key < d->lo ? 0 : (guint) (key - d->lo);
  if (dense_covers (d, b))
    return bits_prev_set (DENSE_STARTS (d), b);
  /* the first covered bit after an uncovered one starts a range */
  return bits_next_set (DENSE_COVERED (d), d->n_words, b);
}

/* the bit of the last range with start <= key, or NO_BIT */
static guint
dense_prev (const DaDense *d, guint64 key)
{
  if (key < d->lo)
    return NO_BIT;
  return bits_prev_set (DENSE_STARTS (d), key > DENSE_TOP (d) ? d->n_bits - 1 : (guint) (key - d->lo));
}

/* ------------------------------------------------------- changing form */

typedef struct {
  guint64 start;
  guint64 end;
  gpointer value;
} DaEntry;

static void node_free (DaRangeMap *map, gpointer node, guint height, gboolean free_values);

/* leaves map empty, in either form, freeing its nodes or bitmaps and, when
 * free_values, its values; the map is detached first so that a value_free
 * looking at it sees it empty */
static void
map_empty (DaRangeMap *map, gboolean free_values)
{
  gpointer root = map->root;
  guint height = map->height;
  DaDense *dense = map->dense;

  if (root == NULL && dense == NULL)
    return;
  map->root = NULL;
  map->dense = NULL;
  map->height = 0;
  map->n_ranges = 0;
  map->n_keys = 0;
  map->serial++;
  finger_invalidate (map);
  if (map->finger != NULL)
    map->finger->floor = 0;
  if (dense != NULL)
    dense_free (map, dense, free_values);
  else
    node_free (map, root, height, free_values);
}

/* every range of map with its value, in order, leaving the map empty
 * without freeing any value */
static GArray *
map_take_entries (DaRangeMap *map)
{
  GArray *entries = g_array_sized_new (FALSE, FALSE, sizeof (DaEntry), map->n_ranges);
  DaRangeMapIter iter;
  DaRange range;
  DaEntry e;

  da_range_map_iter_init (&iter, map, 0);
  while (da_range_map_iter_next (&iter, &range, &e.value)) {
    e.start = range.start;
    e.end = range.end;
    g_array_append_val (entries, e);
  }
  map_empty (map, FALSE);
  return entries;
}

/* inserts them in order into the map in its form now */
static void
map_put_entries (DaRangeMap *map, GArray *entries)
{
  for (guint i = 0; i < entries->len; i++) {
    const DaEntry *e = &g_array_index (entries, DaEntry, i);
    gboolean ok = da_range_map_insert (map, e->start, e->end, e->value);

    g_assert (ok);
  }
}

/* the bitmaps become a tree for good (until the next window) */
static void
dense_to_tree (DaRangeMap *map)
{
  g_autoptr (GArray) entries = map_take_entries (map);

  map->windowed = FALSE;
  map_put_entries (map, entries);
}

void
da_range_map_set_window (DaRangeMap *map, guint64 lo, guint64 hi)
{
  g_autoptr (GArray) entries = NULL;
  gboolean fits;

  g_return_if_fail (map != NULL);

  if (map->is_set)
    return;
  fits = lo <= hi && hi - lo < DA_RANGE_MAP_DENSE_KEYS;
  if (fits && map->n_ranges > 0) {
    DaRange first, last;

    da_range_map_first (map, &first, NULL);
    da_range_map_last (map, &last, NULL);
    fits = first.start >= lo && last.end <= hi;
  }
  if (fits ? map->windowed && map->window_lo == lo && map->window_hi == hi : !map->windowed)
    return;
  if (map->n_ranges > 0)
    entries = map_take_entries (map);
  map->windowed = fits;
  map->window_lo = lo;
  map->window_hi = hi;
  map->serial++;
  if (entries != NULL)
    map_put_entries (map, entries);
}

gboolean
da_range_map_is_dense (const DaRangeMap *map)
{
  g_return_val_if_fail (map != NULL, FALSE);
  return map->windowed;
}

/* -------------------------------------------------------------- removal */

/* moves entries between two neighbours so that the left one holds want */
static void
redistribute (DaRangeMap *map, gpointer left, gpointer right, gboolean is_leaf, guint want)
{
  if (is_leaf) {
    DaLeaf *l = left, *r = right;

    if (l->n < want) {
      guint m = want - l->n;
      guint from = l->n;

      leaf_move (map, l, l->n, r, 0, m);
      leaf_move (map, r, 0, r, m, r->n - m);
      l->n += m;
      r->n -= m;
      /* the bits of the entries that moved, and of the one before them */
      for (guint i = from; i < l->n; i++)
        leaf_fix_gap_bit (l, i);
      r->gaps = (r->gaps >> m) & ~G_GUINT64_CONSTANT (1);
    } else {
      guint m = l->n - want;

      leaf_move (map, r, m, r, 0, r->n);
      leaf_move (map, r, 0, l, want, m);
      l->n -= m;
      r->n += m;
      l->gaps &= bits_below (l->n);
      r->gaps <<= m;
      for (guint i = 1; i <= m; i++)
        leaf_fix_gap_bit (r, i);
    }
  } else {
    DaInner *l = left, *r = right;

    if (l->n < want) {
      guint m = want - l->n;

      inner_move (l, l->n, r, 0, m);
      inner_move (r, 0, r, m, r->n - m);
      l->n += m;
      r->n -= m;
    } else {
      guint m = l->n - want;

      inner_move (r, m, r, 0, r->n);
      inner_move (r, 0, l, want, m);
      l->n -= m;
      r->n += m;
    }
  }
}

/* moves everything of right into left and frees right */
static void
merge (DaRangeMap *map, gpointer left, gpointer right, gboolean is_leaf)
{
  if (is_leaf) {
    DaLeaf *l = left, *r = right;

    guint from = l->n;

    leaf_move (map, l, l->n, r, 0, r->n);
    l->n += r->n;
    /* a full left takes an empty right, which has no bits */
    if (from < 64)
      l->gaps |= r->gaps << from;
    leaf_fix_gap_bit (l, from);
    l->next = r->next;
    leaf_free (map, r);
  } else {
    DaInner *l = left, *r = right;

    inner_move (l, l->n, r, 0, r->n);
    l->n += r->n;
    inner_free (map, r);
  }
}

/* the node at path level lvl (>= 1) fell below its minimum: borrow from a
 * neighbour or merge with it, and go up while parents underflow */
static void
rebalance (DaRangeMap *map, DaPath *path, guint lvl)
{
  for (;;) {
    DaInner *p = path->node[lvl - 1];
    guint i = path->index[lvl - 1];
    guint a = i > 0 ? i - 1 : i;
    gboolean is_leaf = lvl == map->height;
    guint max = is_leaf ? LEAF_MAX : INNER_MAX;
    gpointer left = p->child[a];
    gpointer right = p->child[a + 1];
    guint total = node_n (left, is_leaf) + node_n (right, is_leaf);
    DaSummary s;

    /* each half of more than max holds at least max / 2 >= MIN */
    if (total > max) {
      redistribute (map, left, right, is_leaf, total / 2);
      node_summary (left, is_leaf, &s);
      inner_set (p, a, left, &s);
      node_summary (right, is_leaf, &s);
      inner_set (p, a + 1, right, &s);
      if (lvl > 1) {
        inner_summary (p, &s);
        path_propagate (path, lvl - 1, s);
      }
      return;
    }

    merge (map, left, right, is_leaf);
    node_summary (left, is_leaf, &s);
    inner_set (p, a, left, &s);
    inner_move (p, a + 1, p, a + 2, p->n - a - 2);
    p->n--;
    if (lvl == 1) {
      /* p is the root */
      if (p->n == 1) {
        map->root = p->child[0];
        map->height--;
        inner_free (map, p);
      }
      return;
    }
    if (p->n >= INNER_MIN) {
      inner_summary (p, &s);
      path_propagate (path, lvl - 1, s);
      return;
    }
    lvl--;
  }
}

/* removes entry pos of the path's leaf */
static void
leaf_remove (DaRangeMap *map, DaPath *path, guint pos)
{
  DaLeaf *leaf = path->leaf;
  gboolean removed_any;
  guint64 removed, added = 0;

  finger_invalidate (map);
  map->n_ranges--;
  count_sub (map, LEAF_START (leaf)[pos], LEAF_END (leaf)[pos]);
  removed_any = leaf_gaps_around (leaf, pos, &removed);
  leaf_move (map, leaf, pos, leaf, pos + 1, leaf->n - pos - 1);
  leaf->n--;
  leaf_gaps_removed (leaf, pos);
  if (map->height == 0) {
    if (leaf->n == 0) {
      leaf_free (map, leaf);
      map->root = NULL;
    }
    return;
  }
  if (leaf->n >= LEAF_MIN) {
    if (pos > 0 && pos < leaf->n)
      added = leaf_gap_before (leaf, pos);
    leaf_changed (map, path, removed_any, removed, added);
    return;
  }
  rebalance (map, path, map->height);
}

/* removes the range starting exactly at start */
static gboolean
remove_exact (DaRangeMap *map, guint64 start, gpointer *value)
{
  DaPath path;
  DaLeaf *leaf;
  guint i;

  if (map->dense != NULL)
    return dense_remove_exact (map, start, value);
  if (map->root == NULL)
    return FALSE;
  leaf = descend (map, start, &path);
  i = LEAF_UPPER (leaf, start);
  if (i == 0 || LEAF_START (leaf)[i - 1] != start)
    return FALSE;
  leaf_get (map, leaf, i - 1, NULL, value);
  leaf_remove (map, &path, i - 1);
  floor_removed (map, start);
  map->serial++;
  return TRUE;
}

/* --------------------------------------------------------- construction */

static DaRangeMap *
map_new (gboolean is_set, GDestroyNotify value_free)
{
  DaRangeMap *map = g_new0 (DaRangeMap, 1);

  map->is_set = is_set;
  map->value_free = value_free;
  if (!is_set)
    map->finger = g_new0 (DaFinger, 1);
  return map;
}

DaRangeMap *
da_range_map_new (GDestroyNotify value_free)
{
  return map_new (FALSE, value_free);
}

DaRangeMap *
da_range_map_new_set (void)
{
  return map_new (TRUE, NULL);
}

static void
node_free (DaRangeMap *map, gpointer node, guint height, gboolean free_values)
{
  if (height == 0) {
    DaLeaf *leaf = node;

    if (free_values && map->value_free != NULL) {
      for (guint i = 0; i < leaf->n; i++)
        map->value_free (LEAF_VALUE (leaf)[i]);
    }
    leaf_free (map, leaf);
  } else {
    DaInner *inner = node;

    for (guint i = 0; i < inner->n; i++)
      node_free (map, inner->child[i], height - 1, free_values);
    inner_free (map, inner);
  }
}

void
da_range_map_clear (DaRangeMap *map)
{
  g_return_if_fail (map != NULL);

  map_empty (map, TRUE);
}

void
da_range_map_free (DaRangeMap *map)
{
  if (map == NULL)
    return;
  da_range_map_clear (map);
  g_free (map->finger);
  g_free (map);
}

static gpointer
node_copy (DaRangeMap *dst, const DaRangeMap *src, gpointer node, guint height, DaLeaf **prev_leaf,
           GCopyFunc value_copy, gpointer user_data)
{
  if (height == 0) {
    DaLeaf *from = node;
    DaLeaf *leaf = leaf_new (dst);

    leaf_move (dst, leaf, 0, from, 0, from->n);
    leaf->n = from->n;
    leaf->gaps = from->gaps;
    if (value_copy != NULL && !src->is_set) {
      for (guint i = 0; i < leaf->n; i++)
        LEAF_VALUE (leaf)[i] = value_copy (LEAF_VALUE (from)[i], user_data);
    }
    if (*prev_leaf != NULL)
      (*prev_leaf)->next = leaf;
    *prev_leaf = leaf;
    return leaf;
  } else {
    DaInner *from = node;
    DaInner *inner = inner_new (dst);

    inner->n = from->n;
    memcpy (inner->first, from->first, from->n * sizeof (guint64));
    memcpy (inner->last, from->last, from->n * sizeof (guint64));
    memcpy (inner->gap, from->gap, from->n * sizeof (guint64));
    for (guint i = 0; i < from->n; i++)
      inner->child[i] = node_copy (dst, src, from->child[i], height - 1, prev_leaf, value_copy, user_data);
    return inner;
  }
}

static DaDense *
dense_copy (DaRangeMap *dst, const DaDense *from, GCopyFunc value_copy, gpointer user_data)
{
  DaDense *d = dense_new (dst);
  gpointer **values = DENSE_VALUES (d);
  const guint64 *starts = DENSE_STARTS (from);

  memcpy (d->words, from->words, 2 * from->n_words * sizeof (guint64));
  for (guint i = 0; i < d->n_words; i++) {
    if (DENSE_VALUES (from)[i] == NULL)
      continue;
    values[i] = g_memdup2 (DENSE_VALUES (from)[i], DENSE_BLOCK_BYTES);
    dst->memory += DENSE_BLOCK_BYTES;
    if (value_copy != NULL) {
      for (guint64 m = starts[i]; m != 0; m &= m - 1)
        values[i][lowest_bit (m)] = value_copy (values[i][lowest_bit (m)], user_data);
    }
  }
  return d;
}

DaRangeMap *
da_range_map_copy_full (const DaRangeMap *map, GCopyFunc value_copy, gpointer user_data)
{
  DaRangeMap *copy;
  DaLeaf *prev_leaf = NULL;

  g_return_val_if_fail (map != NULL, NULL);

  copy = map_new (map->is_set, value_copy != NULL ? map->value_free : NULL);
  if (map->root != NULL)
    copy->root = node_copy (copy, map, map->root, map->height, &prev_leaf, value_copy, user_data);
  copy->height = map->height;
  copy->n_ranges = map->n_ranges;
  copy->n_keys = map->n_keys;
  if (map->finger != NULL)
    copy->finger->floor = map->finger->floor;
  copy->windowed = map->windowed;
  copy->window_lo = map->window_lo;
  copy->window_hi = map->window_hi;
  if (map->dense != NULL)
    copy->dense = dense_copy (copy, map->dense, value_copy, user_data);
  return copy;
}

DaRangeMap *
da_range_map_copy (const DaRangeMap *map)
{
  return da_range_map_copy_full (map, NULL, NULL);
}

gboolean
da_range_map_is_set (const DaRangeMap *map)
{
  g_return_val_if_fail (map != NULL, FALSE);
  return map->is_set;
}

guint
da_range_map_n_ranges (const DaRangeMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->n_ranges;
}

guint64
da_range_map_n_keys (const DaRangeMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  if (map->n_ranges > 0 && map->n_keys == 0)
    return G_MAXUINT64;
  return map->n_keys;
}

gsize
da_range_map_memory (const DaRangeMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->memory;
}

/* ------------------------------------------------------ insert / remove */

static gboolean
set_insert (DaRangeMap *map, guint64 start, guint64 end)
{
  guint64 touch_lo = start > 0 ? start - 1 : 0;
  guint64 touch_hi = end < G_MAXUINT64 ? end + 1 : G_MAXUINT64;
  guint64 rs, new_start, new_end;
  DaPath path;
  DaLeaf *leaf;
  guint pos;

  if (!locate_next (map, touch_lo, &path, &pos) || LEAF_START (path.leaf)[pos] > touch_hi) {
    if (map->n_ranges == G_MAXUINT)
      return FALSE;
    leaf_insert (map, &path, pos, start, end, NULL);
    map->serial++;
    return TRUE;
  }

  /* pos is the first range touching [start, end]: grow it, absorbing the
   * ranges after it that touch the grown range */
  leaf = path.leaf;
  rs = LEAF_START (leaf)[pos];
  new_start = MIN (start, rs);
  new_end = MAX (end, LEAF_END (leaf)[pos]);
  if (new_start == rs && new_end == LEAF_END (leaf)[pos])
    return TRUE;
  for (;;) {
    DaLeaf *fl;
    guint fi;
    guint64 fs;

    if (pos + 1 < leaf->n) {
      fl = leaf;
      fi = pos + 1;
    } else if (leaf->next != NULL) {
      fl = leaf->next;
      fi = 0;
    } else {
      break;
    }
    fs = LEAF_START (fl)[fi];
    if (new_end < G_MAXUINT64 && fs > new_end + 1)
      break;
    new_end = MAX (new_end, LEAF_END (fl)[fi]);
    if (fl == leaf && (leaf->n > LEAF_MIN || map->height == 0)) {
      /* no rebalancing, so path and pos stay valid */
      leaf_remove (map, &path, fi);
    } else {
      remove_exact (map, fs, NULL);
      leaf = descend (map, rs, &path);
      pos = LEAF_UPPER (leaf, rs) - 1;
    }
  }
  leaf_modify (map, &path, pos, new_start, new_end);
  map->serial++;
  return TRUE;
}

gboolean
da_range_map_insert (DaRangeMap *map, guint64 start, guint64 end, gpointer value)
{
  DaPath path;
  guint pos;

  g_return_val_if_fail (map != NULL, FALSE);

  if (start > end)
    return FALSE;
  if (map->windowed) {
    if (start >= map->window_lo && end <= map->window_hi)
      return dense_insert (map, start, end, value);
    /* a failed insertion changes nothing, not even the form */
    if (dense_intersects (map->dense, start, end))
      return FALSE;
    dense_to_tree (map);
  }
  if (map->root == NULL) {
    insert_first (map, start, end, map->is_set ? NULL : value);
    floor_inserted (map, start, end);
    map->serial++;
    return TRUE;
  }
  if (map->is_set)
    return set_insert (map, start, end);

  if (locate_next (map, start, &path, &pos) && LEAF_START (path.leaf)[pos] <= end)
    return FALSE;
  if (map->n_ranges == G_MAXUINT)
    return FALSE;
  leaf_insert (map, &path, pos, start, end, value);
  floor_inserted (map, start, end);
  map->serial++;
  return TRUE;
}

static gboolean
set_remove (DaRangeMap *map, guint64 start, guint64 end)
{
  gboolean changed = FALSE;

  if (start > end)
    return FALSE;
  while (map->root != NULL) {
    DaPath path;
    guint pos;
    guint64 rs, re;

    if (!locate_next (map, start, &path, &pos))
      break;
    rs = LEAF_START (path.leaf)[pos];
    re = LEAF_END (path.leaf)[pos];
    if (rs > end)
      break;
    if (rs < start && re > end) {
      /* the keys are inside one range, which becomes two */
      if (map->n_ranges == G_MAXUINT)
        break;
      leaf_modify (map, &path, pos, rs, start - 1);
      locate_next (map, end + 1, &path, &pos);
      leaf_insert (map, &path, pos, end + 1, re, NULL);
      changed = TRUE;
      break;
    }
    changed = TRUE;
    if (rs < start) {
      leaf_modify (map, &path, pos, rs, start - 1);
    } else if (re > end) {
      leaf_modify (map, &path, pos, end + 1, re);
      break;
    } else {
      leaf_remove (map, &path, pos);
      if (re == end)
        break;
    }
  }
  if (changed)
    map->serial++;
  return changed;
}

gboolean
da_range_map_remove (DaRangeMap *map, guint64 start, guint64 end)
{
  gpointer value = NULL;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->is_set)
    return set_remove (map, start, end);
  if (!remove_exact (map, start, &value))
    return FALSE;
  if (map->value_free != NULL)
    map->value_free (value);
  return TRUE;
}

gpointer
da_range_map_steal (DaRangeMap *map, guint64 start)
{
  gpointer value = NULL;

  g_return_val_if_fail (map != NULL, NULL);

  if (!remove_exact (map, start, &value))
    return NULL;
  return value;
}

/* -------------------------------------------------------------- queries */

gboolean
da_range_map_lookup (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value)
{
  const DaLeaf *leaf;
  guint i;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL)
    return dense_lookup (map->dense, key, range, value);
  if (map->root == NULL)
    return FALSE;
  leaf = descend (map, key, NULL);
  i = LEAF_UPPER (leaf, key);
  if (i == 0 || LEAF_END (leaf)[i - 1] < key)
    return FALSE;
  leaf_get (map, leaf, i - 1, range, value);
  return TRUE;
}

/* the leaf and index of the first range with end >= key; FALSE when none */
static gboolean
find_next (const DaRangeMap *map, guint64 key, const DaLeaf **leaf_out, guint *pos)
{
  const DaLeaf *leaf;
  guint i;

  if (map->root == NULL)
    return FALSE;
  leaf = descend (map, key, NULL);
  i = LEAF_UPPER (leaf, key);
  if (i > 0 && LEAF_END (leaf)[i - 1] >= key) {
    i--;
  } else if (i == leaf->n) {
    leaf = leaf->next;
    i = 0;
    if (leaf == NULL)
      return FALSE;
  }
  *leaf_out = leaf;
  *pos = i;
  return TRUE;
}

gboolean
da_range_map_next (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value)
{
  const DaLeaf *leaf;
  guint i;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL) {
    guint s = dense_next (map->dense, key);

    if (s == NO_BIT)
      return FALSE;
    dense_get (map->dense, s, range, value);
    return TRUE;
  }
  if (!find_next (map, key, &leaf, &i))
    return FALSE;
  leaf_get (map, leaf, i, range, value);
  return TRUE;
}

gboolean
da_range_map_prev (const DaRangeMap *map, guint64 key, DaRange *range, gpointer *value)
{
  const DaLeaf *leaf;
  guint i;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL) {
    guint s = dense_prev (map->dense, key);

    if (s == NO_BIT)
      return FALSE;
    dense_get (map->dense, s, range, value);
    return TRUE;
  }
  if (map->root == NULL)
    return FALSE;
  /* the leaf reached holds the last range starting at or before key,
   * unless every range starts after it */
  leaf = descend (map, key, NULL);
  i = LEAF_UPPER (leaf, key);
  if (i == 0)
    return FALSE;
  leaf_get (map, leaf, i - 1, range, value);
  return TRUE;
}

gboolean
da_range_map_get_single (const DaRangeMap *map, DaRange *range)
{
  const DaLeaf *leaf = map->root;

  /* one range lives in a root leaf */
  if (map->n_ranges != 1)
    return FALSE;
  if (map->dense != NULL)
    return da_range_map_first (map, range, NULL);
  range->start = LEAF_START (leaf)[0];
  range->end = LEAF_END (leaf)[0];
  return TRUE;
}

gboolean
da_range_map_first (const DaRangeMap *map, DaRange *range, gpointer *value)
{
  gpointer node;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL) {
    dense_get (map->dense, bits_next_set (DENSE_STARTS (map->dense), map->dense->n_words, 0), range, value);
    return TRUE;
  }
  if (map->root == NULL)
    return FALSE;
  node = map->root;
  for (guint l = 0; l < map->height; l++)
    node = ((DaInner *) node)->child[0];
  leaf_get (map, node, 0, range, value);
  return TRUE;
}

gboolean
da_range_map_last (const DaRangeMap *map, DaRange *range, gpointer *value)
{
  gpointer node;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL) {
    dense_get (map->dense, bits_prev_set (DENSE_STARTS (map->dense), map->dense->n_bits - 1), range, value);
    return TRUE;
  }
  if (map->root == NULL)
    return FALSE;
  node = map->root;
  for (guint l = 0; l < map->height; l++)
    node = ((DaInner *) node)->child[((DaInner *) node)->n - 1];
  leaf_get (map, node, ((DaLeaf *) node)->n - 1, range, value);
  return TRUE;
}

void
da_range_map_prefetch (const DaRangeMap *map, guint64 key)
{
  g_return_if_fail (map != NULL);

  /* the descent asks for each node's lines as it reaches it.  An
   * insertion or removal at key then shifts the entries after it in all
   * three of the leaf's arrays: those lines are asked for too, at once
   * (waiting for them after the search would be a second trip). */
  if (map->root != NULL && map_is_large (map)) {
    DaLeaf *leaf = descend (map, key, NULL);

    if (!map->is_set) {
      prefetch_lines (LEAF_END (leaf), LEAF_MAX * sizeof (guint64));
      prefetch_lines (LEAF_VALUE (leaf), LEAF_MAX * sizeof (gpointer));
    }
  }
}

gboolean
da_range_map_intersects (const DaRangeMap *map, guint64 start, guint64 end)
{
  const DaLeaf *leaf;
  guint i;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL)
    return start <= end && dense_intersects (map->dense, start, end);
  if (start > end || !find_next (map, start, &leaf, &i))
    return FALSE;
  return LEAF_START (leaf)[i] <= end;
}

/* ----------------------------------------------------------------- gaps */

/* [a, b] is uncovered: the lowest k in it and in [lo, hi] that starts
 * count uncovered keys inside [lo, hi], as found->start, and b as
 * found->end */
static inline gboolean
run_fits_first (guint64 a, guint64 b, guint64 lo, guint64 hi, guint64 count, DaRange *found)
{
  guint64 s = MAX (a, lo);
  guint64 e = MIN (b, hi);

  if (s > e || e - s < count - 1)
    return FALSE;
  found->start = s;
  found->end = b;
  return TRUE;
}

static inline gboolean
run_fits_last (guint64 a, guint64 b, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  guint64 s = MAX (a, lo);
  guint64 e = MIN (b, hi);

  if (s > e || e - s < count - 1)
    return FALSE;
  *found = e - (count - 1);
  return TRUE;
}

/* what a search for the first free run asks, handed down its recursion
 * as one pointer */
typedef struct {
  guint64 lo;
  guint64 hi;
  guint64 count;
  gboolean prefetch;
  DaFinger *way;  /* where the way down is written, if anywhere */
  DaRange *found;
} DaGapQuery;

/* Searches the runs strictly inside a subtree, lowest first.  A child that
 * lies wholly inside [lo, hi] and whose longest run holds count keys cannot
 * fail, so only the children holding lo or hi are searched in vain: the
 * cost is O(height * fanout). */
static gboolean
find_first_in (gconstpointer node, guint height, guint level, const DaGapQuery *q)
{
  guint64 lo = q->lo, hi = q->hi, count = q->count;

  COUNT_VISIT ();
  if (height == 0) {
    const DaLeaf *leaf = node;
    const guint64 *start = LEAF_START (leaf);
    const guint64 *end = LEAF_END (leaf);
    /* the run before entry j ends at start[j] - 1, so it matters from the
     * first entry starting after lo, and up to the first entry whose
     * predecessor ends at or after hi; a search from the start of a pool
     * mostly begins at a leaf's start */
    guint j = start[0] > lo ? 0 : leaf->n == 1 || start[1] > lo ? 1 : LEAF_UPPER (leaf, lo);
    guint64 m = leaf->gaps & ~bits_below (j);

    for (; m != 0; m &= m - 1) {
      j = lowest_bit (m);
      if (end[j - 1] >= hi)
        break;
      if (start[j] - end[j - 1] - 1 >= count && run_fits_first (end[j - 1] + 1, start[j] - 1, lo, hi, count, q->found)) {
        if (q->way != NULL) {
          q->way->leaf = (DaLeaf *) leaf;
          q->way->gap_key = q->found->start;
          q->way->gap_pos = j;
          q->way->gap_last = FALSE;
        }
        return TRUE;
      }
    }
    return FALSE;
  } else {
    const DaInner *inner = node;

    for (guint i = inner_child_for (inner, lo); i < inner->n; i++) {
      if (inner->first[i] >= hi)
        break;
      if (inner->gap[i] >= count && inner->last[i] > lo) {
        if (q->prefetch)
          prefetch_node (inner->child[i], height == 1);
        if (q->way != NULL) {
          q->way->node[level] = (DaInner *) inner;
          q->way->index[level] = i;
        }
        if (find_first_in (inner->child[i], height - 1, level + 1, q))
          return TRUE;
      }
      if (i + 1 < inner->n && inner->first[i + 1] - inner->last[i] >= 2
          && run_fits_first (inner->last[i] + 1, inner->first[i + 1] - 1, lo, hi, count, q->found)) {
        /* between two children: no leaf holds it */
        if (q->way != NULL)
          q->way->leaf = NULL;
        return TRUE;
      }
    }
    return FALSE;
  }
}

/* the way a gap search took to a leaf is the way a descent to any key in
 * that leaf's gaps takes: remember it (with the keys that take it, which
 * only a large map's descents look at) */
static void
finger_from_search (const DaRangeMap *map, DaFinger *f)
{
  guint64 lo = 0, hi = G_MAXUINT64;

  f->gap_valid = TRUE;
  if (!map_is_large (map))
    return;

  for (guint l = 0; l < map->height; l++) {
    const DaInner *inner = f->node[l];
    guint i = f->index[l];

    if (i > 0)
      lo = MAX (lo, inner->first[i]);
    if (i + 1 < inner->n)
      hi = MIN (hi, inner->first[i + 1] - 1);
  }
  f->lo = lo;
  f->hi = hi;
  f->valid = TRUE;
}

/* the mirror image: highest first */
static gboolean
find_last_in (gconstpointer node, guint height, gboolean prefetch, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  COUNT_VISIT ();
  if (height == 0) {
    const DaLeaf *leaf = node;
    const guint64 *start = LEAF_START (leaf);
    const guint64 *end = LEAF_END (leaf);
    /* the first entry starting after hi: the run before it is the highest
     * that can reach into [lo, hi] */
    guint top = MIN (LEAF_UPPER (leaf, hi), leaf->n - 1);
    guint64 m = leaf->gaps & bits_below (top + 1);

    while (m != 0) {
      guint j = highest_bit (m);

      if (start[j] <= lo)
        break;
      if (start[j] - end[j - 1] - 1 >= count && run_fits_last (end[j - 1] + 1, start[j] - 1, lo, hi, count, found))
        return TRUE;
      m &= ~(G_GUINT64_CONSTANT (1) << j);
    }
    return FALSE;
  } else {
    const DaInner *inner = node;

    for (guint i = inner_child_for (inner, hi);; i--) {
      if (i + 1 < inner->n && inner->first[i + 1] - inner->last[i] >= 2
          && run_fits_last (inner->last[i] + 1, inner->first[i + 1] - 1, lo, hi, count, found))
        return TRUE;
      if (inner->last[i] <= lo)
        break;
      if (inner->gap[i] >= count && inner->first[i] < hi) {
        if (prefetch)
          prefetch_node (inner->child[i], height == 1);
        if (find_last_in (inner->child[i], height - 1, prefetch, lo, hi, count, found))
          return TRUE;
      }
      if (i == 0)
        break;
    }
    return FALSE;
  }
}

/* the length of [a, b] clipped to [lo, hi]; never called with a run that
 * could be all 2^64 keys */
static inline void
run_clip_max (guint64 a, guint64 b, guint64 lo, guint64 hi, guint64 *best)
{
  guint64 s = MAX (a, lo);
  guint64 e = MIN (b, hi);

  if (s <= e && e - s + 1 > *best)
    *best = e - s + 1;
}

/* The dense form's searches go over the uncovered runs of the whole key
 * space in order: a run holding the window's first key begins at key 0
 * and one holding its last key ends at G_MAXUINT64, since the keys outside
 * the window are uncovered. */

static gboolean
dense_find_gap_run (const DaDense *d, guint64 lo, guint64 hi, guint64 count, DaRange *run)
{
  const guint64 *covered = DENSE_COVERED (d);
  guint64 top = DENSE_TOP (d);
  guint b = 0;

  if (lo > top)
    return run_fits_first (lo, G_MAXUINT64, lo, hi, count, run);
  if (lo >= d->lo)
    b = (guint) (lo - d->lo);
  else if ((covered[0] & 1) && run_fits_first (0, d->lo - 1, lo, hi, count, run))
    return TRUE;
  for (;;) {
    guint f = bits_next_clear (covered, d->n_words, b);
    guint c;
    guint64 a;

    if (f >= d->n_bits)
      return top < G_MAXUINT64 && run_fits_first (top + 1, G_MAXUINT64, lo, hi, count, run);
    a = f == 0 ? 0 : d->lo + f;
    if (a > hi)
      return FALSE;
    c = bits_next_set (covered, d->n_words, f);
    if (run_fits_first (a, c == NO_BIT ? G_MAXUINT64 : d->lo + (c - 1), lo, hi, count, run))
      return TRUE;
    if (c == NO_BIT)
      return FALSE;
    b = c;
  }
}

static gboolean
dense_find_gap_last (const DaDense *d, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  const guint64 *covered = DENSE_COVERED (d);
  guint64 top = DENSE_TOP (d);
  guint b;

  if (hi < d->lo)
    return run_fits_last (0, d->lo - 1, lo, hi, count, found);
  b = hi > top ? d->n_bits - 1 : (guint) (hi - d->lo);
  if (hi > top && dense_covers (d, d->n_bits - 1) && run_fits_last (top + 1, G_MAXUINT64, lo, hi, count, found))
    return TRUE;
  for (;;) {
    guint f = bits_prev_clear (covered, b);
    guint c;
    guint64 e;

    if (f == NO_BIT)
      return d->lo > 0 && run_fits_last (0, d->lo - 1, lo, hi, count, found);
    e = f == d->n_bits - 1 ? G_MAXUINT64 : d->lo + f;
    if (e < lo)
      return FALSE;
    c = f == 0 ? NO_BIT : bits_prev_set (covered, f - 1);
    if (run_fits_last (c == NO_BIT ? 0 : d->lo + c + 1, e, lo, hi, count, found))
      return TRUE;
    if (c == NO_BIT)
      return FALSE;
    b = c;
  }
}

static guint64
dense_largest_gap (const DaDense *d, guint64 lo, guint64 hi)
{
  const guint64 *covered = DENSE_COVERED (d);
  guint64 top = DENSE_TOP (d);
  guint64 best = 0;
  guint b = 0;

  if (lo > top) {
    run_clip_max (top + 1, G_MAXUINT64, lo, hi, &best);
    return best;
  }
  if (lo >= d->lo)
    b = (guint) (lo - d->lo);
  else if (covered[0] & 1)
    run_clip_max (0, d->lo - 1, lo, hi, &best);
  for (;;) {
    guint f = bits_next_clear (covered, d->n_words, b);
    guint c;
    guint64 a;

    if (f >= d->n_bits) {
      if (top < G_MAXUINT64)
        run_clip_max (top + 1, G_MAXUINT64, lo, hi, &best);
      return best;
    }
    a = f == 0 ? 0 : d->lo + f;
    if (a > hi)
      return best;
    c = bits_next_set (covered, d->n_words, f);
    run_clip_max (a, c == NO_BIT ? G_MAXUINT64 : d->lo + (c - 1), lo, hi, &best);
    if (c == NO_BIT)
      return best;
    b = c;
  }
}

gboolean
da_range_map_find_gap_run (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, DaRange *run)
{
  guint64 first, last;
  DaRange k;

  g_return_val_if_fail (map != NULL, FALSE);

  if (count == 0 || lo > hi || hi - lo < count - 1)
    return FALSE;
  if (map->dense != NULL) {
    if (!dense_find_gap_run (map->dense, lo, hi, count, &k))
      return FALSE;
  } else if (map->root == NULL) {
    k.start = lo;
    k.end = G_MAXUINT64;
  } else {
    DaFinger *f = map->finger;
    guint64 from = lo;
    DaGapQuery q = { lo, hi, count, map_is_large (map), map->height <= FINGER_HEIGHT ? f : NULL, &k };

    /* no run starts below the floor */
    if (f != NULL && f->floor > lo) {
      if (f->floor > hi || hi - f->floor < count - 1)
        return FALSE;
      from = q.lo = f->floor;
    }

    /* the search writes the way it goes over the old one */
    if (q.way != NULL)
      q.way->valid = q.way->gap_valid = FALSE;
    bounds (map, &first, &last);
    if (first > 0 && run_fits_first (0, first - 1, from, hi, count, &k)) {
      /* before every range */
    } else if (find_first_in (map->root, map->height, 0, &q)) {
      if (q.way != NULL && q.way->leaf != NULL)
        finger_from_search (map, q.way);
    } else if (last < G_MAXUINT64 && run_fits_first (last + 1, G_MAXUINT64, from, hi, count, &k)) {
      /* after every range, where a map filled in order appends: the way
       * down the right edge */
      if (q.way != NULL) {
        gpointer node = map->root;

        for (guint l = 0; l < map->height; l++) {
          DaInner *inner = node;

          q.way->node[l] = inner;
          q.way->index[l] = inner->n - 1;
          node = inner->child[inner->n - 1];
        }
        q.way->leaf = node;
        q.way->gap_key = k.start;
        q.way->gap_pos = ((DaLeaf *) node)->n;
        q.way->gap_last = TRUE;
        finger_from_search (map, q.way);
      }
    } else {
      return FALSE;
    }
    /* the keys from the floor up to the first free one are covered */
    if (f != NULL && count == 1 && lo <= f->floor)
      f->floor = k.start;
  }
  if (run != NULL)
    *run = k;
  return TRUE;
}

gboolean
da_range_map_find_gap (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  DaRange run;

  if (!da_range_map_find_gap_run (map, lo, hi, count, &run))
    return FALSE;
  if (found != NULL)
    *found = run.start;
  return TRUE;
}

gboolean
da_range_map_find_gap_last (const DaRangeMap *map, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  guint64 first, last, k;

  g_return_val_if_fail (map != NULL, FALSE);

  if (count == 0 || lo > hi || hi - lo < count - 1)
    return FALSE;
  if (map->dense != NULL) {
    if (!dense_find_gap_last (map->dense, lo, hi, count, &k))
      return FALSE;
  } else if (map->root == NULL) {
    k = hi - (count - 1);
  } else {
    bounds (map, &first, &last);
    if (!(last < G_MAXUINT64 && run_fits_last (last + 1, G_MAXUINT64, lo, hi, count, &k))
        && !find_last_in (map->root, map->height, map_is_large (map), lo, hi, count, &k)
        && !(first > 0 && run_fits_last (0, first - 1, lo, hi, count, &k)))
      return FALSE;
  }
  if (found != NULL)
    *found = k;
  return TRUE;
}

static void
largest_in (gconstpointer node, guint height, gboolean prefetch, guint64 lo, guint64 hi, guint64 *best)
{
  COUNT_VISIT ();
  if (height == 0) {
    const DaLeaf *leaf = node;
    const guint64 *start = LEAF_START (leaf);
    const guint64 *end = LEAF_END (leaf);
    guint64 m = leaf->gaps & ~bits_below (LEAF_UPPER (leaf, lo));

    for (; m != 0; m &= m - 1) {
      guint j = lowest_bit (m);

      if (end[j - 1] >= hi)
        break;
      run_clip_max (end[j - 1] + 1, start[j] - 1, lo, hi, best);
    }
  } else {
    const DaInner *inner = node;

    for (guint i = inner_child_for (inner, lo); i < inner->n; i++) {
      if (inner->first[i] >= hi)
        break;
      if (inner->gap[i] > *best && inner->last[i] > lo) {
        /* a child wholly inside the window is summed up by its gap */
        if (inner->first[i] >= lo && inner->last[i] <= hi) {
          *best = inner->gap[i];
        } else {
          if (prefetch)
            prefetch_node (inner->child[i], height == 1);
          largest_in (inner->child[i], height - 1, prefetch, lo, hi, best);
        }
      }
      if (i + 1 < inner->n && inner->first[i + 1] - inner->last[i] >= 2)
        run_clip_max (inner->last[i] + 1, inner->first[i + 1] - 1, lo, hi, best);
    }
  }
}

guint64
da_range_map_largest_gap (const DaRangeMap *map, guint64 lo, guint64 hi)
{
  guint64 first, last, best = 0;

  g_return_val_if_fail (map != NULL, 0);

  if (lo > hi)
    return 0;
  if (map->dense != NULL)
    return dense_largest_gap (map->dense, lo, hi);
  if (map->root == NULL)
    return hi - lo == G_MAXUINT64 ? G_MAXUINT64 : hi - lo + 1;
  bounds (map, &first, &last);
  if (first > 0)
    run_clip_max (0, first - 1, lo, hi, &best);
  if (last < G_MAXUINT64)
    run_clip_max (last + 1, G_MAXUINT64, lo, hi, &best);
  largest_in (map->root, map->height, map_is_large (map), lo, hi, &best);
  return best;
}

/* ------------------------------------------------------------- iterator */

void
da_range_map_iter_init (DaRangeMapIter *iter, const DaRangeMap *map, guint64 from)
{
  const DaLeaf *leaf = NULL;
  guint i = 0;

  g_return_if_fail (iter != NULL);
  g_return_if_fail (map != NULL);

  if (map->dense != NULL) {
    /* the leaf is the bitmaps and the index the next range's start bit */
    i = dense_next (map->dense, from);
    leaf = i == NO_BIT ? NULL : (gpointer) map->dense;
  } else if (!find_next (map, from, &leaf, &i)) {
    leaf = NULL;
  }
  iter->map = map;
  iter->leaf = (gpointer) leaf;
  iter->index = i;
  iter->serial = map->serial;
}

gboolean
da_range_map_iter_next (DaRangeMapIter *iter, DaRange *range, gpointer *value)
{
  const DaLeaf *leaf;

  g_return_val_if_fail (iter != NULL, FALSE);
  g_return_val_if_fail (iter->map != NULL, FALSE);
  g_return_val_if_fail (iter->serial == iter->map->serial, FALSE);

  leaf = iter->leaf;
  if (leaf == NULL)
    return FALSE;
  if (iter->map->dense != NULL) {
    const DaDense *d = iter->map->dense;
    guint next = bits_next_set (DENSE_STARTS (d), d->n_words, iter->index + 1);

    dense_get (d, iter->index, range, value);
    iter->index = next;
    if (next == NO_BIT)
      iter->leaf = NULL;
    return TRUE;
  }
  leaf_get (iter->map, leaf, iter->index, range, value);
  if (++iter->index == leaf->n) {
    iter->leaf = leaf->next;
    iter->index = 0;
  }
  return TRUE;
}

/* ---------------------------------------------------------------- check */

typedef struct {
  const DaRangeMap *map;
  GError **error;
  guint n_ranges;
  guint64 n_keys;
  gsize memory;
  gboolean have_prev;
  guint64 prev_end;
  const DaLeaf *prev_leaf;
  /* [0, covered_to) is covered (all keys when all_covered), as far as
   * the ranges seen so far tell */
  guint64 covered_to;
  gboolean prefix_open;
  gboolean all_covered;
} DaCheck;

#define CHECK_FAIL(c, ...) \
  G_STMT_START { \
    g_set_error ((c)->error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

static gboolean
check_node (DaCheck *c, gconstpointer node, guint height, guint depth, gboolean is_root, gboolean leftmost,
            gboolean rightmost, DaSummary *out)
{
  const DaRangeMap *map = c->map;

  if (height == 0) {
    const DaLeaf *leaf = node;
    guint edge_min = is_root || leftmost || rightmost ? 1 : LEAF_MIN;

    c->memory += leaf_size (map);
    if (leaf->n > LEAF_MAX || leaf->n < edge_min)
      CHECK_FAIL (c, "leaf at depth %u holds %u entries (%u..%u allowed)", depth, leaf->n, edge_min, LEAF_MAX);
    if (c->prev_leaf != NULL && c->prev_leaf->next != leaf)
      CHECK_FAIL (c, "leaf at depth %u is not linked from the leaf before it", depth);
    c->prev_leaf = leaf;
    for (guint i = 0; i < leaf->n; i++) {
      guint64 s = LEAF_START (leaf)[i];
      guint64 e = LEAF_END (leaf)[i];

      if (s > e)
        CHECK_FAIL (c, "range [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] is reversed", s, e);
      if (c->have_prev && s <= c->prev_end)
        CHECK_FAIL (c, "range starting at %" G_GUINT64_FORMAT " overlaps or precedes the one ending at %" G_GUINT64_FORMAT,
                    s, c->prev_end);
      if (c->have_prev && map->is_set && s == c->prev_end + 1)
        CHECK_FAIL (c, "set ranges ending at %" G_GUINT64_FORMAT " and starting at %" G_GUINT64_FORMAT " touch",
                    c->prev_end, s);
      c->have_prev = TRUE;
      c->prev_end = e;
      if (c->prefix_open && s == c->covered_to) {
        c->all_covered = e == G_MAXUINT64;
        c->covered_to = e + 1;
      } else {
        c->prefix_open = FALSE;
      }
      c->n_ranges++;
      c->n_keys += e - s + 1;
    }
    if (leaf->gaps != leaf_compute_gaps (leaf))
      CHECK_FAIL (c, "leaf at depth %u has gap bits %" G_GINT64_MODIFIER "x for gaps %" G_GINT64_MODIFIER "x",
                  depth, leaf->gaps, leaf_compute_gaps (leaf));
    leaf_summary (leaf, out);
    return TRUE;
  } else {
    const DaInner *inner = node;
    guint edge_min = is_root || leftmost || rightmost ? 2 : INNER_MIN;

    c->memory += sizeof (DaInner);
    if (inner->n > INNER_MAX || inner->n < edge_min)
      CHECK_FAIL (c, "inner node at depth %u has %u children (%u..%u allowed)", depth, inner->n, edge_min, INNER_MAX);
    for (guint i = 0; i < inner->n; i++) {
      DaSummary s;

      if (!check_node (c, inner->child[i], height - 1, depth + 1, FALSE, leftmost && i == 0,
                       rightmost && i + 1 == inner->n, &s))
        return FALSE;
      if (s.first != inner->first[i] || s.last != inner->last[i] || s.gap != inner->gap[i])
        CHECK_FAIL (c, "inner node at depth %u: child %u is summed up as (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                    ", gap %" G_GUINT64_FORMAT ") but holds (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                    ", gap %" G_GUINT64_FORMAT ")",
                    depth, i, inner->first[i], inner->last[i], inner->gap[i], s.first, s.last, s.gap);
    }
    inner_summary (inner, out);
    return TRUE;
  }
}

static guint
popcount64 (guint64 m)
{
#if defined(__GNUC__) || defined(__clang__)
  return (guint) __builtin_popcountll (m);
#else
  guint n = 0;

  for (; m != 0; m &= m - 1)
    n++;
  return n;
#endif
}

static gboolean
check_dense (DaCheck *c)
{
  const DaRangeMap *map = c->map;
  const DaDense *d = map->dense;
  const guint64 *covered, *starts;
  guint64 n_keys = 0;
  guint n_ranges = 0;
  gsize memory;

  if (!map->windowed)
    CHECK_FAIL (c, "bitmaps without a window");
  if (map->root != NULL || map->height != 0)
    CHECK_FAIL (c, "a map kept as bitmaps has a tree of height %u", map->height);
  if (map->window_lo > map->window_hi || map->window_hi - map->window_lo >= DA_RANGE_MAP_DENSE_KEYS)
    CHECK_FAIL (c, "window [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] is too large for bitmaps", map->window_lo,
                map->window_hi);
  if (d == NULL) {
    if (map->n_ranges != 0 || map->n_keys != 0 || map->memory != 0)
      CHECK_FAIL (c, "empty bitmaps with %u ranges, %" G_GUINT64_FORMAT " keys, %" G_GSIZE_FORMAT " bytes",
                  map->n_ranges, map->n_keys, map->memory);
    return TRUE;
  }
  if (d->lo != map->window_lo || DENSE_TOP (d) != map->window_hi || d->n_words != (d->n_bits + 63) / 64)
    CHECK_FAIL (c, "bitmaps of %u bits in %u words from %" G_GUINT64_FORMAT " for the window [%" G_GUINT64_FORMAT
                ", %" G_GUINT64_FORMAT "]", d->n_bits, d->n_words, d->lo, map->window_lo, map->window_hi);
  covered = DENSE_COVERED (d);
  starts = DENSE_STARTS (d);
  memory = dense_size (d->n_words);
  for (guint i = 0; i < d->n_words; i++) {
    guint64 outside = i + 1 == d->n_words ? ~bits_below (d->n_bits - 64 * i) : 0;
    /* the first key of every covered run starts a range */
    guint64 heads = covered[i] & ~((covered[i] << 1) | (i > 0 ? covered[i - 1] >> 63 : 0));

    if ((covered[i] | starts[i]) & outside)
      CHECK_FAIL (c, "bits past the window's end in word %u", i);
    if (starts[i] & ~covered[i])
      CHECK_FAIL (c, "word %u has starts %" G_GINT64_MODIFIER "x outside the covered keys %" G_GINT64_MODIFIER "x",
                  i, starts[i], covered[i]);
    if (heads & ~starts[i])
      CHECK_FAIL (c, "word %u has covered runs beginning at %" G_GINT64_MODIFIER "x without a start", i,
                  heads & ~starts[i]);
    if ((starts[i] != 0) != (DENSE_VALUES (d)[i] != NULL))
      CHECK_FAIL (c, "word %u has starts %" G_GINT64_MODIFIER "x and %s block of values", i, starts[i],
                  DENSE_VALUES (d)[i] != NULL ? "a" : "no");
    if (DENSE_VALUES (d)[i] != NULL)
      memory += DENSE_BLOCK_BYTES;
    n_ranges += popcount64 (starts[i]);
    n_keys += popcount64 (covered[i]);
  }
  if (n_ranges == 0)
    CHECK_FAIL (c, "bitmaps without a range");
  if (n_ranges != map->n_ranges)
    CHECK_FAIL (c, "%u ranges counted, %u recorded", n_ranges, map->n_ranges);
  if (n_keys != map->n_keys)
    CHECK_FAIL (c, "%" G_GUINT64_FORMAT " keys counted, %" G_GUINT64_FORMAT " recorded", n_keys, map->n_keys);
  if (memory != map->memory)
    CHECK_FAIL (c, "%" G_GSIZE_FORMAT " bytes of bitmaps and blocks found, %" G_GSIZE_FORMAT " recorded", memory,
                map->memory);
  return TRUE;
}

gboolean
da_range_map_check (const DaRangeMap *map, GError **error)
{
  DaCheck c = { .map = map, .error = error, .prefix_open = TRUE };
  DaSummary s;

  g_return_val_if_fail (map != NULL, FALSE);

  if (map->dense != NULL || map->windowed)
    return check_dense (&c);
  if (map->is_set && map->finger != NULL)
    CHECK_FAIL (&c, "a set has a finger");
  if (map->finger != NULL && map->finger->floor != 0 && map->root == NULL)
    CHECK_FAIL (&c, "empty map with the floor at %" G_GUINT64_FORMAT, map->finger->floor);
  if (map->root == NULL) {
    if (map->height != 0 || map->n_ranges != 0 || map->n_keys != 0 || map->memory != 0)
      CHECK_FAIL (&c, "empty map with height %u, %u ranges, %" G_GUINT64_FORMAT " keys, %" G_GSIZE_FORMAT " bytes",
                  map->height, map->n_ranges, map->n_keys, map->memory);
    return TRUE;
  }
  if (map->height >= MAX_HEIGHT)
    CHECK_FAIL (&c, "height %u", map->height);
  if (!check_node (&c, map->root, map->height, 0, TRUE, TRUE, TRUE, &s))
    return FALSE;
  if (c.prev_leaf->next != NULL)
    CHECK_FAIL (&c, "the last leaf links to another");
  if (c.n_ranges != map->n_ranges)
    CHECK_FAIL (&c, "%u ranges counted, %u recorded", c.n_ranges, map->n_ranges);
  if (c.n_keys != map->n_keys)
    CHECK_FAIL (&c, "%" G_GUINT64_FORMAT " keys counted (mod 2^64), %" G_GUINT64_FORMAT " recorded", c.n_keys, map->n_keys);
  if (c.memory != map->memory)
    CHECK_FAIL (&c, "%" G_GSIZE_FORMAT " bytes of nodes found, %" G_GSIZE_FORMAT " recorded", c.memory, map->memory);
  if (map->finger != NULL && !c.all_covered && map->finger->floor > c.covered_to)
    CHECK_FAIL (&c, "floor %" G_GUINT64_FORMAT " above the free key %" G_GUINT64_FORMAT, map->finger->floor,
                c.covered_to);
  return TRUE;
}
