/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store-test-util.h"
#include "tests/common/da-test-suite.h"

static GPtrArray *
payload_array (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
assert_store_error (const GError *error, gint code, const char *fragment)
{
  ck_assert_msg (error != NULL, "expected an error");
  ck_assert_msg (g_error_matches (error, DA_STORE_ERROR, code), "unexpected error %d: %s", error->code,
                 error->message);
  if (fragment != NULL)
    ck_assert_msg (strstr (error->message, fragment) != NULL, "\"%s\" not in: %s", fragment, error->message);
}

/* ------------------------------------------------------------------ */
/* files, modes and the lock */

START_TEST (test_store_file_modes)
{
  g_autofree char *top = test_make_dir ();
  g_autofree char *dir = g_build_filename (top, "state", "devaddr", NULL);
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (0);
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) one = test_payload (1, 40);
  g_autoptr (GBytes) packed = NULL;
  g_autoptr (GDir) d = NULL;
  const char *name;
  mode_t old_umask;
  DaStore *store;
  guint n_files = 0;

  /* a umask that would leave 0400 files and a 0500 directory if the
   * store relied on it */
  old_umask = umask (0277);
  store = test_open_started (dir, NULL, NULL);
  test_append_sync (store, one);
  da_snapshot_builder_add (builder, "state", 5);
  packed = da_snapshot_builder_steal (builder);
  da_store_snapshot (store, packed, test_done_cb, c);
  test_wait_done (c, 1);
  ck_assert (c->errors->pdata[0] == NULL);
  test_append_sync (store, one);
  da_store_free (store);
  umask (old_umask);

  ck_assert_uint_eq (test_file_mode (dir, NULL), 0700);
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL) {
    ck_assert_msg (test_file_mode (dir, name) == 0600, "%s has mode %o", name, test_file_mode (dir, name));
    n_files++;
  }
  /* lock, snapshot, journal.0000000000000001 */
  ck_assert_uint_eq (n_files, 3);
  ck_assert (test_file_exists (dir, "snapshot"));
  ck_assert (test_file_exists (dir, "journal.0000000000000001"));
  test_remove_dir (top);
}
END_TEST

START_TEST (test_store_lock_same_process)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *pid = g_strdup_printf ("pid %ld", (long) getpid ());
  g_autoptr (GError) error = NULL;
  DaStore *first, *second;

  first = da_store_open (dir, NULL, &error);
  ck_assert (first != NULL);
  second = da_store_open (dir, NULL, &error);
  ck_assert (second == NULL);
  assert_store_error (error, DA_STORE_ERROR_LOCKED, dir);
  ck_assert_msg (strstr (error->message, pid) != NULL, "holder not named: %s", error->message);
  g_clear_error (&error);

  /* closing releases the lock (freeing is not needed) */
  da_store_close (first);
  second = da_store_open (dir, NULL, &error);
  ck_assert_msg (second != NULL, "%s", error ? error->message : "");
  da_store_free (second);
  da_store_free (first);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_lock_other_process)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GError) error = NULL;
  g_autofree char *child_pid = NULL;
  int to_child[2], from_child[2];
  DaStore *store;
  char byte;
  pid_t pid;
  int status;

  /* a child opens while we hold the lock */
  store = da_store_open (dir, NULL, &error);
  ck_assert (store != NULL);
  pid = fork ();
  ck_assert (pid >= 0);
  if (pid == 0) {
    GError *child_error = NULL;
    DaStore *child_store = da_store_open (dir, NULL, &child_error);
    char *parent = g_strdup_printf ("pid %ld", (long) getppid ());

    _exit (child_store == NULL && g_error_matches (child_error, DA_STORE_ERROR, DA_STORE_ERROR_LOCKED) &&
                   strstr (child_error->message, parent) != NULL
               ? 0
               : 1);
  }
  ck_assert (waitpid (pid, &status, 0) == pid);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "the child could open a locked directory");
  da_store_free (store);

  /* we open while a child holds it; its death releases it */
  ck_assert (pipe (to_child) == 0 && pipe (from_child) == 0);
  pid = fork ();
  ck_assert (pid >= 0);
  if (pid == 0) {
    DaStore *child_store = da_store_open (dir, NULL, NULL);

    close (to_child[1]);
    if (write (from_child[1], child_store != NULL ? "y" : "n", 1) != 1)
      _exit (2);
    /* hold the lock until the parent closes the pipe */
    if (read (to_child[0], &byte, 1) < 0)
      _exit (2);
    _exit (0);
  }
  close (to_child[0]);
  close (from_child[1]);
  ck_assert (read (from_child[0], &byte, 1) == 1 && byte == 'y');
  ck_assert (da_store_open (dir, NULL, &error) == NULL);
  child_pid = g_strdup_printf ("pid %ld", (long) pid);
  assert_store_error (error, DA_STORE_ERROR_LOCKED, child_pid);
  g_clear_error (&error);
  close (to_child[1]);
  ck_assert (waitpid (pid, &status, 0) == pid);
  store = da_store_open (dir, NULL, &error);
  ck_assert_msg (store != NULL, "%s", error ? error->message : "");
  da_store_free (store);
  close (from_child[0]);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_not_a_directory)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *file = g_build_filename (dir, "plain", NULL);
  g_autoptr (GError) error = NULL;

  ck_assert (g_file_set_contents (file, "x", 1, NULL));
  ck_assert (da_store_open (file, NULL, &error) == NULL);
  assert_store_error (error, DA_STORE_ERROR_IO, file);
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* appends, completions, group commit */

START_TEST (test_store_append_order)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  DaStoreCounters counters;
  DaStore *store;
  const guint n = 2000;

  store = test_open_started (dir, NULL, NULL);
  for (guint i = 0; i < n; i++) {
    GBytes *payload = test_payload (i, g_rand_int_range (rand, 0, 300));

    ck_assert_uint_eq (da_store_append (store, payload, test_done_cb, c), i + 1);
    g_ptr_array_add (expected, payload);
    /* now and then let completions in, so groups of every size occur */
    if (i % 97 == 0)
      g_main_context_iteration (NULL, FALSE);
  }
  test_wait_done (c, n);
  for (guint i = 0; i < n; i++) {
    ck_assert_uint_eq (g_array_index (c->seqs, guint64, i), i + 1);
    ck_assert (c->errors->pdata[i] == NULL);
  }
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.appends, n);
  ck_assert_uint_eq (counters.records_written, n);
  ck_assert_uint_eq (counters.records_failed, 0);
  ck_assert_uint_eq (counters.last_durable_seq, n);
  ck_assert_uint_le (counters.groups, n);
  ck_assert_uint_ge (counters.largest_group, 1);
  ck_assert_uint_eq (counters.journal_bytes, test_file_size (dir, "journal.0000000000000000"));
  ck_assert_uint_eq (counters.journal_bytes, DA_STORE_FILE_HEADER_SIZE + counters.bytes_written);
  ck_assert (!counters.failed);
  da_store_free (store);

  store = test_open_recover (dir, NULL, &records, NULL);
  test_assert_payloads (records, expected);
  for (guint i = 0; i < n; i++)
    ck_assert_uint_eq (((TestRecord *) records->pdata[i])->seq, i + 1);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_group_commit)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) payload = test_payload (7, 60);
  DaStoreCounters counters;
  TestFault fault;
  DaStore *store;

  /* hold the first group in its fdatasync while 99 more arrive: they must
   * all go out as the second group, with one more sync */
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_SYNC, 0, 0, 1, TRUE);
  store = test_open_started (dir, NULL, NULL);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, payload, test_done_cb, c);
  test_fault_wait_hit (&fault);
  for (guint i = 1; i < 100; i++)
    da_store_append (store, payload, test_done_cb, c);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.queued, 99);
  test_fault_release (&fault);
  test_wait_done (c, 100);
  for (guint i = 0; i < 100; i++) {
    ck_assert_uint_eq (g_array_index (c->seqs, guint64, i), i + 1);
    ck_assert (c->errors->pdata[i] == NULL);
  }
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.groups, 2);
  ck_assert_uint_eq (counters.largest_group, 99);
  ck_assert_uint_eq (counters.records_written, 100);
  da_store_free (store);
  test_fault_clear (&fault);
  test_remove_dir (dir);
}
END_TEST

/* a group of two makes the writer wait for two before the next sync; a
 * lone writer never waits, however long the delay */
START_TEST (test_store_group_delay)
{
  g_autofree char *dir = test_make_dir ();
  g_autofree char *dir2 = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (TestCompletions) lone = test_completions_new ();
  g_autoptr (GBytes) payload = test_payload (5, 60);
  DaStoreOptions options = { .group_delay_us = 60 * G_USEC_PER_SEC };
  DaStoreCounters counters;
  TestFault fault;
  DaStore *store;
  gint64 started;

  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_SYNC, 0, 0, 1, TRUE);
  store = test_open_started (dir, &options, NULL);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, payload, test_done_cb, c);
  test_fault_wait_hit (&fault);
  da_store_append (store, payload, test_done_cb, c);
  da_store_append (store, payload, test_done_cb, c);
  test_fault_release (&fault);
  test_wait_done (c, 3);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.groups, 2);
  ck_assert_uint_eq (counters.largest_group, 2);
  /* one append now waits for a second: they share one sync (without the
   * wait the first would usually go alone) */
  for (guint round = 0; round < 20; round++) {
    da_store_append (store, payload, test_done_cb, c);
    da_store_append (store, payload, test_done_cb, c);
    test_wait_done (c, 3 + 2 * (round + 1));
  }
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.groups, 2 + 20);
  da_store_free (store);
  test_fault_clear (&fault);

  /* one record at a time: groups of one, so no waiting at all */
  store = test_open_started (dir2, &options, NULL);
  started = g_get_monotonic_time ();
  for (guint i = 0; i < 10; i++) {
    da_store_append (store, payload, test_done_cb, lone);
    test_wait_done (lone, i + 1);
  }
  ck_assert_int_lt (g_get_monotonic_time () - started, 30 * G_USEC_PER_SEC);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.groups, 10);
  da_store_free (store);
  test_remove_dir (dir);
  test_remove_dir (dir2);
}
END_TEST

static void
append_in_flight (DaStore *store, guint total, guint window, TestCompletions *c)
{
  g_autoptr (GBytes) payload = test_payload (3, 60);
  guint sent = 0;

  while (c->n_done < total) {
    while (sent < total && sent - c->n_done < window) {
      da_store_append (store, payload, test_done_cb, c);
      sent++;
    }
    g_main_context_iteration (NULL, TRUE);
  }
}

START_TEST (test_store_group_commit_in_flight)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  DaStoreCounters counters;
  DaStore *store;

  /* 64 appends kept in flight: while one group syncs the next fills up */
  store = test_open_started (dir, NULL, NULL);
  append_in_flight (store, 2000, 64, c);
  ck_assert_uint_eq (c->n_failed, 0);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.records_written, 2000);
  ck_assert_msg (counters.groups < 2000, "%" G_GUINT64_FORMAT " syncs for 2000 records", counters.groups);
  ck_assert_uint_gt (counters.largest_group, 1);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

static void
close_in_callback (guint64 seq, const GError *error, gpointer user_data)
{
  g_autoptr (GBytes) payload = test_payload (seq, 8);
  gpointer *args = user_data;
  DaStore *store = args[0];
  TestCompletions *c = args[1];

  test_done_cb (seq, error, c);
  /* appending from a callback during close fails cleanly, in order */
  if (seq == 10)
    da_store_append (store, payload, test_done_cb, c);
}

START_TEST (test_store_close_drains)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;
  gpointer args[2];
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  args[0] = store;
  args[1] = c;
  /* queued and never waited for: close must write them all and call back */
  for (guint i = 0; i < 500; i++) {
    GBytes *payload = test_payload (i, 50);

    da_store_append (store, payload, close_in_callback, args);
    g_ptr_array_add (expected, payload);
  }
  da_store_close (store);
  ck_assert_uint_eq (c->n_done, 501);
  for (guint i = 0; i < 500; i++) {
    ck_assert_uint_eq (g_array_index (c->seqs, guint64, i), i + 1);
    ck_assert (c->errors->pdata[i] == NULL);
  }
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 500), 501);
  assert_store_error (c->errors->pdata[500], DA_STORE_ERROR_CLOSED, NULL);

  /* after close, appends fail at once */
  da_store_append (store, expected->pdata[0], test_done_cb, c);
  ck_assert_uint_eq (c->n_done, 502);
  assert_store_error (c->errors->pdata[501], DA_STORE_ERROR_CLOSED, NULL);
  da_store_free (store);

  store = test_open_recover (dir, NULL, &records, NULL);
  test_assert_payloads (records, expected);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_close_before_start)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) payload = test_payload (1, 10);
  DaStore *store = test_open_recover (dir, NULL, NULL, NULL);

  da_store_append (store, payload, test_done_cb, c);
  da_store_free (store);
  ck_assert_uint_eq (c->n_done, 1);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_CLOSED, NULL);
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* failure and clear_failure */

static void
check_failure_then_recovery (int fault_point, int err, const char *strerr)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GBytes) a = test_payload (1, 100);
  g_autoptr (GBytes) b = test_payload (2, 100);
  g_autoptr (GBytes) cc = test_payload (3, 100);
  g_autoptr (GBytes) d = test_payload (4, 100);
  g_autoptr (GBytes) e = test_payload (5, 100);
  DaStoreCounters counters;
  guint64 seq_a, seq_e;
  gsize durable;
  TestFault fault;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  seq_a = test_append_sync (store, a);
  durable = test_file_size (dir, "journal.0000000000000000");

  test_fault_init (&fault, fault_point, err, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, b, test_done_cb, c);
  da_store_append (store, cc, test_done_cb, c);
  test_wait_done (c, 2);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_UNAVAILABLE, strerr);
  assert_store_error (c->errors->pdata[1], DA_STORE_ERROR_UNAVAILABLE, strerr);
  ck_assert (da_store_is_failed (store));
  /* nothing of the failed group is left on disk */
  ck_assert_uint_eq (test_file_size (dir, "journal.0000000000000000"), durable);

  /* still failed: this one is not even tried */
  da_store_append (store, d, test_done_cb, c);
  test_wait_done (c, 3);
  assert_store_error (c->errors->pdata[2], DA_STORE_ERROR_UNAVAILABLE, "failed earlier");
  ck_assert_uint_eq (test_file_size (dir, "journal.0000000000000000"), durable);
  da_store_get_counters (store, &counters);
  ck_assert (counters.failed);
  ck_assert_uint_eq (counters.failures, 1);
  ck_assert_uint_eq (counters.records_failed, 3);

  da_store_clear_failure (store);
  ck_assert (!da_store_is_failed (store));
  seq_e = test_append_sync (store, e);
  ck_assert_uint_eq (seq_e, 5);
  da_store_free (store);
  test_fault_clear (&fault);

  store = test_open_recover (dir, NULL, &records, NULL);
  ck_assert_uint_eq (records->len, 2);
  ck_assert_uint_eq (((TestRecord *) records->pdata[0])->seq, seq_a);
  ck_assert (g_bytes_equal (((TestRecord *) records->pdata[0])->data, a));
  ck_assert_uint_eq (((TestRecord *) records->pdata[1])->seq, seq_e);
  ck_assert (g_bytes_equal (((TestRecord *) records->pdata[1])->data, e));
  da_store_free (store);
  test_remove_dir (dir);
}

START_TEST (test_store_write_failure)
{
  check_failure_then_recovery (DA_STORE_FAULT_JOURNAL_WRITE, ENOSPC, g_strerror (ENOSPC));
}
END_TEST

START_TEST (test_store_sync_failure)
{
  check_failure_then_recovery (DA_STORE_FAULT_JOURNAL_SYNC, EIO, g_strerror (EIO));
}
END_TEST

START_TEST (test_store_other_errnos)
{
  check_failure_then_recovery (DA_STORE_FAULT_JOURNAL_WRITE, EROFS, g_strerror (EROFS));
  check_failure_then_recovery (DA_STORE_FAULT_JOURNAL_WRITE, EDQUOT, g_strerror (EDQUOT));
}
END_TEST

/* a hook that fails one journal write or sync and then the truncate that
 * should cut the failed group off, so the group stays on disk for a while */
typedef struct {
  DaStoreFaultPoint point;
  int err;
  gint faults;
  gint truncate_faults;
} TruncateFault;

static int
truncate_fault (DaStoreFaultPoint point, gpointer user_data)
{
  TruncateFault *f = user_data;

  if (point == f->point && g_atomic_int_add (&f->faults, -1) > 0)
    return f->err;
  if (point == DA_STORE_FAULT_JOURNAL_TRUNCATE && g_atomic_int_add (&f->truncate_faults, -1) > 0)
    return EIO;
  return 0;
}

static void
check_truncate_retried (DaStoreFaultPoint point, int err, const char *what)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GBytes) a = test_payload (1, 100);
  g_autoptr (GBytes) b = test_payload (2, 100);
  g_autoptr (GBytes) e = test_payload (5, 100);
  TruncateFault f = { point, err, 1, 1 };
  gsize durable;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  test_append_sync (store, a);
  durable = test_file_size (dir, "journal.0000000000000000");
  da_store_set_fault_hook (store, truncate_fault, &f);
  da_store_append (store, b, test_done_cb, c);
  test_wait_done (c, 1);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_UNAVAILABLE, what);
  /* the truncate failed: (part of) the failed group is still there */
  ck_assert_uint_gt (test_file_size (dir, "journal.0000000000000000"), durable);

  /* the next group cuts it off before writing */
  da_store_clear_failure (store);
  test_append_sync (store, e);
  ck_assert_uint_eq (test_file_size (dir, "journal.0000000000000000"),
                     durable + DA_STORE_FRAME_HEADER_SIZE + g_bytes_get_size (e));
  da_store_free (store);

  store = test_open_recover (dir, NULL, &records, NULL);
  ck_assert_uint_eq (records->len, 2);
  ck_assert (g_bytes_equal (((TestRecord *) records->pdata[0])->data, a));
  ck_assert (g_bytes_equal (((TestRecord *) records->pdata[1])->data, e));
  da_store_free (store);
  test_remove_dir (dir);
}

START_TEST (test_store_truncate_retried)
{
  check_truncate_retried (DA_STORE_FAULT_JOURNAL_WRITE, ENOSPC, "cannot write journal");
  check_truncate_retried (DA_STORE_FAULT_JOURNAL_SYNC, EIO, "cannot fdatasync journal");
}
END_TEST

typedef struct {
  DaStore *store;
  TestCompletions *c;
  GBytes *after;
  guint64 after_seq;
} ClearInCallback;

static void
clear_in_callback (guint64 seq, const GError *error, gpointer user_data)
{
  ClearInCallback *ctx = user_data;

  test_done_cb (seq, error, ctx->c);
  /* the daemon learns of the failure on the first callback, rolls back and
   * clears at once; later callbacks of earlier records still fail */
  if (ctx->c->n_done == 1) {
    ck_assert (error != NULL);
    da_store_clear_failure (ctx->store);
    ctx->after_seq = da_store_append (ctx->store, ctx->after, test_done_cb, ctx->c);
  }
}

START_TEST (test_store_queued_before_clear_fail)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GBytes) a = test_payload (1, 100);
  g_autoptr (GBytes) b = test_payload (2, 100);
  g_autoptr (GBytes) e = test_payload (9, 100);
  ClearInCallback ctx = { NULL, c, e, 0 };
  TestFault fault;
  DaStore *store;
  guint64 seq_a;

  store = test_open_started (dir, NULL, NULL);
  ctx.store = store;
  seq_a = test_append_sync (store, a);
  /* b's write waits in the hook and then fails; c and d queue behind it */
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_WRITE, ENOSPC, 0, 1, TRUE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, b, clear_in_callback, &ctx);
  test_fault_wait_hit (&fault);
  da_store_append (store, b, clear_in_callback, &ctx);
  da_store_append (store, b, clear_in_callback, &ctx);
  test_fault_release (&fault);
  test_wait_done (c, 4);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 0), 2);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 1), 3);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 2), 4);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 3), 5);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_UNAVAILABLE, g_strerror (ENOSPC));
  assert_store_error (c->errors->pdata[1], DA_STORE_ERROR_UNAVAILABLE, "failed earlier");
  assert_store_error (c->errors->pdata[2], DA_STORE_ERROR_UNAVAILABLE, "failed earlier");
  ck_assert (c->errors->pdata[3] == NULL);
  ck_assert_uint_eq (ctx.after_seq, 5);
  ck_assert (!da_store_is_failed (store));
  da_store_free (store);
  test_fault_clear (&fault);

  store = test_open_recover (dir, NULL, &records, NULL);
  ck_assert_uint_eq (records->len, 2);
  ck_assert_uint_eq (((TestRecord *) records->pdata[0])->seq, seq_a);
  ck_assert_uint_eq (((TestRecord *) records->pdata[1])->seq, 5);
  ck_assert (g_bytes_equal (((TestRecord *) records->pdata[1])->data, e));
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* snapshots */

START_TEST (test_store_snapshot_compacts)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (0);
  g_autoptr (GBytes) packed = NULL;
  g_auto (DaStoreRecovery) report = { 0 };
  g_autoptr (GPtrArray) segments = NULL;
  DaStoreCounters counters;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  for (guint i = 0; i < 50; i++) {
    GBytes *payload = test_payload (i, 30 + i);

    da_store_append (store, payload, test_done_cb, c);
    g_ptr_array_add (expected, payload);
    da_snapshot_builder_add (builder, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  }
  ck_assert_uint_eq (da_snapshot_builder_get_n_records (builder), 50);
  packed = da_snapshot_builder_steal (builder);
  ck_assert_uint_eq (da_store_snapshot (store, packed, test_done_cb, c), 50);
  for (guint i = 50; i < 80; i++) {
    GBytes *payload = test_payload (i, 20);

    da_store_append (store, payload, test_done_cb, c);
    g_ptr_array_add (expected, payload);
  }
  test_wait_done (c, 81);
  ck_assert_uint_eq (c->n_failed, 0);
  /* the snapshot's callback comes after its records and before later ones */
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 49), 50);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 50), 50);
  ck_assert_uint_eq (g_array_index (c->seqs, guint64, 51), 51);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (counters.snapshots, 1);
  ck_assert_uint_eq (counters.journal_segments, 1);
  da_store_free (store);

  segments = test_list_segments (dir);
  ck_assert_uint_eq (segments->len, 1);
  ck_assert_str_eq (segments->pdata[0], "journal.0000000000000032");

  store = test_open_recover (dir, NULL, &records, &report);
  test_assert_payloads (records, expected);
  ck_assert_uint_eq (report.snapshot_seq, 50);
  ck_assert_uint_eq (report.snapshot_records, 50);
  ck_assert_uint_eq (report.journal_records, 30);
  ck_assert_uint_eq (report.last_seq, 80);
  ck_assert_uint_eq (report.damage->len, 0);
  for (guint i = 0; i < 50; i++)
    ck_assert_uint_eq (((TestRecord *) records->pdata[i])->seq, 50);
  for (guint i = 50; i < 80; i++)
    ck_assert_uint_eq (((TestRecord *) records->pdata[i])->seq, i + 1);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_snapshot_twice_same_seq)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr (GBytes) one = test_payload (1, 10);
  g_autoptr (GPtrArray) segments = NULL;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  /* an empty snapshot before any record, then twice at the same sequence */
  da_store_snapshot (store, empty, test_done_cb, c);
  test_append_sync (store, one);
  da_store_snapshot (store, empty, test_done_cb, c);
  da_store_snapshot (store, empty, test_done_cb, c);
  test_wait_done (c, 3);
  ck_assert_uint_eq (c->n_failed, 0);
  test_append_sync (store, one);
  da_store_free (store);
  segments = test_list_segments (dir);
  ck_assert_uint_eq (segments->len, 1);
  ck_assert_str_eq (segments->pdata[0], "journal.0000000000000001");
  store = test_open_recover (dir, NULL, &records, NULL);
  ck_assert_uint_eq (records->len, 1);
  ck_assert_uint_eq (((TestRecord *) records->pdata[0])->seq, 2);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_snapshot_discarded_after_failure)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) a = test_payload (1, 10);
  g_autoptr (GBytes) state = NULL;
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (0);
  TestFault fault;
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  test_append_sync (store, a);
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_WRITE, ENOSPC, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, a, test_done_cb, c);
  /* the snapshot includes the record that is about to fail */
  da_snapshot_builder_add (builder, "a", 1);
  da_snapshot_builder_add (builder, "b", 1);
  state = da_snapshot_builder_steal (builder);
  ck_assert_uint_eq (da_store_snapshot (store, state, test_done_cb, c), 2);
  test_wait_done (c, 2);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_UNAVAILABLE, g_strerror (ENOSPC));
  assert_store_error (c->errors->pdata[1], DA_STORE_ERROR_UNAVAILABLE, "snapshot at 2");
  ck_assert (!test_file_exists (dir, "snapshot"));
  ck_assert (!test_file_exists (dir, "snapshot.tmp"));
  da_store_free (store);
  test_fault_clear (&fault);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_snapshot_invalid_payload)
{
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  const guint8 bad[] = { 200, 0, 0, 0, 'x' };
  g_autoptr (GBytes) payload = g_bytes_new (bad, sizeof bad);
  g_autoptr (GBytes) a = test_payload (1, 10);
  DaStore *store;

  store = test_open_started (dir, NULL, NULL);
  da_store_snapshot (store, payload, test_done_cb, c);
  test_wait_done (c, 1);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_INVALID, "record 1");
  ck_assert (!da_store_is_failed (store));
  test_append_sync (store, a);
  da_store_free (store);
  test_remove_dir (dir);
}
END_TEST

START_TEST (test_store_snapshot_builder)
{
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (16);
  g_autoptr (GBytes) packed = NULL;
  g_autoptr (GError) error = NULL;
  guint8 *room;
  gsize len;
  const guint8 *data;
  guint64 n = 0;

  da_snapshot_builder_add (builder, "hello", 5);
  da_snapshot_builder_add (builder, NULL, 0);
  room = da_snapshot_builder_reserve (builder, 3);
  memcpy (room, "abc", 3);
  for (guint i = 0; i < 10000; i++)
    da_snapshot_builder_add (builder, &i, sizeof i);
  ck_assert_uint_eq (da_snapshot_builder_get_n_records (builder), 10003);
  packed = da_snapshot_builder_steal (builder);
  ck_assert_uint_eq (da_snapshot_builder_get_n_records (builder), 0);
  data = g_bytes_get_data (packed, &len);
  ck_assert_uint_eq (len, 4 + 5 + 4 + 4 + 3 + 10000 * 8);
  ck_assert (da_snapshot_packed_foreach (data, len, NULL, NULL, &n, &error));
  ck_assert_uint_eq (n, 10003);
  /* a length running past the end is refused */
  ck_assert (!da_snapshot_packed_foreach (data, len - 1, NULL, NULL, &n, &error));
  ck_assert (g_error_matches (error, DA_STORE_ERROR, DA_STORE_ERROR_INVALID));
}
END_TEST

/* ------------------------------------------------------------------ */
/* zeros kept ahead of the journal's end (journal-preallocate) */

#define SEGMENT0 "journal.0000000000000000"
#define PREALLOC (256 * 1024)

/* the segment is durable up to journal_bytes and zeros after, to a length
 * that is a multiple of DA_STORE_PREALLOC_ALIGN, at least a quarter of the
 * preallocation ahead but for the last group (the writer extends the
 * zeros after it answered a group) */
static void
assert_zeros_ahead (const char *dir, DaStore *store)
{
  DaStoreCounters counters;
  g_autofree guint8 *data = NULL;
  gsize len;

  da_store_get_counters (store, &counters);
  data = test_read_file (dir, SEGMENT0, &len);
  ck_assert_uint_eq (counters.journal_bytes, DA_STORE_FILE_HEADER_SIZE + counters.bytes_written);
  ck_assert_uint_eq (len % (64 * 1024), 0);
  ck_assert_uint_ge (len + 2048, counters.journal_bytes + PREALLOC / 4);
  for (gsize i = counters.journal_bytes; i < len; i++)
    if (data[i] != 0)
      ck_abort_msg ("byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " past the journal's end is %u", i, len, data[i]);
}

/* appends of records from..to-1, 1000 bytes each, each waited for; into expected */
static void
append_each (DaStore *store, GPtrArray *expected, guint from, guint to)
{
  for (guint i = from; i < to; i++) {
    GBytes *payload = test_payload (i, 1000);

    test_append_sync (store, payload);
    g_ptr_array_add (expected, payload);
  }
}

/* appends go into the zeros, which are extended ahead of them; a clean
 * close gives them back and recovery finds exactly the records */
START_TEST (test_store_preallocate)
{
  const DaStoreOptions options = { .preallocate_bytes = PREALLOC };
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  DaStoreCounters counters;
  gsize first_len = 0;
  DaStore *store;

  store = test_open_started (dir, &options, NULL);
  /* each append waits for the one before, and the writer extends the
   * zeros before it takes the next: after the second they are there */
  for (guint i = 0; i < 400; i++) {
    append_each (store, expected, i, i + 1);
    if (i == 1 || (i > 0 && i % 20 == 0))
      assert_zeros_ahead (dir, store);
    if (i == 1)
      first_len = test_file_size (dir, SEGMENT0);
  }
  /* 400 kB of records ran past the first 256 KiB: extended since */
  ck_assert_uint_gt (test_file_size (dir, SEGMENT0), first_len);
  da_store_get_counters (store, &counters);
  da_store_free (store);
  ck_assert_uint_eq (test_file_size (dir, SEGMENT0), counters.journal_bytes);
  test_assert_recovers_clean (dir, &options, expected);
  test_remove_dir (dir);
}
END_TEST

/* a crash leaves the zeros: recovery takes them for space, not damage,
 * and appends continue right after the last record */
static void
check_preallocate_crash (DaStoreFaultPoint point, gboolean torn)
{
  const DaStoreOptions options = { .preallocate_bytes = PREALLOC };
  g_autofree char *dir = test_make_dir ();
  g_autoptr (GPtrArray) expected = payload_array ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GBytes) crashed = test_payload (100, 1000);
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_auto (DaStoreRecovery) report = { 0 };
  gsize len;
  TestFault fault;
  DaStore *store;

  store = test_open_started (dir, &options, NULL);
  append_each (store, expected, 0, 10);
  assert_zeros_ahead (dir, store);
  len = test_file_size (dir, SEGMENT0);
  test_fault_init (&fault, point, DA_STORE_FAULT_CRASH, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, crashed, test_done_cb, c);
  test_fault_wait_hit (&fault);
  da_store_free (store);
  test_fault_clear (&fault);
  ck_assert_uint_eq (c->n_done, 0);
  /* the crash gave nothing back */
  ck_assert_uint_eq (test_file_size (dir, SEGMENT0), len);

  /* written whole before the crash at its sync, the group is recovered;
   * the half written at a crash during its write is a torn tail */
  if (!torn)
    g_ptr_array_add (expected, g_bytes_ref (crashed));
  store = test_open_recover (dir, &options, &records, &report);
  test_assert_payloads (records, expected);
  ck_assert_uint_eq (report.damage->len, 0);
  if (torn) {
    /* half a frame: no record in it is whole */
    ck_assert_uint_eq (report.tail_records_cut, 0);
    ck_assert_uint_gt (report.tail_bytes_cut, 0);
    ck_assert_uint_le (report.tail_bytes_cut, (DA_STORE_FRAME_HEADER_SIZE + 1000) / 2);
  } else {
    ck_assert_uint_eq (report.tail_bytes_cut, 0);
    /* the space stays the segment's */
    ck_assert_uint_eq (test_file_size (dir, SEGMENT0), len);
  }
  ck_assert (da_store_start (store, NULL, NULL));
  append_each (store, expected, 200, 205);
  da_store_free (store);
  test_assert_recovers_clean (dir, &options, expected);
  test_remove_dir (dir);
}

START_TEST (test_store_preallocate_crash_at_sync)
{
  check_preallocate_crash (DA_STORE_FAULT_JOURNAL_SYNC, FALSE);
}
END_TEST

START_TEST (test_store_preallocate_crash_in_write)
{
  check_preallocate_crash (DA_STORE_FAULT_JOURNAL_WRITE, TRUE);
}
END_TEST

/* a failed group is cut off, and the zeros with it; they come back with
 * the next appends */
START_TEST (test_store_preallocate_after_failure)
{
  const DaStoreOptions options = { .preallocate_bytes = PREALLOC };
  g_autofree char *dir = test_make_dir ();
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (GBytes) a = test_payload (1, 100);
  g_autoptr (GBytes) b = test_payload (2, 100);
  g_autoptr (GBytes) d = test_payload (3, 100);
  g_autoptr (GBytes) e = test_payload (4, 100);
  DaStoreCounters counters;
  TestFault fault;
  DaStore *store;

  store = test_open_started (dir, &options, NULL);
  test_append_sync (store, a);
  test_append_sync (store, b);
  assert_zeros_ahead (dir, store);
  test_fault_init (&fault, DA_STORE_FAULT_JOURNAL_SYNC, EIO, 0, 1, FALSE);
  da_store_set_fault_hook (store, test_fault_func, &fault);
  da_store_append (store, d, test_done_cb, c);
  test_wait_done (c, 1);
  assert_store_error (c->errors->pdata[0], DA_STORE_ERROR_UNAVAILABLE, NULL);
  da_store_get_counters (store, &counters);
  ck_assert_uint_eq (test_file_size (dir, SEGMENT0), counters.journal_bytes);
  da_store_clear_failure (store);
  test_append_sync (store, e);
  test_append_sync (store, e);
  assert_zeros_ahead (dir, store);
  da_store_free (store);
  test_fault_clear (&fault);
  test_remove_dir (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("store");
  TCase *files = tcase_create ("files");
  TCase *append = tcase_create ("append");
  TCase *failure = tcase_create ("failure");
  TCase *snapshot = tcase_create ("snapshot");
  TCase *preallocate = tcase_create ("preallocate");

  tcase_add_test (files, test_store_file_modes);
  tcase_add_test (files, test_store_lock_same_process);
  tcase_add_test (files, test_store_lock_other_process);
  tcase_add_test (files, test_store_not_a_directory);
  suite_add_tcase (s, files);

  tcase_add_test (append, test_store_append_order);
  tcase_add_test (append, test_store_group_commit);
  tcase_add_test (append, test_store_group_commit_in_flight);
  tcase_add_test (append, test_store_group_delay);
  tcase_add_test (append, test_store_close_drains);
  tcase_add_test (append, test_store_close_before_start);
  suite_add_tcase (s, append);

  tcase_add_test (failure, test_store_write_failure);
  tcase_add_test (failure, test_store_sync_failure);
  tcase_add_test (failure, test_store_other_errnos);
  tcase_add_test (failure, test_store_truncate_retried);
  tcase_add_test (failure, test_store_queued_before_clear_fail);
  suite_add_tcase (s, failure);

  tcase_add_test (snapshot, test_store_snapshot_compacts);
  tcase_add_test (snapshot, test_store_snapshot_twice_same_seq);
  tcase_add_test (snapshot, test_store_snapshot_discarded_after_failure);
  tcase_add_test (snapshot, test_store_snapshot_invalid_payload);
  tcase_add_test (snapshot, test_store_snapshot_builder);
  suite_add_tcase (s, snapshot);

  tcase_add_test (preallocate, test_store_preallocate);
  tcase_add_test (preallocate, test_store_preallocate_crash_at_sync);
  tcase_add_test (preallocate, test_store_preallocate_crash_in_write);
  tcase_add_test (preallocate, test_store_preallocate_after_failure);
  suite_add_tcase (s, preallocate);

  return da_test_run_suite (s);
}
