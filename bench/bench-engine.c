/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Engine benchmarks.  Each prints its figures and a ratio against a
 * baseline measured in the same run:
 *  1. a 256-slot pool: first-fit alloc+free pairs, engine vs a naive bitmap
 *     that scans bit by bit (Ganeti's approach), and next fit with the
 *     daemon's 60 s cool-down against the engine's first fit;
 *  2. 1,000,000 reservations then releases in a 2^32 id pool and a 2^48 MAC
 *     pool (the host scope gets the whole space as its pool), sequential
 *     and random, and random with the daemon's 60 s cool-down: ns/op and
 *     bytes per reservation (RSS delta, alias bytes excluded), against the
 *     same operations at 1,000 live reservations and against this
 *     machine's latency of one random load;
 *  3. fragmentation: count=64 align=64 allocations among 10,000 and
 *     100,000 random single reservations in 2^32.
 * Times are the thread's CPU time.  Naming parts runs only those, and --rounds / --reservations shrink them
 * (instruction counts under valgrind --tool=callgrind need no full run).
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/alloc/da-engine.h"

/* the CPU time of this thread: on a shared machine the time the thread
 * waits for a CPU is not the engine's */
static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* slices of the run alternate between the baseline and the engine, and
 * the fastest slice of each counts: on a shared machine the load changes
 * during a run, and both sides then see the same machine */
#define SLICES 10

typedef struct {
  const guint *victims;
  char (*aliases)[8];
  /* the bitmap */
  Bitmap map;
  int slot_of[256];
  /* the engine, first fit */
  DaScope *vm;
  DaRequest request;
  guint64 key_of[256];
  /* the engine, next fit with a cool-down */
  DaScope *cooled_vm;
  DaRequest cooled_request;
  gint64 clock_us;
  guint64 checksum;
} SmallPool;

/* each side out of line, so that valgrind --toggle-collect can count one */
static void __attribute__ ((noinline))
bitmap_slice (SmallPool *p, guint from, guint to)
{
  for (guint i = from; i < to; i++) {
    guint v = p->victims[i];

    bitmap_free (&p->map, p->slot_of[v]);
    p->slot_of[v] = bitmap_first_fit (&p->map);
    p->checksum += (guint64) p->slot_of[v];
  }
}

static void __attribute__ ((noinline))
engine_slice (SmallPool *p, guint from, guint to)
{
  for (guint i = from; i < to; i++) {
    guint v = p->victims[i];
    DaReservation *res;

    da_scope_release (p->vm, p->aliases[v], DA_RELEASE_NOW, 0, NULL, NULL, NULL);
    p->request.alias = p->aliases[v];
    res = da_scope_reserve (p->vm, &p->request, 0, NULL, NULL, NULL);
    if (res == NULL || da_reservation_get_start (res) != p->key_of[v])
      g_error ("engine and first fit disagree");
    p->checksum -= da_reservation_get_start (res);
  }
}

static void __attribute__ ((noinline))
cooled_slice (SmallPool *p, guint from, guint to)
{
  g_autoptr (GError) error = NULL;

  for (guint i = from; i < to; i++) {
    guint v = p->victims[i];

    p->clock_us += G_USEC_PER_SEC;
    da_scope_release (p->cooled_vm, p->aliases[v], DA_RELEASE_NOW, p->clock_us, NULL, NULL, NULL);
    p->cooled_request.alias = p->aliases[v];
    if (da_scope_reserve (p->cooled_vm, &p->cooled_request, p->clock_us, NULL, NULL, &error) == NULL)
      g_error ("%s", error->message);
  }
}

/* the same pool, the two halves of a pair apart: the 64 free slots taken
 * one after another, then 64 taken ones freed, each batch timed; the
 * clock's own cost, measured here, is taken off */
#define BATCH 64

typedef struct {
  double alloc_ns;
  double free_ns;
} Halves;

static double
clock_cost_ns (void)
{
  double best = G_MAXDOUBLE;

  for (int round = 0; round < 10; round++) {
    gint64 t0 = now_ns (), t1;

    for (int i = 0; i < 1000; i++)
      (void) now_ns ();
    t1 = now_ns ();
    best = MIN (best, (double) (t1 - t0) / 1001);
  }
  return best;
}

static void __attribute__ ((noinline))
bitmap_halves (SmallPool *p, const guint *group, guint batches, double clock_ns, Halves *h)
{
  double alloc = 0, release = 0;

  for (guint b = 0; b < batches; b++) {
    const guint *victims = group + (b % 3) * BATCH;
    gint64 t0, t1, t2;

    t0 = now_ns ();
    for (guint i = 0; i < BATCH; i++)
      bitmap_free (&p->map, p->slot_of[victims[i]]);
    t1 = now_ns ();
    for (guint i = 0; i < BATCH; i++)
      p->slot_of[victims[i]] = bitmap_first_fit (&p->map);
    t2 = now_ns ();
    release += (double) (t1 - t0) - clock_ns;
    alloc += (double) (t2 - t1) - clock_ns;
    for (guint i = 0; i < BATCH; i++)
      p->checksum += (guint64) p->slot_of[victims[i]];
  }
  h->alloc_ns = MIN (h->alloc_ns, alloc / ((double) batches * BATCH));
  h->free_ns = MIN (h->free_ns, release / ((double) batches * BATCH));
}

static void __attribute__ ((noinline))
engine_halves (SmallPool *p, const guint *group, guint batches, double clock_ns, Halves *h)
{
  double alloc = 0, release = 0;

  for (guint b = 0; b < batches; b++) {
    const guint *victims = group + (b % 3) * BATCH;
    gint64 t0, t1, t2;

    t0 = now_ns ();
    for (guint i = 0; i < BATCH; i++)
      da_scope_release (p->vm, p->aliases[victims[i]], DA_RELEASE_NOW, 0, NULL, NULL, NULL);
    t1 = now_ns ();
    for (guint i = 0; i < BATCH; i++) {
      p->request.alias = p->aliases[victims[i]];
      p->key_of[victims[i]] = da_reservation_get_start (da_scope_reserve (p->vm, &p->request, 0, NULL, NULL, NULL));
    }
    t2 = now_ns ();
    release += (double) (t1 - t0) - clock_ns;
    alloc += (double) (t2 - t1) - clock_ns;
    for (guint i = 0; i < BATCH; i++)
      p->checksum -= p->key_of[victims[i]];
  }
  h->alloc_ns = MIN (h->alloc_ns, alloc / ((double) batches * BATCH));
  h->free_ns = MIN (h->free_ns, release / ((double) batches * BATCH));
}

static void
bench_small_pool (void)
{
  g_autoptr (DaEngine) engine = bench_engine ();
  g_autoptr (DaEngine) cooled_engine = bench_engine ();
  const guint rounds = small_rounds;
  const guint slice = MAX (rounds / SLICES, 1);
  g_autoptr (GError) error = NULL;
  char aliases[256][8];
  GRand *rand = g_rand_new_with_seed (3);
  guint *victims = g_new (guint, rounds);
  double bitmap_ns = G_MAXDOUBLE, engine_ns = G_MAXDOUBLE, cooled_ns = G_MAXDOUBLE;
  SmallPool p = { .victims = victims, .aliases = aliases };
  Halves bitmap_halves_ns = { G_MAXDOUBLE, G_MAXDOUBLE }, engine_halves_ns = { G_MAXDOUBLE, G_MAXDOUBLE };

  p.vm = empty_vm (engine, "small");
  p.cooled_vm = empty_vm (cooled_engine, "small");
  /* ids 0..255 in a pool of their own; three quarters taken in order */
  da_scope_add_keys (p.vm, "id", 0, 255, NULL, NULL, &error);
  da_scope_add_keys (p.cooled_vm, "id", 0, 255, NULL, NULL, &error);
  for (guint i = 0; i < 256; i++)
    g_snprintf (aliases[i], sizeof aliases[i], "d%u", i);
  for (guint i = 0; i < rounds; i++)
    victims[i] = g_rand_int_range (rand, 0, 192);

  for (guint i = 0; i < 192; i++)
    p.slot_of[i] = bitmap_first_fit (&p.map);
  request_init (&p.request, engine, "id", NULL);
  for (guint i = 0; i < 192; i++) {
    p.request.alias = aliases[i];
    p.key_of[i] = da_reservation_get_start (da_scope_reserve (p.vm, &p.request, 0, NULL, NULL, &error));
  }
  /* the daemon's way for hotplug: next fit, and a released address cools
   * down for 60 s; one release a second keeps 60 of the 64 free cooling */
  da_engine_set_cooldown (cooled_engine, 60 * G_USEC_PER_SEC);
  request_init (&p.cooled_request, cooled_engine, "id", NULL);
  p.cooled_request.constraint.policy = DA_POLICY_NEXT_FIT;
  for (guint i = 0; i < 192; i++) {
    p.cooled_request.alias = aliases[i];
    if (da_scope_reserve (p.cooled_vm, &p.cooled_request, 0, NULL, NULL, &error) == NULL)
      g_error ("%s", error->message);
  }

  for (guint from = 0; from < rounds; from += slice) {
    guint to = MIN (from + slice, rounds);
    gint64 t0, t1, t2, t3;

    t0 = now_ns ();
    bitmap_slice (&p, from, to);
    t1 = now_ns ();
    engine_slice (&p, from, to);
    t2 = now_ns ();
    cooled_slice (&p, from, to);
    t3 = now_ns ();
    bitmap_ns = MIN (bitmap_ns, (double) (t1 - t0) / (to - from));
    engine_ns = MIN (engine_ns, (double) (t2 - t1) / (to - from));
    cooled_ns = MIN (cooled_ns, (double) (t3 - t2) / (to - from));
  }
  /* both made the same choices, so the sums cancel */
  if (p.checksum != 0)
    g_error ("the bitmap and the engine chose differently");

  {
    /* the 192 taken in three groups of 64, in random order */
    guint group[192];
    const guint batches = MAX (rounds / BATCH / SLICES, 3);
    double clock_ns = clock_cost_ns ();

    for (guint i = 0; i < 192; i++)
      group[i] = i;
    shuffle (group, 192, rand);
    for (guint s = 0; s < SLICES; s++) {
      bitmap_halves (&p, group, batches, clock_ns, &bitmap_halves_ns);
      engine_halves (&p, group, batches, clock_ns, &engine_halves_ns);
    }
    if (p.checksum != 0)
      g_error ("the bitmap and the engine chose differently");
  }

  printf ("256-slot pool, 192 taken, free+alloc pairs (CPU time, fastest of %u alternating slices of %u):\n",
          SLICES, slice);
  printf ("  naive bitmap, first fit          %7.1f ns/pair %10.0f pairs/s  (baseline)\n", bitmap_ns, 1e9 / bitmap_ns);
  printf ("  engine, first fit (full reserve) %7.1f ns/pair %10.0f pairs/s  %.2fx the bitmap's throughput (goal >= 0.5x)\n",
          engine_ns, 1e9 / engine_ns, bitmap_ns / engine_ns);
  printf ("  engine, next fit, 60 s cool-down %7.1f ns/pair %10.0f pairs/s  %.2fx first fit's time\n",
          cooled_ns, 1e9 / cooled_ns, cooled_ns / engine_ns);
  printf ("  the halves apart, in batches of %d (the clock's cost taken off):\n", BATCH);
  printf ("    naive bitmap  allocation %6.1f ns  free %6.1f ns  (baseline)\n",
          bitmap_halves_ns.alloc_ns, bitmap_halves_ns.free_ns);
  printf ("    engine        allocation %6.1f ns  free %6.1f ns  allocation %.2fx the bitmap's throughput\n",
          engine_halves_ns.alloc_ns, engine_halves_ns.free_ns, bitmap_halves_ns.alloc_ns / engine_halves_ns.alloc_ns);
  printf ("  goal <= 100 ns per allocation: an engine allocation takes %.1f ns (%.1f ns per free+alloc pair)\n",
          engine_halves_ns.alloc_ns, engine_ns);
  g_free (victims);
  g_rand_free (rand);
}

/* ---- 2. a million reservations ---- */

typedef struct {
  double reserve_ns;
  double release_ns;
  double bytes_per_reservation;
} BigResult;

/* "type-0000042": the daemon gets an alias in the request it just parsed,
 * so the bench writes each one into a buffer at hand instead of reading it
 * from a table of a million (a cache miss the daemon does not have) */
static void
format_alias (char *out, const char *type, guint i)
{
  gsize n = strlen (type);

  memcpy (out, type, n);
  out[n] = '-';
  for (int d = 6; d >= 0; d--, i /= 10)
    out[n + 1 + d] = (char) ('0' + i % 10);
  out[n + 8] = '\0';
}

typedef struct {
  const char *type;
  const char *space;
  guint64 last_key;     /* the pool is 0 .. last_key */
  gboolean random_order;
  gint64 cooldown;      /* 0: none */
} BigCase;

static BigResult
run_big (const BigCase *bc, guint n)
{
  g_autoptr (DaEngine) engine = bench_engine ();
  DaScope *host = da_engine_get_host (engine);
  DaAddressType *atype = da_catalog_get_type (da_engine_get_catalog (engine), bc->type);
  char alias[32];
  guint64 *keys = g_new (guint64, n);
  guint *order = g_new (guint, n);
  GRand *rand = g_rand_new_with_seed (5);
  g_autoptr (GError) error = NULL;
  gsize alias_bytes = 0, rss0, rss1;
  DaRequest request;
  BigResult result;
  gint64 t0, t1, t2;

  /* the whole space is the pool, whatever the type's default pool */
  if (!da_scope_add_keys (host, bc->type, 0, bc->last_key, NULL, NULL, &error))
    g_error ("%s", error->message);
  da_engine_set_cooldown (engine, bc->cooldown);
  /* the engine keeps a copy of each alias; those bytes are not counted */
  alias_bytes = (gsize) n * (strlen (bc->type) + 9);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  /* random order: distinct random addresses, reserved exactly */
  if (bc->random_order) {
    g_autoptr (GHashTable) used = g_hash_table_new (g_int64_hash, g_int64_equal);

    for (guint i = 0; i < n; i++) {
      /* add() would replace an equal key's pointer: ask first */
      do
        keys[i] = (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)) % (bc->last_key + 1);
      while (g_hash_table_contains (used, &keys[i]));
      g_hash_table_add (used, &keys[i]);
    }
  }
  shuffle (order, n, rand);

  rss0 = rss_bytes ();
  t0 = now_ns ();
  for (guint i = 0; i < n; i++) {
    format_alias (alias, bc->type, i);
    request_init (&request, engine, bc->type, alias);
    if (bc->random_order) {
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
    guint k = bc->random_order ? order[i] : i;

    format_alias (alias, bc->type, k);
    /* a release a microsecond: a cool-down sees them all in its window */
    if (!da_scope_release (host, alias, DA_RELEASE_NOW, i, NULL, NULL, &error))
      g_error ("%s", error->message);
  }
  t2 = now_ns ();

  result.reserve_ns = (double) (t1 - t0) / n;
  result.release_ns = (double) (t2 - t1) / n;
  result.bytes_per_reservation = ((double) rss1 - (double) rss0 - (double) alias_bytes) / n;
  g_free (keys);
  g_free (order);
  g_rand_free (rand);
  return result;
}

/* the baseline a random access at a million cannot beat: one load that
 * depends on the one before, at random in as much memory as the engine
 * holds then (a pointer chase through one random cycle) */
static double
memory_latency_ns (gsize bytes)
{
  gsize n = bytes / sizeof (guint32);
  guint32 *next = g_new (guint32, n);
  guint32 *order = g_new (guint32, n);
  GRand *rand = g_rand_new_with_seed (11);
  const guint loads = 2000000;
  guint32 at = 0;
  gint64 t0, t1;

  for (gsize i = 0; i < n; i++)
    order[i] = (guint32) i;
  for (gsize i = n - 1; i > 0; i--) {
    gsize j = (gsize) g_rand_int_range (rand, 0, (gint32) i + 1);
    guint32 t = order[i];

    order[i] = order[j];
    order[j] = t;
  }
  for (gsize i = 0; i < n; i++)
    next[order[i]] = order[(i + 1) % n];
  t0 = now_ns ();
  for (guint i = 0; i < loads; i++)
    at = next[at];
  t1 = now_ns ();
  if (at == G_MAXUINT32)
    g_error ("not reached");
  g_free (order);
  g_free (next);
  g_rand_free (rand);
  return (double) (t1 - t0) / loads;
}

static void
bench_big (void)
{
  const BigCase cases[] = {
    { "id", "2^32", G_MAXUINT32, FALSE, 0 },
    { "id", "2^32", G_MAXUINT32, TRUE, 0 },
    { "mac", "2^48", (G_GUINT64_CONSTANT (1) << 48) - 1, FALSE, 0 },
    { "mac", "2^48", (G_GUINT64_CONSTANT (1) << 48) - 1, TRUE, 0 },
    { "id", "2^32", G_MAXUINT32, TRUE, 60 * G_USEC_PER_SEC },
  };

  printf ("\n%u reservations then releases (host scope, each with its own alias); baseline: the same at 1,000:\n",
          big_reservations);
  double latency = memory_latency_ns ((gsize) big_reservations * 80);

  printf ("  a bitmap of 2^32 keys needs 512 MiB and one of 2^48 keys 32 TiB: it cannot hold these pools\n");
  printf ("  this machine: a dependent random load in %u MiB takes %.0f ns (\"loads\" below: op time / that)\n",
          (guint) ((gsize) big_reservations * 80 >> 20), latency);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    const BigCase *bc = &cases[c];
    BigResult small = run_big (bc, 1000);
    BigResult big = run_big (bc, big_reservations);

    printf ("  %-4s %s %-10s%s reserve %5.0f ns/op (%.2fx, %.1f loads)  release %5.0f ns/op (%.2fx, %.1f loads)"
            "  %5.1f bytes/reservation\n",
            bc->type, bc->space, bc->random_order ? "random" : "sequential", bc->cooldown > 0 ? " 60 s cool-down" : "",
            big.reserve_ns, big.reserve_ns / small.reserve_ns, big.reserve_ns / latency,
            big.release_ns, big.release_ns / small.release_ns, big.release_ns / latency, big.bytes_per_reservation);
  }
  printf ("  goals: <= 300 ns/op at 1M live ranges, <= 96 bytes per reservation (RSS growth over the reserves,\n"
          "  less the aliases' bytes); the cool-down line pays for every release's cool-down entry\n");
  /* a release by name cannot know where its reservation lies before
   * its name's slot arrives, nor the leaf to change before that */
  printf ("  a random release by name waits for two loads one after the other at the least (its name's slot,\n"
          "  then its reservation and leaf together): %.0f ns here\n", 2 * latency);
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
