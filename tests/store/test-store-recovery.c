/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store/da-crc32c.h"
#include "store-test-util.h"
#include "tests/common/da-test-suite.h"

#define SEGMENT0 "journal.0000000000000000"

static GPtrArray *
payload_array (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static GPtrArray *
prefix (GPtrArray *all, guint n)
{
  GPtrArray *part = payload_array ();

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (part, g_bytes_ref (all->pdata[i]));
  return part;
}

/* appends n records first..first+n-1, each acknowledged before the next
 * (so each is a group of its own) */
static void
append_acked (DaStore *store, GPtrArray *expected, guint first, guint n, gsize len)
{
  for (guint i = first; i < first + n; i++) {
    GBytes *payload = test_payload (i, len);

    test_append_sync (store, payload);
    g_ptr_array_add (expected, payload);
  }
}

static GBytes *
pack_state (GPtrArray *payloads)
{
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (0);

  for (guint i = 0; i < payloads->len; i++)
    da_snapshot_builder_add (builder, g_bytes_get_data (payloads->pdata[i], NULL),
                             g_bytes_get_size (payloads->pdata[i]));
  return da_snapshot_builder_steal (builder);
}

static void
snapshot_sync (DaStore *store, GPtrArray *state)
{
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) packed = pack_state (state);

  da_store_snapshot (store, packed, test_done_cb, c);
  test_wait_done (c, 1);
  ck_assert_msg (c->errors->pdata[0] == NULL, "%s", ((GError *) c->errors->pdata[0])->message);
}

static void
assert_refused (const char *dir, gint code, const char *fragment)
{
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert (!test_try_recover (dir, NULL, &records, NULL, &error));
  ck_assert_msg (g_error_matches (error, DA_STORE_ERROR, code), "unexpected: %s", error->message);
  ck_assert_msg (strstr (error->message, fragment) != NULL, "\"%s\" not in: %s", fragment, error->message);
  /* refused before handing over a single record */
  ck_assert_uint_eq (records->len, 0);
}

/* ------------------------------------------------------------------ */
/* torn tails */

START_TEST (test_recovery_torn_tail_every_offset)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *work = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  DaStore *store;
  gsize len;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 5, 40);
  da_store_free (store);
  data = test_read_file (dir, SEGMENT0, &len);
  offsets = test_frame_offsets (data, len, DA_STORE_FILE_HEADER_SIZE);
  ck_assert_uint_eq (offsets->len, 6);
  ck_assert_uint_eq (g_array_index (offsets, gsize, 5), len);

  /* a crash can leave the file cut anywhere, the header included */
  for (gsize cut = 0; cut <= len; cut++) {
    g_auto (DaStoreRecovery) report = { 0 };
    g_autoptr (GPtrArray) want = NULL;
    gsize kept_end = DA_STORE_FILE_HEADER_SIZE;
    guint n = 0;

    while (n < 5 && g_array_index (offsets, gsize, n + 1) <= cut)
      n++;
    if (n > 0)
      kept_end = g_array_index (offsets, gsize, n);
    want = prefix (expected, n);
    test_write_file (work, SEGMENT0, data, cut);
    test_assert_recovers (work, NULL, want, &report);
    ck_assert_uint_eq (report.damage->len, 0);
    ck_assert_uint_eq (report.tail_records_cut, 0);
    if (cut >= DA_STORE_FILE_HEADER_SIZE)
      ck_assert_uint_eq (report.tail_bytes_cut, cut - kept_end);
    /* cut back to the last whole record (a torn header is written anew) */
    ck_assert_uint_eq (test_file_size (work, SEGMENT0), kept_end);
  }

  /* and appends go on right after the cut */
  {
    g_autoptr (GPtrArray) want = prefix (expected, 4);
    gsize cut = g_array_index (offsets, gsize, 4) + 10;

    test_write_file (work, SEGMENT0, data, cut);
    store = test_open_started (work, NULL, NULL);
    append_acked (store, want, 100, 2, 33);
    da_store_free (store);
    test_assert_recovers (work, NULL, want, NULL);
  }
  test_remove_dir (work);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_torn_group)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *work = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  DaStoreCounters counters;
  TestFault fault;
  DaStore *store;
  gsize len;

  /* record 1 alone, then records 2..4 as one group */
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_SYNC, 0, 0, 1, TRUE);
  store = test_open_started (dir, NULL, NULL);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  for (guint i = 0; i < 4; i++) {
    GBytes *payload = test_payload (i, 50);

    da_store_append (store, payload, test_done_cb, c);
    g_ptr_array_add (expected, payload);
    if (i == 0)
      test_fault_wait_hit (&fault);
  }
  test_fault_release (&fault);
  test_wait_done (c, 4);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.groups, 2);
  da_store_free (store);
  test_fault_clear (&fault);

  data = test_read_file (dir, SEGMENT0, &len);
  offsets = test_frame_offsets (data, len, DA_STORE_FILE_HEADER_SIZE);
  ck_assert_uint_eq (offsets->len, 5);
  /* the group was synced as a whole or not at all: a cut anywhere in it,
   * even after whole records of it, drops the whole group */
  for (gsize cut = g_array_index (offsets, gsize, 1) + 1; cut < len; cut++) {
    g_auto (DaStoreRecovery) report = { 0 };
    g_autoptr (GPtrArray) want = prefix (expected, 1);
    guint whole = 0;

    for (guint i = 1; i < 4; i++)
      if (g_array_index (offsets, gsize, i + 1) <= cut)
        whole++;
    test_write_file (work, SEGMENT0, data, cut);
    test_assert_recovers (work, NULL, want, &report);
    ck_assert_uint_eq (report.tail_records_cut, whole);
    ck_assert_uint_eq (report.tail_bytes_cut, cut - g_array_index (offsets, gsize, 1));
  }
  test_remove_dir (work);
  test_remove_dir (dir);
}
END_TEST

/* a write fails half-way through a group of three (one and a half records
 * reach the disk) and the process dies before it cuts them off: the whole
 * record that made it must not come back, it was never acknowledged */
typedef struct {
  GMutex mutex;
  GCond cond;
  gboolean blocked, released, crashed;
  gint syncs, writes;
} HalfGroupHook;

static int
half_group_hook (DaStoreFaultPoint point, gpointer user_data)
{
  HalfGroupHook *h = user_data;
  int action = 0;

  g_mutex_lock (&h->mutex);
  if (point == DA_STORE_FAULT_JOURNAL_SYNC && h->syncs++ == 0) {
    h->blocked = TRUE;
    g_main_context_wakeup (NULL);
    while (!h->released)
      g_cond_wait (&h->cond, &h->mutex);
  } else if (point == DA_STORE_FAULT_JOURNAL_WRITE && h->writes++ == 1) {
    action = ENOSPC;
  } else if (point == DA_STORE_FAULT_JOURNAL_TRUNCATE) {
    h->crashed = TRUE;
    g_main_context_wakeup (NULL);
    action = DA_STORE_FAULT_CRASH;
  }
  g_mutex_unlock (&h->mutex);
  return action;
}

static gboolean
half_group_get (HalfGroupHook *h, gboolean *field)
{
  gboolean value;

  g_mutex_lock (&h->mutex);
  value = *field;
  g_mutex_unlock (&h->mutex);
  return value;
}

START_TEST (test_recovery_failed_group_not_replayed)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_auto (DaStoreRecovery) report = { 0 };
  HalfGroupHook h = { 0 };
  DaStore *store;

  g_mutex_init (&h.mutex);
  g_cond_init (&h.cond);
  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 5, 60);
  da_store_set_fault_hook (store, half_group_hook, &h);
  g_ptr_array_add (expected, test_payload (5, 60));
  da_store_append (store, expected->pdata[5], test_done_cb, c);
  while (!half_group_get (&h, &h.blocked))
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 6; i < 9; i++) {
    g_autoptr (GBytes) payload = test_payload (i, 60);

    da_store_append (store, payload, test_done_cb, c);
  }
  g_mutex_lock (&h.mutex);
  h.released = TRUE;
  g_cond_broadcast (&h.cond);
  g_mutex_unlock (&h.mutex);
  while (!half_group_get (&h, &h.crashed))
    g_main_context_iteration (NULL, TRUE);
  da_store_free (store);
  /* only the record before the crash was acknowledged */
  ck_assert_uint_eq (c->n_done, 1);
  ck_assert (c->errors->pdata[0] == NULL);

  test_assert_recovers (dir, NULL, expected, &report);
  ck_assert_uint_eq (report.tail_records_cut, 1);
  ck_assert_uint_eq (report.tail_bytes_cut, 3 * (DA_STORE_FRAME_HEADER_SIZE + 60) / 2);
  g_mutex_clear (&h.mutex);
  g_cond_clear (&h.cond);
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* damage in the middle */

START_TEST (test_recovery_bit_flips)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *work = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  gsize len, start, end;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 20, 40);
  da_store_free (store);
  data = test_read_file (dir, SEGMENT0, &len);
  offsets = test_frame_offsets (data, len, DA_STORE_FILE_HEADER_SIZE);
  for (guint i = 0; i < 20; i++)
    if (i != 9)
      g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));

  /* one flipped bit anywhere in record 10 (seq 10) loses that record only */
  start = g_array_index (offsets, gsize, 9);
  end = g_array_index (offsets, gsize, 10);
  for (gsize pos = start; pos < end; pos++) {
    g_auto (DaStoreRecovery) report = { 0 };
    DaStoreDamage *damage;

    data[pos] ^= (guint8) (1u << (pos % 8));
    test_write_file (work, SEGMENT0, data, len);
    data[pos] ^= (guint8) (1u << (pos % 8));
    test_assert_recovers (work, NULL, want, &report);
    ck_assert_uint_eq (report.damage->len, 1);
    damage = &g_array_index (report.damage, DaStoreDamage, 0);
    ck_assert_str_eq (damage->file, SEGMENT0);
    ck_assert_uint_eq (damage->offset, start);
    ck_assert_uint_eq (damage->length, end - start);
    ck_assert_uint_eq (damage->seq_before, 9);
    ck_assert_uint_eq (damage->seq_after, 11);
    ck_assert_uint_eq (damage->records_lost, 1);
    ck_assert_uint_eq (report.tail_bytes_cut, 0);
    /* the journal is left as it is: the damage is not a tail */
    ck_assert_uint_eq (test_file_size (work, SEGMENT0), len);
  }
  test_remove_dir (work);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_damaged_stretch)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  g_auto (DaStoreRecovery) report = { 0 };
  g_autofree char *text = NULL;
  DaStoreDamage *damage;
  DaStore *store;
  gsize len, from, to;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 20, 40);
  da_store_free (store);
  data = test_read_file (dir, SEGMENT0, &len);
  offsets = test_frame_offsets (data, len, DA_STORE_FILE_HEADER_SIZE);
  /* zeroes over the end of record 6, all of 7..9 and the start of 10 */
  from = g_array_index (offsets, gsize, 5) + 30;
  to = g_array_index (offsets, gsize, 9) + 5;
  memset (data + from, 0, to - from);
  test_write_file (dir, SEGMENT0, data, len);
  for (guint i = 0; i < 20; i++)
    if (i < 5 || i > 9)
      g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));
  test_assert_recovers (dir, NULL, want, &report);
  ck_assert_uint_eq (report.damage->len, 1);
  damage = &g_array_index (report.damage, DaStoreDamage, 0);
  ck_assert_uint_eq (damage->offset, g_array_index (offsets, gsize, 5));
  ck_assert_uint_eq (damage->offset + damage->length, g_array_index (offsets, gsize, 10));
  ck_assert_uint_eq (damage->seq_before, 5);
  ck_assert_uint_eq (damage->seq_after, 11);
  ck_assert_uint_eq (damage->records_lost, 5);
  text = da_store_recovery_describe (&report);
  ck_assert_msg (strstr (text, "15 journal records") != NULL && strstr (text, "1 damaged regions") != NULL, "%s",
                 text);
  test_remove_dir (dir);
}
END_TEST

/* records 1..5 in journal.0, 6..10 in journal.5, 11..15 in journal.a:
 * snapshots that fail after the rotation leave the segments behind */
static void
make_three_segments (const char *dir, GPtrArray *expected)
{
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  TestFault fault;
  DaStore *store;

  test_fault_init (&fault, DA_STORE_FAULT_SNAPSHOT_WRITE, EIO, 0, -1, FALSE);
  store = test_open_started (dir, NULL, NULL);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  append_acked (store, expected, 0, 5, 40);
  da_store_snapshot (store, empty, test_done_cb, c);
  append_acked (store, expected, 5, 5, 40);
  da_store_snapshot (store, empty, test_done_cb, c);
  append_acked (store, expected, 10, 5, 40);
  test_wait_done (c, 2);
  ck_assert_uint_eq (c->n_failed, 2);
  da_store_free (store);
  test_fault_clear (&fault);
  ck_assert (test_file_exists (dir, SEGMENT0));
  ck_assert (test_file_exists (dir, "journal.0000000000000005"));
  ck_assert (test_file_exists (dir, "journal.000000000000000a"));
  ck_assert (!test_file_exists (dir, "snapshot"));
}

START_TEST (test_recovery_damage_in_older_segment)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  g_auto (DaStoreRecovery) report = { 0 };
  g_autoptr (GByteArray) longer = g_byte_array_new ();
  const char *name = "journal.0000000000000005";
  DaStoreDamage *damage;
  gsize len;

  make_three_segments (dir, expected);
  test_assert_recovers (dir, NULL, expected, &report);
  ck_assert_uint_eq (report.segments, 3);
  da_store_recovery_clear (&report);

  /* a flipped bit in record 7 and a torn record at the end of journal.5:
   * neither is the tail of the journal, so both are reported, nothing is cut */
  data = test_read_file (dir, name, &len);
  offsets = test_frame_offsets (data, len, DA_STORE_FILE_HEADER_SIZE);
  data[g_array_index (offsets, gsize, 1) + 30] ^= 0x10;
  g_byte_array_append (longer, data, len);
  g_byte_array_append (longer, data + g_array_index (offsets, gsize, 0), 30);
  test_write_file (dir, name, longer->data, longer->len);
  for (guint i = 0; i < 15; i++)
    if (i != 6)
      g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));
  test_assert_recovers (dir, NULL, want, &report);
  ck_assert_uint_eq (report.damage->len, 2);
  damage = &g_array_index (report.damage, DaStoreDamage, 0);
  ck_assert_str_eq (damage->file, name);
  ck_assert_uint_eq (damage->seq_before, 6);
  ck_assert_uint_eq (damage->seq_after, 8);
  damage = &g_array_index (report.damage, DaStoreDamage, 1);
  ck_assert_uint_eq (damage->offset, len);
  ck_assert_uint_eq (damage->length, 30);
  ck_assert_uint_eq (report.tail_bytes_cut, 0);
  ck_assert_uint_eq (test_file_size (dir, name), len + 30);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_missing_segment)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *path = NULL;
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  g_auto (DaStoreRecovery) report = { 0 };
  DaStoreOptions lossy = { .accept_data_loss = TRUE };

  make_three_segments (dir, expected);
  path = g_build_filename (dir, "journal.0000000000000005", NULL);
  ck_assert (unlink (path) == 0);
  assert_refused (dir, DA_STORE_ERROR_CORRUPT, "journal.0000000000000005 is missing");
  for (guint i = 0; i < 15; i++)
    if (i < 5 || i >= 10)
      g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));
  test_assert_recovers (dir, &lossy, want, &report);
  ck_assert_uint_eq (report.damage->len, 1);

  /* and without the first segment there is a hole below the journal */
  g_free (path);
  path = g_build_filename (dir, SEGMENT0, NULL);
  ck_assert (unlink (path) == 0);
  assert_refused (dir, DA_STORE_ERROR_CORRUPT, "there is no snapshot");
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_unsupported_version)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autofree guint8 *data = NULL;
  guint32 v = GUINT32_TO_LE (2), crc;
  DaStore *store;
  gsize len;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 2, 10);
  da_store_free (store);
  /* an intact header of a later version is not damage: refuse it */
  data = test_read_file (dir, SEGMENT0, &len);
  memcpy (data + 8, &v, 4);
  crc = GUINT32_TO_LE (da_crc32c (0, data, 44));
  memcpy (data + 44, &crc, 4);
  test_write_file (dir, SEGMENT0, data, len);
  assert_refused (dir, DA_STORE_ERROR_UNSUPPORTED, "version 2");
  test_remove_dir (dir);
}
END_TEST

static gboolean
refuse_third (guint64 seq, const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  guint *n = user_data;

  if (++*n == 3) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "record %" G_GUINT64_FORMAT " makes no sense", seq);
    return FALSE;
  }
  return TRUE;
}

START_TEST (test_recovery_record_func_aborts)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GError) error = NULL;
  DaStore *store;
  guint n = 0;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 5, 10);
  da_store_free (store);
  store = da_store_open (dir, NULL, NULL);
  ck_assert (!da_store_recover (store, refuse_third, &n, NULL, &error));
  ck_assert (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_INVAL));
  ck_assert_str_eq (error->message, "record 3 makes no sense");
  ck_assert_uint_eq (n, 3);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_removes_snapshot_tmp)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_auto (DaStoreRecovery) report = { 0 };
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 3, 10);
  da_store_free (store);
  test_write_file (dir, "snapshot.tmp", (const guint8 *) "DEVADDRS half a snapshot", 24);
  test_assert_recovers (dir, NULL, expected, &report);
  ck_assert (report.removed_snapshot_tmp);
  ck_assert (!test_file_exists (dir, "snapshot.tmp"));
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* damaged snapshots */

/* 100 records in a snapshot at 100, then 10 more in journal.0000000000000064 */
static void
make_snapshot_dir (const char *dir, GPtrArray *expected)
{
  DaStore *store = test_open_started (dir, NULL, NULL);

  append_acked (store, expected, 0, 100, 30);
  snapshot_sync (store, expected);
  append_acked (store, expected, 100, 10, 30);
  da_store_free (store);
  ck_assert (test_file_exists (dir, "journal.0000000000000064"));
  ck_assert (!test_file_exists (dir, SEGMENT0));
}

typedef enum {
  DAMAGE_RECORD,
  DAMAGE_TRUNCATED,
  DAMAGE_HEADER,
  DAMAGE_TRAILER,
  DAMAGE_BOTH_ENDS,
} SnapshotDamage;

static void
check_damaged_snapshot (SnapshotDamage kind, const char *message, guint expect_snapshot_records, guint64 expect_lost)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  g_autoptr (GArray) offsets = NULL;
  g_autofree guint8 *data = NULL;
  g_auto (DaStoreRecovery) report = { 0 };
  DaStoreOptions lossy = { .accept_data_loss = TRUE };
  gsize len, cut;

  make_snapshot_dir (dir, expected);
  data = test_read_file (dir, "snapshot", &len);
  offsets = test_frame_offsets (data, len - DA_STORE_FILE_HEADER_SIZE, DA_STORE_FILE_HEADER_SIZE);
  ck_assert_uint_eq (offsets->len, 101);
  cut = len;
  switch (kind) {
  case DAMAGE_RECORD:
    data[g_array_index (offsets, gsize, 49) + 40] ^= 0x01;
    break;
  case DAMAGE_TRUNCATED:
    cut = g_array_index (offsets, gsize, 60) + 7;
    break;
  case DAMAGE_HEADER:
    data[20] ^= 0x80;
    break;
  case DAMAGE_TRAILER:
    data[len - 30] ^= 0x80;
    break;
  case DAMAGE_BOTH_ENDS:
    data[20] ^= 0x80;
    data[len - 30] ^= 0x80;
    break;
  }
  test_write_file (dir, "snapshot", data, cut);

  assert_refused (dir, DA_STORE_ERROR_CORRUPT, message);

  for (guint i = 0; i < 110; i++)
    if (i >= 100 || (kind == DAMAGE_RECORD ? i != 49 : i < expect_snapshot_records))
      g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));
  test_assert_recovers (dir, &lossy, want, &report);
  ck_assert_uint_eq (report.snapshot_records, expect_snapshot_records);
  ck_assert_uint_eq (report.snapshot_records_lost, expect_lost);
  ck_assert_uint_eq (report.journal_records, 10);
  ck_assert_uint_eq (report.snapshot_seq, 100);
  ck_assert_uint_ge (report.damage->len, 1);
  ck_assert_str_eq (g_array_index (report.damage, DaStoreDamage, 0).file, "snapshot");
  if (kind == DAMAGE_RECORD) {
    ck_assert_uint_eq (g_array_index (report.damage, DaStoreDamage, 0).seq_before, 49);
    ck_assert_uint_eq (g_array_index (report.damage, DaStoreDamage, 0).seq_after, 51);
    ck_assert_uint_eq (g_array_index (report.damage, DaStoreDamage, 0).records_lost, 1);
  }
  test_remove_dir (dir);
}

START_TEST (test_recovery_snapshot_record_damaged)
{
  check_damaged_snapshot (DAMAGE_RECORD, "fail their checksum", 99, 1);
}
END_TEST

START_TEST (test_recovery_snapshot_truncated)
{
  check_damaged_snapshot (DAMAGE_TRUNCATED, "trailer is missing", 60, 40);
}
END_TEST

START_TEST (test_recovery_snapshot_header_damaged)
{
  check_damaged_snapshot (DAMAGE_HEADER, "header is damaged", 100, 0);
}
END_TEST

START_TEST (test_recovery_snapshot_trailer_damaged)
{
  check_damaged_snapshot (DAMAGE_TRAILER, "trailer is missing or damaged", 100, 0);
}
END_TEST

START_TEST (test_recovery_snapshot_both_ends_damaged)
{
  /* the covered sequence is then taken from the oldest segment (100) */
  check_damaged_snapshot (DAMAGE_BOTH_ENDS, "both its header and its trailer", 100, 0);
}
END_TEST

START_TEST (test_recovery_snapshot_missing)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *path = NULL;
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) want = payload_array ();
  DaStoreOptions lossy = { .accept_data_loss = TRUE };

  make_snapshot_dir (dir, expected);
  path = g_build_filename (dir, "snapshot", NULL);
  ck_assert (unlink (path) == 0);
  assert_refused (dir, DA_STORE_ERROR_CORRUPT, "there is no snapshot");
  for (guint i = 100; i < 110; i++)
    g_ptr_array_add (want, g_bytes_ref (expected->pdata[i]));
  test_assert_recovers (dir, &lossy, want, NULL);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_snapshot_segment_missing)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *path = NULL;
  g_autoptr (GPtrArray) expected = payload_array ();
  g_auto (DaStoreRecovery) report = { 0 };
  DaStoreOptions lossy = { .accept_data_loss = TRUE };

  /* the segment after the snapshot holds the last acknowledged records:
   * without it, starting from the snapshot alone would lose them unsaid */
  make_snapshot_dir (dir, expected);
  path = g_build_filename (dir, "journal.0000000000000064", NULL);
  ck_assert (unlink (path) == 0);
  assert_refused (dir, DA_STORE_ERROR_CORRUPT, "journal.0000000000000064 is missing");
  g_ptr_array_set_size (expected, 100);
  test_assert_recovers (dir, &lossy, expected, &report);
  ck_assert_uint_eq (report.damage->len, 1);
  ck_assert_str_eq (g_array_index (report.damage, DaStoreDamage, 0).file, "journal.0000000000000064");
  ck_assert_uint_eq (g_array_index (report.damage, DaStoreDamage, 0).seq_before, 100);
  /* recovery made the segment again: the next start is a normal one */
  ck_assert (g_file_test (path, G_FILE_TEST_EXISTS));
  test_assert_recovers (dir, NULL, expected, NULL);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_recovery_snapshot_below_journal)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *from = NULL, *to = NULL;
  g_autoptr (GPtrArray) expected = payload_array ();

  /* a journal that starts above the snapshot: records in between are gone,
   * and the snapshot is refused before any of it is handed over */
  make_snapshot_dir (dir, expected);
  from = g_build_filename (dir, "journal.0000000000000064", NULL);
  to = g_build_filename (dir, "journal.00000000000000c8", NULL);
  ck_assert (rename (from, to) == 0);
  assert_refused (dir, DA_STORE_ERROR_CORRUPT, "the snapshot ends below it");
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* crashes and failures at every step of a snapshot */

static const DaStoreFaultPoint snapshot_steps[] = {
  DA_STORE_FAULT_SEGMENT_CREATE,  DA_STORE_FAULT_SEGMENT_SYNC,       DA_STORE_FAULT_SNAPSHOT_WRITE,
  DA_STORE_FAULT_SNAPSHOT_SYNC,   DA_STORE_FAULT_SNAPSHOT_RENAME,    DA_STORE_FAULT_SNAPSHOT_DIR_SYNC,
  DA_STORE_FAULT_SEGMENT_DELETE,  DA_STORE_FAULT_SEGMENT_DELETE_SYNC,
};

static void
check_snapshot_step (DaStoreFaultPoint point, int action)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) packed = NULL;
  g_autoptr (GPtrArray) segments = NULL;
  g_auto (DaStoreRecovery) report = { 0 };
  const char *step = da_store_fault_point_to_string (point);
  gboolean durable_before_step = point >= DA_STORE_FAULT_SEGMENT_DELETE;
  TestFault fault;
  DaStore *store;

  /* an older snapshot and segment exist, so every step has something to do */
  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 10, 25);
  snapshot_sync (store, expected);
  append_acked (store, expected, 10, 10, 25);

  test_fault_init (&fault, point, action, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  packed = pack_state (expected);
  da_store_snapshot (store, packed, test_done_cb, c);
  for (guint i = 20; i < 23; i++) {
    g_autoptr (GBytes) payload = test_payload (i, 25);

    da_store_append (store, payload, test_done_cb, c);
    if (action != DA_STORE_FAULT_CRASH)
      g_ptr_array_add (expected, g_bytes_ref (payload));
  }
  if (action == DA_STORE_FAULT_CRASH) {
    test_fault_wait_hit (&fault);
    da_store_free (store);
    /* nothing after the crash point was acknowledged */
    ck_assert_msg (c->n_done == 0, "%s: %u completions after a crash", step, c->n_done);
  } else {
    test_wait_done (c, 4);
    if (durable_before_step)
      ck_assert_msg (c->errors->pdata[0] == NULL, "%s", step);
    else
      ck_assert_msg (c->errors->pdata[0] != NULL &&
                         strstr (((GError *) c->errors->pdata[0])->message, g_strerror (action)) != NULL,
                     "%s: the snapshot did not fail", step);
    /* a failed snapshot does not fail the journal */
    for (guint i = 1; i < 4; i++)
      ck_assert_msg (c->errors->pdata[i] == NULL, "%s: append failed after a failed snapshot", step);
    ck_assert (!da_store_is_failed (store));
    da_store_free (store);
  }
  ck_assert_uint_eq (g_atomic_int_get (&fault.hits), 1);
  test_fault_clear (&fault);

  test_assert_recovers (dir, NULL, expected, &report);
  ck_assert_msg (report.damage->len == 0, "%s: damage after a crash", step);
  if (action == DA_STORE_FAULT_CRASH)
    ck_assert_uint_eq (report.removed_snapshot_tmp,
                       point == DA_STORE_FAULT_SNAPSHOT_WRITE || point == DA_STORE_FAULT_SNAPSHOT_SYNC ||
                           point == DA_STORE_FAULT_SNAPSHOT_RENAME);
  ck_assert (!test_file_exists (dir, "snapshot.tmp"));

  /* the store is healthy afterwards: a snapshot succeeds and compacts */
  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 30, 2, 25);
  snapshot_sync (store, expected);
  append_acked (store, expected, 40, 1, 25);
  da_store_free (store);
  segments = test_list_segments (dir);
  ck_assert_uint_eq (segments->len, 1);
  test_assert_recovers (dir, NULL, expected, NULL);
  test_remove_dir (dir);
}

START_TEST (test_recovery_snapshot_crash_points)
{
  for (guint i = 0; i < G_N_ELEMENTS (snapshot_steps); i++)
    check_snapshot_step (snapshot_steps[i], DA_STORE_FAULT_CRASH);
}
END_TEST

START_TEST (test_recovery_snapshot_failure_points)
{
  for (guint i = 0; i < G_N_ELEMENTS (snapshot_steps); i++)
    check_snapshot_step (snapshot_steps[i], EIO);
}
END_TEST

START_TEST (test_recovery_journal_write_crash)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_auto (DaStoreRecovery) report = { 0 };
  TestFault fault;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  append_acked (store, expected, 0, 5, 40);
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_WRITE, DA_STORE_FAULT_CRASH, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  for (guint i = 5; i < 8; i++) {
    g_autoptr (GBytes) payload = test_payload (i, 40);

    da_store_append (store, payload, test_done_cb, c);
  }
  test_fault_wait_hit (&fault);
  da_store_free (store);
  ck_assert_uint_eq (c->n_done, 0);
  test_assert_recovers (dir, NULL, expected, &report);
  ck_assert_uint_gt (report.tail_bytes_cut, 0);
  test_fault_clear (&fault);
  test_remove_dir (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("store-recovery");
  TCase *torn = tcase_create ("torn");
  TCase *damage = tcase_create ("damage");
  TCase *snapshot = tcase_create ("snapshot");
  TCase *crash = tcase_create ("crash");

  tcase_add_test (torn, test_recovery_torn_tail_every_offset);
  tcase_add_test (torn, test_recovery_torn_group);
  tcase_add_test (torn, test_recovery_failed_group_not_replayed);
  suite_add_tcase (s, torn);

  tcase_add_test (damage, test_recovery_bit_flips);
  tcase_add_test (damage, test_recovery_damaged_stretch);
  tcase_add_test (damage, test_recovery_damage_in_older_segment);
  tcase_add_test (damage, test_recovery_missing_segment);
  tcase_add_test (damage, test_recovery_unsupported_version);
  tcase_add_test (damage, test_recovery_record_func_aborts);
  tcase_add_test (damage, test_recovery_removes_snapshot_tmp);
  suite_add_tcase (s, damage);

  tcase_add_test (snapshot, test_recovery_snapshot_record_damaged);
  tcase_add_test (snapshot, test_recovery_snapshot_truncated);
  tcase_add_test (snapshot, test_recovery_snapshot_header_damaged);
  tcase_add_test (snapshot, test_recovery_snapshot_trailer_damaged);
  tcase_add_test (snapshot, test_recovery_snapshot_both_ends_damaged);
  tcase_add_test (snapshot, test_recovery_snapshot_missing);
  tcase_add_test (snapshot, test_recovery_snapshot_segment_missing);
  tcase_add_test (snapshot, test_recovery_snapshot_below_journal);
  suite_add_tcase (s, snapshot);

  tcase_add_test (crash, test_recovery_snapshot_crash_points);
  tcase_add_test (crash, test_recovery_snapshot_failure_points);
  tcase_add_test (crash, test_recovery_journal_write_crash);
  suite_add_tcase (s, crash);

  return da_test_run_suite (s);
}
