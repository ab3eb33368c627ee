/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/da-notify.h"

/* the longest a needed message may hold the sender up */
#define NEEDED_TIMEOUT_USEC G_USEC_PER_SEC

typedef struct {
  int fd;
  struct sockaddr_un addr;
  socklen_t addr_len;
} NotifyTarget;

static gint n_dropped;

/* $NOTIFY_SOCKET, once: a path or an abstract name (a leading '@'); NULL
 * when there is none or it cannot be used */
static NotifyTarget *
notify_target (void)
{
  static gsize once;
  static NotifyTarget target;
  static gboolean usable;

  if (g_once_init_enter (&once)) {
    const char *name = g_getenv ("NOTIFY_SOCKET");
    gsize len = name != NULL ? strlen (name) : 0;
    struct timeval timeout = { NEEDED_TIMEOUT_USEC / G_USEC_PER_SEC, NEEDED_TIMEOUT_USEC % G_USEC_PER_SEC };

    if (len >= 2 && len < sizeof target.addr.sun_path && (name[0] == '/' || name[0] == '@')) {
      target.addr.sun_family = AF_UNIX;
      memcpy (target.addr.sun_path, name, len);
      if (name[0] == '@')
        target.addr.sun_path[0] = '\0';
      /* an abstract name is exactly its length; a path ends with its NUL */
      target.addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len + (name[0] == '/'));
      target.fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      usable = target.fd >= 0
               && setsockopt (target.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) == 0;
      if (!usable && target.fd >= 0)
        close (target.fd);
    } else if (name != NULL) {
      g_warning ("NOTIFY_SOCKET=%s is not a socket path or abstract name; not notifying", name);
    }
    g_once_init_leave (&once, 1);
  }
  return usable ? &target : NULL;
}

/**
 * da_notify:
 * @kind: whether the message may be dropped when the manager is not reading
 * @format: the message (NAME=value lines), printf-style
 *
 * Sends a notification to the service manager, if there is one.  Safe to
 * call from any thread.
 */
void
da_notify (DaNotifyKind kind, const char *format, ...)
{
  NotifyTarget *target = notify_target ();
  g_autofree char *text = NULL;
  va_list args;
  ssize_t n;

  if (target == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  do {
    n = sendto (target->fd, text, strlen (text), MSG_NOSIGNAL | (kind == DA_NOTIFY_DROPPABLE ? MSG_DONTWAIT : 0),
                (struct sockaddr *) &target->addr, target->addr_len);
  } while (n < 0 && errno == EINTR);
  if (n >= 0)
    return;
  if (kind == DA_NOTIFY_DROPPABLE && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    g_atomic_int_inc (&n_dropped);
    return;
  }
  g_debug ("notify \"%s\": %s", text, g_strerror (errno));
}

guint
da_notify_get_n_dropped (void)
{
  return (guint) g_atomic_int_get (&n_dropped);
}
