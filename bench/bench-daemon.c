/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devaddrd benchmarks, each against a baseline measured in the same run:
 *  1. addr.lookup round trips (p50, p99) vs a plain line echo over the same
 *     kind of Unix socket;
 *  2. durable addr.reserve throughput with 1, 8 and 64 concurrent clients
 *     vs the fdatasync rate of the same state directory, and reservations
 *     per sync;
 *  3. restart with 1,000,000 reservations over 10,000 VMs: time until the
 *     daemon serves, and its RSS.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/alloc/da-engine.h"
#include "daemon/da-record.h"
#include "daemon/store/da-store.h"
#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "bench/bench-util.h"

/* connect or give up: a benchmark without its daemon has nothing to measure */
static int
bench_connect_unix_or_die (const char *path)
{
  int fd = bench_connect_unix (path);

  if (fd < 0)
    g_error ("connect %s: %s", path, g_strerror (errno));
  return fd;
}

/* ---- 1. lookup latency vs echo ---- */

/* a blocking echo of one connection accepted on listener */
static void
echo_one (int listener)
{
  int fd = accept (listener, NULL, NULL);
  char buf[65536];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (write (fd, buf, (size_t) n) != n)
      break;
  close (fd);
}

/* the same echo from a GLib main loop in a process of its own, as the
 * daemon answers: what any main-loop daemon pays before doing any work */
static gboolean
loop_echo_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  char buf[65536];
  gssize n = g_socket_receive_with_blocking (socket, buf, sizeof buf, FALSE, NULL, NULL);

  if (n <= 0 || g_socket_send_with_blocking (socket, buf, (gsize) n, TRUE, NULL, NULL) != n) {
    g_main_loop_quit (user_data);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* `bench-daemon loop-echo`: serve one connection on the listening fd 3 */
static int
run_loop_echo (void)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GSocket) socket = g_socket_new_from_fd (accept (3, NULL, NULL), NULL);
  g_autoptr (GSource) source = NULL;

  if (socket == NULL)
    return 1;
  g_socket_set_blocking (socket, FALSE);
  source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) loop_echo_readable, loop, NULL);
  g_source_attach (source, NULL);
  g_main_loop_run (loop);
  return 0;
}

/* ---- echoes that sync: what a durable answer costs at least ---- */

/* the writer of a sync-echo-thread: one line at a time from the reader */
typedef struct {
  GMutex lock;
  GCond cond;
  int file;
  gboolean pending, done, stop;
  const char *line;
  gsize len;
} SyncWriter;

static gpointer
sync_writer_run (gpointer data)
{
  SyncWriter *w = data;

  g_mutex_lock (&w->lock);
  for (;;) {
    while (!w->pending && !w->stop)
      g_cond_wait (&w->cond, &w->lock);
    if (w->stop)
      break;
    if (write (w->file, w->line, w->len) != (ssize_t) w->len || fdatasync (w->file) != 0)
      g_error ("sync echo: %s", g_strerror (errno));
    w->pending = FALSE;
    w->done = TRUE;
    g_cond_broadcast (&w->cond);
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

/* `bench-daemon sync-echo DIR` and `sync-echo-thread DIR`: echo every
 * read once it is appended to a file in DIR and synced, by the reading
 * thread itself or, as devaddrd does, by a writer thread of its own */
static int
run_sync_echo (const char *dir, gboolean threaded)
{
  g_autofree char *path = g_build_filename (dir, threaded ? "sync-echo-thread" : "sync-echo", NULL);
  int fd = accept (3, NULL, NULL);
  char buf[65536];
  ssize_t n;
  SyncWriter w = { .file = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) };
  GThread *writer = NULL;

  if (fd < 0 || w.file < 0)
    return 1;
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  if (threaded)
    writer = g_thread_new ("writer", sync_writer_run, &w);
  while ((n = read (fd, buf, sizeof buf)) > 0) {
    if (threaded) {
      g_mutex_lock (&w.lock);
      w.line = buf;
      w.len = (gsize) n;
      w.pending = TRUE;
      w.done = FALSE;
      g_cond_broadcast (&w.cond);
      while (!w.done)
        g_cond_wait (&w.cond, &w.lock);
      g_mutex_unlock (&w.lock);
    } else if (write (w.file, buf, (size_t) n) != n || fdatasync (w.file) != 0) {
      g_error ("sync echo: %s", g_strerror (errno));
    }
    if (write (fd, buf, (size_t) n) != n)
      break;
  }
  if (writer != NULL) {
    g_mutex_lock (&w.lock);
    w.stop = TRUE;
    g_cond_broadcast (&w.cond);
    g_mutex_unlock (&w.lock);
    g_thread_join (writer);
  }
  close (fd);
  close (w.file);
  unlink (path);
  return 0;
}

/* this program again, as an echo ("loop-echo", "plain-echo", "sync-echo
 * DIR", "sync-echo-thread DIR") in a process of its own, on a socket
 * already listening */
static GSubprocess *
start_echo_process (int listener, const char *mode, const char *dir)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_take_fd (launcher, listener, 3);
  process = g_subprocess_launcher_spawn (launcher, &error, "/proc/self/exe", mode, dir, NULL);
  if (process == NULL)
    g_error ("%s: %s", mode, error->message);
  return process;
}

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* send one line, read one line back; nanoseconds */
static gint64
round_trip (int fd, const char *line, gsize len, char *buf, gsize size)
{
  gint64 t0 = now_ns ();
  gsize got = 0;

  if (write (fd, line, len) != (ssize_t) len)
    g_error ("write");
  for (;;) {
    ssize_t n = read (fd, buf + got, size - got);

    if (n <= 0)
      g_error ("read");
    got += (gsize) n;
    if (memchr (buf, '\n', got) != NULL)
      break;
  }
  return now_ns () - t0;
}

static int
listen_unix (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int listener = socket (AF_UNIX, SOCK_STREAM, 0);

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  if (bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (listener, 4) != 0)
    g_error ("listen %s: %s", path, g_strerror (errno));
  return listener;
}

/* the thread echo's task id, so that it can be placed on a CPU */
static volatile pid_t echo_thread_tid;

static gpointer
echo_server (gpointer data)
{
  echo_thread_tid = (pid_t) syscall (SYS_gettid);
  echo_one (GPOINTER_TO_INT (data));
  return NULL;
}

/* the round trips of one placement on CPUs, and what they say */
typedef struct {
  int fd[4];       /* process echo, thread echo, main-loop echo, devaddrd */
  pid_t task[4];   /* the task serving each */
} LookupRig;

static const char *const rig_names[4] = {
  "echo (a process)", "echo (a thread of this one)", "echo (a GLib main loop)", "addr.lookup",
};

/* task on cpu; cpu -1: on any of the first all_cpus */
static void
place (pid_t task, int cpu, int all_cpus)
{
  cpu_set_t set;

  CPU_ZERO (&set);
  for (int c = cpu < 0 ? 0 : cpu; c < (cpu < 0 ? all_cpus : cpu + 1); c++)
    CPU_SET (c, &set);
  if (sched_setaffinity (task, sizeof set, &set) != 0)
    g_error ("sched_setaffinity %d: %s", (int) task, g_strerror (errno));
}

/* the client on client_cpu, all four servers on server_cpu; -1: where
 * the scheduler puts them */
static void
measure_lookup (LookupRig *rig, const char *placement, int client_cpu, int server_cpu, int all_cpus)
{
  const guint n = 20000;
  const char *request = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"addr.lookup\",\"params\":{\"vm\":\"bench\",\"alias\":\"net0\"}}\n";
  gsize len = strlen (request);
  char buf[4096];
  gint64 *t[4];
  double p50[4], p99[4];

  for (guint k = 0; k < 4; k++) {
    t[k] = g_new (gint64, n);
    place (rig->task[k], server_cpu, all_cpus);
  }
  place (0, client_cpu, all_cpus);
  /* warm up all four, then interleave so all see the same machine */
  for (guint i = 0; i < 1000; i++)
    for (guint k = 0; k < 4; k++)
      round_trip (rig->fd[k], request, len, buf, sizeof buf);
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 4; k++) {
      t[k][i] = round_trip (rig->fd[k], request, len, buf, sizeof buf);
      if (k == 3 && i == 0 && strstr (buf, "0000:00:03.0") == NULL)
        g_error ("unexpected lookup reply: %.200s", buf);
    }
  printf ("  %s:\n", placement);
  for (guint k = 0; k < 4; k++) {
    p50[k] = bench_percentile (t[k], n, 0.50) / 1000.0;
    p99[k] = bench_percentile (t[k], n, 0.99) / 1000.0;
    printf ("    %-28s p50 %6.1f us  p99 %6.1f us\n", rig_names[k], p50[k], p99[k]);
  }
  printf ("    ratio to the process echo    p50 %5.2fx   p99 %5.2fx  (goal <= 2.0x)\n",
          p50[3] / p50[0], p99[3] / p99[0]);
  printf ("    ratio to the main-loop echo  p50 %5.2fx   p99 %5.2fx\n", p50[3] / p50[2], p99[3] / p99[2]);
  for (guint k = 0; k < 4; k++)
    g_free (t[k]);
}

static void
bench_lookup (DaTestDaemon *devaddrd)
{
  g_autofree char *echo_path = g_build_filename (devaddrd->dir, "echo.sock", NULL);
  g_autofree char *loop_path = g_build_filename (devaddrd->dir, "loop-echo.sock", NULL);
  g_autofree char *plain_path = g_build_filename (devaddrd->dir, "plain-echo.sock", NULL);
  char buf[4096];
  int listener, cpus[2], ncpus = 0, all_cpus = 0;
  cpu_set_t mine;
  GThread *thread;
  g_autoptr (GSubprocess) loop_echo_process = NULL;
  g_autoptr (GSubprocess) plain_echo_process = NULL;
  LookupRig rig;

  plain_echo_process = start_echo_process (listen_unix (plain_path), "plain-echo", NULL);
  loop_echo_process = start_echo_process (listen_unix (loop_path), "loop-echo", NULL);
  listener = listen_unix (echo_path);
  thread = g_thread_new ("echo", echo_server, GINT_TO_POINTER (listener));
  rig.fd[0] = bench_connect_unix_or_die (plain_path);
  rig.fd[1] = bench_connect_unix_or_die (echo_path);
  rig.fd[2] = bench_connect_unix_or_die (loop_path);
  rig.fd[3] = bench_connect_unix_or_die (devaddrd->socket_path);
  {
    /* one at a time: a round trip reads exactly one reply */
    const char *create = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"vm.create\",\"params\":{\"vm\":\"bench\"}}\n";
    const char *reserve = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"addr.reserve\",\"params\":{\"vm\":\"bench\",\"type\":\"pci\",\"alias\":\"net0\"}}\n";

    round_trip (rig.fd[3], create, strlen (create), buf, sizeof buf);
    round_trip (rig.fd[3], reserve, strlen (reserve), buf, sizeof buf);
    /* the echo thread has run by the time it answers */
    round_trip (rig.fd[1], create, strlen (create), buf, sizeof buf);
  }
  rig.task[0] = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (plain_echo_process), NULL, 10);
  rig.task[1] = echo_thread_tid;
  rig.task[2] = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (loop_echo_process), NULL, 10);
  rig.task[3] = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (devaddrd->process), NULL, 10);

  if (sched_getaffinity (0, sizeof mine, &mine) != 0)
    g_error ("sched_getaffinity: %s", g_strerror (errno));
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET (c, &mine)) {
      if (ncpus < 2)
        cpus[ncpus++] = c;
      all_cpus = c + 1;
    }
  printf ("addr.lookup round trip over a Unix socket (20000 each, interleaved):\n");
  /* where the tasks run decides more than what they do: a wake-up across
   * CPUs, of a CPU gone idle, costs tens of microseconds in a VM; each
   * placement puts the daemon and its baselines in the same place */
  measure_lookup (&rig, "client and servers on one CPU", cpus[0], cpus[0], all_cpus);
  if (ncpus > 1)
    measure_lookup (&rig, "client on one CPU, servers on another", cpus[0], cpus[1], all_cpus);
  measure_lookup (&rig, "where the scheduler puts them", -1, -1, all_cpus);
  for (guint k = 0; k < 4; k++)
    close (rig.fd[k]);
  g_thread_join (thread);
  close (listener);
  g_subprocess_wait (loop_echo_process, NULL, NULL);
  g_subprocess_wait (plain_echo_process, NULL, NULL);
}

/* ---- 2. durable reserves vs fdatasync ---- */

typedef struct {
  const char *socket_path;
  guint index;
  gint64 deadline;
  guint done;
} Reserver;

static gpointer
reserver (gpointer data)
{
  Reserver *r = data;
  int fd = bench_connect_unix_or_die (r->socket_path);
  char buf[4096];

  while (g_get_monotonic_time () < r->deadline) {
    char line[256];
    int len = g_snprintf (line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"addr.reserve\","
                          "\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"r%u-%u\"}}\n", r->index, r->done);

    round_trip (fd, line, (gsize) len, buf, sizeof buf);
    if (strstr (buf, "\"result\"") == NULL)
      g_error ("reserve failed: %.200s", buf);
    r->done++;
  }
  close (fd);
  return NULL;
}

static void
store_counts (DaTestDaemon *devaddrd, gint64 *records, gint64 *syncs)
{
  g_autoptr (DaTestClient) client = da_test_client_connect (devaddrd->socket_path, NULL);
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);
  JsonObject *store = json_object_get_object_member (json_node_get_object (info), "store");

  *records = json_object_get_int_member (store, "records");
  *syncs = json_object_get_int_member (store, "syncs");
}

/* round trips per second, for seconds, to a sync echo (mode) that syncs
 * into dir */
static double
sync_echo_rate (const char *dir, const char *mode, double seconds)
{
  g_autofree char *path = g_build_filename (dir, "sync-echo.sock", NULL);
  g_autoptr (GSubprocess) process = NULL;
  const char *line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"addr.reserve\",\"params\":{}}\n";
  char buf[4096];
  gint64 t0, deadline;
  guint n = 0;
  int fd;

  unlink (path);
  process = start_echo_process (listen_unix (path), mode, dir);
  fd = bench_connect_unix_or_die (path);
  t0 = g_get_monotonic_time ();
  deadline = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline) {
    round_trip (fd, line, strlen (line), buf, sizeof buf);
    n++;
  }
  close (fd);
  g_subprocess_wait (process, NULL, NULL);
  unlink (path);
  return n / ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC);
}

/* reserves from n clients for seconds: how many */
static guint
run_reservers (DaTestDaemon *devaddrd, guint n, double seconds)
{
  static guint base = 0;
  g_autofree Reserver *r = g_new0 (Reserver, n);
  g_autofree GThread **t = g_new0 (GThread *, n);
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  guint total = 0;

  for (guint i = 0; i < n; i++) {
    r[i] = (Reserver) { devaddrd->socket_path, base++, deadline, 0 };
    t[i] = g_thread_new ("reserve", reserver, &r[i]);
  }
  for (guint i = 0; i < n; i++) {
    g_thread_join (t[i]);
    total += r[i].done;
  }
  return total;
}

/* the disk's rate drifts as others use it: each figure is the sum over
 * slices that alternate with those of its baselines */
#define RESERVE_SLICES 6

static void
bench_reserve (DaTestDaemon *devaddrd, double seconds)
{
  const guint clients[] = { 1, 8, 64 };
  const double slice = seconds / RESERVE_SLICES;
  g_autoptr (DaTestDaemon) appending = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;

  /* the same daemon that appends to its journal, for one client */
  appending->quiet = TRUE;
  da_test_daemon_set_config (appending, "[daemon]\njournal-preallocate=0\n");
  if (!da_test_daemon_start (appending, &error))
    g_error ("%s", error->message);

  printf ("\ndurable addr.reserve vs the fdatasync rate of the state directory (%s),\n"
          "in %u alternating slices of %.2f s each:\n", devaddrd->state_dir, RESERVE_SLICES, slice);
  for (guint c = 0; c < G_N_ELEMENTS (clients); c++) {
    gboolean one = clients[c] == 1;
    double sync_rate = 0, rate = 0, echo = 0, threaded = 0, over = 0, append = 0, per_sync;
    gint64 records0, syncs0, records1, syncs1;

    store_counts (devaddrd, &records0, &syncs0);
    for (guint k = 0; k < RESERVE_SLICES; k++) {
      gint64 t0;

      sync_rate += bench_fdatasync_rate (devaddrd->state_dir, slice) / RESERVE_SLICES;
      t0 = g_get_monotonic_time ();
      rate += run_reservers (devaddrd, clients[c], slice)
              / ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC) / RESERVE_SLICES;
      /* what one client's durable round trip costs at least: to a process
       * that syncs before it answers, to one whose writer thread syncs, as
       * devaddrd's does, and a sync that does not grow the file, as
       * devaddrd's journal-preallocate makes them */
      if (one) {
        echo += sync_echo_rate (devaddrd->dir, "sync-echo", slice) / RESERVE_SLICES;
        threaded += sync_echo_rate (devaddrd->dir, "sync-echo-thread", slice) / RESERVE_SLICES;
        over += bench_fdatasync_rate_full (devaddrd->state_dir, slice, 16 * 1024 * 1024) / RESERVE_SLICES;
        t0 = g_get_monotonic_time ();
        append += run_reservers (appending, 1, slice)
                  / ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC) / RESERVE_SLICES;
      }
    }
    store_counts (devaddrd, &records1, &syncs1);
    per_sync = (double) (records1 - records0) / (double) MAX (syncs1 - syncs0, 1);
    printf ("  %2u client%s %8.0f reserves/s  fdatasync %6.0f/s  ratio %5.2fx  %5.1f reservations per sync\n",
            clients[c], one ? " " : "s", rate, sync_rate, rate / sync_rate, per_sync);
    if (one) {
      printf ("     a process that syncs, then echoes  %8.0f/s  %5.2fx the fdatasync rate; devaddrd %5.2fx it\n",
              echo, echo / sync_rate, rate / echo);
      printf ("     the same, syncing in a thread      %8.0f/s  %5.2fx the fdatasync rate; devaddrd %5.2fx it\n",
              threaded, threaded / sync_rate, rate / threaded);
      printf ("     fdatasync over blocks the file has %8.0f/s  %5.2fx the fdatasync rate; devaddrd %5.2fx it\n",
              over, over / sync_rate, rate / over);
      printf ("     devaddrd with journal-preallocate=0 %7.0f/s  %5.2fx the fdatasync rate; devaddrd %5.2fx it\n",
              append, append / sync_rate, rate / append);
    }
  }
  printf ("  goals: >= 0.8x the sync rate with 1 client; >= 32 reservations per sync with 64 clients\n");
  if (da_test_daemon_stop (appending) != 0)
    g_error ("devaddrd (journal-preallocate=0) did not stop cleanly");
}

/* ---- 3. restart with a million reservations ---- */

static gboolean
no_records (guint64 seq, const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  return TRUE;
}

static void
snapshot_written (guint64 seq, const GError *error, gpointer user_data)
{
  if (error != NULL)
    g_error ("snapshot: %s", error->message);
  *(gboolean *) user_data = TRUE;
}

/* the state a daemon with 10,000 VMs of 100 reservations each leaves */
static void
write_big_state (const char *state_dir, guint vms, guint per_vm)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *data = g_build_filename (srcdir != NULL ? srcdir : DA_SRC_DATADIR "/..", "data", NULL);
  const char *dirs[] = { data, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (DaCatalog) catalog = da_catalog_load (dirs, &error);
  g_autoptr (DaEngine) engine = da_engine_new (catalog);
  g_autoptr (DaStore) store = NULL;
  g_autoptr (DaSnapshotBuilder) builder = da_snapshot_builder_new (64 * 1024 * 1024);
  DaStoreOptions options = { 0 };
  g_auto (DaStoreRecovery) report = { 0 };
  gboolean done = FALSE;
  DaRequest request;

  for (guint v = 0; v < vms; v++) {
    g_autofree char *name = g_strdup_printf ("vm%05u", v);
    DaScope *scope = da_engine_create_vm (engine, name, "pc", NULL, &error);

    if (scope == NULL)
      g_error ("%s", error->message);
    for (guint i = 0; i < per_vm; i++) {
      char alias[32];

      g_snprintf (alias, sizeof alias, "dev%u", i);
      memset (&request, 0, sizeof request);
      request.type = "id";
      request.alias = alias;
      da_constraint_init (&request.constraint, da_catalog_get_type (catalog, "id"), TRUE);
      if (da_scope_reserve (scope, &request, 0, NULL, NULL, &error) == NULL)
        g_error ("%s", error->message);
    }
  }
  da_record_snapshot (engine, 0, builder);
  store = da_store_open (state_dir, &options, &error);
  if (store == NULL || !da_store_recover (store, no_records, NULL, &report, &error) || !da_store_start (store, NULL, &error))
    g_error ("%s", error->message);
  da_store_snapshot (store, da_snapshot_builder_steal (builder), snapshot_written, &done);
  da_store_close (store);
  if (!done)
    g_error ("snapshot not written");
}

static void
bench_restart (guint vms, guint per_vm)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonNode) info = NULL;
  gint64 t0, ready, serving;
  GPid pid;

  devaddrd->quiet = TRUE;
  write_big_state (devaddrd->state_dir, vms, per_vm);
  t0 = g_get_monotonic_time ();
  if (!da_test_daemon_start (devaddrd, &error))
    g_error ("%s", error->message);
  ready = g_get_monotonic_time () - t0;
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  info = da_test_client_call_ok (client, "server.info", NULL);
  serving = g_get_monotonic_time () - t0;
  pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (devaddrd->process), NULL, 10);
  printf ("\nrestart with %" G_GINT64_FORMAT " reservations over %u VMs:\n",
          json_object_get_int_member (json_node_get_object (info), "reservations"), vms);
  printf ("  READY after %.0f ms, first answer after %.0f ms (goal <= 1000 ms)\n", ready / 1000.0, serving / 1000.0);
  printf ("  RSS %.0f MB, peak %.0f MB (goal <= 300 MB)\n", bench_status_kb (pid, "VmRSS:") / 1024.0,
          bench_status_kb (pid, "VmHWM:") / 1024.0);
  da_test_daemon_stop (devaddrd);
}

/* bench-daemon [SECONDS]: everything, each reserve run SECONDS long;
 * bench-daemon lookup | reserve [SECONDS] | restart: one of them, for
 * profiling it */
int
main (int argc, char **argv)
{
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (GError) error = NULL;
  const char *only = argc > 1 && !g_ascii_isdigit (argv[1][0]) ? argv[1] : NULL;
  const char *arg = only != NULL ? (argc > 2 ? argv[2] : NULL) : (argc > 1 ? argv[1] : NULL);
  double seconds = arg != NULL ? g_ascii_strtod (arg, NULL) : 3.0;

  if (g_strcmp0 (only, "loop-echo") == 0)
    return run_loop_echo ();
  if (g_strcmp0 (only, "sync-echo") == 0 || g_strcmp0 (only, "sync-echo-thread") == 0)
    return arg != NULL ? run_sync_echo (arg, g_strcmp0 (only, "sync-echo-thread") == 0) : 2;
  if (g_strcmp0 (only, "plain-echo") == 0) {
    echo_one (3);
    return 0;
  }
  if (only != NULL && g_strcmp0 (only, "lookup") != 0 && g_strcmp0 (only, "reserve") != 0 &&
      g_strcmp0 (only, "restart") != 0) {
    g_printerr ("usage: bench-daemon [SECONDS] | lookup | reserve [SECONDS] | restart\n");
    return 2;
  }
  /* figures as they come, also into a pipe or a file */
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (only == NULL || g_strcmp0 (only, "restart") != 0) {
    devaddrd = da_test_daemon_new (NULL);
    /* measured as it runs in production: no debug log */
    devaddrd->quiet = TRUE;
    if (!da_test_daemon_start (devaddrd, &error))
      g_error ("%s", error->message);
    if (only == NULL || g_strcmp0 (only, "lookup") == 0)
      bench_lookup (devaddrd);
    if (only == NULL || g_strcmp0 (only, "reserve") == 0)
      bench_reserve (devaddrd, seconds);
    if (da_test_daemon_stop (devaddrd) != 0)
      g_error ("devaddrd did not stop cleanly");
  }
  if (only == NULL || g_strcmp0 (only, "restart") == 0)
    bench_restart (10000, 100);
  return 0;
}
