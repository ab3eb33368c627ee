/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/bench-util.h"

static int
cmp_gint64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

gint64
bench_percentile (gint64 *samples, gsize n, double p)
{
  if (n == 0)
    return 0;
  qsort (samples, n, sizeof *samples, cmp_gint64);
  return samples[MIN (n - 1, (gsize) (p * (double) n))];
}

int
bench_connect_unix (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
    int saved = errno;

    close (fd);
    errno = saved;
    return -1;
  }
  return fd;
}

double
bench_fdatasync_rate (const char *dir, double seconds)
{
  return bench_fdatasync_rate_full (dir, seconds, 0);
}

double
bench_fdatasync_rate_full (const char *dir, double seconds, gsize zeros_ahead)
{
  g_autofree char *path = g_build_filename (dir, "sync-probe", NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  char block[64] = { 0 };
  gint64 t0, deadline;
  guint n = 0;

  if (fd < 0)
    g_error ("sync probe %s: %s", path, g_strerror (errno));
  if (zeros_ahead > 0) {
    g_autofree char *zeros = g_malloc0 (zeros_ahead);

    if (write (fd, zeros, zeros_ahead) != (ssize_t) zeros_ahead || fsync (fd) != 0
        || lseek (fd, 0, SEEK_SET) != 0)
      g_error ("sync probe: %s", g_strerror (errno));
  }
  t0 = g_get_monotonic_time ();
  deadline = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline) {
    if (write (fd, block, sizeof block) != sizeof block || fdatasync (fd) != 0)
      g_error ("sync probe: %s", g_strerror (errno));
    n++;
  }
  close (fd);
  unlink (path);
  return n / ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC);
}

guint64
bench_status_kb (GPid pid, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL) || (line = strstr (text, field)) == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen (field), NULL, 10);
}

GPid
bench_peer_pid (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return 0;
  return (GPid) cred.pid;
}
