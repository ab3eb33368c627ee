/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/da-record.h"
#include "tests/common/da-test-suite.h"

static DaChange *
random_change (GRand *rand)
{
  const char *names[] = { NULL, "vm1", "net0", "café", "", "a b", "pci" };
  DaChange *c = g_new0 (DaChange, 1);
  guint64 big[] = { 0, 1, 127, 128, 0xffffffff, G_MAXUINT64, G_MAXUINT64 - 1 };

  c->kind = (DaChangeKind) g_rand_int_range (rand, DA_CHANGE_SCOPE_CREATE, DA_CHANGE_LAST + 1);
  c->scope = g_strdup (names[g_rand_int_range (rand, 1, G_N_ELEMENTS (names))]);
  c->template_name = g_strdup (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
  c->type = g_strdup (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
  c->alias = g_strdup (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
  c->tag = g_strdup (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
  c->start = big[g_rand_int_range (rand, 0, G_N_ELEMENTS (big))];
  c->end = big[g_rand_int_range (rand, 0, G_N_ELEMENTS (big))];
  c->count = g_rand_int (rand);
  c->mode = (DaMode) g_rand_int_range (rand, 0, 2);
  c->state = (DaState) g_rand_int_range (rand, 0, 3);
  c->flags = g_rand_int_range (rand, 0, 2);
  c->time = g_rand_boolean (rand) ? G_MININT64 + g_rand_int (rand) : (gint64) g_rand_int (rand) * 1000;
  c->cursor = g_rand_boolean (rand);
  c->expired = g_rand_boolean (rand);
  return c;
}

static void
assert_same (const DaChange *a, const DaChange *b)
{
  ck_assert_int_eq (a->kind, b->kind);
  ck_assert_str_eq (a->scope, b->scope);
  ck_assert_pstr_eq (a->template_name, b->template_name);
  ck_assert_pstr_eq (a->type, b->type);
  ck_assert_pstr_eq (a->alias, b->alias);
  ck_assert_pstr_eq (a->tag, b->tag);
  ck_assert_uint_eq (a->start, b->start);
  ck_assert_uint_eq (a->end, b->end);
  ck_assert_uint_eq (a->count, b->count);
  ck_assert_int_eq (a->mode, b->mode);
  ck_assert_int_eq (a->state, b->state);
  ck_assert_uint_eq (a->flags, b->flags);
  ck_assert_int_eq (a->time, b->time);
  ck_assert_int_eq (a->cursor, b->cursor);
  ck_assert_int_eq (a->expired, b->expired);
}

START_TEST (test_round_trip)
{
  GRand *rand = g_rand_new_with_seed (1);

  for (guint round = 0; round < 500; round++) {
    g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
    g_autoptr (GPtrArray) back = NULL;
    g_autoptr (GBytes) bytes = NULL;
    g_autoptr (GError) error = NULL;
    guint n = g_rand_int_range (rand, 0, 20);
    gsize len;
    const guint8 *data;

    for (guint i = 0; i < n; i++)
      g_ptr_array_add (changes, random_change (rand));
    bytes = da_record_encode (changes);
    data = g_bytes_get_data (bytes, &len);
    back = da_record_decode (data, len, &error);
    ck_assert_msg (back != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq (back->len, n);
    for (guint i = 0; i < n; i++)
      assert_same (g_ptr_array_index (changes, i), g_ptr_array_index (back, i));

    /* every truncation is an error; every single-byte change decodes or
     * fails cleanly */
    for (gsize cut = 0; cut < len; cut++) {
      g_autoptr (GPtrArray) none = da_record_decode (data, cut, NULL);

      ck_assert_msg (none == NULL, "a record cut at %zu of %zu decoded", cut, len);
    }
    for (guint flips = 0; flips < 20 && len > 0; flips++) {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr (GPtrArray) maybe = NULL;

      copy[g_rand_int_range (rand, 0, (gint32) len)] ^= (guint8) g_rand_int_range (rand, 1, 256);
      maybe = da_record_decode (copy, len, NULL);
      (void) maybe;
    }
  }
  g_rand_free (rand);
}
END_TEST

START_TEST (test_rejects_garbage)
{
  const guint8 wrong_version[] = { 2, 0 };
  const guint8 huge_count[] = { 1, 0xff, 0xff, 0xff, 0xff, 0x0f };
  const guint8 trailing[] = { 1, 0, 0 };
  const guint8 overlong_varint[] = { 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
  const guint8 nul_in_name[] = { 1, 1, 1, 0, 0, 0, 0, 4, 'a', 0, 'b', 0, 0, 0, 0, 0, 0, 0, 0 };
  g_autoptr (GError) error = NULL;

  ck_assert_ptr_null (da_record_decode (wrong_version, sizeof wrong_version, &error));
  g_clear_error (&error);
  ck_assert_ptr_null (da_record_decode (huge_count, sizeof huge_count, &error));
  g_clear_error (&error);
  ck_assert_ptr_null (da_record_decode (trailing, sizeof trailing, &error));
  g_clear_error (&error);
  ck_assert_ptr_null (da_record_decode (overlong_varint, sizeof overlong_varint, &error));
  g_clear_error (&error);
  ck_assert_ptr_null (da_record_decode (nul_in_name, sizeof nul_in_name, &error));
  g_clear_error (&error);
  ck_assert_ptr_null (da_record_decode (NULL, 0, &error));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("record");
  TCase *tc = tcase_create ("record");

  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_rejects_garbage);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
