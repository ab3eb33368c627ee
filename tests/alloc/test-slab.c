/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/alloc/da-slab.h"
#include "tests/common/da-test-suite.h"

typedef struct {
  guint8 *mem;
  gsize size;
  guint8 fill;
} Live;

static void
check_intact (const Live *live)
{
  for (gsize i = 0; i < live->size; i++)
    ck_assert_uint_eq (live->mem[i], live->fill);
}

/* random sizes made and freed against a model: every record keeps its
 * bytes (no two overlap), ids are unique and never 0, and an id finds
 * its record */
START_TEST (test_against_model)
{
  for (guint seed = 1; seed <= 10; seed++) {
    GRand *rand = g_rand_new_with_seed (seed);
    g_autoptr (GHashTable) model = g_hash_table_new_full (NULL, NULL, NULL, g_free);
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint32));
    DaSlab slab;

    da_slab_init (&slab);
    for (guint step = 0; step < 30000; step++) {
      if (ids->len == 0 || g_rand_int_range (rand, 0, 5) < 3) {
        /* mostly a few sizes, as aliases are, sometimes any */
        gsize size = g_rand_boolean (rand) ? (gsize) g_rand_int_range (rand, 36, 44)
                                           : (gsize) g_rand_int_range (rand, 1, DA_SLAB_MAX_RECORD + 1);
        Live *live = g_new (Live, 1);
        guint32 id = 0;

        live->mem = da_slab_alloc (&slab, size, &id);
        live->size = size;
        live->fill = (guint8) g_rand_int (rand);
        ck_assert_uint_ne (id, 0);
        ck_assert_uint_eq ((guintptr) live->mem % 8, 0);
        ck_assert (!g_hash_table_contains (model, GUINT_TO_POINTER (id)));
        memset (live->mem, live->fill, size);
        g_hash_table_insert (model, GUINT_TO_POINTER (id), live);
        g_array_append_val (ids, id);
      } else {
        guint k = (guint) g_rand_int_range (rand, 0, (gint32) ids->len);
        guint32 id = g_array_index (ids, guint32, k);
        Live *live = g_hash_table_lookup (model, GUINT_TO_POINTER (id));

        ck_assert_ptr_eq (da_slab_get (&slab, id), live->mem);
        check_intact (live);
        da_slab_free (&slab, id);
        g_hash_table_remove (model, GUINT_TO_POINTER (id));
        g_array_remove_index_fast (ids, k);
      }
      ck_assert_uint_eq (da_slab_get_n_records (&slab), ids->len);
    }
    for (guint i = 0; i < ids->len; i++) {
      guint32 id = g_array_index (ids, guint32, i);
      Live *live = g_hash_table_lookup (model, GUINT_TO_POINTER (id));

      ck_assert_ptr_eq (da_slab_get (&slab, id), live->mem);
      check_intact (live);
    }
    da_slab_clear (&slab);
    ck_assert_uint_eq (da_slab_memory (&slab), 0);
    g_rand_free (rand);
  }
}
END_TEST

/* a 43-byte record costs 48 bytes, not malloc's 64; freeing everything
 * gives the chunks back but the last one of the size */
START_TEST (test_memory_follows_records)
{
  const guint n = 100000;
  g_autofree guint32 *ids = g_new (guint32, n);
  DaSlab slab;
  gsize chunks_only;

  da_slab_init (&slab);
  for (guint i = 0; i < n; i++)
    da_slab_alloc (&slab, 43, &ids[i]);
  chunks_only = da_slab_memory (&slab) - slab.chunks_allocated * sizeof (DaSlabChunk);
  /* 170 records of 48 bytes in each 8 KiB chunk */
  ck_assert_uint_eq (chunks_only, (n + 169) / 170 * (gsize) DA_SLAB_CHUNK_SIZE);
  ck_assert_uint_le (da_slab_memory (&slab), (gsize) n * 49);
  for (guint i = 0; i < n; i++)
    da_slab_free (&slab, ids[(i * 7919u) % n]);
  ck_assert_uint_eq (da_slab_get_n_records (&slab), 0);
  chunks_only = da_slab_memory (&slab) - slab.chunks_allocated * sizeof (DaSlabChunk);
  ck_assert_uint_eq (chunks_only, DA_SLAB_CHUNK_SIZE);

  /* making and freeing one record again and again keeps that one chunk */
  for (guint i = 0; i < 1000; i++) {
    guint32 id;

    da_slab_alloc (&slab, 43, &id);
    da_slab_free (&slab, id);
  }
  chunks_only = da_slab_memory (&slab) - slab.chunks_allocated * sizeof (DaSlabChunk);
  ck_assert_uint_eq (chunks_only, DA_SLAB_CHUNK_SIZE);

  /* freed chunk slots are used again before the table grows */
  {
    guint32 before = slab.n_chunks;

    for (guint i = 0; i < n; i++)
      da_slab_alloc (&slab, 43, &ids[i]);
    ck_assert_uint_eq (slab.n_chunks, before);
  }
  da_slab_clear (&slab);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("slab");
  TCase *tc = tcase_create ("slab");

  tcase_add_test (tc, test_against_model);
  tcase_add_test (tc, test_memory_follows_records);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
