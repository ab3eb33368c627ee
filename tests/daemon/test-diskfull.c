/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* a full disk and a read-only state directory under a storm of mixed
 * mutations from four writers (single and batch reserves, holds, commits,
 * releases, vm.create, vm.delete, domain.assign; see da-test-writers.h):
 * the mutations that cannot be made durable fail with "unavailable" and
 * leave nothing behind, reads keep working, and every write works again
 * once space is back, through three rounds of fill and free, compaction
 * included; after each round and after a restart exactly the acknowledged
 * state is there */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"
#include "tests/common/da-test-writers.h"

#define WRITERS 4

/* one storm: every writer sends per_writer mutations; returns how many
 * were answered "unavailable" (only allowed when unavailable_ok) */
static guint
run_storm (DaTestWriter *writers, guint per_writer, gboolean unavailable_ok, guint32 seed, guint *succeeded)
{
  GThread *threads[WRITERS];
  guint unavailable = 0, answered = 0;

  for (guint i = 0; i < WRITERS; i++) {
    writers[i].max_ops = per_writer;
    writers[i].allow_unavailable = unavailable_ok;
    writers[i].unavailable = 0;
    writers[i].acked = 0;
  }
  da_test_writers_run (writers, WRITERS, seed, threads);
  da_test_writers_join (writers, WRITERS, threads);
  for (guint i = 0; i < WRITERS; i++) {
    unavailable += writers[i].unavailable;
    answered += writers[i].acked;
  }
  /* no connection was lost: every request got its answer */
  ck_assert_uint_eq (answered, WRITERS * per_writer);
  *succeeded = answered - unavailable;
  return unavailable;
}

/* the writers' models against the daemon, over a fresh connection */
static void
check_models (const char *socket_path, DaTestWriter *writers, guint phase, const char *seed_text)
{
  g_autoptr (DaTestClient) client = da_test_client_connect (socket_path, NULL);
  DaTestChecker c = { client, phase, seed_text };

  ck_assert (client != NULL);
  da_test_writers_check (&c, writers, WRITERS, NULL, NULL);
}

static gint64
store_counter (const char *socket_path, const char *member)
{
  g_autoptr (DaTestClient) client = da_test_client_connect (socket_path, NULL);
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

  return json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "store"), member);
}

static gboolean
run_quiet_ok (const char *cmd)
{
  int status = 0;

  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) && g_spawn_check_wait_status (status, NULL);
}

static void
fill (const char *path, gsize free_left)
{
  g_autofree char *filler = g_build_filename (path, "filler", NULL);
  FILE *f = fopen (filler, "w");
  char block[4096] = { 0 };

  ck_assert (f != NULL);
  /* write until the disk is full, then give back what is to stay free */
  while (fwrite (block, 1, sizeof block, f) == sizeof block && fflush (f) == 0)
    ;
  fclose (f);
  {
    GStatBuf st;

    ck_assert (g_stat (filler, &st) == 0);
    ck_assert (truncate (filler, st.st_size > (goffset) free_left ? st.st_size - (goffset) free_left : 0) == 0);
  }
}

START_TEST (test_disk_full)
{
  g_autofree char *mnt = g_dir_make_tmp ("devaddr-tmpfs-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (mnt, "state", NULL);
  g_autofree char *filler = g_build_filename (mnt, "filler", NULL);
  const char *args[] = { "--state-dir", state, NULL };
  guint32 seed = g_random_int ();
  g_autofree char *seed_text = g_strdup_printf ("seed %u", seed);
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (GError) error = NULL;
  DaTestWriter writers[WRITERS];
  DaTestProgress progress = { 0 };
  guint ok;

  if (geteuid () != 0) {
    g_print ("not root: cannot mount a tmpfs\n");
    return;
  }
  /* a mount of our own that nobody else sees and that goes with us */
  ck_assert_msg (unshare (CLONE_NEWNS) == 0, "unshare: %s", g_strerror (errno));
  ck_assert (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
  ck_assert_msg (mount ("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") == 0, "mount: %s", g_strerror (errno));

  devaddrd = da_test_daemon_new (args);
  /* compaction under a full disk too: a failed snapshot must lose nothing */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=200\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_init (&writers[i], devaddrd->socket_path, i, &progress);
  g_print ("disk full test %s\n", seed_text);

  /* rounds of a full disk under a storm of mixed writes, then space again */
  for (guint round = 0; round < 3; round++) {
    gint64 failures = store_counter (devaddrd->socket_path, "failures");
    guint unavailable;

    fill (mnt, 24 * 1024);
    unavailable = run_storm (writers, 150, TRUE, seed + round * 2, &ok);
    ck_assert_msg (unavailable > 0, "round %u: the disk never filled up (%u acknowledged)", round, ok);
    ck_assert_int_gt (store_counter (devaddrd->socket_path, "failures"), failures);
    /* reads go on, and exactly what was acknowledged is there */
    check_models (devaddrd->socket_path, writers, round * 2, seed_text);

    /* space comes back: so do writes, every one of them */
    ck_assert (unlink (filler) == 0);
    ck_assert_uint_eq (run_storm (writers, 40, FALSE, seed + round * 2 + 1, &ok), 0);
    check_models (devaddrd->socket_path, writers, round * 2 + 1, seed_text);
  }

  /* after a restart: exactly what was acknowledged */
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  check_models (devaddrd->socket_path, writers, 6, seed_text);
  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_clear (&writers[i]);
  da_test_daemon_stop (devaddrd);
  umount2 (mnt, MNT_DETACH);
}
END_TEST

static char *
run_output (const char *cmd)
{
  char *out = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync (cmd, &out, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL)) {
    g_free (out);
    return NULL;
  }
  return g_strstrip (out);
}

/* an ext4 that goes read-only on an error, as errors=remount-ro does in
 * production; the kernel offers trigger_fs_error to cause one */
START_TEST (test_read_only)
{
  g_autofree char *dir = g_dir_make_tmp ("devaddr-ro-XXXXXX", NULL);
  g_autofree char *image = g_build_filename (dir, "state.img", NULL);
  g_autofree char *mnt = g_build_filename (dir, "mnt", NULL);
  g_autofree char *state = g_build_filename (mnt, "state", NULL);
  const char *args[] = { "--state-dir", state, NULL };
  guint32 seed = g_random_int ();
  g_autofree char *seed_text = g_strdup_printf ("seed %u", seed);
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cmd = NULL;
  g_autofree char *loop = NULL;
  g_autofree char *trigger = NULL;
  DaTestWriter writers[WRITERS];
  DaTestProgress progress = { 0 };
  guint ok;

  if (geteuid () != 0) {
    g_print ("not root: cannot mount a file system\n");
    return;
  }
  ck_assert (unshare (CLONE_NEWNS) == 0);
  ck_assert (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
  ck_assert (g_mkdir (mnt, 0700) == 0);
  cmd = g_strdup_printf ("sh -c 'truncate -s 16M %s && mkfs.ext4 -q %s && mount -o loop,errors=remount-ro %s %s'",
                         image, image, image, mnt);
  if (!run_quiet_ok (cmd)) {
    g_print ("cannot mount an ext4 image on a loop device here: skipped\n");
    return;
  }
  g_free (cmd);
  cmd = g_strdup_printf ("sh -c \"losetup -j %s | cut -d: -f1\"", image);
  loop = run_output (cmd);
  ck_assert (loop != NULL && *loop != '\0');
  trigger = g_strdup_printf ("/sys/fs/ext4/%s/trigger_fs_error", strrchr (loop, '/') + 1);
  if (!g_file_test (trigger, G_FILE_TEST_EXISTS)) {
    g_print ("%s is missing: skipped\n", trigger);
    return;
  }

  devaddrd = da_test_daemon_new (args);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_init (&writers[i], devaddrd->socket_path, i, &progress);
  g_print ("read-only test %s\n", seed_text);
  ck_assert_uint_eq (run_storm (writers, 50, FALSE, seed, &ok), 0);

  /* the file system turns read-only under the daemon */
  {
    FILE *f = fopen (trigger, "w");

    /* a sysfs attribute: written in place, not through a temporary file */
    ck_assert (f != NULL && fputs ("devaddr test", f) >= 0 && fclose (f) == 0);
  }
  /* every change fails and is undone; reads go on */
  ck_assert_uint_eq (run_storm (writers, 20, TRUE, seed + 1, &ok), WRITERS * 20);
  ck_assert_uint_eq (ok, 0);
  check_models (devaddrd->socket_path, writers, 1, seed_text);

  /* what an administrator does: stop, repair, mount again, start */
  da_test_daemon_stop (devaddrd);
  g_free (cmd);
  cmd = g_strdup_printf ("sh -c 'umount %s && (e2fsck -fy %s >/dev/null 2>&1; true) && mount -o loop %s %s'",
                         mnt, image, image, mnt);
  ck_assert (run_quiet_ok (cmd));
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  check_models (devaddrd->socket_path, writers, 2, seed_text);
  ck_assert_uint_eq (run_storm (writers, 5, FALSE, seed + 2, &ok), 0);
  check_models (devaddrd->socket_path, writers, 3, seed_text);
  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_clear (&writers[i]);
  da_test_daemon_stop (devaddrd);
  umount2 (mnt, MNT_DETACH);
  da_test_rm_rf (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("diskfull");
  TCase *tc = tcase_create ("diskfull");
  int status;

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_disk_full);
  tcase_add_test (tc, test_read_only);
  suite_add_tcase (s, tc);
  status = da_test_run_suite (s);
  if (geteuid () != 0)
    return 77;
  return status;
}
