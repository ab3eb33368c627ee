/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket activation by systemd-socket-activate with named fds, and idle
 * exit: only when activated, never while a client is connected */
#include "config.h"

#include <check.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

typedef struct {
  GMainLoop *loop;
  gboolean exited;
} Wait;

static void
exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  /* a cancelled wait says nothing about the process */
  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return;
  wait->exited = TRUE;
  g_main_loop_quit (wait->loop);
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_main_loop_quit (((Wait *) user_data)->loop);
  return G_SOURCE_REMOVE;
}

/* whether the process exits within timeout_ms */
static gboolean
exits_within (GSubprocess *process, guint timeout_ms)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Wait wait = { loop, FALSE };
  guint timer = g_timeout_add (timeout_ms, timeout_cb, &wait);

  g_subprocess_wait_async (process, cancel, exited_cb, &wait);
  g_main_loop_run (loop);
  if (!wait.exited) {
    g_cancellable_cancel (cancel);
    while (g_main_context_iteration (NULL, FALSE))
      ;
  } else {
    g_source_remove (timer);
  }
  return wait.exited;
}

static gboolean
have_socket_activate (void)
{
  g_autofree char *path = g_find_program_in_path ("systemd-socket-activate");

  return path != NULL;
}

static char *
stderr_line (GDataInputStream *err)
{
  return g_data_input_stream_read_line_utf8 (err, NULL, NULL, NULL);
}

START_TEST (test_activation_and_idle_exit)
{
  g_autofree char *dir = g_dir_make_tmp ("devaddr-activate-XXXXXX", NULL);
  g_autofree char *rw = g_build_filename (dir, "rw.sock", NULL);
  g_autofree char *ro = g_build_filename (dir, "ro.sock", NULL);
  g_autofree char *conf = g_build_filename (dir, "devaddrd.conf", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (DaTestClient) ro_client = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (JsonObject) refused = NULL;
  g_autofree char *line = NULL;

  g_autofree char *activate = g_find_program_in_path ("systemd-socket-activate");

  if (activate == NULL)
    return;
  /* the caller's group may change reservations, as with da_test_daemon_new () */
  {
    struct group *grp = getgrgid (getegid ());
    g_autofree char *text = g_strdup_printf ("[daemon]\ngroup=%s\n", grp != NULL ? grp->gr_name : "devaddr");

    g_file_set_contents (conf, text, -1, NULL);
  }
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, "systemd-socket-activate",
                              "-l", rw, "-l", ro, "--fdname=devaddrd:devaddrd-ro",
                              da_test_daemon_binary (), "--local", dir, "--config", conf, "--timeout", "1", NULL);
  ck_assert_msg (process != NULL, "%s", error ? error->message : "");
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
  /* it says when both sockets listen */
  for (guint n = 0; n < 2; n++) {
    g_free (line);
    line = stderr_line (err);
    ck_assert_msg (line != NULL && strstr (line, "Listening on") != NULL, "%s", line);
  }

  client = da_test_client_connect (rw, &error);
  ck_assert_msg (client != NULL, "%s", error ? error->message : "");
  info = da_test_client_call_ok (client, "server.info", NULL);
  ck_assert (json_object_get_boolean_member (json_node_get_object (info), "socket_activated"));
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
  }
  ro_client = da_test_client_connect (ro, &error);
  ck_assert_msg (ro_client != NULL, "%s", error ? error->message : "");
  refused = da_test_client_call_error (ro_client, "vm.delete", "{\"vm\":\"vm1\"}");
  ck_assert_str_eq (da_test_error_reason (refused), "read-only");

  /* connected clients keep it up well past the idle timeout */
  ck_assert_msg (!exits_within (process, 2500), "exited while clients were connected");
  g_clear_pointer (&client, da_test_client_free);
  g_clear_pointer (&ro_client, da_test_client_free);
  ck_assert_msg (exits_within (process, 15000), "did not exit when idle");
  ck_assert (g_subprocess_get_if_exited (process));
  ck_assert_int_eq (g_subprocess_get_exit_status (process), 0);
  da_test_rm_rf (dir);
}
END_TEST

START_TEST (test_no_idle_exit_unless_activated)
{
  const char *args[] = { "--timeout", "1", NULL };
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (args);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonNode) info = NULL;

  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  ck_assert_msg (!exits_within (devaddrd->process, 2500), "a daemon that bound its own sockets exited when idle");
  client = da_test_client_connect (devaddrd->socket_path, &error);
  info = da_test_client_call_ok (client, "server.info", NULL);
  ck_assert (!json_object_get_boolean_member (json_node_get_object (info), "socket_activated"));
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
}
END_TEST

START_TEST (test_inherited_socket_must_be_named)
{
  g_autofree char *dir = g_dir_make_tmp ("devaddr-activate-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (dir, "a.sock", NULL);
  g_autofree char *b = g_build_filename (dir, "b.sock", NULL);
  g_autofree char *conf = g_build_filename (dir, "devaddrd.conf", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autofree char *log = NULL;
  gboolean named_in_log = FALSE;

  g_autofree char *activate = g_find_program_in_path ("systemd-socket-activate");

  if (activate == NULL)
    return;
  g_file_set_contents (conf, "", -1, NULL);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, "systemd-socket-activate",
                              "-l", a, "-l", b, "--fdname=devaddrd:something-else",
                              da_test_daemon_binary (), "--local", dir, "--config", conf, NULL);
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
  for (guint n = 0; n < 2; n++)
    g_free (g_data_input_stream_read_line_utf8 (err, NULL, NULL, NULL));
  client = da_test_client_connect (a, &error);
  ck_assert (client != NULL);
  /* it refuses to start, and says why */
  ck_assert_msg (exits_within (process, 15000), "started with a socket of an unknown name");
  ck_assert_int_ne (g_subprocess_get_exit_status (process), 0);
  for (char *line; (line = g_data_input_stream_read_line_utf8 (err, NULL, NULL, NULL)) != NULL; g_free (line))
    named_in_log |= strstr (line, "something-else") != NULL;
  ck_assert (named_in_log);
  da_test_rm_rf (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("activation");
  TCase *tc = tcase_create ("activation");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_activation_and_idle_exit);
  tcase_add_test (tc, test_no_idle_exit_unless_activated);
  tcase_add_test (tc, test_inherited_socket_must_be_named);
  suite_add_tcase (s, tc);
  if (da_test_run_suite (s) != 0)
    return 1;
  /* two of the three need it: without it this did not test activation */
  if (!have_socket_activate ()) {
    g_print ("no systemd-socket-activate: activation not tested\n");
    return 77;
  }
  return 0;
}
