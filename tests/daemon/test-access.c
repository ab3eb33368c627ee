/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* access control, driven as root and as unprivileged users the test
 * creates: the read-write socket's mode keeps strangers out, the daemon
 * checks the peer's credentials (SO_PEERCRED, SO_PEERGROUPS) itself, and
 * the read-only socket answers every mutation with "read-only" */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define GROUP "devaddr-test"
#define MEMBER "da-test-member"
#define OUTSIDER "da-test-outsider"

static gboolean
run_quiet (const char *cmd)
{
  int status = system (cmd);

  return status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
ensure_accounts (void)
{
  if (getgrnam (GROUP) == NULL)
    ck_assert (run_quiet ("groupadd --system " GROUP));
  if (getpwnam (MEMBER) == NULL)
    ck_assert (run_quiet ("useradd --system --no-create-home --shell /usr/sbin/nologin -G " GROUP " " MEMBER));
  if (getpwnam (OUTSIDER) == NULL)
    ck_assert (run_quiet ("useradd --system --no-create-home --shell /usr/sbin/nologin " OUTSIDER));
}

/* one request as user, from a child that dropped to that user's ids;
 * returns the reply line, or "connect: <error>" */
static char *
request_as (const char *user, const char *path, const char *request)
{
  struct passwd *pw = getpwnam (user);
  int fds[2];
  pid_t pid;
  GString *out = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  int status;

  ck_assert (pw != NULL);
  ck_assert (pipe (fds) == 0);
  pid = fork ();
  ck_assert (pid >= 0);
  if (pid == 0) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;
    const char *p;

    close (fds[0]);
    if (initgroups (user, pw->pw_gid) != 0 || setgid (pw->pw_gid) != 0 || setuid (pw->pw_uid) != 0)
      _exit (2);
    fd = socket (AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
      dprintf (fds[1], "connect: %s", g_strerror (errno));
      _exit (0);
    }
    if (write (fd, request, strlen (request)) < 0 || write (fd, "\n", 1) < 0)
      _exit (3);
    /* the reply is one line */
    for (p = NULL; p == NULL && (n = read (fd, buf, sizeof buf)) > 0;) {
      if (write (fds[1], buf, (size_t) n) < 0)
        _exit (4);
      p = memchr (buf, '\n', (size_t) n);
    }
    _exit (0);
  }
  close (fds[1]);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (fds[0]);
  ck_assert (waitpid (pid, &status, 0) == pid);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "child for %s failed", user);
  return g_string_free (out, FALSE);
}

static void
assert_reply (const char *user, const char *path, const char *request, const char *expect)
{
  g_autofree char *reply = request_as (user, path, request);

  ck_assert_msg (strstr (reply, expect) != NULL, "%s %s: expected %s in %s", user, request, expect, reply);
}

START_TEST (test_access_control)
{
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) root = NULL;
  g_autoptr (JsonNode) created = NULL;
  struct stat st;
#define RESERVE(alias) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"addr.reserve\",\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"" alias "\"}}"
  const char *by_member = RESERVE ("member");
  const char *by_outsider = RESERVE ("outsider");
  const char *read = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"vm.list\"}";
  const char *remove = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"vm.delete\",\"params\":{\"vm\":\"vm1\"}}";

  if (geteuid () != 0) {
    g_print ("not root: cannot create users\n");
    return;
  }
  ensure_accounts ();
  devaddrd = da_test_daemon_new (NULL);
  da_test_daemon_set_config (devaddrd, "[daemon]\ngroup=" GROUP "\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  /* others must reach the sockets; the state directory stays 0700 */
  ck_assert (chmod (devaddrd->dir, 0755) == 0);
  ck_assert (stat (devaddrd->socket_path, &st) == 0);
  ck_assert_uint_eq (st.st_mode & 0777, 0660);
  ck_assert_uint_eq (st.st_gid, getgrnam (GROUP)->gr_gid);
  ck_assert (stat (devaddrd->ro_socket_path, &st) == 0);
  ck_assert_uint_eq (st.st_mode & 0777, 0666);
  ck_assert (stat (devaddrd->state_dir, &st) == 0);
  ck_assert_uint_eq (st.st_mode & 0777, 0700);

  /* root may do anything on the read-write socket */
  root = da_test_client_connect (devaddrd->socket_path, &error);
  created = da_test_client_call_ok (root, "vm.create", "{\"vm\":\"vm1\"}");
  /* a member of the group may change reservations */
  assert_reply (MEMBER, devaddrd->socket_path, by_member, "\"result\"");
  /* an outsider does not get in at all */
  assert_reply (OUTSIDER, devaddrd->socket_path, read, "connect: Permission denied");
  /* on the read-only socket everybody reads and nobody writes, not root either */
  assert_reply (OUTSIDER, devaddrd->ro_socket_path, read, "\"vm1\"");
  assert_reply (OUTSIDER, devaddrd->ro_socket_path, by_outsider, "\"read-only\"");
  assert_reply (MEMBER, devaddrd->ro_socket_path, remove, "\"read-only\"");
  assert_reply ("root", devaddrd->ro_socket_path, remove, "\"read-only\"");
  /* the daemon does not rely on the socket mode alone */
  ck_assert (chmod (devaddrd->socket_path, 0666) == 0);
  assert_reply (OUTSIDER, devaddrd->socket_path, by_outsider, "\"permission-denied\"");
  assert_reply (OUTSIDER, devaddrd->socket_path, read, "\"vm1\"");
  /* nothing the refused calls asked for happened */
  {
    g_autoptr (JsonObject) missing = da_test_client_call_error (root, "addr.lookup", "{\"scope\":\"host\",\"alias\":\"outsider\"}");
    g_autoptr (JsonNode) present = da_test_client_call_ok (root, "addr.lookup", "{\"scope\":\"host\",\"alias\":\"member\"}");
    g_autoptr (JsonNode) vm = da_test_client_call_ok (root, "vm.get", "{\"vm\":\"vm1\"}");

    ck_assert_str_eq (da_test_error_reason (missing), "not-found");
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("access");
  TCase *tc = tcase_create ("access");
  int status;

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_access_control);
  suite_add_tcase (s, tc);
  status = da_test_run_suite (s);
  if (geteuid () != 0)
    return 77;
  return status;
}
