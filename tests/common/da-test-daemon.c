/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

#define READY_TIMEOUT_MS 20000

const char *
da_test_daemon_binary (void)
{
  static char *path;

  if (path == NULL) {
    const char *builddir = g_getenv ("DA_BUILDDIR");

    path = g_build_filename (builddir != NULL ? builddir : ".", "daemon", "devaddrd", NULL);
  }
  return path;
}

DaTestDaemon *
da_test_daemon_new (const char *const *extra_args)
{
  DaTestDaemon *daemon = g_new0 (DaTestDaemon, 1);
  g_autoptr (GError) error = NULL;

  daemon->dir = g_dir_make_tmp ("devaddr-test-XXXXXX", &error);
  g_assert_no_error (error);
  daemon->socket_path = g_build_filename (daemon->dir, "devaddrd.sock", NULL);
  daemon->ro_socket_path = g_build_filename (daemon->dir, "devaddrd-ro.sock", NULL);
  daemon->state_dir = g_build_filename (daemon->dir, "state", NULL);
  daemon->log_path = g_build_filename (daemon->dir, "devaddrd.log", NULL);
  daemon->notify_path = g_build_filename (daemon->dir, "notify", NULL);
  daemon->config_path = g_build_filename (daemon->dir, "devaddrd.conf", NULL);
  daemon->extra_args = g_strdupv ((char **) extra_args);
  daemon->notify_messages = g_ptr_array_new_with_free_func (g_free);
  {
    struct group *grp = getgrgid (getegid ());

    daemon->config_text = g_strdup_printf ("[daemon]\ngroup=%s\n", grp != NULL ? grp->gr_name : "devaddr");
  }
  return daemon;
}

void
da_test_daemon_set_config (DaTestDaemon *daemon, const char *text)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  struct group *grp = getgrgid (getegid ());

  g_free (daemon->config_text);
  /* the caller's group stays unless the text names one (or does not
   * parse, which is the test's point then): without it, an unprivileged
   * caller could not change reservations */
  if (!g_key_file_load_from_data (file, text, -1, G_KEY_FILE_NONE, NULL)
      || g_key_file_has_key (file, "daemon", "group", NULL))
    daemon->config_text = g_strdup (text);
  else
    daemon->config_text = g_strdup_printf ("%s%s[daemon]\ngroup=%s\n", text,
                                           *text != '\0' && !g_str_has_suffix (text, "\n") ? "\n" : "",
                                           grp != NULL ? grp->gr_name : "devaddr");
}

char *
da_test_daemon_log (DaTestDaemon *daemon)
{
  char *text = NULL;

  if (!g_file_get_contents (daemon->log_path, &text, NULL, NULL))
    return g_strdup ("(no log)");
  return text;
}

gboolean
da_test_notify_has (const char *message, const char *prefix, char **value)
{
  g_auto (GStrv) lines = g_strsplit (message, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], prefix)) {
      if (value != NULL)
        *value = g_strdup (lines[i] + strlen (prefix));
      return TRUE;
    }
  }
  return FALSE;
}

/* one datagram into notify_messages; FALSE when none came in timeout_ms */
static gboolean
receive_notify (DaTestDaemon *daemon, int timeout_ms)
{
  struct pollfd pfd = { g_socket_get_fd (daemon->notify), POLLIN, 0 };
  char buf[4096];
  gssize n;

  if (poll (&pfd, 1, MAX (timeout_ms, 0)) <= 0)
    return FALSE;
  n = g_socket_receive (daemon->notify, buf, sizeof buf - 1, NULL, NULL);
  if (n < 0)
    return FALSE;
  g_ptr_array_add (daemon->notify_messages, g_strndup (buf, (gsize) n));
  return TRUE;
}

static char *
take_notify (DaTestDaemon *daemon, const char *prefix)
{
  for (guint i = daemon->notify_cursor; i < daemon->notify_messages->len; i++) {
    const char *message = g_ptr_array_index (daemon->notify_messages, i);

    if (da_test_notify_has (message, prefix, NULL)) {
      daemon->notify_cursor = i + 1;
      return g_strdup (message);
    }
  }
  return NULL;
}

/* the next message with prefix; *exited when the daemon went away first */
static char *
wait_notify (DaTestDaemon *daemon, const char *prefix, int timeout_ms, gboolean *exited)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  *exited = FALSE;
  for (;;) {
    char *found = take_notify (daemon, prefix);
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

    if (found != NULL)
      return found;
    if (left <= 0)
      return NULL;
    /* wake up now and then to notice a daemon that died */
    if (!receive_notify (daemon, (int) MIN (left, 200))) {
      if (daemon->process == NULL || g_subprocess_get_identifier (daemon->process) == NULL) {
        /* what it said before it went */
        while (receive_notify (daemon, 0))
          ;
        found = take_notify (daemon, prefix);
        *exited = found == NULL;
        return found;
      }
    }
  }
}

char *
da_test_daemon_wait_notify (DaTestDaemon *daemon, const char *prefix, int timeout_ms)
{
  gboolean exited;

  return wait_notify (daemon, prefix, timeout_ms, &exited);
}

static gboolean
wait_ready (DaTestDaemon *daemon, GError **error)
{
  gboolean exited = FALSE;
  g_autofree char *ready = wait_notify (daemon, "READY=1", READY_TIMEOUT_MS, &exited);

  if (ready != NULL)
    return TRUE;
  if (exited) {
    g_autofree char *log = da_test_daemon_log (daemon);

    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "devaddrd exited before it was ready:\n%s", log);
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "devaddrd did not report READY=1");
  }
  return FALSE;
}

void
da_test_daemon_setenv (DaTestDaemon *daemon, const char *name, const char *value)
{
  daemon->env = g_environ_setenv (daemon->env, name, value, TRUE);
}

void
da_test_daemon_send_signal (DaTestDaemon *daemon, int signum)
{
  if (daemon->process != NULL)
    g_subprocess_send_signal (daemon->process, signum);
}

int
da_test_daemon_wait (DaTestDaemon *daemon)
{
  int status;

  if (daemon->process == NULL)
    return 0;
  g_subprocess_wait (daemon->process, NULL, NULL);
  status = g_subprocess_get_if_exited (daemon->process) ? g_subprocess_get_exit_status (daemon->process) : -1;
  g_clear_object (&daemon->process);
  return status;
}

gboolean
da_test_daemon_wait_ready (DaTestDaemon *daemon, GError **error)
{
  return wait_ready (daemon, error);
}

gboolean
da_test_daemon_ready_sent (DaTestDaemon *daemon)
{
  for (;;) {
    struct pollfd pfd = { g_socket_get_fd (daemon->notify), POLLIN, 0 };
    char buf[4096];
    gssize n;

    if (poll (&pfd, 1, 0) <= 0)
      return FALSE;
    n = g_socket_receive (daemon->notify, buf, sizeof buf - 1, NULL, NULL);
    if (n <= 0)
      return FALSE;
    buf[n] = '\0';
    if (strstr (buf, "READY=1") != NULL)
      return TRUE;
  }
}

gboolean
da_test_daemon_start (DaTestDaemon *daemon, GError **error)
{
  return da_test_daemon_spawn (daemon, error) && wait_ready (daemon, error);
}

gboolean
da_test_daemon_spawn (DaTestDaemon *daemon, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSocketAddress) address = NULL;

  /* a config of our own: never the host's /etc/devaddr/devaddrd.conf */
  if (!g_file_set_contents (daemon->config_path, daemon->config_text, -1, error))
    return FALSE;
  if (daemon->notify == NULL) {
    unlink (daemon->notify_path);
    daemon->notify = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, error);
    if (daemon->notify == NULL)
      return FALSE;
    address = g_unix_socket_address_new (daemon->notify_path);
    if (!g_socket_bind (daemon->notify, address, FALSE, error))
      return FALSE;
  }
  /* what an earlier daemon said is not this one's */
  while (receive_notify (daemon, 0))
    ;
  g_ptr_array_set_size (daemon->notify_messages, 0);
  daemon->notify_cursor = 0;
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", daemon->notify_path, TRUE);
  /* a failed g_return_if_fail() in the daemon is a bug the test must see */
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_FDS");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_PID");
  g_subprocess_launcher_unsetenv (launcher, "WATCHDOG_USEC");
  g_subprocess_launcher_unsetenv (launcher, "WATCHDOG_PID");
  for (guint i = 0; daemon->env != NULL && daemon->env[i] != NULL; i++) {
    g_auto (GStrv) pair = g_strsplit (daemon->env[i], "=", 2);

    g_subprocess_launcher_setenv (launcher, pair[0], pair[1] != NULL ? pair[1] : "", TRUE);
  }
  g_subprocess_launcher_set_stderr_file_path (launcher, daemon->log_path);
  g_subprocess_launcher_set_stdout_file_path (launcher, "/dev/null");
  g_ptr_array_add (argv, (gpointer) da_test_daemon_binary ());
  if (daemon->no_local) {
    g_ptr_array_add (argv, (gpointer) "--socket");
    g_ptr_array_add (argv, daemon->socket_path);
    g_ptr_array_add (argv, (gpointer) "--ro-socket");
    g_ptr_array_add (argv, daemon->ro_socket_path);
    g_ptr_array_add (argv, (gpointer) "--state-dir");
    g_ptr_array_add (argv, daemon->state_dir);
  } else {
    g_ptr_array_add (argv, (gpointer) "--local");
    g_ptr_array_add (argv, daemon->dir);
  }
  g_ptr_array_add (argv, (gpointer) "--config");
  g_ptr_array_add (argv, daemon->config_path);
  if (!daemon->quiet)
    g_ptr_array_add (argv, (gpointer) "--verbose");
  for (guint i = 0; daemon->extra_args != NULL && daemon->extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, daemon->extra_args[i]);
  g_ptr_array_add (argv, NULL);
  g_clear_object (&daemon->process);
  /* what an earlier daemon said is not this one's READY */
  da_test_daemon_ready_sent (daemon);
  daemon->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  return daemon->process != NULL;
}

int
da_test_daemon_stop (DaTestDaemon *daemon)
{
  if (daemon->process == NULL)
    return 0;
  g_subprocess_send_signal (daemon->process, SIGTERM);
  return da_test_daemon_wait (daemon);
}

void
da_test_daemon_kill (DaTestDaemon *daemon)
{
  if (daemon->process == NULL)
    return;
  g_subprocess_force_exit (daemon->process);
  g_subprocess_wait (daemon->process, NULL, NULL);
  g_clear_object (&daemon->process);
}

gboolean
da_test_daemon_restart (DaTestDaemon *daemon, GError **error)
{
  da_test_daemon_stop (daemon);
  return da_test_daemon_start (daemon, error);
}

static int
remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

void
da_test_rm_rf (const char *path)
{
  nftw (path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
da_test_daemon_free (DaTestDaemon *daemon)
{
  if (daemon == NULL)
    return;
  da_test_daemon_kill (daemon);
  g_clear_object (&daemon->notify);
  if (g_getenv ("DA_TEST_KEEP") == NULL)
    da_test_rm_rf (daemon->dir);
  g_free (daemon->dir);
  g_free (daemon->socket_path);
  g_free (daemon->ro_socket_path);
  g_free (daemon->state_dir);
  g_free (daemon->log_path);
  g_free (daemon->config_path);
  g_free (daemon->config_text);
  g_free (daemon->notify_path);
  g_strfreev (daemon->extra_args);
  g_ptr_array_unref (daemon->notify_messages);
  g_strfreev (daemon->env);
  g_free (daemon);
}

/* ------------------------------------------------------------------ */

DaTestClient *
da_test_client_connect (const char *path, GError **error)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  DaTestClient *client;

  if (socket == NULL || !g_socket_connect (socket, address, NULL, error))
    return NULL;
  client = g_new0 (DaTestClient, 1);
  client->socket = g_steal_pointer (&socket);
  client->in = g_string_new (NULL);
  client->next_id = 1;
  return client;
}

void
da_test_client_free (DaTestClient *client)
{
  if (client == NULL)
    return;
  g_socket_close (client->socket, NULL);
  g_object_unref (client->socket);
  g_string_free (client->in, TRUE);
  g_free (client);
}

gboolean
da_test_client_send (DaTestClient *client, const void *data, gsize len)
{
  const char *p = data;

  while (len > 0) {
    gssize n = g_socket_send (client->socket, p, len, NULL, NULL);

    if (n <= 0)
      return FALSE;
    p += n;
    len -= (gsize) n;
  }
  return TRUE;
}

char *
da_test_client_read_line (DaTestClient *client, int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    char *nl = memchr (client->in->str, '\n', client->in->len);
    struct pollfd pfd = { g_socket_get_fd (client->socket), POLLIN, 0 };
    char buf[65536];
    gint64 left;
    gssize n;

    if (nl != NULL) {
      char *line = g_strndup (client->in->str, (gsize) (nl - client->in->str));

      g_string_erase (client->in, 0, nl - client->in->str + 1);
      return line;
    }
    left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
      return NULL;
    n = g_socket_receive (client->socket, buf, sizeof buf, NULL, NULL);
    if (n <= 0)
      return NULL;
    g_string_append_len (client->in, buf, n);
  }
}

JsonNode *
da_test_client_request (DaTestClient *client, const char *method, const char *params_json)
{
  g_autofree char *frame = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"method\":\"%s\"%s%s}\n",
                                            client->next_id++, method, params_json != NULL ? ",\"params\":" : "",
                                            params_json != NULL ? params_json : "");
  g_autofree char *line = NULL;

  if (!da_test_client_send (client, frame, strlen (frame)))
    return NULL;
  line = da_test_client_read_line (client, 30000);
  if (line == NULL)
    return NULL;
  /* a reply may list more values than a request may hold (vm.get of a
   * large vm); the depth limit stays */
  {
    DaJsonLimits limits = { DA_LIMIT_DEPTH_MAX, G_MAXSIZE };

    return da_json_parse (line, strlen (line), &limits, NULL, NULL);
  }
}

JsonNode *
da_test_client_call_ok (DaTestClient *client, const char *method, const char *params_json)
{
  g_autoptr (JsonNode) response = da_test_client_request (client, method, params_json);
  JsonObject *obj;

  if (response == NULL || !JSON_NODE_HOLDS_OBJECT (response))
    g_error ("%s %s: no response", method, params_json != NULL ? params_json : "");
  obj = json_node_get_object (response);
  if (!json_object_has_member (obj, "result")) {
    g_autofree char *text = da_json_to_string (response);

    g_error ("%s %s: %s", method, params_json != NULL ? params_json : "", text);
  }
  return json_node_copy (json_object_get_member (obj, "result"));
}

JsonObject *
da_test_client_call_error (DaTestClient *client, const char *method, const char *params_json)
{
  g_autoptr (JsonNode) response = da_test_client_request (client, method, params_json);
  JsonObject *obj;

  if (response == NULL || !JSON_NODE_HOLDS_OBJECT (response))
    g_error ("%s %s: no response", method, params_json != NULL ? params_json : "");
  obj = json_node_get_object (response);
  if (!json_object_has_member (obj, "error")) {
    g_autofree char *text = da_json_to_string (response);

    g_error ("%s %s: expected an error, got %s", method, params_json != NULL ? params_json : "", text);
  }
  return json_object_ref (json_object_get_object_member (obj, "error"));
}

const char *
da_test_error_reason (JsonObject *error)
{
  JsonObject *data = json_object_has_member (error, "data") ? json_object_get_object_member (error, "data") : NULL;

  return data != NULL && json_object_has_member (data, "reason") ? json_object_get_string_member (data, "reason") : "";
}
