/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kill -9 at chosen moments under concurrent writers, round after round on
 * one state directory that keeps growing: during group commit (writers in
 * flight), during snapshot compaction (seen through inotify on the state
 * directory) and during recovery (a restart over a large state, killed
 * before READY).  After each restart:
 *   - every acknowledged mutation is there: reservations at the acked
 *     address in the acked state, releases and deleted VMs gone;
 *   - the one request each writer had in flight is there entirely or not
 *     at all (a batch reserves all of its aliases or none);
 *   - nothing is held twice: pool.stats used equals the addresses of the
 *     reservations one can list, and no address has two aliases;
 *   - the daemon answers its first request within 1 s of being started.
 *
 * DA_CRASH_ROUNDS (default 6) sets the rounds, DA_CRASH_SEED replays the
 * kill moments of a run (the seed is printed), DA_CRASH_BULK the number of
 * reservations of the large state (default 50000).  `make check-faults`
 * runs it with 120 rounds.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"
#include "tests/common/da-test-writers.h"

#define WRITERS 4
#define SERVE_BOUND_US G_USEC_PER_SEC
/* ------------------------------------------------------------------ */
/* the kills */

typedef enum {
  PHASE_COMMIT,
  PHASE_SNAPSHOT,
  PHASE_RECOVERY,
  N_PHASES
} Phase;

typedef enum {
  LANDED_COMMIT,           /* writers in flight, no snapshot under way */
  LANDED_SNAPSHOT_ROTATE,  /* new journal segment created, snapshot.tmp not yet */
  LANDED_SNAPSHOT_WRITE,   /* snapshot.tmp being written and synced */
  LANDED_SNAPSHOT_CLEANUP, /* renamed, old segments not yet deleted */
  LANDED_BEFORE_STORE,     /* restart: before the state directory was opened */
  LANDED_RECOVERY,         /* restart: state directory locked, recovery not finished */
  LANDED_BEFORE_READY,     /* restart: recovered, READY not yet sent */
  LANDED_IDLE,             /* nothing in flight, or the restart was already READY */
  N_LANDED
} Landed;

static const char *const landed_names[] = { "group commit", "snapshot: new segment", "snapshot: writing",
                                            "snapshot: renamed, cleaning up", "start: before the store",
                                            "recovery", "recovered, before READY", "idle or too late" };

typedef enum {
  SNAP_IDLE,
  SNAP_ROTATE,
  SNAP_WRITE,
  SNAP_CLEANUP,
} SnapState;

typedef struct {
  int fd;
  SnapState state;
  gint64 window_start;
  gint64 window_est_us; /* how long a compaction takes, as last seen */
  gboolean lock_opened;
} Watch;

/* reads the state directory's events that are there; returns TRUE when a
 * compaction started among them */
static gboolean
watch_read (Watch *watch)
{
  char buf[16384] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gboolean started = FALSE;

  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    ssize_t n;

    if (poll (&pfd, 1, 0) <= 0)
      return started;
    n = read (watch->fd, buf, sizeof buf);
    if (n <= 0)
      return started;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *) p;
      const char *name = ev->len > 0 ? ev->name : "";
      gboolean journal = g_str_has_prefix (name, "journal.");

      if ((ev->mask & IN_OPEN) && strcmp (name, "lock") == 0)
        watch->lock_opened = TRUE;
      if ((ev->mask & IN_CREATE) && journal) {
        watch->state = SNAP_ROTATE;
        watch->window_start = g_get_monotonic_time ();
        started = TRUE;
      } else if ((ev->mask & IN_CREATE) && strcmp (name, "snapshot.tmp") == 0) {
        if (watch->state == SNAP_IDLE) {
          watch->window_start = g_get_monotonic_time ();
          started = TRUE;
        }
        watch->state = SNAP_WRITE;
      } else if ((ev->mask & IN_MOVED_FROM) && strcmp (name, "snapshot.tmp") == 0) {
        watch->state = SNAP_CLEANUP;
      } else if ((ev->mask & IN_DELETE) && journal && watch->state != SNAP_IDLE) {
        gint64 took = g_get_monotonic_time () - watch->window_start;

        /* the next offsets are drawn over what a compaction takes now */
        watch->window_est_us = (watch->window_est_us + MAX (took, 500)) / 2;
        watch->state = SNAP_IDLE;
      }
      p += sizeof *ev + ev->len;
    }
  }
}

/* waits until a compaction starts, at most timeout_us */
static gboolean
watch_wait_snapshot (Watch *watch, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  watch_read (watch);
  watch->state = SNAP_IDLE;
  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    gint64 left = deadline - g_get_monotonic_time ();

    if (left <= 0)
      return FALSE;
    if (poll (&pfd, 1, (int) MAX (left / 1000, 1)) > 0 && watch_read (watch))
      return TRUE;
  }
}

/* follows the directory until the moment comes */
static void
watch_until (Watch *watch, gint64 when)
{
  for (;;) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };
    gint64 left = when - g_get_monotonic_time ();

    if (left <= 0)
      return;
    if (left < 1000) {
      g_usleep ((gulong) left);
      return;
    }
    if (poll (&pfd, 1, (int) (left / 1000)) > 0)
      watch_read (watch);
  }
}

typedef struct {
  guint landed[N_LANDED];
  guint kills;
  gint64 worst_serve_us;
  guint worst_serve_round;
  gint64 worst_serve_reservations;
  gint64 worst_serve_bytes;
  gint64 ready_est_us; /* spawn -> READY, as last measured */
  gint64 store_est_us; /* spawn -> the state directory's lock opened */
  guint64 reservations;
} Tally;

static void
count_kill (Tally *t, Landed landed)
{
  t->landed[landed]++;
  t->kills++;
}

static guint
count_lines (const char *text, const char *what)
{
  guint n = 0;

  for (const char *p = text; (p = strstr (p, what)) != NULL; p += strlen (what))
    n++;
  return n;
}

/* the kill of a restart: spawned, killed at a random moment before READY */
static void
kill_recovery (DaTestDaemon *devaddrd, Watch *watch, GRand *rand, Tally *t, guint round)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = da_test_daemon_log (devaddrd);
  guint recovered_before = count_lines (before, "recovered ");
  /* most kills aim between the opening of the store and READY, some before */
  gint64 from = t->store_est_us * 3 / 4;
  gint64 delay = g_rand_int_range (rand, (gint32) from, (gint32) MAX (t->ready_est_us, from + 1000));
  gint64 spawned;

  watch_read (watch);
  watch->lock_opened = FALSE;
  spawned = g_get_monotonic_time ();
  ck_assert_msg (da_test_daemon_spawn (devaddrd, &error), "round %u: %s", round, error ? error->message : "");
  watch_until (watch, spawned + delay);
  da_test_daemon_kill (devaddrd);
  watch_read (watch);
  if (da_test_daemon_ready_sent (devaddrd)) {
    count_kill (t, LANDED_IDLE);
  } else {
    g_autofree char *after = da_test_daemon_log (devaddrd);

    if (!watch->lock_opened)
      count_kill (t, LANDED_BEFORE_STORE);
    else if (count_lines (after, "recovered ") > recovered_before)
      count_kill (t, LANDED_BEFORE_READY);
    else
      count_kill (t, LANDED_RECOVERY);
  }
}

static void
restart_and_time (DaTestDaemon *devaddrd, Watch *watch, DaTestChecker *c, Tally *t)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) info = NULL;
  gint64 spawned, ready, served;
  JsonObject *store;

  watch_read (watch);
  watch->lock_opened = FALSE;
  spawned = g_get_monotonic_time ();
  da_test_check (c, da_test_daemon_spawn (devaddrd, &error), "restart: %s", error ? error->message : "");
  /* when the store is opened, so that kills during recovery can aim after it */
  while (!watch->lock_opened && g_get_monotonic_time () - spawned < SERVE_BOUND_US) {
    struct pollfd pfd = { watch->fd, POLLIN, 0 };

    if (poll (&pfd, 1, 100) > 0)
      watch_read (watch);
  }
  if (watch->lock_opened)
    t->store_est_us = g_get_monotonic_time () - spawned;
  da_test_check (c, da_test_daemon_wait_ready (devaddrd, &error), "restart: %s", error ? error->message : "");
  ready = g_get_monotonic_time ();
  c->client = da_test_client_connect (devaddrd->socket_path, &error);
  da_test_check (c, c->client != NULL, "connect: %s", error ? error->message : "");
  info = da_test_client_call_ok (c->client, "server.info", NULL);
  served = g_get_monotonic_time () - spawned;
  t->ready_est_us = ready - spawned;
  store = json_object_get_object_member (json_node_get_object (info), "store");
  da_test_check (c, served < SERVE_BOUND_US, "the first answer came %" G_GINT64_FORMAT " ms after the start (%"
              G_GINT64_FORMAT " reservations)", served / 1000, json_object_get_int_member (json_node_get_object (info),
                                                                                          "reservations"));
  if (served > t->worst_serve_us) {
    t->worst_serve_us = served;
    t->worst_serve_round = c->round;
    t->worst_serve_reservations = json_object_get_int_member (json_node_get_object (info), "reservations");
    t->worst_serve_bytes = json_object_get_int_member (store, "journal_bytes");
  }
  t->reservations = (guint64) json_object_get_int_member (json_node_get_object (info), "reservations");
}

static void
fill_bulk (DaTestClient *client, guint n, GHashTable *bulk)
{
  g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"bulk\"}");

  for (guint done = 0; done < n;) {
    guint batch = MIN (256, n - done);
    GString *params = g_string_new ("{\"vm\":\"bulk\",\"requests\":[");
    g_autoptr (JsonNode) result = NULL;
    JsonArray *list;

    for (guint i = 0; i < batch; i++)
      g_string_append_printf (params, "%s{\"type\":\"ccw\",\"alias\":\"b%u\"}", i > 0 ? "," : "", done + i);
    g_string_append (params, "]}");
    result = da_test_client_call_ok (client, "addr.reserve", params->str);
    g_string_free (params, TRUE);
    list = json_object_get_array_member (json_node_get_object (result), "reservations");
    for (guint i = 0; i < json_array_get_length (list); i++) {
      JsonObject *res = json_array_get_object_element (list, i);

      g_hash_table_insert (bulk, g_strdup (json_object_get_string_member (res, "alias")),
                           g_strdup (json_object_get_string_member (res, "address")));
    }
    done += batch;
  }
}

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

START_TEST (test_kill_anywhere)
{
  const char *seed_env = g_getenv ("DA_CRASH_SEED");
  guint32 seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : g_random_int ();
  guint rounds = env_uint ("DA_CRASH_ROUNDS", 6);
  guint n_bulk = env_uint ("DA_CRASH_BULK", 50000);
  g_autofree char *seed_text = g_strdup_printf ("DA_CRASH_SEED=%u", seed);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  DaTestWriter writers[WRITERS];
  g_autoptr (GHashTable) bulk = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Tally tally = { { 0 } };
  Watch watch = { -1, SNAP_IDLE, 0, 20000, FALSE };
  DaTestChecker c = { NULL, 0, seed_text };
  DaTestProgress progress = { 0 };
  gint64 started = g_get_monotonic_time ();

  /* a failure names its seed: DA_CRASH_SEED=n reruns the same kill moments */
  g_print ("crash test %s, %u rounds, %u reservations in the large state\n", seed_text, rounds, n_bulk);
  /* compaction every hundred records, so that it is under way often */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=100\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  watch.fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  ck_assert (watch.fd >= 0);
  ck_assert (inotify_add_watch (watch.fd, devaddrd->state_dir, IN_CREATE | IN_MOVED_FROM | IN_DELETE | IN_OPEN) >= 0);
  c.client = da_test_client_connect (devaddrd->socket_path, NULL);
  fill_bulk (c.client, n_bulk, bulk);
  g_clear_pointer (&c.client, da_test_client_free);

  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_init (&writers[i], devaddrd->socket_path, i, &progress);

  for (guint round = 0; round < rounds; round++) {
    Phase phase = (Phase) (round % N_PHASES);
    GThread *threads[WRITERS];
    gint64 delay;
    Landed landed;

    c.round = round;
    progress.acked = 0;
    da_test_writers_run (writers, WRITERS, seed ^ (round * 7919u), threads);
    /* the writers are under way once each has had an answer or two */
    g_mutex_lock (&progress.lock);
    while (progress.acked < 2 * WRITERS)
      ck_assert_msg (g_cond_wait_until (&progress.acked_cond, &progress.lock, g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND),
                     "round %u: the writers get no answers", round);
    g_mutex_unlock (&progress.lock);

    if (phase == PHASE_SNAPSHOT && watch_wait_snapshot (&watch, 10 * G_USEC_PER_SEC)) {
      delay = g_rand_int_range (rand, 0, (gint32) MAX (watch.window_est_us, 1000));
      watch_until (&watch, watch.window_start + delay);
    } else {
      delay = g_rand_int_range (rand, 0, 150000);
      watch_until (&watch, g_get_monotonic_time () + delay);
    }
    landed = g_atomic_int_get (&progress.in_flight) > 0 ? LANDED_COMMIT : LANDED_IDLE;
    da_test_daemon_kill (devaddrd);
    watch_read (&watch);
    if (watch.state == SNAP_ROTATE)
      landed = LANDED_SNAPSHOT_ROTATE;
    else if (watch.state == SNAP_WRITE)
      landed = LANDED_SNAPSHOT_WRITE;
    else if (watch.state == SNAP_CLEANUP)
      landed = LANDED_SNAPSHOT_CLEANUP;
    watch.state = SNAP_IDLE;
    count_kill (&tally, landed);
    da_test_writers_join (writers, WRITERS, threads);
    if (phase == PHASE_RECOVERY)
      kill_recovery (devaddrd, &watch, rand, &tally, round);

    restart_and_time (devaddrd, &watch, &c, &tally);
    da_test_writers_check (&c, writers, WRITERS, "bulk", bulk);
    g_clear_pointer (&c.client, da_test_client_free);
  }

  g_print ("%u rounds, %u kills in %.1f s; %" G_GUINT64_FORMAT " reservations at the end\n", rounds, tally.kills,
           (g_get_monotonic_time () - started) / 1e6, tally.reservations);
  for (guint i = 0; i < N_LANDED; i++)
    g_print ("  kills landed %-32s %u\n", landed_names[i], tally.landed[i]);
  g_print ("worst time from start to first answer: %.1f ms (round %u, %" G_GINT64_FORMAT " reservations, %"
           G_GINT64_FORMAT " journal bytes)\n", tally.worst_serve_us / 1000.0, tally.worst_serve_round,
           tally.worst_serve_reservations, tally.worst_serve_bytes);
  /* a long run must have hit every phase, many times */
  if (rounds >= 30) {
    ck_assert_uint_ge (tally.landed[LANDED_COMMIT], rounds / 10);
    ck_assert_uint_ge (tally.landed[LANDED_SNAPSHOT_WRITE] + tally.landed[LANDED_SNAPSHOT_ROTATE]
                       + tally.landed[LANDED_SNAPSHOT_CLEANUP], rounds / 10);
    ck_assert_uint_ge (tally.landed[LANDED_RECOVERY], rounds / 20);
  }

  for (guint i = 0; i < WRITERS; i++)
    da_test_writer_clear (&writers[i]);
  close (watch.fd);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("crash");
  TCase *tc = tcase_create ("crash");

  tcase_set_timeout (tc, 900);
  tcase_add_test (tc, test_kill_anywhere);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
