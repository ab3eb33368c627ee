/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* what devaddrd tells systemd on its NOTIFY_SOCKET (READY, STATUS,
 * WATCHDOG, STOPPING) and what it logs on stderr */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define WAIT_MS 15000

static DaTestDaemon *
start (const char *watchdog_usec)
{
  g_autoptr (GError) error = NULL;
  DaTestDaemon *devaddrd = da_test_daemon_new (NULL);

  if (watchdog_usec != NULL)
    da_test_daemon_setenv (devaddrd, "WATCHDOG_USEC", watchdog_usec);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  return devaddrd;
}

/* the next STATUS= that says exactly want, within WAIT_MS */
static gboolean
wait_status (DaTestDaemon *devaddrd, const char *want, GString *seen)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  for (;;) {
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    g_autofree char *message = left > 0 ? da_test_daemon_wait_notify (devaddrd, "STATUS=", (int) left) : NULL;
    g_autofree char *status = NULL;

    if (message == NULL)
      return FALSE;
    ck_assert (da_test_notify_has (message, "STATUS=", &status));
    g_string_append_printf (seen, " [%s]", status);
    if (strcmp (status, want) == 0)
      return TRUE;
  }
}

static guint
count_messages (DaTestDaemon *devaddrd, const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < devaddrd->notify_messages->len; i++)
    n += da_test_notify_has (g_ptr_array_index (devaddrd->notify_messages, i), prefix, NULL);
  return n;
}

/* READY=1 comes with the state's size, STATUS= follows changes, STOPPING=1
 * comes on SIGTERM once the sockets are closed, and the exit is clean */
START_TEST (test_ready_status_stopping)
{
  g_autoptr (DaTestDaemon) devaddrd = start (NULL);
  g_autoptr (DaTestClient) client = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (GString) seen = g_string_new (NULL);
  g_autofree char *ready_status = NULL;
  g_autofree char *stopping = NULL;
  g_autofree char *stopping_status = NULL;
  const char *ready;

  ck_assert_uint_ge (devaddrd->notify_messages->len, 1);
  ready = g_ptr_array_index (devaddrd->notify_messages, devaddrd->notify_cursor - 1);
  ck_assert (da_test_notify_has (ready, "READY=1", NULL));
  ck_assert (da_test_notify_has (ready, "STATUS=", &ready_status));
  ck_assert_str_eq (ready_status, "serving 0 vms, 0 reservations");

  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) net = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
    g_autoptr (JsonNode) mac = da_test_client_call_ok (client, "addr.reserve", "{\"scope\":\"host\",\"type\":\"mac\",\"alias\":\"m\"}");
  }
  /* the pc template's 6, net0 and the host's mac */
  ck_assert_msg (wait_status (devaddrd, "serving 1 vms, 8 reservations", seen), "STATUS= said%s", seen->str);

  da_test_daemon_send_signal (devaddrd, SIGTERM);
  stopping = da_test_daemon_wait_notify (devaddrd, "STOPPING=1", WAIT_MS);
  ck_assert_msg (stopping != NULL, "no STOPPING=1 after SIGTERM");
  ck_assert (da_test_notify_has (stopping, "STATUS=finishing ", NULL));
  /* STOPPING=1 is sent once the sockets are closed */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DaTestClient) late = da_test_client_connect (devaddrd->socket_path, &error);

    ck_assert_msg (late == NULL, "a connection was accepted after STOPPING=1");
  }
  ck_assert_int_eq (da_test_daemon_wait (devaddrd), 0);
  ck_assert_uint_eq (count_messages (devaddrd, "READY=1"), 1);
  ck_assert_uint_eq (count_messages (devaddrd, "STOPPING=1"), 1);
  /* nobody asked for a watchdog */
  ck_assert_uint_eq (count_messages (devaddrd, "WATCHDOG=1"), 0);
}
END_TEST

/* WATCHDOG_USEC set: WATCHDOG=1 again and again, at least twice per period */
START_TEST (test_watchdog)
{
  g_autoptr (DaTestDaemon) devaddrd = start ("200000");
  gint64 first = 0, last = 0;

  for (guint i = 0; i < 6; i++) {
    g_autofree char *ping = da_test_daemon_wait_notify (devaddrd, "WATCHDOG=1", WAIT_MS);

    ck_assert_msg (ping != NULL, "WATCHDOG=1 number %u did not come", i + 1);
    last = g_get_monotonic_time ();
    if (i == 0)
      first = last;
  }
  /* five more periods of 100 ms; a safety bound, far above them */
  ck_assert_int_lt (last - first, 10 * G_USEC_PER_SEC);
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
}
END_TEST

/* datagrams into the notify socket, as if from the daemon, until its queue
 * is full: a manager that has stopped reading */
static guint
fill_notify_queue (DaTestDaemon *devaddrd)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  guint n = 0;

  g_strlcpy (addr.sun_path, devaddrd->notify_path, sizeof addr.sun_path);
  while (sendto (fd, "X_FILLER=1", 10, MSG_DONTWAIT, (struct sockaddr *) &addr, sizeof addr) == 10)
    n++;
  ck_assert_msg (errno == EAGAIN || errno == EWOULDBLOCK, "filling the notify socket: %s", g_strerror (errno));
  close (fd);
  return n;
}

/* a manager that does not read its notify socket does not stop the daemon:
 * a status update that finds the queue full is dropped, and STOPPING=1
 * waits only a moment */
START_TEST (test_manager_not_reading)
{
  g_autoptr (DaTestDaemon) devaddrd = start (NULL);
  g_autoptr (DaTestClient) client = da_test_client_connect (devaddrd->socket_path, NULL);
  gint64 window_end, worst = 0, t0;
  guint n = 0, filled;

  filled = fill_notify_queue (devaddrd);
  ck_assert_uint_gt (filled, 0);
  /* changes for longer than STATUS= takes to follow them (a second): each
   * answer must come at once, also after the update found the queue full */
  window_end = g_get_monotonic_time () + 2500 * 1000;
  while (g_get_monotonic_time () < window_end) {
    g_autofree char *alias = g_strdup_printf ("a%u", n++);
    g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s\"}", alias);
    g_autoptr (JsonNode) reply = NULL;

    t0 = g_get_monotonic_time ();
    reply = da_test_client_call_ok (client, "addr.reserve", params);
    worst = MAX (worst, g_get_monotonic_time () - t0);
  }
  /* a safety bound: a daemon stuck on the socket never answers at all */
  ck_assert_msg (worst < 2 * G_USEC_PER_SEC, "an answer took %" G_GINT64_FORMAT " us", worst);
  {
    g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

    ck_assert_int_eq (json_object_get_int_member (json_node_get_object (info), "reservations"), n);
  }
  /* still not reading: SIGTERM ends the daemon cleanly all the same */
  da_test_daemon_send_signal (devaddrd, SIGTERM);
  ck_assert_int_eq (da_test_daemon_wait (devaddrd), 0);
}
END_TEST

/* --verbose messages of the daemon reach stderr (the harness's log), with
 * the daemon's log domain */
START_TEST (test_log_to_stderr)
{
  g_autoptr (DaTestDaemon) devaddrd = start (NULL);
  g_autoptr (DaTestClient) client = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);
  g_autofree char *log = da_test_daemon_log (devaddrd);
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);
  gboolean info_line = FALSE, debug_line = FALSE;

  for (guint i = 0; lines[i] != NULL; i++) {
    /* "devaddrd-INFO: 12:00:00.000: listening on ...", "(devaddrd:42):
     * devaddrd-DEBUG: 12:00:00.000: connection from ..." */
    if (strstr (lines[i], "devaddrd-INFO: ") != NULL && strstr (lines[i], ": listening on ") != NULL
        && strstr (lines[i], devaddrd->socket_path) != NULL)
      info_line = TRUE;
    if (strstr (lines[i], "devaddrd-DEBUG: ") != NULL && strstr (lines[i], ": connection from uid ") != NULL)
      debug_line = TRUE;
  }
  ck_assert_msg (info_line, "no INFO line of the daemon's domain in its stderr:\n%s", log);
  ck_assert_msg (debug_line, "no DEBUG line of the daemon's domain in its stderr:\n%s", log);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("notify");
  TCase *tc = tcase_create ("notify");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_ready_status_stopping);
  tcase_add_test (tc, test_watchdog);
  tcase_add_test (tc, test_log_to_stderr);
  tcase_add_test (tc, test_manager_not_reading);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
