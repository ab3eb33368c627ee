/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* slow and abusive clients against a real devaddrd: clients that never
 * read their replies, that send a byte at a time, a thousand idle
 * connections, connections over the limits, connections that go away in
 * the middle of a request.  While each abuser runs, a well-behaved victim
 * (two threads of its own) keeps asking, reads and durable writes, and
 * probes the daemon's main loop; every one of its requests must be
 * answered, every probe within VICTIM_BOUND_MS, and the daemon's memory
 * must stay within what its configured limits allow */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

/*
 * The victim's bound.  Besides its stream of requests, the victim has a
 * prober: a second connection that sends, every VICTIM_INTERVAL_MS, a line
 * the daemon answers without looking at its state (an invalid request,
 * answered when the line is read).  That answer never waits for a commit,
 * so its latency is the main loop's alone, and the main loop never waits
 * for the disk.  It costs the daemon microseconds, but on a loaded machine
 * the daemon and the prober wait for a core and for page faults like
 * everyone else: at a load of 15 on two cores with another program
 * writing the disk, the worst probe of a case took up to 850 ms (a few
 * milliseconds on a quiet machine, under AddressSanitizer too).  A daemon
 * that blocks on one client (a blocking write to a peer that does not
 * read, a read waiting for the rest of a frame) stalls the prober for as
 * long, the seconds of a slow line or for ever, which crosses the bound.
 * The requests wait for their own or an earlier fdatasync, which on a disk
 * other programs keep busy takes what it takes: they are reported, and
 * bounded by REPLY_TIMEOUT_MS.
 */
#define VICTIM_BOUND_MS 3000
/* the victim's pace: the stream, not a wait for something */
#define VICTIM_INTERVAL_MS 5
/* a reply that has not come in this long is a failure, not a slow one */
#define REPLY_TIMEOUT_MS 20000

/* the limits of the daemons started here, small so that the memory bound
 * they imply is tight */
#define FRAME_BYTES (256 * 1024)
#define OUTPUT_BYTES (1024 * 1024)
/* what the daemon reads at a time (READ_CHUNK of da-connection.c) */
#define READ_CHUNK (64 * 1024)
/* the most one connection may hold: an unfinished frame and the chunk
 * after it, and its unread output up to where it is dropped */
#define PER_CONNECTION_BYTES (FRAME_BYTES + READ_CHUNK + 2 * OUTPUT_BYTES)
/* besides: the working memory of the one request being answered (the
 * JSON tree of a reply is about 15 times its text; the largest reply here
 * is a vm.get of 100 kB), the victim's, and allocator slack */
#define SLACK_BYTES (16 * 1024 * 1024)

/* under AddressSanitizer the daemon's memory is mostly the sanitizer's
 * (shadow, redzones, a quarantine of freed blocks of up to 256 MB): there
 * the bounds are reported, and checked in the normal build */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_BOUNDS_CHECKED FALSE
#else
#define MEMORY_BOUNDS_CHECKED TRUE
#endif

/* an idle connection holds no frame and no output: its objects only; a
 * buffer kept per connection (one read chunk) would cross this */
#define IDLE_CONNECTION_BYTES (32 * 1024)

#define ABUSER_USER "da-test-abuser"

/* what the daemon counts besides the abusers: the checker of each case
 * and the victim's two connections */
#define BASE_CONNECTIONS 3

/* ------------------------------------------------------------------ */
/* the daemon */

static DaTestDaemon *
start_daemon (const char *more_limits)
{
  g_autoptr (GError) error = NULL;
  DaTestDaemon *devaddrd = da_test_daemon_new (NULL);
  struct group *grp = getgrgid (getegid ());
  g_autofree char *config = g_strdup_printf ("[daemon]\ngroup=%s\n[limits]\nframe-bytes=%d\noutput-bytes=%d\n%s",
                                             grp != NULL ? grp->gr_name : "root", FRAME_BYTES, OUTPUT_BYTES,
                                             more_limits != NULL ? more_limits : "");

  da_test_daemon_set_config (devaddrd, config);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  return devaddrd;
}

/* the daemon exits cleanly (and, under the sanitizers, leak-free) */
static void
stop_daemon (DaTestDaemon *devaddrd)
{
  int status = da_test_daemon_stop (devaddrd);

  if (status != 0) {
    g_autofree char *log = da_test_daemon_log (devaddrd);

    ck_abort_msg ("devaddrd exited with %d:\n%s", status, log);
  }
  da_test_daemon_free (devaddrd);
}

static pid_t
daemon_pid (DaTestDaemon *devaddrd)
{
  return (pid_t) atoi (g_subprocess_get_identifier (devaddrd->process));
}

static DaTestClient *
connect_to (const char *path)
{
  g_autoptr (GError) error = NULL;
  DaTestClient *client = da_test_client_connect (path, &error);

  ck_assert_msg (client != NULL, "connect: %s", error ? error->message : "");
  return client;
}

static gint64
info_int (DaTestClient *client, const char *member)
{
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

  return json_object_get_int_member (json_node_get_object (info), member);
}

/* connections the daemon counts, once it has noticed every close: ask
 * until it says n (each question is a round trip through its main loop) */
static void
await_connections (DaTestClient *client, gint64 n)
{
  gint64 deadline = g_get_monotonic_time () + REPLY_TIMEOUT_MS * 1000;
  gint64 now;

  while ((now = info_int (client, "connections")) != n)
    ck_assert_msg (g_get_monotonic_time () < deadline, "the daemon still counts %" G_GINT64_FORMAT
                   " connections, not %" G_GINT64_FORMAT, now, n);
}

/* ------------------------------------------------------------------ */
/* the daemon's memory, from /proc/PID/status */

static gint64
status_bytes (pid_t pid, const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strdup_printf ("\n%s:", key);
  const char *line;

  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, prefix);
  ck_assert_msg (line != NULL, "no %s in %s", key, path);
  return g_ascii_strtoll (line + strlen (prefix), NULL, 10) * 1024;
}

typedef struct {
  pid_t pid;
  gint64 base;          /* VmRSS when the abuse began */
  gboolean peak_reset;  /* VmHWM counts from then, not from the start */
} Memory;

static void
memory_begin (Memory *memory, pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/clear_refs", (int) pid);

  memory->pid = pid;
  /* "5" resets the peak RSS (Linux 4.0) */
  memory->peak_reset = g_file_set_contents (path, "5", 1, NULL);
  memory->base = status_bytes (pid, "VmRSS");
}

/* the peak since memory_begin() (or the current RSS where the peak
 * cannot be reset) grew by at most allowed bytes */
static void
memory_check (Memory *memory, const char *what, gint64 allowed)
{
  gint64 rss = status_bytes (memory->pid, "VmRSS");
  gint64 hwm = memory->peak_reset ? status_bytes (memory->pid, "VmHWM") : rss;

  g_print ("%s: daemon VmRSS %" G_GINT64_FORMAT " kB before, %" G_GINT64_FORMAT " kB now, peak %" G_GINT64_FORMAT
           " kB (+%" G_GINT64_FORMAT " kB, allowed +%" G_GINT64_FORMAT " kB)\n",
           what, memory->base / 1024, rss / 1024, hwm / 1024, (hwm - memory->base) / 1024, allowed / 1024);
  ck_assert_msg (!MEMORY_BOUNDS_CHECKED || hwm - memory->base <= allowed, "%s: the daemon grew by %" G_GINT64_FORMAT
                 " kB, more than %" G_GINT64_FORMAT " kB", what, (hwm - memory->base) / 1024, allowed / 1024);
}

/* ------------------------------------------------------------------ */
/* the victim: a well-behaved client with a steady stream of requests */

typedef struct {
  char *socket_path;
  GThread *thread;
  GThread *prober;
  int wake[2];           /* closing wake[1] stops them */
  GMutex lock;
  GCond progress;
  GArray *latencies;     /* gint64 µs, one per answered request */
  GArray *probes;        /* gint64 µs, one per answered probe */
  char *failure;
  gboolean finished;
} Victim;

static void victim_fail (Victim *victim, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
victim_fail (Victim *victim, const char *format, ...)
{
  va_list args;

  g_mutex_lock (&victim->lock);
  if (victim->failure == NULL) {
    va_start (args, format);
    victim->failure = g_strdup_vprintf (format, args);
    va_end (args);
  }
  g_cond_broadcast (&victim->progress);
  g_mutex_unlock (&victim->lock);
}

/* request i of the stream: reserve a host id, look it up, ask for
 * server.info, release it; then the next alias */
static char *
victim_frame (guint64 i, char **alias)
{
  const char *method;
  g_autofree char *params = NULL;

  *alias = g_strdup_printf ("victim-%" G_GUINT64_FORMAT, i / 4);
  switch (i % 4) {
  case 0:
    method = "addr.reserve";
    params = g_strdup_printf ("{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s\"}", *alias);
    break;
  case 1:
    method = "addr.lookup";
    params = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", *alias);
    break;
  case 2:
    method = "server.info";
    params = g_strdup ("{}");
    break;
  default:
    method = "addr.release";
    params = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", *alias);
    break;
  }
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GUINT64_FORMAT ",\"method\":\"%s\",\"params\":%s}\n", i + 1,
                          method, params);
}

static gpointer
victim_run (gpointer data)
{
  Victim *victim = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = da_test_client_connect (victim->socket_path, &error);

  if (client == NULL) {
    victim_fail (victim, "victim: connect: %s", error->message);
    return NULL;
  }
  for (guint64 i = 0;; i++) {
    struct pollfd pfd = { victim->wake[0], POLLIN, 0 };
    g_autofree char *alias = NULL;
    g_autofree char *frame = NULL;
    g_autofree char *line = NULL;
    g_autoptr (JsonNode) reply = NULL;
    JsonObject *obj;
    gint64 start, latency;

    if (poll (&pfd, 1, VICTIM_INTERVAL_MS) != 0)
      break;
    frame = victim_frame (i, &alias);
    start = g_get_monotonic_time ();
    if (!da_test_client_send (client, frame, strlen (frame))) {
      victim_fail (victim, "victim: request %" G_GUINT64_FORMAT ": cannot send", i + 1);
      break;
    }
    line = da_test_client_read_line (client, REPLY_TIMEOUT_MS);
    latency = g_get_monotonic_time () - start;
    if (line == NULL) {
      victim_fail (victim, "victim: request %" G_GUINT64_FORMAT " not answered in %d ms: %s", i + 1,
                   REPLY_TIMEOUT_MS, frame);
      break;
    }
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    obj = reply != NULL && JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;
    if (obj == NULL || !json_object_has_member (obj, "result") || json_object_get_int_member (obj, "id") != (gint64) i + 1
        || (i % 4 == 1 && g_strcmp0 (json_object_get_string_member (json_object_get_object_member (obj, "result"), "alias"),
                                     alias) != 0)) {
      victim_fail (victim, "victim: %s was answered %s", frame, line);
      break;
    }
    g_mutex_lock (&victim->lock);
    g_array_append_val (victim->latencies, latency);
    g_cond_broadcast (&victim->progress);
    g_mutex_unlock (&victim->lock);
  }
  g_mutex_lock (&victim->lock);
  victim->finished = TRUE;
  g_cond_broadcast (&victim->progress);
  g_mutex_unlock (&victim->lock);
  return NULL;
}

/* the prober: a request with no method, answered with -32600 as soon as
 * it is read */
static gpointer
prober_run (gpointer data)
{
  static const char probe[] = "{\"jsonrpc\":\"2.0\",\"id\":1}\n";
  Victim *victim = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = da_test_client_connect (victim->socket_path, &error);

  if (client == NULL) {
    victim_fail (victim, "prober: connect: %s", error->message);
    return NULL;
  }
  for (guint64 i = 0;; i++) {
    struct pollfd pfd = { victim->wake[0], POLLIN, 0 };
    g_autofree char *line = NULL;
    gint64 start, latency;

    if (poll (&pfd, 1, VICTIM_INTERVAL_MS) != 0)
      break;
    start = g_get_monotonic_time ();
    if (!da_test_client_send (client, probe, sizeof probe - 1)) {
      victim_fail (victim, "prober: probe %" G_GUINT64_FORMAT ": cannot send", i + 1);
      break;
    }
    line = da_test_client_read_line (client, REPLY_TIMEOUT_MS);
    latency = g_get_monotonic_time () - start;
    if (line == NULL || strstr (line, "\"code\":-32600") == NULL) {
      victim_fail (victim, "prober: probe %" G_GUINT64_FORMAT " was answered %s", i + 1,
                   line != NULL ? line : "nothing in " G_STRINGIFY (REPLY_TIMEOUT_MS) " ms");
      break;
    }
    g_mutex_lock (&victim->lock);
    g_array_append_val (victim->probes, latency);
    g_cond_broadcast (&victim->progress);
    g_mutex_unlock (&victim->lock);
  }
  return NULL;
}

static Victim *
victim_start (const char *socket_path)
{
  Victim *victim = g_new0 (Victim, 1);

  victim->socket_path = g_strdup (socket_path);
  ck_assert (pipe (victim->wake) == 0);
  g_mutex_init (&victim->lock);
  g_cond_init (&victim->progress);
  victim->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  victim->probes = g_array_new (FALSE, FALSE, sizeof (gint64));
  victim->thread = g_thread_new ("victim", victim_run, victim);
  victim->prober = g_thread_new ("prober", prober_run, victim);
  /* both connected before the case counts the daemon's connections or
   * descriptors */
  g_mutex_lock (&victim->lock);
  while ((victim->latencies->len == 0 || victim->probes->len == 0) && victim->failure == NULL)
    g_cond_wait (&victim->progress, &victim->lock);
  g_mutex_unlock (&victim->lock);
  ck_assert_msg (victim->failure == NULL, "%s", victim->failure);
  return victim;
}

/* wait until n more of the victim's requests have been answered; how long
 * that takes is the machine's business, but an answer that does not come
 * in REPLY_TIMEOUT_MS is a failure (the victim reports it itself) */
static void
victim_wait (Victim *victim, guint n)
{
  g_autofree char *failure = NULL;
  guint target, answered;

  g_mutex_lock (&victim->lock);
  target = victim->latencies->len + n;
  for (;;) {
    gint64 deadline = g_get_monotonic_time () + 2 * REPLY_TIMEOUT_MS * 1000;
    guint before = victim->latencies->len;

    if (victim->latencies->len >= target || victim->failure != NULL || victim->finished)
      break;
    while (victim->latencies->len == before && victim->failure == NULL && !victim->finished)
      if (!g_cond_wait_until (&victim->progress, &victim->lock, deadline))
        break;
    if (victim->latencies->len == before)
      break;
  }
  failure = g_strdup (victim->failure);
  answered = victim->latencies->len;
  g_mutex_unlock (&victim->lock);
  ck_assert_msg (failure == NULL, "%s", failure);
  ck_assert_msg (answered >= target, "the victim got %u answers, not %u, and no more in %d ms", answered, target,
                 2 * REPLY_TIMEOUT_MS);
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* the worst, the 99th percentile and the median of latencies, sorted */
static void
latency_figures (GArray *latencies, gint64 *worst, gint64 *p99, gint64 *median)
{
  guint n = latencies->len;

  g_array_sort (latencies, compare_gint64);
  *worst = n > 0 ? g_array_index (latencies, gint64, n - 1) : 0;
  *p99 = n > 0 ? g_array_index (latencies, gint64, MIN (n - 1, (n * 99) / 100)) : 0;
  *median = n > 0 ? g_array_index (latencies, gint64, n / 2) : 0;
}

/* stop it; every request it sent was answered, and every probe within the
 * bound */
static void
victim_finish (Victim *victim, const char *what)
{
  gint64 worst, p99, median, probe_worst, probe_p99, probe_median;

  close (victim->wake[1]);
  g_thread_join (victim->thread);
  g_thread_join (victim->prober);
  close (victim->wake[0]);
  ck_assert_msg (victim->failure == NULL, "%s: %s", what, victim->failure);
  ck_assert_msg (victim->probes->len > 0, "%s: the victim's prober was never answered", what);
  latency_figures (victim->latencies, &worst, &p99, &median);
  latency_figures (victim->probes, &probe_worst, &probe_p99, &probe_median);
  g_print ("%s: victim %u requests answered, worst %.1f ms, p99 %.1f ms, median %.1f ms; %u probes, worst %.1f ms, "
           "p99 %.1f ms, median %.1f ms\n", what, victim->latencies->len, worst / 1000.0, p99 / 1000.0, median / 1000.0,
           victim->probes->len, probe_worst / 1000.0, probe_p99 / 1000.0, probe_median / 1000.0);
  ck_assert_msg (probe_worst < VICTIM_BOUND_MS * 1000, "%s: a probe took %.1f ms, more than %d ms", what,
                 probe_worst / 1000.0, VICTIM_BOUND_MS);
  g_array_unref (victim->latencies);
  g_array_unref (victim->probes);
  g_mutex_clear (&victim->lock);
  g_cond_clear (&victim->progress);
  g_free (victim->socket_path);
  g_free (victim->failure);
  g_free (victim);
}

/* ------------------------------------------------------------------ */
/* raw sockets, for clients that misbehave */

static int
raw_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  ck_assert (fd >= 0);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  ck_assert_msg (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0, "connect %s: %s", path, g_strerror (errno));
  return fd;
}

static void
raw_send_all (int fd, const char *data, gsize len)
{
  while (len > 0) {
    gssize n = send (fd, data, len, MSG_NOSIGNAL);

    ck_assert_msg (n > 0, "send: %s", g_strerror (errno));
    data += n;
    len -= (gsize) n;
  }
}

/* as raw_send_all(), or FALSE when the daemon has closed the connection */
static gboolean
raw_send_unless_closed (int fd, const char *data, gsize len)
{
  while (len > 0) {
    gssize n = send (fd, data, len, MSG_NOSIGNAL);

    if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
      return FALSE;
    ck_assert_msg (n > 0, "send: %s", g_strerror (errno));
    data += n;
    len -= (gsize) n;
  }
  return TRUE;
}

/* the next line on fd, waiting at most timeout_ms; NULL on EOF or timeout
 * (eof tells which) */
static char *
raw_read_line (int fd, GString *in, int timeout_ms, gboolean *eof)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  *eof = FALSE;
  for (;;) {
    char *nl = memchr (in->str, '\n', in->len);
    struct pollfd pfd = { fd, POLLIN, 0 };
    char buf[65536];
    gint64 left;
    gssize n;

    if (nl != NULL) {
      char *line = g_strndup (in->str, (gsize) (nl - in->str));

      g_string_erase (in, 0, nl - in->str + 1);
      return line;
    }
    left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
      return NULL;
    n = recv (fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *eof = TRUE;
      return NULL;
    }
    g_string_append_len (in, buf, n);
  }
}

/* the daemon has closed fd: what is left to read, then EOF */
static gboolean
raw_await_eof (int fd, int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    struct pollfd pfd = { fd, POLLIN, 0 };
    char buf[65536];
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    gssize n;

    if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
      return FALSE;
    n = recv (fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return TRUE;
    if (n < 0)
      return FALSE;
  }
}

static char *
request_frame (guint64 id, const char *method, const char *params)
{
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GUINT64_FORMAT ",\"method\":\"%s\"%s%s}", id, method,
                          params != NULL ? ",\"params\":" : "", params != NULL ? params : "");
}

/* one request on a raw connection, answered with a result */
static void
raw_request_ok (int fd, const char *method, const char *what)
{
  g_autofree char *frame = request_frame (7, method, NULL);
  g_autoptr (GString) in = g_string_new (NULL);
  g_autofree char *line = NULL;
  gboolean eof;

  raw_send_all (fd, frame, strlen (frame));
  raw_send_all (fd, "\n", 1);
  line = raw_read_line (fd, in, REPLY_TIMEOUT_MS, &eof);
  ck_assert_msg (line != NULL && strstr (line, "\"result\"") != NULL, "%s: %s", what, line);
}

/* the daemon's refusal of a connection over a limit: one error, then EOF */
static char *
raw_refusal (int fd)
{
  g_autoptr (GString) in = g_string_new (NULL);
  gboolean eof;
  char *line = raw_read_line (fd, in, REPLY_TIMEOUT_MS, &eof);

  ck_assert_msg (line != NULL && strstr (line, "\"limit\"") != NULL && strstr (line, "\"id\":null") != NULL,
                 "not refused with a limit error: %s", line);
  ck_assert (raw_await_eof (fd, REPLY_TIMEOUT_MS));
  return line;
}

/* ------------------------------------------------------------------ */
/* clients that never read their replies */

#define HOGS 4
/* what a hog tries to send: far more than the socket buffers (about
 * 200 kB) and an unfinished frame can take in */
#define HOG_REQUEST_BYTES (16 * 1024 * 1024)

typedef struct {
  int fd;
  guint index;
  GString *out;          /* the frame being sent */
  gsize out_sent;
  guint frames;
  gsize sent;
  gsize asked;           /* reply bytes its frames ask for, estimated */
  GHashTable *ids;       /* ids waiting for their answer */
  GString *in;
  guint results;
  guint limited;
  gboolean done;         /* sent its whole workload: nothing held it back */
} Hog;

static guint64 next_hog_id = 1;

/* the next frame of a hog's workload, cycling through big replies and
 * durable writes: a batch of 64 vm.get of a big VM, rpc.discover, a batch
 * of 16 rpc.discover, pool.stats, addr.reserve */
static void
hog_next_frame (Hog *hog, gsize vm_get_bytes, gsize discover_bytes)
{
  guint kind = hog->frames % 5;
  guint calls = kind == 0 ? 64 : kind == 2 ? 16 : 1;

  g_string_truncate (hog->out, 0);
  hog->out_sent = 0;
  if (calls > 1)
    g_string_append_c (hog->out, '[');
  for (guint c = 0; c < calls; c++) {
    guint64 id = next_hog_id++;
    g_autofree char *params = NULL;
    g_autofree char *frame = NULL;
    const char *method;

    switch (kind) {
    case 0:
      method = "vm.get";
      params = g_strdup ("{\"vm\":\"big\"}");
      hog->asked += vm_get_bytes;
      break;
    case 1:
    case 2:
      method = "rpc.discover";
      hog->asked += discover_bytes;
      break;
    case 3:
      method = "pool.stats";
      params = g_strdup ("{\"vm\":\"big\",\"type\":\"pci\"}");
      hog->asked += 400;
      break;
    default:
      method = "addr.reserve";
      params = g_strdup_printf ("{\"vm\":\"hog%u\",\"type\":\"id\",\"alias\":\"w%u\"}", hog->index, hog->frames);
      hog->asked += 200;
      break;
    }
    frame = request_frame (id, method, params);
    g_string_append_printf (hog->out, "%s%s", c > 0 ? "," : "", frame);
    g_hash_table_add (hog->ids, GUINT_TO_POINTER ((guint) id));
  }
  if (calls > 1)
    g_string_append_c (hog->out, ']');
  g_string_append_c (hog->out, '\n');
  hog->frames++;
}

/* send what can be sent without blocking; FALSE when nothing could */
static gboolean
hog_push (Hog *hog, gsize vm_get_bytes, gsize discover_bytes)
{
  gboolean progress = FALSE;

  for (;;) {
    gssize n;

    if (hog->out_sent == hog->out->len) {
      if (hog->sent >= HOG_REQUEST_BYTES) {
        hog->done = TRUE;
        return progress;
      }
      hog_next_frame (hog, vm_get_bytes, discover_bytes);
    }
    n = send (hog->fd, hog->out->str + hog->out_sent, hog->out->len - hog->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      ck_assert_msg (errno == EAGAIN || errno == EWOULDBLOCK, "hog %u: send: %s (disconnected after %u frames)",
                     hog->index, g_strerror (errno), hog->frames);
      return progress;
    }
    hog->out_sent += (gsize) n;
    hog->sent += (gsize) n;
    progress = TRUE;
  }
}

/* one reply line: an object or an array of them; each answers an id
 * once, with a result or a limit error */
static void
hog_take_reply (Hog *hog, const char *line)
{
  g_autoptr (JsonNode) reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
  g_autoptr (GList) responses = NULL;

  ck_assert_msg (reply != NULL, "hog %u: not JSON: %.200s", hog->index, line);
  if (JSON_NODE_HOLDS_ARRAY (reply))
    responses = json_array_get_elements (json_node_get_array (reply));
  else
    responses = g_list_prepend (NULL, reply);
  for (GList *l = responses; l != NULL; l = l->next) {
    JsonObject *obj = json_node_get_object (l->data);
    guint id = (guint) json_object_get_int_member (obj, "id");

    ck_assert_msg (g_hash_table_remove (hog->ids, GUINT_TO_POINTER (id)), "hog %u: id %u answered twice or unasked",
                   hog->index, id);
    if (json_object_has_member (obj, "result")) {
      hog->results++;
    } else {
      JsonObject *error = json_object_get_object_member (obj, "error");

      ck_assert_msg (json_object_get_int_member (error, "code") == 1007, "hog %u: id %u: %s", hog->index, id,
                     json_object_get_string_member (error, "message"));
      hog->limited++;
    }
  }
}

/* what the daemon has not read yet of what fd sent */
static int
unread_by_daemon (int fd)
{
  int bytes = 0;

  ck_assert_msg (ioctl (fd, SIOCOUTQ, &bytes) == 0, "SIOCOUTQ: %s", g_strerror (errno));
  return bytes;
}

/* read every answer it is owed, sending the rest of its last frame.  Tens
 * of megabytes of answers take what they take on a loaded machine; the
 * daemon going silent for REPLY_TIMEOUT_MS is the failure */
static void
hog_drain (Hog *hog)
{
  while (g_hash_table_size (hog->ids) > 0) {
    struct pollfd pfd = { hog->fd, POLLIN | (hog->out_sent < hog->out->len ? POLLOUT : 0), 0 };
    char *nl;

    ck_assert_msg (poll (&pfd, 1, REPLY_TIMEOUT_MS) > 0, "hog %u: %u answers missing, nothing came in %d ms",
                   hog->index, g_hash_table_size (hog->ids), REPLY_TIMEOUT_MS);
    if (pfd.revents & POLLOUT) {
      gssize n = send (hog->fd, hog->out->str + hog->out_sent, hog->out->len - hog->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);

      ck_assert_msg (n >= 0 || errno == EAGAIN, "hog %u: send: %s", hog->index, g_strerror (errno));
      if (n > 0)
        hog->out_sent += (gsize) n;
    }
    if (pfd.revents & (POLLIN | POLLHUP)) {
      char buf[65536];
      gssize n = recv (hog->fd, buf, sizeof buf, MSG_DONTWAIT);

      ck_assert_msg (n != 0, "hog %u: the daemon hung up with %u answers owed", hog->index, g_hash_table_size (hog->ids));
      if (n < 0) {
        ck_assert_msg (errno == EAGAIN, "hog %u: recv: %s", hog->index, g_strerror (errno));
        continue;
      }
      g_string_append_len (hog->in, buf, n);
    }
    while ((nl = memchr (hog->in->str, '\n', hog->in->len)) != NULL) {
      g_autofree char *line = g_strndup (hog->in->str, (gsize) (nl - hog->in->str));

      g_string_erase (hog->in, 0, nl - hog->in->str + 1);
      hog_take_reply (hog, line);
    }
  }
}

static gsize
reply_size (DaTestClient *client, const char *method, const char *params)
{
  g_autofree char *frame = request_frame (client->next_id++, method, params);
  g_autofree char *line = NULL;

  ck_assert (da_test_client_send (client, frame, strlen (frame)) && da_test_client_send (client, "\n", 1));
  line = da_test_client_read_line (client, REPLY_TIMEOUT_MS);
  ck_assert (line != NULL && strstr (line, "\"result\"") != NULL);
  return strlen (line);
}

/* a VM with many reservations, for big vm.get replies */
static void
make_big_vm (DaTestClient *client, guint reservations)
{
  g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"big\"}");

  for (guint done = 0; done < reservations;) {
    g_autoptr (GString) params = g_string_new ("{\"vm\":\"big\",\"requests\":[");
    g_autoptr (JsonNode) reserved = NULL;

    for (guint i = 0; i < 250 && done < reservations; i++, done++)
      g_string_append_printf (params, "%s{\"type\":\"id\",\"alias\":\"id%u\"}", i > 0 ? "," : "", done);
    g_string_append (params, "]}");
    reserved = da_test_client_call_ok (client, "addr.reserve", params->str);
  }
}

START_TEST (test_never_reads)
{
  DaTestDaemon *devaddrd = start_daemon (NULL);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  Hog hogs[HOGS];
  Victim *victim;
  Memory memory;
  gsize vm_get_bytes, discover_bytes;

  make_big_vm (checker, 1000);
  vm_get_bytes = reply_size (checker, "vm.get", "{\"vm\":\"big\"}");
  discover_bytes = reply_size (checker, "rpc.discover", NULL);
  g_print ("never reads: vm.get of the big VM is %zu bytes, rpc.discover %zu\n", vm_get_bytes, discover_bytes);
  for (guint i = 0; i < HOGS; i++) {
    g_autofree char *params = g_strdup_printf ("{\"vm\":\"hog%u\"}", i);
    g_autoptr (JsonNode) vm = da_test_client_call_ok (checker, "vm.create", params);
  }

  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  memory_begin (&memory, daemon_pid (devaddrd));
  for (guint i = 0; i < HOGS; i++) {
    hogs[i] = (Hog) { .fd = raw_connect (devaddrd->socket_path), .index = i, .out = g_string_new (NULL),
                      .ids = g_hash_table_new (NULL, NULL), .in = g_string_new (NULL) };
  }
  /* each pushes until the daemon stops reading it.  It has when nothing
   * more can be sent and, while it answers another client twice, it takes
   * nothing of what waits in the hogs' sockets: every answer is a turn of
   * its main loop, and a turn reads every connection it is reading that
   * has something to read.  (A pause alone would say nothing: on a loaded
   * machine the daemon may simply not have run.) */
  for (;;) {
    struct pollfd pfds[HOGS];
    int unread[HOGS];
    guint n = 0;
    gboolean progress = FALSE, still = TRUE;

    for (guint i = 0; i < HOGS; i++)
      if (!hogs[i].done && hog_push (&hogs[i], vm_get_bytes, discover_bytes))
        progress = TRUE;
    if (progress)
      continue;
    for (guint i = 0; i < HOGS; i++)
      if (!hogs[i].done) {
        pfds[n++] = (struct pollfd) { hogs[i].fd, POLLOUT, 0 };
        unread[i] = unread_by_daemon (hogs[i].fd);
      }
    if (n == 0)
      break;
    /* two answers to another client */
    (void) info_int (checker, "connections");
    (void) info_int (checker, "connections");
    for (guint i = 0; i < HOGS; i++)
      if (!hogs[i].done && unread_by_daemon (hogs[i].fd) != unread[i])
        still = FALSE;
    if (still && poll (pfds, n, 0) == 0)
      break;
  }
  for (guint i = 0; i < HOGS; i++)
    ck_assert_msg (!hogs[i].done, "hog %u sent %zu bytes (%u frames asking for %zu bytes): "
                   "the daemon never stopped reading it", i, hogs[i].sent, hogs[i].frames, hogs[i].asked);
  /* they sit there; the victim goes on */
  victim_wait (victim, 100);
  memory_check (&memory, "never reads", (gint64) HOGS * PER_CONNECTION_BYTES + SLACK_BYTES);
  ck_assert_int_eq (info_int (checker, "connections"), BASE_CONNECTIONS + HOGS);
  /* nothing was lost: once they read, every request is answered */
  for (guint i = 0; i < HOGS; i++) {
    hog_drain (&hogs[i]);
    g_print ("never reads: hog %u sent %u frames (%zu bytes, asking for %zu bytes of replies) before the daemon "
             "stopped reading it; %u results, %u limit errors\n",
             i, hogs[i].frames, hogs[i].sent, hogs[i].asked, hogs[i].results, hogs[i].limited);
    close (hogs[i].fd);
    g_string_free (hogs[i].out, TRUE);
    g_string_free (hogs[i].in, TRUE);
    g_hash_table_unref (hogs[i].ids);
  }
  victim_finish (victim, "never reads");
  stop_daemon (devaddrd);
}
END_TEST

/* with the smallest output limit: a query whose answer alone is larger is
 * refused, a change is reported whatever its size, and the rest of a batch
 * past the limit is refused while the client keeps its connection */
START_TEST (test_answer_larger_than_output)
{
  DaTestDaemon *devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) refused = NULL;
  g_autoptr (JsonNode) reserved = NULL;
  g_autoptr (JsonNode) vm = NULL;
  g_autoptr (JsonNode) batch = NULL;
  g_autoptr (GString) params = g_string_new ("{\"vm\":\"vm1\",\"requests\":[");
  g_autoptr (GString) frame = g_string_new ("[");
  g_autofree char *line = NULL;
  struct group *grp = getgrgid (getegid ());
  g_autofree char *config = g_strdup_printf ("[daemon]\ngroup=%s\n[limits]\noutput-bytes=4096\n",
                                             grp != NULL ? grp->gr_name : "root");
  JsonArray *answers;
  guint limited = 0;

  da_test_daemon_set_config (devaddrd, config);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = connect_to (devaddrd->socket_path);
  refused = da_test_client_call_error (client, "rpc.discover", NULL);
  ck_assert_str_eq (da_test_error_reason (refused), "limit");
  ck_assert_msg (strstr (json_object_get_string_member (refused, "message"), "(output-bytes)") != NULL, "%s",
                 json_object_get_string_member (refused, "message"));
  vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
  for (guint i = 0; i < 200; i++)
    g_string_append_printf (params, "%s{\"type\":\"id\",\"alias\":\"i%u\"}", i > 0 ? "," : "", i);
  g_string_append (params, "]}");
  reserved = da_test_client_call_ok (client, "addr.reserve", params->str);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (json_node_get_object (reserved),
                                                                          "reservations")), 200);
  /* answers of a few hundred bytes: some way into the batch they pass it */
  for (guint i = 0; i < 40; i++) {
    g_autofree char *call = request_frame (100 + i, "pool.stats", "{\"vm\":\"vm1\",\"type\":\"pci\"}");

    g_string_append_printf (frame, "%s%s", i > 0 ? "," : "", call);
  }
  g_string_append (frame, "]\n");
  ck_assert (da_test_client_send (client, frame->str, frame->len));
  line = da_test_client_read_line (client, REPLY_TIMEOUT_MS);
  ck_assert (line != NULL);
  batch = da_json_parse (line, strlen (line), NULL, NULL, NULL);
  answers = json_node_get_array (batch);
  ck_assert_uint_eq (json_array_get_length (answers), 40);
  for (guint i = 0; i < 40; i++) {
    JsonObject *answer = json_array_get_object_element (answers, i);

    ck_assert_int_eq (json_object_get_int_member (answer, "id"), 100 + i);
    if (json_object_has_member (answer, "error")) {
      ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (answer, "error")), "limit");
      limited++;
    } else {
      /* answered in order: the refused ones are the last */
      ck_assert_uint_eq (limited, 0);
    }
  }
  g_print ("answer larger than output: %u of 40 pool.stats of a batch were refused at output-bytes=4096\n", limited);
  ck_assert_uint_gt (limited, 0);
  ck_assert_uint_lt (limited, 40);
  /* and the connection goes on */
  g_clear_pointer (&vm, json_node_unref);
  vm = da_test_client_call_ok (client, "vm.list", NULL);
  stop_daemon (devaddrd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a watcher that never reads */

/* a watcher that never reads its notifications is dropped at twice
 * output-bytes; another watcher misses nothing meanwhile */
START_TEST (test_never_reads_notifications)
{
  DaTestDaemon *devaddrd = start_daemon (NULL);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (DaTestClient) reader = connect_to (devaddrd->socket_path);
  g_autoptr (DaTestClient) sleeper = connect_to (devaddrd->socket_path);
  /* made before anyone watches: its template's reservations are not counted */
  g_autoptr (JsonNode) vm = da_test_client_call_ok (checker, "vm.create", "{\"vm\":\"churn\"}");
  /* the sleeper watches first, so that it comes first when it is dropped */
  g_autoptr (JsonNode) w1 = da_test_client_call_ok (sleeper, "watch", "{\"vm\":\"churn\"}");
  g_autoptr (JsonNode) w2 = da_test_client_call_ok (reader, "watch", "{\"vm\":\"churn\"}");
  Victim *victim;
  Memory memory;
  guint changes = 0, seen = 0, cycles = 0;

  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  memory_begin (&memory, daemon_pid (devaddrd));
  /* 200 reservations per cycle, about 35 kB of notifications for each
   * watcher; the reader keeps up */
  while (info_int (checker, "connections") == BASE_CONNECTIONS + 2) {
    g_autoptr (GString) params = g_string_new ("{\"vm\":\"churn\",\"requests\":[");
    g_autoptr (JsonNode) reserved = NULL;

    ck_assert_msg (cycles < 400, "the watcher that reads nothing was never dropped");
    for (guint i = 0; i < 200; i++)
      g_string_append_printf (params, "%s{\"type\":\"id\",\"alias\":\"c%u-%u\"}", i > 0 ? "," : "", cycles, i);
    g_string_append (params, "]}");
    reserved = da_test_client_call_ok (checker, "addr.reserve", params->str);
    cycles++;
    changes += 200;
    while (seen < changes) {
      g_autofree char *line = da_test_client_read_line (reader, REPLY_TIMEOUT_MS);

      ck_assert_msg (line != NULL, "the reading watcher got %u of %u notifications", seen, changes);
      ck_assert (strstr (line, "\"addr.changed\"") != NULL);
      seen++;
    }
  }
  memory_check (&memory, "never reads notifications", PER_CONNECTION_BYTES + SLACK_BYTES);
  g_print ("never reads notifications: dropped after %u cycles; the other watcher got all %u\n", cycles, seen);
  ck_assert (raw_await_eof (g_socket_get_fd (sleeper->socket), REPLY_TIMEOUT_MS));
  victim_finish (victim, "never reads notifications");
  stop_daemon (devaddrd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a byte at a time */

#define SLOW_CLIENTS 8
#define STALLED_CLIENTS 2
/* the pace of the slow clients: that is what they do, not a wait */
#define SLOW_INTERVAL_MS 20

START_TEST (test_byte_at_a_time)
{
  /* the stalled lines stay because this daemon never cuts one off, not
   * because the test is quicker than the default 30 s (frame-timeout has
   * a case of its own) */
  DaTestDaemon *devaddrd = start_daemon ("frame-timeout=0\n");
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (JsonNode) vm = da_test_client_call_ok (checker, "vm.create", "{\"vm\":\"slow\"}");
  int slow[SLOW_CLIENTS], stalled[STALLED_CLIENTS];
  char *frames[SLOW_CLIENTS];
  gsize sent = 0, longest = 0;
  Victim *victim;
  Memory memory;
  gint64 started;

  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  memory_begin (&memory, daemon_pid (devaddrd));
  /* long requests (a long alias, a constraint), finished after seconds */
  for (guint i = 0; i < SLOW_CLIENTS; i++) {
    g_autofree char *alias = g_strdup_printf ("slow-client-%u-%s", i, "with-an-alias-long-enough-to-take-a-while-to-send");
    g_autofree char *params = g_strdup_printf ("{\"vm\":\"slow\",\"type\":\"pci\",\"alias\":\"%s\","
                                               "\"constraint\":{\"bus\":0,\"function\":0,\"policy\":\"first-fit\"}}", alias);
    g_autofree char *frame = request_frame (i + 1, "addr.reserve", params);

    frames[i] = g_strconcat (frame, "\n", NULL);
    longest = MAX (longest, strlen (frames[i]));
    slow[i] = raw_connect (devaddrd->socket_path);
  }
  /* and requests that are never finished */
  for (guint i = 0; i < STALLED_CLIENTS; i++) {
    const char *start = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server.info\",\"params\":{\"padding\":\"";

    stalled[i] = raw_connect (devaddrd->socket_path);
    raw_send_all (stalled[i], start, strlen (start));
  }
  started = g_get_monotonic_time ();
  for (; sent < longest; sent++) {
    for (guint i = 0; i < SLOW_CLIENTS; i++)
      if (sent < strlen (frames[i]))
        raw_send_all (slow[i], frames[i] + sent, 1);
    for (guint i = 0; i < STALLED_CLIENTS; i++)
      raw_send_all (stalled[i], "x", 1);
    poll (NULL, 0, SLOW_INTERVAL_MS);
  }
  g_print ("a byte at a time: %zu-byte requests took %.1f s\n", longest,
           (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
  /* each slow request is answered, and as it asked */
  for (guint i = 0; i < SLOW_CLIENTS; i++) {
    g_autoptr (GString) in = g_string_new (NULL);
    gboolean eof;
    g_autofree char *line = raw_read_line (slow[i], in, REPLY_TIMEOUT_MS, &eof);

    ck_assert_msg (line != NULL && strstr (line, "\"result\"") != NULL && strstr (line, "slow-client-") != NULL,
                   "slow client %u: %s", i, line);
    close (slow[i]);
    g_free (frames[i]);
  }
  victim_wait (victim, 20);
  memory_check (&memory, "a byte at a time", (SLOW_CLIENTS + STALLED_CLIENTS) * (gint64) PER_CONNECTION_BYTES + SLACK_BYTES);
  /* the stalled ones are still there, just waiting */
  ck_assert_int_eq (info_int (checker, "connections"), BASE_CONNECTIONS + STALLED_CLIENTS);
  for (guint i = 0; i < STALLED_CLIENTS; i++)
    close (stalled[i]);
  await_connections (checker, BASE_CONNECTIONS);
  victim_finish (victim, "a byte at a time");
  stop_daemon (devaddrd);
}
END_TEST

/* a request line begun and not finished within frame-timeout ends the
 * connection (slowloris); idle connections, slow lines that do finish,
 * lines that follow each other in odd chunks and a client whose answers
 * wait to be read are not affected.
 *
 * In time or not follows from what the test sent when, not from how long
 * anything took: the daemon's clock of a line starts when it has read the
 * line's first byte, so no earlier than the test's timestamp before
 * sending it, and before it cuts a line off it reads what came by the
 * deadline.  A line whose last byte went out less than frame-timeout after
 * its first must be answered.  One the test itself was too slow to finish
 * (descheduled on a loaded machine) may go either way; if its connection
 * is cut off, one of the lines left unanswered on it is such a line */
#define FRAME_TIMEOUT_S 2
#define FRAME_TIMEOUT_US (FRAME_TIMEOUT_S * G_USEC_PER_SEC)
/* the ticks of the loop below: the pace of the slow clients */
#define TICK_MS 20
/* the chunked client begins this many ticks before the endless line, so
 * that it would be cut off first if every line counted as one */
#define HEAD_START_TICKS 25
/* the slow line goes out on a schedule, a byte a tick or more, so that it
 * ends this long after its first byte however long the ticks take */
#define SLOW_LINE_US (FRAME_TIMEOUT_US / 2)

static char *
lookup_frame (guint id)
{
  return request_frame (id, "addr.lookup", "{\"scope\":\"host\",\"alias\":\"none\"}");
}

/* what a line the daemon cut off is answered: the limit error, then EOF */
static void
assert_cut_off (int fd, GString *in, const char *line, const char *what)
{
  ck_assert_msg (line != NULL && strstr (line, "\"limit\"") != NULL && strstr (line, "frame-timeout") != NULL,
                 "%s: %s", what, line);
  ck_assert_msg (raw_await_eof (fd, REPLY_TIMEOUT_MS), "%s: no EOF after it was cut off", what);
  g_string_truncate (in, 0);
}

START_TEST (test_frame_timeout)
{
  g_autofree char *limits = g_strdup_printf ("frame-timeout=%d\n", FRAME_TIMEOUT_S);
  DaTestDaemon *devaddrd = start_daemon (limits);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (GString) burst = g_string_new (NULL);
  g_autoptr (GString) in = g_string_new (NULL);
  g_autoptr (GString) slow_in = g_string_new (NULL);
  g_autoptr (GString) chunky_in = g_string_new (NULL);
  g_autoptr (GString) sleeper_in = g_string_new (NULL);
  /* gint64 µs: before the send with the first bytes of chunked line i + 1,
   * and after the one with its last, or after the send that found the
   * connection closed instead (the daemon cut it off before then) */
  g_autoptr (GArray) begun = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) ended = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *slow_frame = request_frame (1, "server.info", NULL);
  g_autofree char *slow_line = g_strconcat (slow_frame, "\n", NULL);
  g_autofree char *told = NULL;
  g_autofree char *last = NULL;
  const char *endless = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"padding\":\"";
  const char *rest = "\"method\":\"vm.list\"}\n";
  int idle, slowloris, slow, chunky, sleeper;
  gsize slow_sent = 0, slow_len = strlen (slow_line), endless_sent = 0;
  guint chunky_lines = 0, chunky_answered = 0, discovers = 0, connections;
  gint64 first_byte = 0, dropped_after, sleeper_read, sleeper_finished, slow_begun = 0, slow_ended = 0;
  gint64 slowest_chunk = 0;
  gboolean eof, chunky_closed = FALSE, slow_closed = FALSE, slow_cut = FALSE, chunky_cut = FALSE;
  Victim *victim;

  {
    g_autoptr (JsonNode) info = da_test_client_call_ok (checker, "server.info", NULL);
    JsonObject *in_force = json_object_get_object_member (json_node_get_object (info), "limits");

    ck_assert_int_eq (json_object_get_int_member (in_force, "frame_timeout_s"), FRAME_TIMEOUT_S);
    ck_assert_int_eq (json_object_get_int_member (in_force, "output_bytes"), OUTPUT_BYTES);
  }
  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  idle = raw_connect (devaddrd->socket_path);
  /* a client that does not read: its answers fill its output, and the
   * daemon stops reading it with the line it left unfinished.  The burst
   * is one send, so the daemon reads it in one piece: once the first
   * answer is there it has the unfinished line too */
  sleeper = raw_connect (devaddrd->socket_path);
  while (burst->len < 4096) {
    g_autofree char *frame = request_frame (++discovers, "rpc.discover", NULL);

    g_string_append_printf (burst, "%s\n", frame);
  }
  g_string_append (burst, "{\"jsonrpc\":\"2.0\",\"id\":0,");
  raw_send_all (sleeper, burst->str, burst->len);
  {
    struct pollfd pfd = { sleeper, POLLIN, 0 };

    ck_assert_msg (poll (&pfd, 1, REPLY_TIMEOUT_MS) == 1, "the sleeper's requests were not answered");
    sleeper_read = g_get_monotonic_time ();
  }

  slowloris = raw_connect (devaddrd->socket_path);
  slow = raw_connect (devaddrd->socket_path);
  chunky = raw_connect (devaddrd->socket_path);
  /* each tick: the end of one request of the chunked client and the
   * beginning of the next (its line is never complete for long, but
   * always another one); then what is due of the slow line, and a byte of
   * the endless line */
  for (guint tick = 1;; tick++) {
    struct pollfd pfd = { slowloris, POLLIN, 0 };

    if (!chunky_closed) {
      g_autofree char *next = lookup_frame (tick);
      g_autofree char *prev = lookup_frame (tick - 1);
      g_autofree char *piece = tick == 1 ? g_strndup (next, 20) : g_strdup_printf ("%s\n%.20s", prev + 20, next);
      gint64 before = g_get_monotonic_time (), after;

      chunky_closed = !raw_send_unless_closed (chunky, piece, strlen (piece));
      after = g_get_monotonic_time ();
      if (tick > 1)
        g_array_append_val (ended, after);
      if (!chunky_closed) {
        g_array_append_val (begun, before);
        chunky_lines = tick;
      }
    }
    if (tick < HEAD_START_TICKS) {
      poll (NULL, 0, TICK_MS);
      continue;
    }
    if (first_byte == 0)
      first_byte = g_get_monotonic_time ();
    ck_assert_msg (g_get_monotonic_time () - first_byte < REPLY_TIMEOUT_MS * 1000,
                   "the unfinished line was not cut off in %d ms", REPLY_TIMEOUT_MS);
    if (!raw_send_unless_closed (slowloris, endless_sent < strlen (endless) ? endless + endless_sent : "x", 1))
      pfd.revents = POLLIN;
    endless_sent++;
    if (slow_sent < slow_len && !slow_closed) {
      gint64 now = g_get_monotonic_time ();
      gsize due;

      if (slow_sent == 0)
        slow_begun = now;
      due = MIN (slow_len, MAX (slow_sent + 1, (gsize) ((now - slow_begun) * (gint64) slow_len / SLOW_LINE_US)));
      slow_closed = !raw_send_unless_closed (slow, slow_line + slow_sent, due - slow_sent);
      slow_sent = due;
      if (slow_sent == slow_len || slow_closed)
        slow_ended = g_get_monotonic_time ();
    }
    if (pfd.revents != 0 || poll (&pfd, 1, TICK_MS) > 0) {
      told = raw_read_line (slowloris, in, REPLY_TIMEOUT_MS, &eof);
      dropped_after = g_get_monotonic_time () - first_byte;
      break;
    }
  }
  /* the chunked client's open line ends at once, and the sleeper finishes
   * its line while it still reads nothing */
  if (!chunky_closed) {
    g_autofree char *end = lookup_frame (chunky_lines);
    g_autofree char *piece = g_strconcat (end + 20, "\n", NULL);
    gint64 after;

    chunky_closed = !raw_send_unless_closed (chunky, piece, strlen (piece));
    after = g_get_monotonic_time ();
    g_array_append_val (ended, after);
  }
  ck_assert_uint_eq (ended->len, chunky_lines);
  ck_assert_msg (raw_send_unless_closed (sleeper, rest, strlen (rest)),
                 "the daemon closed a connection whose answers it was not reading");
  sleeper_finished = g_get_monotonic_time ();
  /* by now its line was unfinished in the daemon for longer than the
   * timeout: the endless line began after it and was cut off */
  ck_assert_int_gt (sleeper_finished - sleeper_read, FRAME_TIMEOUT_US);

  g_print ("frame timeout: an unfinished line was cut off %.2f s after its first byte (frame-timeout=%d): %s\n",
           dropped_after / (double) G_USEC_PER_SEC, FRAME_TIMEOUT_S, told);
  assert_cut_off (slowloris, in, told, "the endless line");
  ck_assert_int_ge (dropped_after, FRAME_TIMEOUT_US);
  close (slowloris);

  /* the slow line was answered, unless the test took too long to send it */
  last = raw_read_line (slow, slow_in, REPLY_TIMEOUT_MS, &eof);
  if (last == NULL || strstr (last, "\"id\":1,\"result\"") == NULL) {
    ck_assert_msg (slow_ended - slow_begun >= FRAME_TIMEOUT_US,
                   "the slow line, sent in %.3f s, was answered %s", (slow_ended - slow_begun) / (double) G_USEC_PER_SEC,
                   last);
    assert_cut_off (slow, slow_in, last, "the slow line");
    slow_cut = TRUE;
  }
  /* every chunked request sent in time is answered */
  for (guint i = 1; i <= chunky_lines; i++) {
    g_autofree char *line = raw_read_line (chunky, chunky_in, REPLY_TIMEOUT_MS, &eof);
    g_autofree char *id = g_strdup_printf ("\"id\":%u,", i);

    if (line != NULL && strstr (line, id) != NULL && strstr (line, "\"not-found\"") != NULL) {
      chunky_answered++;
      continue;
    }
    /* cut off: the answers of the lines read but not yet sent are
     * dropped with the connection, so the line it was waiting for is
     * one of those from here on */
    {
      guint late = 0;

      for (guint k = i; k <= chunky_lines; k++)
        if (g_array_index (ended, gint64, k - 1) - g_array_index (begun, gint64, k - 1) >= FRAME_TIMEOUT_US)
          late++;
      ck_assert_msg (late > 0, "chunked request %u: %s, though every one from it on was sent in time", i, line);
    }
    assert_cut_off (chunky, chunky_in, line, "the chunked client");
    chunky_cut = TRUE;
    break;
  }
  for (guint i = 0; i < ended->len; i++)
    slowest_chunk = MAX (slowest_chunk, g_array_index (ended, gint64, i) - g_array_index (begun, gint64, i));
  /* everyone else is still there: checker, victim, idle, sleeper, and the
   * slow and the chunked client unless cut off as allowed above */
  connections = BASE_CONNECTIONS + 2 + !slow_cut + !chunky_cut;
  ck_assert_int_eq (info_int (checker, "connections"), connections);
  raw_request_ok (idle, "vm.list", "the idle connection");
  /* the sleeper reads at last: every answer, and the one of its line */
  for (guint i = 0; i < discovers; i++) {
    g_autofree char *line = raw_read_line (sleeper, sleeper_in, REPLY_TIMEOUT_MS, &eof);

    ck_assert_msg (line != NULL && strstr (line, "\"result\"") != NULL, "sleeper answer %u: %.200s", i, line);
  }
  g_clear_pointer (&last, g_free);
  last = raw_read_line (sleeper, sleeper_in, REPLY_TIMEOUT_MS, &eof);
  ck_assert_msg (last != NULL && strstr (last, "\"id\":0,\"result\"") != NULL, "%s", last);
  g_print ("frame timeout: %u of %u chunked requests answered, the slowest sent in %.3f s%s; the slow line sent in "
           "%.2f s%s; a client that did not read for %.1f s finished its line\n", chunky_answered, chunky_lines,
           slowest_chunk / (double) G_USEC_PER_SEC, chunky_cut ? " (then cut off)" : "",
           (slow_ended - slow_begun) / (double) G_USEC_PER_SEC, slow_cut ? " (cut off)" : "",
           (sleeper_finished - sleeper_read) / (double) G_USEC_PER_SEC);
  close (idle);
  close (slow);
  close (chunky);
  close (sleeper);
  await_connections (checker, BASE_CONNECTIONS);
  victim_finish (victim, "frame timeout");
  stop_daemon (devaddrd);

  /* an hour at most */
  {
    g_autoptr (DaTestDaemon) refused = da_test_daemon_new (NULL);
    g_autoptr (GError) error = NULL;
    g_autofree char *log = NULL;

    da_test_daemon_set_config (refused, "[limits]\nframe-timeout=3601\n");
    ck_assert (!da_test_daemon_start (refused, &error));
    log = da_test_daemon_log (refused);
    ck_assert_msg (strstr (log, "frame-timeout must be a whole number from 0 to 3600") != NULL, "%s", log);
  }
}
END_TEST

/* the deadline is the client's: a line whose end was sent in time is
 * answered, however late the daemon reads it.  Here the daemon is stopped
 * from before the end is sent until past its deadline, and the end is
 * longer than one read, more than the one turn the connection gets before
 * the timer's */
#define LATE_TIMEOUT_S 1
#define LATE_REST_BYTES (100 * 1024)

START_TEST (test_frame_timeout_late_daemon)
{
  g_autofree char *limits = g_strdup_printf ("frame-timeout=%d\n", LATE_TIMEOUT_S);
  DaTestDaemon *devaddrd = start_daemon (limits);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (GString) in = g_string_new (NULL);
  g_autoptr (GString) head = g_string_new (NULL);
  g_autoptr (GString) rest = g_string_new (NULL);
  g_autofree char *first = request_frame (1, "server.info", NULL);
  g_autofree char *line = NULL;
  pid_t pid = daemon_pid (devaddrd);
  int fd = raw_connect (devaddrd->socket_path);
  siginfo_t stopped;
  gint64 armed, sent, woken;
  gboolean eof;

  /* a request and the beginning of a long one, in one send: once the
   * first is answered the daemon has read the beginning, and once another
   * client has had an answer after it, the clock of the line runs */
  g_string_printf (head, "%s\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"vm.list\",\"params\":{\"padding\":\"", first);
  raw_send_all (fd, head->str, head->len);
  line = raw_read_line (fd, in, REPLY_TIMEOUT_MS, &eof);
  ck_assert_msg (line != NULL && strstr (line, "\"id\":1,\"result\"") != NULL, "%s", line);
  ck_assert_int_eq (info_int (checker, "connections"), 2);
  armed = g_get_monotonic_time ();

  ck_assert (kill (pid, SIGSTOP) == 0);
  ck_assert (waitid (P_PID, (id_t) pid, &stopped, WSTOPPED | WNOWAIT) == 0);
  /* into the socket's buffer, all of it: the daemon reads nothing now */
  for (guint i = 0; i < LATE_REST_BYTES; i++)
    g_string_append_c (rest, 'x');
  g_string_append (rest, "\"}}\n");
  ck_assert_int_eq (send (fd, rest->str, rest->len, MSG_NOSIGNAL | MSG_DONTWAIT), (gssize) rest->len);
  sent = g_get_monotonic_time ();
  /* what is awaited is the deadline itself passing while it is stopped */
  while ((woken = g_get_monotonic_time ()) < armed + (LATE_TIMEOUT_S * G_USEC_PER_SEC) + G_USEC_PER_SEC / 4)
    poll (NULL, 0, (int) ((armed + LATE_TIMEOUT_S * G_USEC_PER_SEC + G_USEC_PER_SEC / 4 - woken) / 1000) + 1);
  ck_assert (kill (pid, SIGCONT) == 0);

  g_clear_pointer (&line, g_free);
  line = raw_read_line (fd, in, REPLY_TIMEOUT_MS, &eof);
  g_print ("frame timeout, late daemon: the end of a line sent %.3f s after its clock began, the daemon stopped until "
           "%.2f s after: %.200s\n", (sent - armed) / (double) G_USEC_PER_SEC, (woken - armed) / (double) G_USEC_PER_SEC,
           line);
  ck_assert_msg (line != NULL && strstr (line, "\"id\":2,") != NULL, "a line finished in time was answered %s", line);
  raw_request_ok (fd, "server.info", "the connection of the late line");
  close (fd);
  await_connections (checker, 1);
  stop_daemon (devaddrd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* idle connections by the thousand */

#define IDLE 1000

static rlim_t
daemon_nofile (pid_t pid, rlim_t *hard)
{
  struct rlimit limit;

  ck_assert_msg (prlimit (pid, RLIMIT_NOFILE, NULL, &limit) == 0, "prlimit: %s", g_strerror (errno));
  *hard = limit.rlim_max;
  return limit.rlim_cur;
}

START_TEST (test_thousand_idle)
{
  g_autofree char *limits = g_strdup_printf ("connections-per-uid=%d\nconnections=%d\n", 2 * IDLE,
                                             IDLE + BASE_CONNECTIONS);
  struct rlimit ours, low;
  DaTestDaemon *devaddrd;
  g_autoptr (DaTestClient) checker = NULL;
  g_autofree char *refused = NULL;
  int idle[IDLE], extra;
  rlim_t soft, hard;
  Victim *victim;
  Memory memory;
  gint64 rss;

  ck_assert (getrlimit (RLIMIT_NOFILE, &ours) == 0);
  if (ours.rlim_max != RLIM_INFINITY && ours.rlim_max < IDLE + 100) {
    g_print ("thousand idle: a hard limit of %ju open files is too low for this test\n", (uintmax_t) ours.rlim_max);
    return;
  }
  /* the daemon starts with the soft limit of a login shell, too low for
   * its connections; it must raise it to the hard limit itself */
  low = (struct rlimit) { 256, ours.rlim_max };
  ck_assert (setrlimit (RLIMIT_NOFILE, &low) == 0);
  devaddrd = start_daemon (limits);
  ours.rlim_cur = ours.rlim_max;
  ck_assert (setrlimit (RLIMIT_NOFILE, &ours) == 0);
  soft = daemon_nofile (daemon_pid (devaddrd), &hard);
  g_print ("thousand idle: the daemon's limit of open files is %ju (hard %ju), started with 256\n", (uintmax_t) soft,
           (uintmax_t) hard);
  ck_assert_msg (soft == hard, "the daemon kept a soft limit of %ju open files (hard %ju)", (uintmax_t) soft,
                 (uintmax_t) hard);

  checker = connect_to (devaddrd->socket_path);
  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  memory_begin (&memory, daemon_pid (devaddrd));
  for (guint i = 0; i < IDLE; i++) {
    idle[i] = raw_connect (devaddrd->socket_path);
    /* now and then one of them shows it is served */
    if (i % 100 == 99)
      raw_request_ok (idle[i], "server.info", "an idle connection");
  }
  ck_assert_int_eq (info_int (checker, "connections"), IDLE + BASE_CONNECTIONS);
  rss = status_bytes (memory.pid, "VmRSS");
  g_print ("thousand idle: %d idle connections cost the daemon %" G_GINT64_FORMAT " kB, %" G_GINT64_FORMAT
           " bytes each\n", IDLE, (rss - memory.base) / 1024, (rss - memory.base) / IDLE);
  ck_assert_msg (!MEMORY_BOUNDS_CHECKED || rss - memory.base <= (gint64) IDLE * IDLE_CONNECTION_BYTES,
                 "%" G_GINT64_FORMAT " bytes per idle connection", (rss - memory.base) / IDLE);
  /* with them all in, the victim goes on */
  victim_wait (victim, 100);
  /* and the next connection is over the total */
  extra = raw_connect (devaddrd->socket_path);
  refused = raw_refusal (extra);
  ck_assert_msg (strstr (refused, "connections, its limit") != NULL, "%s", refused);
  close (extra);
  for (guint i = 0; i < IDLE; i++)
    close (idle[i]);
  await_connections (checker, BASE_CONNECTIONS);
  memory_check (&memory, "thousand idle", (gint64) IDLE * IDLE_CONNECTION_BYTES + SLACK_BYTES);
  victim_finish (victim, "thousand idle");
  stop_daemon (devaddrd);
}
END_TEST

/* the connections of one uid past its limit are refused; other uids go on */
static void
ensure_abuser (void)
{
  if (getpwnam (ABUSER_USER) == NULL) {
    int status = system ("useradd --system --no-create-home --shell /usr/sbin/nologin " ABUSER_USER);

    ck_assert_msg (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0, "cannot create user " ABUSER_USER);
  }
}

/* in a child that is ABUSER_USER: n connections to the read-only socket,
 * each answered, and one more; report what the last one was told, then
 * hold them all until hold is closed.  Only system calls after fork(). */
static pid_t
spawn_uid_hog (const char *path, const struct passwd *pw, guint n, int *report_fd, int *hold_fd)
{
  static const char request[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server.info\"}\n";
  int report[2], hold[2];
  pid_t pid;

  ck_assert (pipe (report) == 0 && pipe (hold) == 0);
  pid = fork ();
  ck_assert (pid >= 0);
  if (pid == 0) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char buf[4096];
    char c;

    close (report[0]);
    close (hold[1]);
    if (setgroups (0, NULL) != 0 || setgid (pw->pw_gid) != 0 || setuid (pw->pw_uid) != 0)
      _exit (2);
    strncpy (addr.sun_path, path, sizeof addr.sun_path - 1);
    for (guint i = 0; i <= n; i++) {
      int fd = socket (AF_UNIX, SOCK_STREAM, 0);
      gsize got = 0;

      if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
        _exit (3);
      if (i < n && write (fd, request, sizeof request - 1) != (gssize) sizeof request - 1)
        _exit (4);
      /* one line: the answer, or for the last one the refusal */
      while (got < sizeof buf - 1 && memchr (buf, '\n', got) == NULL) {
        gssize r = read (fd, buf + got, sizeof buf - 1 - got);

        if (r <= 0)
          _exit (5);
        got += (gsize) r;
      }
      if (i < n && memmem (buf, got, "\"result\"", 8) == NULL)
        _exit (6);
      if (i == n && write (report[1], buf, got) != (gssize) got)
        _exit (7);
    }
    close (report[1]);
    if (read (hold[0], &c, 1) < 0)
      _exit (8);
    _exit (0);
  }
  close (report[1]);
  close (hold[0]);
  *report_fd = report[0];
  *hold_fd = hold[1];
  return pid;
}

START_TEST (test_per_uid_limit)
{
  DaTestDaemon *devaddrd;
  g_autoptr (DaTestClient) checker = NULL;
  g_autoptr (DaTestClient) more = NULL;
  g_autoptr (GString) told = g_string_new (NULL);
  g_autoptr (JsonNode) served = NULL;
  struct passwd *pw;
  Victim *victim;
  int report, hold, status;
  pid_t child;
  char buf[4096];
  gssize n;

  if (geteuid () != 0) {
    g_print ("per uid: not root, cannot make a second user: skipped\n");
    return;
  }
  ensure_abuser ();
  pw = getpwnam (ABUSER_USER);
  ck_assert (pw != NULL);
  /* the default limit per uid */
  devaddrd = start_daemon (NULL);
  ck_assert (chmod (devaddrd->dir, 0755) == 0);
  checker = connect_to (devaddrd->socket_path);
  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);

  child = spawn_uid_hog (devaddrd->ro_socket_path, pw, 128, &report, &hold);
  /* it reports when it has its 128 and was refused the 129th */
  while ((n = read (report, buf, sizeof buf)) > 0)
    g_string_append_len (told, buf, n);
  close (report);
  ck_assert_msg (strstr (told->str, "\"limit\"") != NULL && strstr (told->str, "already has 128 connections, the limit per uid")
                 != NULL, "the 129th connection of uid %u was told: %s", (guint) pw->pw_uid, told->str);
  g_print ("per uid: the 129th connection of uid %u was told %s", (guint) pw->pw_uid, told->str);
  /* while that uid is at its limit, others are served and may connect */
  victim_wait (victim, 100);
  more = connect_to (devaddrd->socket_path);
  served = da_test_client_call_ok (more, "vm.list", NULL);
  ck_assert_int_eq (info_int (checker, "connections"), 128 + BASE_CONNECTIONS + 1);
  close (hold);
  ck_assert (waitpid (child, &status, 0) == child);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "the child of uid %u failed: %d", (guint) pw->pw_uid,
                 status);
  await_connections (checker, BASE_CONNECTIONS + 1);
  victim_finish (victim, "per uid");
  stop_daemon (devaddrd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* out of file descriptors */

static guint
count_fds (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  ck_assert (dir != NULL);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* the daemon's CPU time so far, in clock ticks */
static gint64
cpu_ticks (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after;

  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  /* after "pid (comm) ": state is field 3, utime 14, stime 15 */
  after = strrchr (text, ')');
  ck_assert (after != NULL);
  fields = g_strsplit (after + 2, " ", -1);
  ck_assert (g_strv_length (fields) > 12);
  return g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10);
}

static guint
count_in_log (DaTestDaemon *devaddrd, const char *needle)
{
  g_autofree char *log = da_test_daemon_log (devaddrd);
  guint n = 0;

  for (const char *p = log; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

#define FD_HEADROOM 100

START_TEST (test_out_of_descriptors)
{
  DaTestDaemon *devaddrd = start_daemon (NULL);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GString) in = g_string_new (NULL);
  g_autofree char *refused = NULL;
  g_autofree char *line = NULL;
  pid_t pid = daemon_pid (devaddrd);
  struct rlimit start, limit;
  struct pollfd pfd;
  gint64 ticks, wall;
  double busy;
  Victim *victim;
  gboolean eof;
  int waiting;

  ck_assert (prlimit (pid, RLIMIT_NOFILE, NULL, &start) == 0);
  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);

  /* room for FD_HEADROOM more descriptors: connections are refused
   * with a clear error while some are left for the store */
  limit = (struct rlimit) { count_fds (pid) + FD_HEADROOM, start.rlim_max };
  ck_assert (prlimit (pid, RLIMIT_NOFILE, &limit, NULL) == 0);
  for (;;) {
    int fd = raw_connect (devaddrd->socket_path);
    g_autofree char *frame = request_frame (1, "server.info", NULL);
    g_autofree char *reply = NULL;

    g_array_append_val (fds, fd);
    ck_assert_msg (fds->len <= FD_HEADROOM, "%u connections accepted with room for %d descriptors", fds->len,
                   FD_HEADROOM);
    /* a connection past the limit is told so and closed at once, maybe
     * before the request is sent: its answer is there all the same */
    if (raw_send_unless_closed (fd, frame, strlen (frame)))
      raw_send_unless_closed (fd, "\n", 1);
    g_string_truncate (in, 0);
    reply = raw_read_line (fd, in, REPLY_TIMEOUT_MS, &eof);
    ck_assert_msg (reply != NULL, "connection %u: no answer", fds->len);
    if (strstr (reply, "\"result\"") == NULL) {
      refused = g_steal_pointer (&reply);
      break;
    }
  }
  g_print ("out of descriptors: with room for %d more, %u connections were accepted, then: %s\n", FD_HEADROOM,
           fds->len - 1, refused);
  ck_assert_msg (strstr (refused, "\"limit\"") != NULL && strstr (refused, "RLIMIT_NOFILE") != NULL, "%s", refused);
  ck_assert_uint_gt (fds->len, 1);
  /* the daemon never ran out, and its store still works: the victim writes */
  victim_wait (victim, 50);
  ck_assert_uint_eq (count_in_log (devaddrd, "accept:"), 0);
  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  await_connections (checker, BASE_CONNECTIONS);

  /* no descriptor left at all: accept() fails; the daemon must neither
   * spin on it nor flood its log, and go on serving who is in */
  limit.rlim_cur = count_fds (pid);
  ck_assert (prlimit (pid, RLIMIT_NOFILE, &limit, NULL) == 0);
  waiting = raw_connect (devaddrd->socket_path);
  line = request_frame (1, "server.info", NULL);
  raw_send_all (waiting, line, strlen (line));
  raw_send_all (waiting, "\n", 1);
  g_clear_pointer (&line, g_free);
  ticks = cpu_ticks (pid);
  wall = g_get_monotonic_time ();
  victim_wait (victim, 100);
  wall = g_get_monotonic_time () - wall;
  busy = (cpu_ticks (pid) - ticks) / (double) sysconf (_SC_CLK_TCK) / (wall / (double) G_USEC_PER_SEC);
  pfd = (struct pollfd) { waiting, POLLIN, 0 };
  g_print ("out of descriptors: with none left, the daemon was busy %.0f%% of %.1f s; %u warnings\n", busy * 100,
           wall / (double) G_USEC_PER_SEC, count_in_log (devaddrd, "accept:"));
  /* a loop on accept() takes a core */
  ck_assert_msg (busy < 0.5, "the daemon was busy %.0f%% of the time", busy * 100);
  ck_assert_uint_eq (count_in_log (devaddrd, "accept:"), 1);
  ck_assert_msg (poll (&pfd, 1, 0) == 0, "a connection was answered without a descriptor for it");
  /* descriptors again: the waiting connection gets in and is served */
  ck_assert (prlimit (pid, RLIMIT_NOFILE, &start, NULL) == 0);
  line = raw_read_line (waiting, in, REPLY_TIMEOUT_MS, &eof);
  ck_assert_msg (line != NULL && strstr (line, "\"result\"") != NULL, "%s", line);
  close (waiting);
  victim_finish (victim, "out of descriptors");
  stop_daemon (devaddrd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* going away in the middle of a request */

#define ROUNDS 200

typedef struct {
  char *name;
  char *xml;
  guint reservations;   /* what assigning it makes, as a client that waits sees */
} Domain;

/* the aliases reserved in vm, in one request (none when there is no vm) */
static GHashTable *
reserved_aliases (DaTestClient *client, const char *vm)
{
  g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
  g_autoptr (JsonNode) response = da_test_client_request (client, "vm.get", params);
  GHashTable *aliases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObject *obj;
  JsonArray *reservations;

  ck_assert (response != NULL);
  obj = json_node_get_object (response);
  if (json_object_has_member (obj, "error")) {
    ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found");
    return aliases;
  }
  reservations = json_object_get_array_member (json_object_get_object_member (obj, "result"), "reservations");
  for (guint i = 0; i < json_array_get_length (reservations); i++)
    g_hash_table_add (aliases, g_strdup (json_object_get_string_member (json_array_get_object_element (reservations, i),
                                                                        "alias")));
  return aliases;
}

static guint
count_reservations (DaTestClient *client, const char *vm)
{
  g_autoptr (GHashTable) aliases = reserved_aliases (client, vm);

  return g_hash_table_size (aliases);
}

static gboolean
alias_exists (DaTestClient *client, const char *vm, const char *alias)
{
  g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\",\"alias\":\"%s\"}", vm, alias);
  g_autoptr (JsonNode) response = da_test_client_request (client, "addr.lookup", params);
  JsonObject *obj;

  ck_assert (response != NULL);
  obj = json_node_get_object (response);
  if (json_object_has_member (obj, "result"))
    return TRUE;
  ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (obj, "error")), "not-found");
  return FALSE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* the domain corpus of the end-to-end tests, each assigned once by a
 * client that waits for the answer */
static GPtrArray *
load_domains (DaTestClient *client)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *dir = g_build_filename (srcdir != NULL ? srcdir : ".", "tests", "e2e", "domains", NULL);
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *domains = g_ptr_array_new ();
  const char *name;

  ck_assert_msg (listing != NULL, "no %s", dir);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_suffix (name, ".xml"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    g_autofree char *xml = NULL;
    g_autoptr (GString) params = g_string_new ("{\"vm\":\"reference\",\"xml\":");
    g_autoptr (JsonNode) assigned = NULL;
    g_autoptr (JsonNode) deleted = NULL;
    Domain *domain = g_new0 (Domain, 1);

    ck_assert (g_file_get_contents (path, &xml, NULL, NULL));
    /* images under a directory, as the e2e harness hands them over */
    {
      g_auto (GStrv) parts = g_strsplit (xml, "@IMGDIR@", -1);

      g_free (xml);
      xml = g_strjoinv ("/var/tmp", parts);
    }
    da_json_append_string (params, xml, -1);
    g_string_append_c (params, '}');
    assigned = da_test_client_call_ok (client, "domain.assign", params->str);
    domain->name = g_strdup (g_ptr_array_index (names, i));
    domain->xml = g_steal_pointer (&xml);
    domain->reservations = count_reservations (client, "reference");
    deleted = da_test_client_call_ok (client, "vm.delete", "{\"vm\":\"reference\"}");
    g_ptr_array_add (domains, domain);
  }
  ck_assert_uint_gt (domains->len, 0);
  return domains;
}

/* send frame, or its first half, and close without reading; then wait
 * until the daemon has closed its side too */
static gsize
send_and_leave (DaTestDaemon *devaddrd, DaTestClient *checker, const char *frame, gboolean whole)
{
  int fd = raw_connect (devaddrd->socket_path);
  gsize len = whole ? strlen (frame) : strlen (frame) / 2;

  raw_send_all (fd, frame, len);
  if (whole)
    raw_send_all (fd, "\n", 1);
  close (fd);
  await_connections (checker, BASE_CONNECTIONS);
  return len;
}

START_TEST (test_disconnect_mid_request)
{
  DaTestDaemon *devaddrd = start_daemon (NULL);
  g_autoptr (DaTestClient) checker = connect_to (devaddrd->socket_path);
  g_autoptr (GPtrArray) domains = load_domains (checker);
  Victim *victim;
  Memory memory;
  gint64 warm = 0;
  gsize sent = 0;
  guint made = 0, not_made = 0;

  victim = victim_start (devaddrd->socket_path);
  victim_wait (victim, 20);
  memory_begin (&memory, daemon_pid (devaddrd));
  for (guint round = 0; round < ROUNDS; round++) {
    /* odd rounds send every frame whole, even rounds half of the big ones */
    gboolean whole = round % 2 == 1;
    Domain *domain = g_ptr_array_index (domains, round % domains->len);
    g_autoptr (JsonNode) vm = da_test_client_call_ok (checker, "vm.create", "{\"vm\":\"round\"}");
    g_autoptr (GString) batch = g_string_new ("[");
    g_autoptr (GString) all_or_nothing = g_string_new ("{\"vm\":\"round\",\"requests\":[");
    g_autoptr (GString) assign = g_string_new ("{\"vm\":\"dom\",\"xml\":");
    g_autofree char *batch_frame = NULL;
    g_autofree char *reserve = request_frame (1, "addr.reserve", "{\"vm\":\"round\",\"type\":\"id\",\"alias\":\"one\"}");
    g_autofree char *assign_frame = NULL;
    g_autoptr (GHashTable) reserved = NULL;
    guint batch_found = 0, together_found = 0, domain_found;

    /* half a frame is not a request */
    sent += send_and_leave (devaddrd, checker, reserve, FALSE);
    ck_assert (!alias_exists (checker, "round", "one"));
    /* a whole one is carried out, though nobody waits for the answer */
    sent += send_and_leave (devaddrd, checker, reserve, TRUE);
    ck_assert (alias_exists (checker, "round", "one"));

    /* a batch of 64 reserves: each is done, or none when the frame is cut */
    for (guint i = 0; i < 64; i++) {
      g_autofree char *params = g_strdup_printf ("{\"vm\":\"round\",\"type\":\"id\",\"alias\":\"b%u\"}", i);
      g_autofree char *frame = request_frame (i + 1, "addr.reserve", params);

      g_string_append_printf (batch, "%s%s", i > 0 ? "," : "", frame);
    }
    g_string_append_c (batch, ']');
    sent += send_and_leave (devaddrd, checker, batch->str, whole);
    reserved = reserved_aliases (checker, "round");
    for (guint i = 0; i < 64; i++) {
      g_autofree char *alias = g_strdup_printf ("b%u", i);

      batch_found += g_hash_table_contains (reserved, alias);
    }
    ck_assert_uint_eq (batch_found, whole ? 64 : 0);

    /* one reserve of 256 requests is all or nothing */
    for (guint i = 0; i < 256; i++)
      g_string_append_printf (all_or_nothing, "%s{\"type\":\"mmio\",\"alias\":\"t%u\"}", i > 0 ? "," : "", i);
    g_string_append (all_or_nothing, "]}");
    batch_frame = request_frame (1, "addr.reserve", all_or_nothing->str);
    sent += send_and_leave (devaddrd, checker, batch_frame, whole);
    g_clear_pointer (&reserved, g_hash_table_unref);
    reserved = reserved_aliases (checker, "round");
    for (guint i = 0; i < 256; i++) {
      g_autofree char *alias = g_strdup_printf ("t%u", i);

      together_found += g_hash_table_contains (reserved, alias);
    }
    ck_assert_msg (together_found == (whole ? 256 : 0), "round %u: %u of the 256", round, together_found);

    /* a domain is assigned whole or not at all */
    da_json_append_string (assign, domain->xml, -1);
    g_string_append_c (assign, '}');
    assign_frame = request_frame (1, "domain.assign", assign->str);
    sent += send_and_leave (devaddrd, checker, assign_frame, whole);
    domain_found = count_reservations (checker, "dom");
    ck_assert_msg (domain_found == (whole ? domain->reservations : 0), "round %u: %s: %u reservations, not %u",
                   round, domain->name, domain_found, whole ? domain->reservations : 0);
    if (domain_found > 0)
      made++;
    else
      not_made++;

    /* back to where the round began, so that growth would be a leak */
    {
      g_autoptr (JsonNode) d1 = da_test_client_call_ok (checker, "vm.delete", "{\"vm\":\"round\"}");
      g_autoptr (JsonNode) d2 = whole ? da_test_client_call_ok (checker, "vm.delete", "{\"vm\":\"dom\"}") : NULL;
    }
    if (round == 9) {
      warm = status_bytes (memory.pid, "VmRSS");
      sent = 0;
    }
  }
  {
    gint64 rss = status_bytes (memory.pid, "VmRSS");

    g_print ("disconnects: %u rounds; after the first 10 the daemon's VmRSS went from %" G_GINT64_FORMAT " kB to %"
             G_GINT64_FORMAT " kB while %zu bytes of requests were left behind\n", ROUNDS, warm / 1024, rss / 1024, sent);
    /* keeping what the abandoned requests sent would show */
    ck_assert_msg (!MEMORY_BOUNDS_CHECKED || rss - warm < (gint64) sent / 2, "the daemon grew by %" G_GINT64_FORMAT
                   " kB", (rss - warm) / 1024);
  }
  memory_check (&memory, "disconnects", PER_CONNECTION_BYTES + SLACK_BYTES);
  ck_assert_uint_eq (made, ROUNDS / 2);
  ck_assert_uint_eq (not_made, ROUNDS / 2);
  victim_finish (victim, "disconnects");
  for (guint i = 0; i < domains->len; i++) {
    Domain *domain = g_ptr_array_index (domains, i);

    g_free (domain->name);
    g_free (domain->xml);
    g_free (domain);
  }
  stop_daemon (devaddrd);
}
END_TEST

/* the longest case, never-reads, takes 17 s under AddressSanitizer with a
 * load of 11 on two cores (4 s in a normal build on a quiet machine) */
#define CASE_TIMEOUT_S 120

/* one case each, so that one can be run alone (CK_RUN_CASE=frame-timeout) */
static void
add_case (Suite *s, const char *name, const TTest *test)
{
  TCase *tc = tcase_create (name);

  tcase_set_timeout (tc, CASE_TIMEOUT_S);
  tcase_add_test (tc, test);
  suite_add_tcase (s, tc);
}

int
main (void)
{
  Suite *s = suite_create ("abuse");
  SRunner *sr;
  int failed;

  /* the daemons inherit it: a critical (a broken invariant) kills them */
  g_setenv ("G_DEBUG", "fatal-criticals", TRUE);

  add_case (s, "never-reads", test_never_reads);
  add_case (s, "answer-larger-than-output", test_answer_larger_than_output);
  add_case (s, "never-reads-notifications", test_never_reads_notifications);
  add_case (s, "byte-at-a-time", test_byte_at_a_time);
  add_case (s, "frame-timeout", test_frame_timeout);
  add_case (s, "frame-timeout-late-daemon", test_frame_timeout_late_daemon);
  add_case (s, "thousand-idle", test_thousand_idle);
  add_case (s, "per-uid", test_per_uid_limit);
  add_case (s, "out-of-descriptors", test_out_of_descriptors);
  add_case (s, "disconnects", test_disconnect_mid_request);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
