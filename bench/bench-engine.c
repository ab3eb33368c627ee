/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Engine benchmarks.  Each prints its figures and a ratio against a
 * baseline measured in the same run:
 *  1. a 256-slot pool: first-fit alloc+free pairs, engine vs a naive bitmap
 *     that scans bit by bit (Ganeti's approach);
 *  2. 1,000,000 reservations then releases in a 2^32 id pool and a 2^48 MAC
 *     pool, sequential and random: ns/op and bytes per reservation (RSS
 *     delta, alias bytes excluded), against the same operations at 1,000
 *     live reservations;
 *  3. fragmentation: count=64 align=64 allocations among 10,000 and
 *     100,000 random single reservations in 2^32.
 * Naming parts runs only those, and --rounds / --reservations shrink them
 * (instruction counts under valgrind --tool=callgrind need no full run).
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/alloc/da-engine.h"

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gsize
rss_bytes (void)
{
  g_autofree char *text = NULL;
  unsigned long size = 0, resident = 0;

  malloc_trim (0);
  if (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    sscanf (text, "%lu %lu", &size, &resident);
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

static DaEngine *
bench_engine (void)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *data = g_build_filename (srcdir != NULL ? srcdir : DA_SRC_DATADIR "/..", "data", NULL);
  const char *dirs[] = { data, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (DaCatalog) catalog = da_catalog_load (dirs, &error);
  DaEngine *engine;

  if (catalog == NULL)
    g_error ("catalog: %s", error->message);
  engine = da_engine_new (catalog);
  da_engine_set_seed (engine, 1);
  /* measure the allocator, not the cool-down bookkeeping */
  da_engine_set_cooldown (engine, 0);
  return engine;
}

static DaScope *
empty_vm (DaEngine *engine, const char *name)
{
  g_autoptr (GError) error = NULL;
  DaScope *vm = da_engine_create_vm (engine, name, "pc", NULL, &error);

  if (vm == NULL)
    g_error ("%s", error->message);
  return vm;
}

static void
request_init (DaRequest *request, DaEngine *engine, const char *type, const char *alias)
{
  memset (request, 0, sizeof (*request));
  request->type = type;
  request->alias = alias;
  da_constraint_init (&request->constraint, da_catalog_get_type (da_engine_get_catalog (engine), type), TRUE);
}

/* sizes, smaller under valgrind (--rounds, --reservations) */
static guint small_rounds = 2000000;
static guint big_reservations = 1000000;

/* ---- 1. the 256-slot pool ---- */

typedef struct {
  guint8 bits[32];
} Bitmap;

/* out of line, and its answers used: the baseline must really run */
static int __attribute__ ((noinline))
bitmap_first_fit (Bitmap *map)
{
  for (int i = 0; i < 256; i++)
    if (!(map->bits[i / 8] & (1u << (i % 8)))) {
      map->bits[i / 8] |= (guint8) (1u << (i % 8));
      return i;
    }
  return -1;
}

static void __attribute__ ((noinline))
bitmap_free (Bitmap *map, int i)
{
  map->bits[i / 8] &= (guint8) ~(1u << (i % 8));
}

static void
bench_small_pool (void)
{
  g_autoptr (DaEngine) engine = bench_engine ();
  DaScope *vm = empty_vm (engine, "small");
  const guint rounds = small_rounds;
  g_autoptr (GError) error = NULL;
  char aliases[256][8];
  guint64 key_of[256];
  int slot_of[256];
  Bitmap map = { { 0 } };
  GRand *rand = g_rand_new_with_seed (3);
  guint *victims = g_new (guint, rounds);
  gint64 t0, t1, t2;
  DaRequest request;
  double bitmap_ns, engine_ns;
  guint64 checksum = 0;

  /* ids 0..255 in a pool of their own; three quarters taken in order */
  da_scope_add_keys (vm, "id", 0, 255, NULL, NULL, &error);
  for (guint i = 0; i < 256; i++)
    g_snprintf (aliases[i], sizeof aliases[i], "d%u", i);
  for (guint i = 0; i < rounds; i++)
    victims[i] = g_rand_int_range (rand, 0, 192);

  for (guint i = 0; i < 192; i++)
    slot_of[i] = bitmap_first_fit (&map);
  t0 = now_ns ();
  for (guint i = 0; i < rounds; i++) {
    guint v = victims[i];

    bitmap_free (&map, slot_of[v]);
    slot_of[v] = bitmap_first_fit (&map);
    checksum += (guint64) slot_of[v];
  }
  t1 = now_ns ();
  bitmap_ns = (double) (t1 - t0) / rounds;

  request_init (&request, engine, "id", NULL);
  for (guint i = 0; i < 192; i++) {
    request.alias = aliases[i];
    key_of[i] = da_reservation_get_start (da_scope_reserve (vm, &request, 0, NULL, NULL, &error));
  }
  t1 = now_ns ();
  for (guint i = 0; i < rounds; i++) {
    guint v = victims[i];
    DaReservation *res;

    da_scope_release (vm, aliases[v], DA_RELEASE_NOW, 0, NULL, NULL, NULL);
    request.alias = aliases[v];
    res = da_scope_reserve (vm, &request, 0, NULL, NULL, &error);
    if (res == NULL || da_reservation_get_start (res) != key_of[v])
      g_error ("engine and first fit disagree");
    checksum -= da_reservation_get_start (res);
  }
  /* both made the same choices, so the sums cancel */
  if (checksum != 0)
    g_error ("the bitmap and the engine chose differently");
  t2 = now_ns ();
  engine_ns = (double) (t2 - t1) / rounds;

  printf ("256-slot pool, 192 taken, free+alloc pairs (first fit):\n");
  printf ("  naive bitmap          %8.1f ns/pair  %10.0f pairs/s\n", bitmap_ns, 1e9 / bitmap_ns);
  printf ("  engine (full reserve) %8.1f ns/pair  %10.0f pairs/s\n", engine_ns, 1e9 / engine_ns);
  printf ("  engine / bitmap throughput ratio: %.2fx (goal >= 0.5x); engine %.1f ns per allocation (goal <= 100)\n",
          bitmap_ns / engine_ns, engine_ns);
  g_free (victims);
  g_rand_free (rand);
}

/* ---- 2. a million reservations ---- */

typedef struct {
  double reserve_ns;
  double release_ns;
  double bytes_per_reservation;
} BigResult;

static void
shuffle (guint *order, guint n, GRand *rand)
{
  for (guint i = n - 1; i > 0; i--) {
    guint j = g_rand_int_range (rand, 0, (gint32) i + 1);
    guint t = order[i];

    order[i] = order[j];
    order[j] = t;
  }
}

static BigResult
run_big (const char *type, guint n, gboolean random_order)
{
  g_autoptr (DaEngine) engine = bench_engine ();
  DaScope *host = da_engine_get_host (engine);
  DaAddressType *atype = da_catalog_get_type (da_engine_get_catalog (engine), type);
  const DaRangeMap *pool = da_address_type_get_default_pool (atype);
  char **aliases = g_new (char *, n);
  guint64 *keys = g_new (guint64, n);
  guint *order = g_new (guint, n);
  GRand *rand = g_rand_new_with_seed (5);
  g_autoptr (GError) error = NULL;
  gsize alias_bytes = 0, rss0, rss1;
  DaRange first, last;
  DaRequest request;
  BigResult result;
  gint64 t0, t1, t2;
  guint64 span;

  da_range_map_first (pool, &first, NULL);
  da_range_map_last (pool, &last, NULL);
  span = last.end - first.start;
  for (guint i = 0; i < n; i++) {
    aliases[i] = g_strdup_printf ("%s-%07u", type, i);
    alias_bytes += strlen (aliases[i]) + 1;
    order[i] = i;
  }
  /* random order: distinct random addresses, reserved exactly */
  if (random_order) {
    g_autoptr (GHashTable) used = g_hash_table_new (g_int64_hash, g_int64_equal);

    for (guint i = 0; i < n; i++) {
      /* add() would replace an equal key's pointer: ask first */
      do
        keys[i] = first.start + ((((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)) % (span + 1));
      while (g_hash_table_contains (used, &keys[i]));
      g_hash_table_add (used, &keys[i]);
    }
  }
  shuffle (order, n, rand);

  rss0 = rss_bytes ();
  t0 = now_ns ();
  for (guint i = 0; i < n; i++) {
    request_init (&request, engine, type, aliases[i]);
    if (random_order) {
      request.has_address = TRUE;
      request.address = keys[i];
      request.constraint.box = *da_address_type_get_dynamic_box (atype);
    }
    if (da_scope_reserve (host, &request, 0, NULL, NULL, &error) == NULL)
      g_error ("%s", error->message);
  }
  t1 = now_ns ();
  rss1 = rss_bytes ();
  for (guint i = 0; i < n; i++) {
    guint k = random_order ? order[i] : i;

    if (!da_scope_release (host, aliases[k], DA_RELEASE_NOW, 0, NULL, NULL, &error))
      g_error ("%s", error->message);
  }
  t2 = now_ns ();

  result.reserve_ns = (double) (t1 - t0) / n;
  result.release_ns = (double) (t2 - t1) / n;
  result.bytes_per_reservation = ((double) rss1 - (double) rss0 - (double) alias_bytes) / n;
  for (guint i = 0; i < n; i++)
    g_free (aliases[i]);
  g_free (aliases);
  g_free (keys);
  g_free (order);
  g_rand_free (rand);
  return result;
}

static void
bench_big (void)
{
  const char *types[] = { "id", "mac" };
  const char *space[] = { "2^32", "2^48" };

  printf ("\n1,000,000 reservations then releases (host scope, each with its own alias):\n");
  printf ("  a bitmap of 2^32 keys needs 512 MiB and one of 2^48 keys 32 TiB: it cannot hold these pools\n");
  for (guint t = 0; t < G_N_ELEMENTS (types); t++) {
    for (int random_order = 0; random_order <= 1; random_order++) {
      BigResult small = run_big (types[t], 1000, random_order);
      BigResult big = run_big (types[t], big_reservations, random_order);

      printf ("  %-4s %s %-10s reserve %6.0f ns/op  release %6.0f ns/op  %5.1f bytes/reservation"
              "  (vs 1,000 live: reserve %.2fx, release %.2fx)\n",
              types[t], space[t], random_order ? "random" : "sequential", big.reserve_ns, big.release_ns,
              big.bytes_per_reservation, big.reserve_ns / small.reserve_ns, big.release_ns / small.release_ns);
    }
  }
  printf ("  goals: <= 300 ns/op at 1M live ranges, <= 96 bytes per reservation\n");
}

/* ---- 3. fragmentation ---- */

static double
run_fragmented (guint singles)
{
  g_autoptr (DaEngine) engine = bench_engine ();
  DaScope *host = da_engine_get_host (engine);
  GRand *rand = g_rand_new_with_seed (9);
  g_autoptr (GError) error = NULL;
  const guint allocations = 20000;
  DaRequest request;
  gint64 t0, t1;
  char alias[32];

  for (guint i = 0; i < singles; i++) {
    g_snprintf (alias, sizeof alias, "s%u", i);
    request_init (&request, engine, "id", alias);
    request.has_address = TRUE;
    request.address = g_rand_int (rand);
    if (da_scope_reserve (host, &request, 0, NULL, NULL, NULL) == NULL)
      i--; /* an address drawn twice */
  }
  t0 = now_ns ();
  for (guint i = 0; i < allocations; i++) {
    g_snprintf (alias, sizeof alias, "b%u", i);
    request_init (&request, engine, "id", alias);
    request.constraint.count = 64;
    request.constraint.align = 64;
    if (da_scope_reserve (host, &request, 0, NULL, NULL, &error) == NULL)
      g_error ("%s", error->message);
  }
  t1 = now_ns ();
  g_rand_free (rand);
  return (double) (t1 - t0) / allocations;
}

static void
bench_fragmentation (void)
{
  double at_10k = run_fragmented (10000);
  double at_100k = run_fragmented (100000);

  printf ("\nfragmentation: count=64 align=64 allocations among random single reservations in 2^32:\n");
  printf ("  10,000 live   %6.0f ns/op\n  100,000 live  %6.0f ns/op\n  ratio %.2fx (goal <= 2x: logarithmic)\n",
          at_10k, at_100k, at_100k / at_10k);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("[small|big|fragmentation] - benchmark the engine");
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "rounds", 0, 0, G_OPTION_ARG_INT, &small_rounds, "free+alloc pairs in the 256-slot pool (2000000)", "N" },
    { "reservations", 0, 0, G_OPTION_ARG_INT, &big_reservations, "reservations in the big pools (1000000)", "N" },
    { NULL },
  };
  gboolean all;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  if (small_rounds < 1 || big_reservations < 2) {
    g_printerr ("--rounds must be at least 1 and --reservations at least 2\n");
    return 2;
  }
  all = argc < 2;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "small") != 0 && strcmp (argv[i], "big") != 0 && strcmp (argv[i], "fragmentation") != 0) {
      g_printerr ("unknown part \"%s\" (small, big, fragmentation)\n", argv[i]);
      return 2;
    }
  if (all || g_strv_contains ((const char *const *) argv + 1, "small"))
    bench_small_pool ();
  if (all || g_strv_contains ((const char *const *) argv + 1, "big"))
    bench_big ();
  if (all || g_strv_contains ((const char *const *) argv + 1, "fragmentation"))
    bench_fragmentation ();
  return 0;
}
