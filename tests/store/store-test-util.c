/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store-test-util.h"

TestRecord *
test_record_new (guint64 seq, GBytes *data)
{
  TestRecord *record = g_new0 (TestRecord, 1);

  record->seq = seq;
  record->data = g_bytes_ref (data);
  return record;
}

void
test_record_free (TestRecord *record)
{
  g_bytes_unref (record->data);
  g_free (record);
}

char *
test_make_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("da-store-XXXXXX", &error);

  ck_assert_msg (dir != NULL, "%s", error ? error->message : "");
  return dir;
}

void
test_remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
      test_remove_dir (path);
    else
      g_unlink (path);
  }
  g_rmdir (dir);
}

void
test_copy_dir (const char *from, const char *to)
{
  g_autoptr (GDir) d = g_dir_open (from, 0, NULL);
  const char *name;

  ck_assert (d != NULL);
  g_mkdir_with_parents (to, 0700);
  while ((name = g_dir_read_name (d)) != NULL) {
    gsize len;
    g_autofree guint8 *data = test_read_file (from, name, &len);

    test_write_file (to, name, data, len);
  }
}

guint8 *
test_read_file (const char *dir, const char *name, gsize *len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  ck_assert_msg (g_file_get_contents (path, &data, len, &error), "%s", error ? error->message : "");
  return (guint8 *) data;
}

void
test_write_file (const char *dir, const char *name, const guint8 *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_unlink (path);
  ck_assert_msg (g_file_set_contents_full (path, (const char *) data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0600,
                                           &error),
                 "%s", error ? error->message : "");
}

gsize
test_file_size (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  ck_assert_msg (g_stat (path, &st) == 0, "%s: %s", path, g_strerror (errno));
  return (gsize) st.st_size;
}

gboolean
test_file_exists (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

guint
test_file_mode (const char *dir, const char *name)
{
  g_autofree char *path = name != NULL ? g_build_filename (dir, name, NULL) : g_strdup (dir);
  GStatBuf st;

  ck_assert_msg (g_stat (path, &st) == 0, "%s: %s", path, g_strerror (errno));
  return st.st_mode & 07777;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
test_list_segments (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  ck_assert (d != NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "journal."))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

GBytes *
test_payload (guint64 i, gsize len)
{
  guint8 *data = g_malloc (len + 1);

  /* the first bytes name the record, the rest is a pattern derived from it */
  for (gsize k = 0; k < len; k++)
    data[k] = (guint8) ((i * 131 + k * 7) ^ (i >> 8));
  if (len >= 8) {
    guint64 le = GUINT64_TO_LE (i);

    memcpy (data, &le, 8);
  }
  return g_bytes_new_take (data, len);
}

static gboolean
collect_record (guint64 seq, const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  GPtrArray *records = user_data;
  g_autoptr (GBytes) bytes = g_bytes_new (data, len);

  g_ptr_array_add (records, test_record_new (seq, bytes));
  return TRUE;
}

gboolean
test_try_recover (const char *dir, const DaStoreOptions *options, GPtrArray **records, DaStoreRecovery *report,
                  GError **error)
{
  g_autoptr (DaStore) store = da_store_open (dir, options, error);
  GPtrArray *collected = g_ptr_array_new_with_free_func ((GDestroyNotify) test_record_free);
  gboolean ok;

  if (store == NULL) {
    *records = collected;
    return FALSE;
  }
  ok = da_store_recover (store, collect_record, collected, report, error);
  *records = collected;
  return ok;
}

DaStore *
test_open_recover (const char *dir, const DaStoreOptions *options, GPtrArray **records, DaStoreRecovery *report)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaStore) store = da_store_open (dir, options, &error);
  GPtrArray *collected = g_ptr_array_new_with_free_func ((GDestroyNotify) test_record_free);

  ck_assert_msg (store != NULL, "open %s: %s", dir, error ? error->message : "");
  ck_assert_msg (da_store_recover (store, collect_record, collected, report, &error), "recover %s: %s", dir,
                 error ? error->message : "");
  if (records != NULL)
    *records = collected;
  else
    g_ptr_array_unref (collected);
  return g_steal_pointer (&store);
}

DaStore *
test_open_started (const char *dir, const DaStoreOptions *options, GPtrArray **records)
{
  g_autoptr (GError) error = NULL;
  DaStore *store = test_open_recover (dir, options, records, NULL);

  ck_assert_msg (da_store_start (store, NULL, &error), "%s", error ? error->message : "");
  return store;
}

static void
error_free0 (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

TestCompletions *
test_completions_new (void)
{
  TestCompletions *c = g_new0 (TestCompletions, 1);

  c->seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  c->errors = g_ptr_array_new_with_free_func (error_free0);
  return c;
}

void
test_completions_free (TestCompletions *c)
{
  g_array_unref (c->seqs);
  g_ptr_array_unref (c->errors);
  g_free (c);
}

void
test_done_cb (guint64 seq, const GError *error, gpointer user_data)
{
  TestCompletions *c = user_data;

  g_array_append_val (c->seqs, seq);
  g_ptr_array_add (c->errors, error != NULL ? g_error_copy (error) : NULL);
  c->n_done++;
  if (error != NULL)
    c->n_failed++;
}

void
test_wait_done (TestCompletions *c, guint n)
{
  while (c->n_done < n)
    g_main_context_iteration (NULL, TRUE);
}

guint64
test_append_sync (DaStore *store, GBytes *payload)
{
  g_autoptr (TestCompletions) c = test_completions_new ();
  guint64 seq = da_store_append (store, payload, test_done_cb, c);

  test_wait_done (c, 1);
  ck_assert_msg (c->errors->pdata[0] == NULL, "append %" G_GUINT64_FORMAT ": %s", seq,
                 ((GError *) c->errors->pdata[0])->message);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 0), seq);
  return seq;
}

void
test_fault_init (TestFault *fault, gint point, int action, gint skip, gint times, gboolean block)
{
  memset (fault, 0, sizeof *fault);
  g_mutex_init (&fault->mutex);
  g_cond_init (&fault->cond);
  fault->point = point;
  fault->action = action;
  fault->skip = skip;
  fault->times = times;
  fault->block = block;
}

void
test_fault_clear (TestFault *fault)
{
  g_mutex_clear (&fault->mutex);
  g_cond_clear (&fault->cond);
}

int
test_fault_func (DaStoreFaultPoint point, gpointer user_data)
{
  TestFault *fault = user_data;
  int action = 0;

  g_mutex_lock (&fault->mutex);
  if ((gint) point == fault->point) {
    if (fault->skip > 0) {
      fault->skip--;
    } else if (fault->times != 0) {
      if (fault->times > 0)
        fault->times--;
      if (fault->block) {
        fault->blocked = TRUE;
        g_main_context_wakeup (NULL);
        while (!fault->released)
          g_cond_wait (&fault->cond, &fault->mutex);
        fault->blocked = FALSE;
        fault->block = FALSE;
      }
      action = fault->action;
      g_atomic_int_inc (&fault->hits);
      g_main_context_wakeup (NULL);
    }
  }
  g_mutex_unlock (&fault->mutex);
  return action;
}

void
test_fault_wait_hit (TestFault *fault)
{
  for (;;) {
    gboolean hit;

    g_mutex_lock (&fault->mutex);
    hit = fault->blocked || g_atomic_int_get (&fault->hits) > 0;
    g_mutex_unlock (&fault->mutex);
    if (hit)
      return;
    g_main_context_iteration (NULL, TRUE);
  }
}

void
test_fault_release (TestFault *fault)
{
  g_mutex_lock (&fault->mutex);
  fault->released = TRUE;
  g_cond_broadcast (&fault->cond);
  g_mutex_unlock (&fault->mutex);
}

GArray *
test_frame_offsets (const guint8 *data, gsize len, gsize start)
{
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize pos = start;
  DaStoreFrame frame;

  while (pos < len && da_store_frame_parse (data + pos, len - pos, &frame)) {
    g_array_append_val (offsets, pos);
    pos += DA_STORE_FRAME_HEADER_SIZE + frame.len;
  }
  /* the end of the last frame, so that frame i spans [o[i], o[i+1]) */
  g_array_append_val (offsets, pos);
  return offsets;
}

void
test_assert_payloads (GPtrArray *records, GPtrArray *expected)
{
  ck_assert_msg (records->len == expected->len, "recovered %u records, expected %u", records->len, expected->len);
  for (guint i = 0; i < records->len; i++) {
    TestRecord *record = records->pdata[i];

    ck_assert_msg (g_bytes_equal (record->data, expected->pdata[i]), "record %u (seq %" G_GUINT64_FORMAT ") differs",
                   i, record->seq);
  }
}

void
test_assert_recovers (const char *dir, const DaStoreOptions *options, GPtrArray *expected, DaStoreRecovery *report)
{
  g_autoptr (GPtrArray) records = NULL;
  DaStore *store = test_open_recover (dir, options, &records, report);

  test_assert_payloads (records, expected);
  da_store_free (store);
}

void
test_assert_recovers_clean (const char *dir, const DaStoreOptions *options, GPtrArray *expected)
{
  g_auto (DaStoreRecovery) report = { 0 };

  test_assert_recovers (dir, options, expected, &report);
  ck_assert_uint_eq (report.tail_bytes_cut, 0);
  ck_assert_uint_eq (report.damage->len, 0);
}
