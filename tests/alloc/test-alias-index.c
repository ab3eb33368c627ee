/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <string.h>

#include "daemon/alloc/da-alias-index.h"
#include "tests/common/da-test-suite.h"

/* records of varying size in a slab, as the engine keeps reservations */
typedef struct {
  guint32 id;
  guint32 hash;
  char name[];
} Entry;

static Entry *
entry_new (DaSlab *slab, const char *name)
{
  guint32 id;
  Entry *e = da_slab_alloc (slab, offsetof (Entry, name) + strlen (name) + 1, &id);

  e->id = id;
  strcpy (e->name, name);
  e->hash = da_alias_hash (e->name);
  return e;
}

/* random inserts, lookups and removals against a GHashTable model, with
 * names that collide in the low bits often at small sizes */
START_TEST (test_against_model)
{
  for (guint seed = 1; seed <= 20; seed++) {
    GRand *rand = g_rand_new_with_seed (seed);
    g_autoptr (GHashTable) model = g_hash_table_new (g_str_hash, g_str_equal);
    DaAliasIndex index;
    DaSlab slab;
    guint universe = g_rand_int_range (rand, 4, 3000);

    da_slab_init (&slab);
    da_alias_index_init (&index, &slab, offsetof (Entry, name));
    for (guint step = 0; step < 20000; step++) {
      char name[24];
      Entry *in_model, *found;
      guint32 id = 0;

      g_snprintf (name, sizeof name, "a%u", g_rand_int_range (rand, 0, (gint32) universe));
      in_model = g_hash_table_lookup (model, name);
      found = da_alias_index_lookup (&index, name, da_alias_hash (name), &id);
      ck_assert_msg (found == in_model, "seed %u step %u: lookup %s", seed, step, name);
      if (found != NULL) {
        guint64 key = 0;

        ck_assert_uint_eq (id, found->id);
        /* no two of these names share a hash: the first of the hash is it */
        ck_assert (da_alias_index_peek (&index, found->hash, &key));
        ck_assert_uint_eq (key, found->id * G_GUINT64_CONSTANT (0x100000001));
      }
      if (in_model == NULL && g_rand_int_range (rand, 0, 3) > 0) {
        Entry *e = entry_new (&slab, name);

        da_alias_index_insert (&index, e->id, e->hash, e->id * G_GUINT64_CONSTANT (0x100000001));
        g_hash_table_insert (model, e->name, e);
      } else if (in_model != NULL && g_rand_boolean (rand)) {
        guint32 gone = in_model->id;

        ck_assert (da_alias_index_remove (&index, gone, in_model->hash));
        ck_assert (!da_alias_index_remove (&index, gone, in_model->hash));
        g_hash_table_remove (model, name);
        da_slab_free (&slab, gone);
      }
      ck_assert_uint_eq (da_alias_index_size (&index), g_hash_table_size (model));
      /* never more than 3/4 full, and 8 or 12 times a power of two */
      if (index.n > 0) {
        guint32 c = index.capacity;

        ck_assert ((guint64) index.n * 4 <= (guint64) c * 3);
        ck_assert_msg ((c % 8 == 0 && ((c / 8) & (c / 8 - 1)) == 0) || (c % 12 == 0 && ((c / 12) & (c / 12 - 1)) == 0),
                       "capacity %u", c);
      }
    }
    /* every entry is reachable, and iteration sees each once */
    {
      DaAliasIndexIter iter;
      guint seen = 0;
      Entry *e;

      da_alias_index_iter_init (&iter, &index);
      while ((e = da_alias_index_iter_next (&iter)) != NULL) {
        ck_assert_ptr_eq (g_hash_table_lookup (model, e->name), e);
        ck_assert_ptr_eq (da_alias_index_lookup (&index, e->name, e->hash, NULL), e);
        seen++;
      }
      ck_assert_uint_eq (seen, g_hash_table_size (model));
    }
    da_alias_index_clear (&index);
    ck_assert_uint_eq (da_slab_get_n_records (&slab), g_hash_table_size (model));
    da_slab_clear (&slab);
    g_rand_free (rand);
  }
}
END_TEST

START_TEST (test_memory_follows_size)
{
  DaAliasIndex index;
  DaSlab slab;
  GPtrArray *entries = g_ptr_array_new ();

  da_slab_init (&slab);
  da_alias_index_init (&index, &slab, offsetof (Entry, name));
  ck_assert_uint_eq (da_alias_index_memory (&index), 0);
  ck_assert_ptr_null (da_alias_index_lookup (&index, "x", da_alias_hash ("x"), NULL));
  for (guint i = 0; i < 100000; i++) {
    char name[24];
    Entry *e;

    g_snprintf (name, sizeof name, "n%u", i);
    e = entry_new (&slab, name);
    g_ptr_array_add (entries, e);
    da_alias_index_insert (&index, e->id, e->hash, i);
    /* a table that grew is at least half full: steps of 1.5 and 1.33 */
    if (i >= 8)
      ck_assert_uint_gt ((i + 1) * 2, index.capacity);
  }
  /* 16 bytes a slot, at most twice the entries */
  ck_assert_uint_le (da_alias_index_memory (&index), 100000 * 16 * 2);
  for (guint i = 0; i < 100000; i++) {
    Entry *e = g_ptr_array_index (entries, i);
    guint64 key;

    ck_assert (da_alias_index_peek (&index, e->hash, &key));
    ck_assert_ptr_eq (da_alias_index_lookup (&index, e->name, e->hash, NULL), e);
  }
  for (guint i = 0; i < 100000; i++) {
    Entry *e = g_ptr_array_index (entries, i);

    ck_assert (da_alias_index_remove (&index, e->id, e->hash));
  }
  ck_assert_uint_eq (da_alias_index_memory (&index), 0);
  ck_assert_uint_eq (da_alias_index_size (&index), 0);
  da_slab_clear (&slab);
  g_ptr_array_unref (entries);
}
END_TEST

/* two names of one hash: a lookup passes the other by its name, peek
 * gives the first one's key until it is gone */
START_TEST (test_same_hash)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  DaAliasIndex index;
  DaSlab slab;
  Entry *a, *b;
  guint64 key;

  for (guint i = 0; second == NULL; i++) {
    char name[24];
    guint32 h;

    g_snprintf (name, sizeof name, "c%u", i);
    h = da_alias_hash (name);
    if (g_hash_table_contains (seen, GUINT_TO_POINTER (h))) {
      first = g_strdup (g_hash_table_lookup (seen, GUINT_TO_POINTER (h)));
      second = g_strdup (name);
    } else {
      g_hash_table_insert (seen, GUINT_TO_POINTER (h), g_strdup (name));
    }
    ck_assert_uint_lt (i, 10000000);
  }
  ck_assert_uint_eq (da_alias_hash (first), da_alias_hash (second));
  ck_assert_uint_eq (da_alias_hash_len (second, strlen (second)), da_alias_hash (second));

  da_slab_init (&slab);
  da_alias_index_init (&index, &slab, offsetof (Entry, name));
  a = entry_new (&slab, first);
  b = entry_new (&slab, second);
  da_alias_index_insert (&index, a->id, a->hash, 1);
  da_alias_index_insert (&index, b->id, b->hash, 2);
  ck_assert_ptr_eq (da_alias_index_lookup (&index, first, a->hash, NULL), a);
  ck_assert_ptr_eq (da_alias_index_lookup (&index, second, b->hash, NULL), b);
  ck_assert_ptr_null (da_alias_index_lookup (&index, "neither", a->hash, NULL));
  ck_assert (da_alias_index_peek (&index, a->hash, &key));
  ck_assert_uint_eq (key, 1);
  ck_assert (da_alias_index_remove (&index, a->id, a->hash));
  ck_assert_ptr_null (da_alias_index_lookup (&index, first, a->hash, NULL));
  ck_assert_ptr_eq (da_alias_index_lookup (&index, second, b->hash, NULL), b);
  ck_assert (da_alias_index_peek (&index, b->hash, &key));
  ck_assert_uint_eq (key, 2);
  ck_assert (da_alias_index_remove (&index, b->id, b->hash));
  ck_assert (!da_alias_index_peek (&index, b->hash, &key));
  da_alias_index_clear (&index);
  da_slab_clear (&slab);
}
END_TEST

/* every length up to a few words hashes every byte: names that differ in
 * one byte anywhere, or only in length, do not collide */
START_TEST (test_hash_every_byte)
{
  for (gsize len = 1; len <= 40; len++) {
    g_autofree char *name = g_strnfill (len, 'a');
    guint32 base = da_alias_hash (name);
    g_autofree char *longer = g_strnfill (len + 1, 'a');

    ck_assert_uint_ne (base, da_alias_hash (longer));
    for (gsize i = 0; i < len; i++) {
      name[i] = 'b';
      ck_assert_msg (da_alias_hash (name) != base, "length %zu, byte %zu", len, i);
      name[i] = 'a';
    }
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("alias-index");
  TCase *tc = tcase_create ("alias-index");

  tcase_add_test (tc, test_against_model);
  tcase_add_test (tc, test_memory_follows_size);
  tcase_add_test (tc, test_same_hash);
  tcase_add_test (tc, test_hash_every_byte);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
