/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/da-config.h"
#include "daemon/da-daemon.h"

#define DEFAULT_CONFIG "/etc/devaddr/devaddrd.conf"

typedef struct {
  GMainLoop *loop;
  DaDaemon *daemon;
  const char *config_path;
  gboolean config_required;
} Run;

static gboolean
on_term (gpointer user_data)
{
  Run *run = user_data;

  g_info ("stopping");
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hup (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;

  /* a failure is logged and leaves the running configuration */
  da_daemon_reload (run->daemon, run->config_path, run->config_required, &error);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_idle_exit (gpointer user_data)
{
  Run *run = user_data;

  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *socket_path = NULL;
  g_autofree char *ro_socket_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *local_dir = NULL;
  gint timeout = -1;
  gboolean verbose = FALSE, version = FALSE, accept_data_loss = FALSE;
  const GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, "read-write socket (default /run/devaddr/devaddrd.sock)", "PATH" },
    { "ro-socket", 0, 0, G_OPTION_ARG_FILENAME, &ro_socket_path, "read-only socket (default /run/devaddr/devaddrd-ro.sock)", "PATH" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "state directory (default /var/lib/devaddr)", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path, "configuration file (default " DEFAULT_CONFIG ")", "FILE" },
    { "local", 0, 0, G_OPTION_ARG_FILENAME, &local_dir, "keep sockets and state under DIR and use the source tree's catalog", "DIR" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "exit after SECONDS idle when socket-activated (0: never)", "SECONDS" },
    { "accept-data-loss", 0, 0, G_OPTION_ARG_NONE, &accept_data_loss, "start from a damaged snapshot with what can be read", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- device-address allocation daemon");
  g_autoptr (GError) error = NULL;
  g_autoptr (DaConfig) config = da_config_new_default ();
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (DaDaemon) daemon = NULL;
  Run run = { 0 };

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("devaddrd: %s\n", error->message);
    return 1;
  }
  if (version) {
    printf ("devaddrd %s (protocol %d)\n", PACKAGE_VERSION, DA_PROTOCOL_VERSION);
    return 0;
  }
  /* messages of every level go to stderr, where the test harness, make run
   * and a terminal see them; under systemd stderr is the journal stream and
   * GLib writes to the journal with the structured fields instead */
  if (!g_log_writer_is_journald (fileno (stderr)))
    g_log_writer_default_set_use_stderr (TRUE);
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  /* the file, then the command line */
  if (!da_config_load (config, config_path != NULL ? config_path : DEFAULT_CONFIG, config_path != NULL, &error)) {
    g_printerr ("devaddrd: %s\n", error->message);
    return 1;
  }
  if (local_dir != NULL)
    da_config_set_local (config, local_dir);
  if (socket_path != NULL)
    g_free (config->socket_path), config->socket_path = g_steal_pointer (&socket_path);
  if (ro_socket_path != NULL)
    g_free (config->ro_socket_path), config->ro_socket_path = g_steal_pointer (&ro_socket_path);
  if (state_dir != NULL)
    g_free (config->state_dir), config->state_dir = g_steal_pointer (&state_dir);
  if (timeout >= 0)
    config->idle_timeout_s = (guint) timeout;
  if (accept_data_loss)
    config->accept_data_loss = TRUE;

  daemon = da_daemon_new (config, &error);
  loop = g_main_loop_new (NULL, FALSE);
  run = (Run) { loop, daemon, config_path != NULL ? config_path : DEFAULT_CONFIG, config_path != NULL };
  da_daemon_set_quit_func (daemon, on_idle_exit, &run);
  if (!da_daemon_start (daemon, &error)) {
    g_printerr ("devaddrd: %s\n", error->message);
    return 1;
  }
  g_unix_signal_add (SIGTERM, on_term, &run);
  g_unix_signal_add (SIGINT, on_term, &run);
  g_unix_signal_add (SIGHUP, on_hup, &run);
  g_main_loop_run (loop);
  da_daemon_stop (daemon);
  return 0;
}
