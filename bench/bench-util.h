/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what the daemon benchmarks and the load generator share */

/* the p-th quantile (0..1) of n samples; sorts them */
gint64 bench_percentile (gint64 *samples, gsize n, double p);
/* a connected Unix stream socket, or -1 with errno set */
int bench_connect_unix (const char *path);
/* write 64 bytes + fdatasync in a loop for that long in dir: syncs per second */
double bench_fdatasync_rate (const char *dir, double seconds);
/* the same, writing over zeros_ahead bytes of zeros written and synced
 * first (as devaddrd's journal-preallocate does), so that no sync grows
 * the file */
double bench_fdatasync_rate_full (const char *dir, double seconds, gsize zeros_ahead);
/* a /proc/PID/status field in kB ("VmRSS:", "VmHWM:"); 0 when unreadable */
guint64 bench_status_kb (GPid pid, const char *field);
/* the pid of the peer of a connected Unix socket (SO_PEERCRED); 0 if unknown */
GPid bench_peer_pid (int fd);

G_END_DECLS
