/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * sd_notify(3) messages to the service manager ($NOTIFY_SOCKET) that never
 * hold the daemon up for long.  sd_notify() sends with a blocking sendmsg:
 * a manager (or a test harness) that does not read its datagram socket
 * stops the daemon for good once the socket's queue is full (ten datagrams
 * by default, net.unix.max_dgram_qlen).  Here a status update is dropped
 * when the queue is full, and any other message waits at most a second.
 */
typedef enum {
  DA_NOTIFY_DROPPABLE, /* STATUS= alone: the next one says it again */
  DA_NOTIFY_NEEDED,    /* READY=, STOPPING=, RELOADING=, WATCHDOG=, ... */
} DaNotifyKind;

void da_notify (DaNotifyKind kind, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* how many droppable messages were dropped so far */
guint da_notify_get_n_dropped (void);

G_END_DECLS
