/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/alloc/da-range-map.h"

/*
 * The range map against the obvious alternative, measured in the same run:
 * a GTree keyed by start holding range structs, doing the same work (the
 * overlap check on insert, "the range containing k" on lookup, and a walk
 * to the first fitting hole for find_gap).  Each phase runs --repeat times
 * and the fastest run counts.
 */

typedef struct {
  guint64 start;
  guint64 end;
  gpointer value;
} BenchRange;

static guint n_ops = 1000000;
static guint repeat = 3;
static guint64 sink;

static guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + (guint64) ts.tv_nsec;
}

/* a bijection of 32-bit integers: distinct keys spread over 2^32 */
static guint32
mix32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x85ebca6bU;
  x ^= x >> 13;
  x *= 0xc2b2ae35U;
  x ^= x >> 16;
  return x;
}

static gsize
rss_bytes (void)
{
  g_autofree char *text = NULL;
  unsigned long size = 0, resident = 0;

  if (!g_file_get_contents ("/proc/self/statm", &text, NULL, NULL) || sscanf (text, "%lu %lu", &size, &resident) != 2)
    return 0;
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

static void
shuffle (guint64 *keys, guint n, GRand *r)
{
  for (guint i = n - 1; i > 0; i--) {
    guint j = (guint) g_rand_int_range (r, 0, (gint32) i + 1);
    guint64 t = keys[i];

    keys[i] = keys[j];
    keys[j] = t;
  }
}

/* ------------------------------------------------------------ baseline */

static gint
cmp_start (gconstpointer a, gconstpointer b, gpointer user_data)
{
  guint64 x = ((const BenchRange *) a)->start, y = ((const BenchRange *) b)->start;

  return x < y ? -1 : x > y;
}

static GTree *
tree_new (void)
{
  return g_tree_new_full (cmp_start, NULL, NULL, g_free);
}

/* the last range starting at or before key */
static GTreeNode *
tree_prev (GTree *tree, guint64 key)
{
  BenchRange probe = { key, key, NULL };
  GTreeNode *after = g_tree_upper_bound (tree, &probe);

  return after != NULL ? g_tree_node_previous (after) : g_tree_node_last (tree);
}

static gboolean
tree_insert (GTree *tree, guint64 start, guint64 end, gpointer value)
{
  BenchRange probe = { start, end, NULL };
  GTreeNode *after = g_tree_upper_bound (tree, &probe);
  GTreeNode *before = after != NULL ? g_tree_node_previous (after) : g_tree_node_last (tree);
  BenchRange *range;

  if (after != NULL && ((BenchRange *) g_tree_node_key (after))->start <= end)
    return FALSE;
  if (before != NULL && ((BenchRange *) g_tree_node_key (before))->end >= start)
    return FALSE;
  range = g_new (BenchRange, 1);
  range->start = start;
  range->end = end;
  range->value = value;
  g_tree_insert_node (tree, range, range);
  return TRUE;
}

static gboolean
tree_lookup (GTree *tree, guint64 key, BenchRange **out)
{
  GTreeNode *node = tree_prev (tree, key);
  BenchRange *range;

  if (node == NULL)
    return FALSE;
  range = g_tree_node_key (node);
  if (range->end < key)
    return FALSE;
  *out = range;
  return TRUE;
}

static gboolean
tree_remove (GTree *tree, guint64 start)
{
  BenchRange probe = { start, start, NULL };

  return g_tree_remove (tree, &probe);
}

static gboolean
tree_find_gap (GTree *tree, guint64 lo, guint64 hi, guint64 count, guint64 *found)
{
  GTreeNode *node = tree_prev (tree, lo);
  guint64 k = lo;

  if (node != NULL && ((BenchRange *) g_tree_node_key (node))->end >= lo) {
    if (((BenchRange *) g_tree_node_key (node))->end == G_MAXUINT64)
      return FALSE;
    k = ((BenchRange *) g_tree_node_key (node))->end + 1;
    node = g_tree_node_next (node);
  } else {
    node = node != NULL ? g_tree_node_next (node) : g_tree_node_first (tree);
  }
  for (;;) {
    BenchRange *range = node != NULL ? g_tree_node_key (node) : NULL;

    if (k > hi || hi - k < count - 1)
      return FALSE;
    if (range == NULL || (range->start > k && MIN (range->start - 1, hi) - k >= count - 1)) {
      *found = k;
      return TRUE;
    }
    if (range->end == G_MAXUINT64)
      return FALSE;
    k = range->end + 1;
    node = g_tree_node_next (node);
  }
}

/* ------------------------------------------------------------ phases */

typedef struct {
  double insert, lookup, remove;
  double bytes_per_range;
  double rss_per_range;
} Result;

static void
keep_min (double *slot, double value)
{
  if (*slot == 0 || value < *slot)
    *slot = value;
}

static void
run_map (const guint64 *ins, const guint64 *look, const guint64 *rem, Result *res)
{
  for (guint rep = 0; rep < repeat; rep++) {
    DaRangeMap *map = da_range_map_new (NULL);
    guint64 t0, t1, t2, t3;
    DaRange range;

    t0 = now_ns ();
    for (guint i = 0; i < n_ops; i++)
      sink += da_range_map_insert (map, ins[i], ins[i], GUINT_TO_POINTER (i + 1));
    t1 = now_ns ();
    for (guint i = 0; i < n_ops; i++) {
      if (da_range_map_lookup (map, look[i], &range, NULL))
        sink += range.start;
    }
    t2 = now_ns ();
    keep_min (&res->bytes_per_range, (double) da_range_map_memory (map) / n_ops);
    if (da_range_map_n_ranges (map) != n_ops)
      g_error ("range map holds %u ranges, not %u", da_range_map_n_ranges (map), n_ops);
    t3 = now_ns ();
    for (guint i = 0; i < n_ops; i++)
      sink += da_range_map_remove (map, rem[i], rem[i]);
    t3 = now_ns () - t3;
    if (da_range_map_memory (map) != 0)
      g_error ("range map keeps %" G_GSIZE_FORMAT " bytes when empty", da_range_map_memory (map));
    da_range_map_free (map);
    keep_min (&res->insert, (double) (t1 - t0) / n_ops);
    keep_min (&res->lookup, (double) (t2 - t1) / n_ops);
    keep_min (&res->remove, (double) t3 / n_ops);
  }
}

static void
run_tree (const guint64 *ins, const guint64 *look, const guint64 *rem, Result *res)
{
  for (guint rep = 0; rep < repeat; rep++) {
    GTree *tree = tree_new ();
    guint64 t0, t1, t2, t3;
    BenchRange *range;

    t0 = now_ns ();
    for (guint i = 0; i < n_ops; i++)
      sink += tree_insert (tree, ins[i], ins[i], GUINT_TO_POINTER (i + 1));
    t1 = now_ns ();
    for (guint i = 0; i < n_ops; i++) {
      if (tree_lookup (tree, look[i], &range))
        sink += range->start;
    }
    t2 = now_ns ();
    if ((guint) g_tree_nnodes (tree) != n_ops)
      g_error ("GTree holds %d ranges, not %u", g_tree_nnodes (tree), n_ops);
    t3 = now_ns ();
    for (guint i = 0; i < n_ops; i++)
      sink += tree_remove (tree, rem[i]);
    t3 = now_ns () - t3;
    g_tree_unref (tree);
    keep_min (&res->insert, (double) (t1 - t0) / n_ops);
    keep_min (&res->lookup, (double) (t2 - t1) / n_ops);
    keep_min (&res->remove, (double) t3 / n_ops);
  }
}

/* The resident memory a fill adds to a fresh process: measured in a child
 * so that memory freed by earlier phases cannot hide it. */
static double
rss_per_range (gboolean use_tree, const guint64 *ins)
{
  int fds[2];
  pid_t pid;
  double result = -1;
  int status;

  if (pipe (fds) != 0)
    return -1;
  pid = fork ();
  if (pid < 0) {
    close (fds[0]);
    close (fds[1]);
    return -1;
  }
  if (pid == 0) {
    gsize before = rss_bytes ();
    double per;

    close (fds[0]);
    if (use_tree) {
      GTree *tree = tree_new ();

      for (guint i = 0; i < n_ops; i++)
        tree_insert (tree, ins[i], ins[i], NULL);
      per = (double) (rss_bytes () - before) / n_ops;
    } else {
      DaRangeMap *map = da_range_map_new (NULL);

      for (guint i = 0; i < n_ops; i++)
        da_range_map_insert (map, ins[i], ins[i], NULL);
      per = (double) (rss_bytes () - before) / n_ops;
    }
    if (write (fds[1], &per, sizeof per) != sizeof per)
      _exit (1);
    _exit (0);
  }
  close (fds[1]);
  if (read (fds[0], &result, sizeof result) != sizeof result)
    result = -1;
  close (fds[0]);
  waitpid (pid, &status, 0);
  return result;
}

static void
run_find_gap (const guint64 *ins, const guint64 *lo, double *map_ns, double *tree_ns)
{
  DaRangeMap *map = da_range_map_new (NULL);
  GTree *tree = tree_new ();
  guint64 check_map = 0, check_tree = 0;

  for (guint i = 0; i < n_ops; i++) {
    da_range_map_insert (map, ins[i], ins[i], NULL);
    tree_insert (tree, ins[i], ins[i], NULL);
  }
  for (guint rep = 0; rep < repeat; rep++) {
    guint64 t0, t1, t2, k;

    check_map = check_tree = 0;
    t0 = now_ns ();
    for (guint i = 0; i < n_ops; i++) {
      if (da_range_map_find_gap (map, lo[i], G_MAXUINT32, 64, &k))
        check_map += k;
    }
    t1 = now_ns ();
    for (guint i = 0; i < n_ops; i++) {
      if (tree_find_gap (tree, lo[i], G_MAXUINT32, 64, &k))
        check_tree += k;
    }
    t2 = now_ns ();
    keep_min (map_ns, (double) (t1 - t0) / n_ops);
    keep_min (tree_ns, (double) (t2 - t1) / n_ops);
  }
  /* both answer the same, or the comparison means nothing */
  if (check_map != check_tree)
    g_error ("find_gap answers differ between the range map and the baseline");
  sink += check_map;
  da_range_map_free (map);
  g_tree_unref (tree);
}

static void
print_row (const char *what, double map, double tree, double target)
{
  printf ("  %-28s %10.1f %10.1f %8.2fx", what, map, tree, tree / map);
  if (target > 0)
    printf ("   target <= %.0f: %s", target, map <= target ? "met" : "NOT MET");
  printf ("\n");
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("- benchmark the range map against a GTree");
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) r = NULL;
  guint seed = 42;
  GOptionEntry entries[] = {
    { "ranges", 'n', 0, G_OPTION_ARG_INT, &n_ops, "ranges and operations per phase (1000000)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "runs per phase; the fastest counts (3)", "R" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "random seed (42)", "S" },
    { NULL },
  };
  guint64 *seq, *seq_look, *rnd, *rnd_look, *rnd_rem, *gap_lo;
  Result seq_map = { 0 }, seq_tree = { 0 }, rnd_map = { 0 }, rnd_tree = { 0 };
  double gap_map = 0, gap_tree = 0, set_bytes;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  if (n_ops < 2 || repeat < 1) {
    g_printerr ("--ranges must be at least 2 and --repeat at least 1\n");
    return 2;
  }
  r = g_rand_new_with_seed (seed);

  seq = g_new (guint64, n_ops);
  seq_look = g_new (guint64, n_ops);
  rnd = g_new (guint64, n_ops);
  rnd_look = g_new (guint64, n_ops);
  rnd_rem = g_new (guint64, n_ops);
  gap_lo = g_new (guint64, n_ops);
  for (guint i = 0; i < n_ops; i++) {
    seq[i] = 2 * (guint64) i;
    seq_look[i] = seq[i];
    rnd[i] = mix32 (i);
    gap_lo[i] = g_rand_int (r);
  }
  memcpy (rnd_look, rnd, n_ops * sizeof (guint64));
  memcpy (rnd_rem, rnd, n_ops * sizeof (guint64));
  shuffle (rnd_look, n_ops, r);
  shuffle (rnd_rem, n_ops, r);

  /* before anything else has grown and freed the heap */
  seq_map.rss_per_range = rss_per_range (FALSE, seq);
  seq_tree.rss_per_range = rss_per_range (TRUE, seq);
  rnd_map.rss_per_range = rss_per_range (FALSE, rnd);
  rnd_tree.rss_per_range = rss_per_range (TRUE, rnd);

  run_map (seq, seq_look, seq, &seq_map);
  run_tree (seq, seq_look, seq, &seq_tree);
  run_map (rnd, rnd_look, rnd_rem, &rnd_map);
  run_tree (rnd, rnd_look, rnd_rem, &rnd_tree);
  run_find_gap (rnd, gap_lo, &gap_map, &gap_tree);
  {
    DaRangeMap *set = da_range_map_new_set ();

    for (guint i = 0; i < n_ops; i++)
      da_range_map_insert (set, rnd[i], rnd[i], NULL);
    set_bytes = (double) da_range_map_memory (set) / n_ops;
    da_range_map_free (set);
  }

  printf ("range map vs GTree of range structs: %u ranges, fastest of %u runs, seed %u\n", n_ops, repeat, seed);
  printf ("  %-28s %10s %10s %9s\n", "ns per operation", "range map", "GTree", "speedup");
  print_row ("sequential insert", seq_map.insert, seq_tree.insert, 150);
  print_row ("sequential lookup", seq_map.lookup, seq_tree.lookup, 150);
  print_row ("sequential remove", seq_map.remove, seq_tree.remove, 150);
  print_row ("random insert (2^32 keys)", rnd_map.insert, rnd_tree.insert, 150);
  print_row ("random lookup", rnd_map.lookup, rnd_tree.lookup, 150);
  print_row ("random remove", rnd_map.remove, rnd_tree.remove, 150);
  print_row ("find_gap count=64", gap_map, gap_tree, 150);
  printf ("  %-28s %10s %10s %9s\n", "bytes per range", "range map", "GTree", "saving");
  printf ("  %-28s %10.1f %10s %9s   target <= 26: %s\n", "nodes, sequential fill", seq_map.bytes_per_range, "-", "-",
          seq_map.bytes_per_range <= 26 ? "met" : "NOT MET");
  printf ("  %-28s %10.1f %10s %9s   target <= 40: %s\n", "nodes, random fill", rnd_map.bytes_per_range, "-", "-",
          rnd_map.bytes_per_range <= 40 ? "met" : "NOT MET");
  printf ("  %-28s %10.1f %10s %9s\n", "nodes, random fill, set mode", set_bytes, "-", "-");
  print_row ("RSS growth, sequential fill", seq_map.rss_per_range, seq_tree.rss_per_range, 0);
  print_row ("RSS growth, random fill", rnd_map.rss_per_range, rnd_tree.rss_per_range, 0);
  printf ("  (speedup and saving: GTree figure / range map figure; RSS growth measured in a fresh child)\n");
  printf ("(checksum %" G_GUINT64_FORMAT ")\n", sink);

  g_free (seq);
  g_free (seq_look);
  g_free (rnd);
  g_free (rnd_look);
  g_free (rnd_rem);
  g_free (gap_lo);
  return 0;
}
