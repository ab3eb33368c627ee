/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* a full disk and a read-only state directory under a write storm: the
 * mutations that cannot be made durable fail with "unavailable" and leave
 * nothing behind, reads keep working, and writes work again once space is
 * back; after a restart exactly the acknowledged reservations are there */
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

#define CLIENTS 4

typedef struct {
  const char *socket_path;
  guint index;
  guint count;
  GHashTable *acked;   /* alias -> address */
  GPtrArray *refused;  /* aliases answered "unavailable" */
  guint other_errors;
} Storm;

static gpointer
storm (gpointer data)
{
  Storm *s = data;
  g_autoptr (DaTestClient) client = da_test_client_connect (s->socket_path, NULL);

  for (guint i = 0; client != NULL && i < s->count; i++) {
    g_autofree char *alias = g_strdup_printf ("s%u-%u-%s", s->index, i, "padding-to-fill-the-disk-sooner");
    g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s\"}", alias);
    g_autoptr (JsonNode) reply = da_test_client_request (client, "addr.reserve", params);
    JsonObject *obj;

    if (reply == NULL)
      break;
    obj = json_node_get_object (reply);
    if (json_object_has_member (obj, "result")) {
      g_hash_table_insert (s->acked, g_strdup (alias),
                           g_strdup (json_object_get_string_member (json_object_get_object_member (obj, "result"), "address")));
    } else if (strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "unavailable") == 0) {
      g_ptr_array_add (s->refused, g_strdup (alias));
    } else {
      s->other_errors++;
    }
  }
  return NULL;
}

static void
run_storm (const char *socket_path, guint per_client, guint round, GHashTable *acked, GPtrArray *refused)
{
  Storm storms[CLIENTS];
  GThread *threads[CLIENTS];

  for (guint c = 0; c < CLIENTS; c++) {
    storms[c] = (Storm) { socket_path, round * CLIENTS + c, per_client,
                          g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
                          g_ptr_array_new_with_free_func (g_free), 0 };
    threads[c] = g_thread_new ("storm", storm, &storms[c]);
  }
  for (guint c = 0; c < CLIENTS; c++) {
    GHashTableIter iter;
    gpointer k, v;

    g_thread_join (threads[c]);
    ck_assert_uint_eq (storms[c].other_errors, 0);
    g_hash_table_iter_init (&iter, storms[c].acked);
    while (g_hash_table_iter_next (&iter, &k, &v))
      if (acked != NULL)
        g_hash_table_insert (acked, g_strdup (k), g_strdup (v));
    for (guint i = 0; i < storms[c].refused->len; i++)
      g_ptr_array_add (refused, g_strdup (g_ptr_array_index (storms[c].refused, i)));
    g_hash_table_unref (storms[c].acked);
    g_ptr_array_unref (storms[c].refused);
  }
}

static void
assert_exactly (DaTestClient *client, GHashTable *acked, GPtrArray *refused)
{
  GHashTableIter iter;
  gpointer alias, address;

  g_hash_table_iter_init (&iter, acked);
  while (g_hash_table_iter_next (&iter, &alias, &address)) {
    g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", (char *) alias);
    g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.lookup", p);

    ck_assert_str_eq (json_object_get_string_member (json_node_get_object (r), "address"), address);
  }
  for (guint i = 0; i < refused->len; i++) {
    g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", (char *) g_ptr_array_index (refused, i));
    g_autoptr (JsonObject) e = da_test_client_call_error (client, "addr.lookup", p);

    ck_assert_str_eq (da_test_error_reason (e), "not-found");
  }
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
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) refused = g_ptr_array_new_with_free_func (g_free);
  guint before;

  if (geteuid () != 0) {
    g_print ("not root: cannot mount a tmpfs\n");
    return;
  }
  /* a mount of our own that nobody else sees and that goes with us */
  ck_assert_msg (unshare (CLONE_NEWNS) == 0, "unshare: %s", g_strerror (errno));
  ck_assert (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
  ck_assert_msg (mount ("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") == 0, "mount: %s", g_strerror (errno));

  devaddrd = da_test_daemon_new (args);
  /* no snapshot in the middle: the journal is what fills the disk */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=100000\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
  }

  /* 1: a full disk under a storm of writes */
  fill (mnt, 24 * 1024);
  run_storm (devaddrd->socket_path, 150, 0, acked, refused);
  ck_assert_msg (refused->len > 0, "the disk never filled up (%u acknowledged)", g_hash_table_size (acked));
  ck_assert_uint_gt (g_hash_table_size (acked), 0);
  {
    g_autoptr (JsonNode) read = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

    ck_assert_int_gt (json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "store"), "failures"), 0);
  }
  assert_exactly (client, acked, refused);

  /* space comes back: so do writes */
  ck_assert (unlink (filler) == 0);
  before = g_hash_table_size (acked);
  run_storm (devaddrd->socket_path, 50, 1, acked, refused);
  ck_assert_uint_eq (g_hash_table_size (acked), before + CLIENTS * 50);

  /* after a restart: exactly what was acknowledged */
  g_clear_pointer (&client, da_test_client_free);
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  assert_exactly (client, acked, refused);
  g_clear_pointer (&client, da_test_client_free);
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
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) refused = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cmd = NULL;
  g_autofree char *loop = NULL;
  g_autofree char *trigger = NULL;
  guint before;

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
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  run_storm (devaddrd->socket_path, 50, 0, acked, refused);
  ck_assert_uint_eq (g_hash_table_size (acked), CLIENTS * 50);

  /* the file system turns read-only under the daemon */
  {
    FILE *f = fopen (trigger, "w");

    /* a sysfs attribute: written in place, not through a temporary file */
    ck_assert (f != NULL && fputs ("devaddr test", f) >= 0 && fclose (f) == 0);
  }
  before = g_hash_table_size (acked);
  run_storm (devaddrd->socket_path, 20, 1, acked, refused);
  ck_assert_uint_eq (g_hash_table_size (acked), before);
  ck_assert_uint_eq (refused->len, CLIENTS * 20);
  {
    g_autoptr (JsonNode) read = da_test_client_call_ok (client, "server.info", NULL);
  }
  assert_exactly (client, acked, refused);

  /* what an administrator does: stop, repair, mount again, start */
  g_clear_pointer (&client, da_test_client_free);
  da_test_daemon_stop (devaddrd);
  g_free (cmd);
  cmd = g_strdup_printf ("sh -c 'umount %s && (e2fsck -fy %s >/dev/null 2>&1; true) && mount -o loop %s %s'",
                         mnt, image, image, mnt);
  ck_assert (run_quiet_ok (cmd));
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  assert_exactly (client, acked, refused);
  run_storm (devaddrd->socket_path, 5, 2, acked, refused);
  ck_assert_uint_eq (g_hash_table_size (acked), before + CLIENTS * 5);
  g_clear_pointer (&client, da_test_client_free);
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
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_disk_full);
  tcase_add_test (tc, test_read_only);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  if (geteuid () != 0)
    return 77;
  return failed == 0 ? 0 : 1;
}
