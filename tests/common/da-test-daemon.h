/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A real devaddrd for tests: its own temporary directory, started from the
 * build tree, ready when it says READY=1 on the NOTIFY_SOCKET we give it
 * (no polling for the socket file, no sleeps).
 */
typedef struct {
  char *dir;
  char *socket_path;
  char *ro_socket_path;
  char *state_dir;
  char *log_path;
  char *config_path;
  char *config_text; /* what config_path holds; see da_test_daemon_set_config() */
  char **extra_args;
  GSubprocess *process;
  char *notify_path;
  GSocket *notify;
  /* every sd_notify message of the running daemon, oldest first */
  GPtrArray *notify_messages;
  guint notify_cursor;       /* da_test_daemon_wait_notify() looks from here */
  char **env;                /* see da_test_daemon_setenv() */
  /* set before starting: give --socket, --ro-socket and --state-dir instead
   * of --local (the config must then name the catalog) */
  gboolean no_local;
  /* set before starting: without --verbose, as a production daemon runs */
  gboolean quiet;
} DaTestDaemon;

DaTestDaemon *da_test_daemon_new (const char *const *extra_args);
/* the devaddrd.conf the daemon starts with; by default it names the
 * caller's primary group as [daemon] group, so that tests may change
 * reservations without being root, and text that names no group of its
 * own keeps that group */
void da_test_daemon_set_config (DaTestDaemon *daemon, const char *text);
gboolean da_test_daemon_start (DaTestDaemon *daemon, GError **error);
/* the two halves of da_test_daemon_start(): run the daemon, and wait until
 * it says READY=1 (an error when it exits first) */
gboolean da_test_daemon_spawn (DaTestDaemon *daemon, GError **error);
gboolean da_test_daemon_wait_ready (DaTestDaemon *daemon, GError **error);
/* whether READY=1 has arrived since the spawn, without waiting */
gboolean da_test_daemon_ready_sent (DaTestDaemon *daemon);
/* SIGTERM and wait; returns the exit status (-1 when killed by a signal) */
int da_test_daemon_stop (DaTestDaemon *daemon);
/* SIGKILL and reap: a crash */
void da_test_daemon_kill (DaTestDaemon *daemon);
gboolean da_test_daemon_restart (DaTestDaemon *daemon, GError **error);
/* an environment variable for the daemon (from the next start on) */
void da_test_daemon_setenv (DaTestDaemon *daemon, const char *name, const char *value);
void da_test_daemon_send_signal (DaTestDaemon *daemon, int signum);
/* wait for the daemon to exit by itself; the exit status as for stop() */
int da_test_daemon_wait (DaTestDaemon *daemon);
/* the next sd_notify message, after the one this returned last, that has a
 * line starting with prefix ("STOPPING=1", "STATUS="); the whole message,
 * or NULL when none came within timeout_ms.  Messages are kept from the
 * start of the daemon on, so one sent before the call is found too. */
char *da_test_daemon_wait_notify (DaTestDaemon *daemon, const char *prefix, int timeout_ms);
/* whether a message (of the lines of one notify message) has a line that
 * starts with prefix; the rest of that line in *value when found */
gboolean da_test_notify_has (const char *message, const char *prefix, char **value);
/* the daemon's log, for failure messages */
char *da_test_daemon_log (DaTestDaemon *daemon);
void da_test_daemon_free (DaTestDaemon *daemon);
/* the devaddrd binary of the build tree */
const char *da_test_daemon_binary (void);

/* a raw newline-delimited client */
typedef struct {
  GSocket *socket;
  GString *in;
  gint64 next_id;
} DaTestClient;

DaTestClient *da_test_client_connect (const char *path, GError **error);
void da_test_client_free (DaTestClient *client);
gboolean da_test_client_send (DaTestClient *client, const void *data, gsize len);
/* the next line the daemon sends, waiting at most timeout_ms; NULL on EOF
 * or timeout */
char *da_test_client_read_line (DaTestClient *client, int timeout_ms);
/* one request; the parsed response (an object with result or error) */
JsonNode *da_test_client_request (DaTestClient *client, const char *method, const char *params_json);
/* the result of a request that must succeed / the error object of one that must fail */
JsonNode *da_test_client_call_ok (DaTestClient *client, const char *method, const char *params_json);
JsonObject *da_test_client_call_error (DaTestClient *client, const char *method, const char *params_json);
const char *da_test_error_reason (JsonObject *error);

/* the tmp dir removed with everything in it */
void da_test_rm_rf (const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaTestDaemon, da_test_daemon_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaTestClient, da_test_client_free)

G_END_DECLS
