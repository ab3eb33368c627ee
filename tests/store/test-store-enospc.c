/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A real full disk: a 64 KiB tmpfs mounted in a private mount namespace.
 * Needs root (CAP_SYS_ADMIN); otherwise the whole program is skipped
 * (exit status 77, which automake reports as SKIP).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "store-test-util.h"
#include "tests/common/da-test-suite.h"

#define SEGMENT0 "journal.0000000000000000"
#define RECORD_LEN 1000
#define FILLER_LEN (16 * 1024)

static const char *mount_point;

static char *
make_filler (void)
{
  char *path = g_build_filename (mount_point, "filler", NULL);
  g_autofree char *data = g_malloc0 (FILLER_LEN);

  ck_assert (g_file_set_contents (path, data, FILLER_LEN, NULL));
  return path;
}

/* options: journal-preallocate asks for more than the disk has: the
 * store appends as without it */
static void
check_full_disk (guint window, const DaStoreOptions *options)
{
  g_autofree char *dir = g_build_filename (mount_point, "state", NULL);
  g_autofree char *filler = make_filler ();
  g_autoptr (GPtrArray) acked = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (TestCompletions) c = test_completions_new ();
  g_autoptr (TestCompletions) late = test_completions_new ();
  guint first_failure = G_MAXUINT;
  DaStoreCounters counters;
  DaStore *store;

  store = test_open_started (dir, options, NULL);
  /* fill the disk, keeping `window` appends in flight */
  while (first_failure == G_MAXUINT) {
    while (sent->len - c->n_done < window) {
      GBytes *payload = test_payload (sent->len, RECORD_LEN);

      ck_assert_uint_eq (da_store_append (store, payload, test_done_cb, c), sent->len + 1);
      g_ptr_array_add (sent, payload);
    }
    g_main_context_iteration (NULL, TRUE);
    for (guint i = 0; i < c->n_done && first_failure == G_MAXUINT; i++)
      if (c->errors->pdata[i] != NULL)
        first_failure = i;
    ck_assert_msg (sent->len < 1000, "the 64 KiB tmpfs never filled up");
  }
  test_wait_done (c, sent->len);

  /* acknowledged records are a prefix; everything from the failure on failed */
  for (guint i = 0; i < c->n_done; i++) {
    const GError *error = c->errors->pdata[i];

    ck_assert_uint_eq (g_array_index (c->seqs, guint64, i), i + 1);
    if (i < first_failure) {
      ck_assert (error == NULL);
      g_ptr_array_add (acked, g_bytes_ref (sent->pdata[i]));
    } else {
      ck_assert (g_error_matches (error, DA_STORE_ERROR, DA_STORE_ERROR_UNAVAILABLE));
    }
  }
  ck_assert_msg (strstr (((GError *) c->errors->pdata[first_failure])->message, g_strerror (ENOSPC)) != NULL, "%s",
                 ((GError *) c->errors->pdata[first_failure])->message);
  ck_assert_uint_gt (acked->len, 5);
  ck_assert (da_store_is_failed (store));
  /* nothing partial on disk: exactly the acknowledged frames */
  ck_assert_uint_eq (test_file_size (dir, SEGMENT0),
                     DA_STORE_FILE_HEADER_SIZE + acked->len * (DA_STORE_FRAME_HEADER_SIZE + RECORD_LEN));
  da_store_get_counters (store, &counters);
  ck_assert_uint_ge (counters.failures, 1);
  ck_assert_uint_eq (counters.records_written, acked->len);

  /* space comes back; until the failure is cleared appends still fail */
  ck_assert (unlink (filler) == 0);
  da_store_append (store, sent->pdata[0], test_done_cb, late);
  test_wait_done (late, 1);
  ck_assert (late->errors->pdata[0] != NULL);
  da_store_clear_failure (store);
  for (guint i = 0; i < 5; i++) {
    GBytes *payload = test_payload (1000 + i, RECORD_LEN);

    test_append_sync (store, payload);
    g_ptr_array_add (acked, payload);
  }
  da_store_free (store);

  /* recovery shows exactly the acknowledged records */
  store = test_open_recover (dir, options, &records, NULL);
  test_assert_payloads (records, acked);
  da_store_free (store);
  test_remove_dir (dir);
}

START_TEST (test_enospc_one_at_a_time)
{
  check_full_disk (1, NULL);
}
END_TEST

START_TEST (test_enospc_in_flight)
{
  check_full_disk (8, NULL);
}
END_TEST

START_TEST (test_enospc_preallocate)
{
  const DaStoreOptions options = { .preallocate_bytes = 256 * 1024 };

  check_full_disk (1, &options);
}
END_TEST

int
main (void)
{
  g_autofree char *mnt = NULL;
  Suite *s;
  TCase *tc;
  int status;

  if (geteuid () != 0) {
    printf ("SKIP: the full-disk test mounts a tmpfs and needs root (the fault-hook tests in test-store cover "
            "the same logic)\n");
    return 77;
  }
  /* a private mount namespace: the tmpfs disappears with this process */
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    printf ("SKIP: cannot make a private mount namespace: %s\n", g_strerror (errno));
    return 77;
  }
  mnt = g_dir_make_tmp ("da-store-tmpfs-XXXXXX", NULL);
  if (mnt == NULL || mount ("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") != 0) {
    printf ("SKIP: cannot mount a tmpfs: %s\n", g_strerror (errno));
    if (mnt != NULL)
      rmdir (mnt);
    return 77;
  }
  mount_point = mnt;

  s = suite_create ("store-enospc");
  tc = tcase_create ("tmpfs");
  tcase_add_test (tc, test_enospc_one_at_a_time);
  tcase_add_test (tc, test_enospc_in_flight);
  tcase_add_test (tc, test_enospc_preallocate);
  suite_add_tcase (s, tc);
  status = da_test_run_suite (s);

  umount2 (mnt, MNT_DETACH);
  rmdir (mnt);
  return status;
}
