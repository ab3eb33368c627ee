/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kill -9 in the middle of 10,000 reserves from 8 concurrent clients: after
 * a restart every acknowledged reservation is there, at the address that
 * was acknowledged, and no address is held twice */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"

#define CLIENTS 8
#define PER_CLIENT 1250

/* how many reserves all clients have had acknowledged */
typedef struct {
  GMutex lock;
  GCond reached;
  guint total;
  guint target;
} Progress;

typedef struct {
  const char *socket_path;
  guint index;
  GHashTable *acked;     /* alias -> address, of this client */
  Progress *progress;
} Worker;

static gpointer
work (gpointer data)
{
  Worker *w = data;
  g_autoptr (DaTestClient) client = da_test_client_connect (w->socket_path, NULL);

  if (client == NULL)
    return NULL;
  for (guint i = 0; i < PER_CLIENT; i++) {
    g_autofree char *alias = g_strdup_printf ("c%u-%u", w->index, i);
    /* two pools: host ids and the vm's pci slots, so both scopes matter */
    g_autofree char *params = i % 10 == 0 && i / 10 < 16
      ? g_strdup_printf ("{\"vm\":\"vm%u\",\"type\":\"pci\",\"alias\":\"%s\",\"constraint\":{\"bus\":0}}", w->index, alias)
      : g_strdup_printf ("{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s\"}", alias);
    g_autoptr (JsonNode) response = da_test_client_request (client, "addr.reserve", params);
    JsonObject *obj;

    /* the daemon died: what was answered before counts, nothing after */
    if (response == NULL)
      break;
    obj = json_node_get_object (response);
    if (!json_object_has_member (obj, "result"))
      continue;
    g_hash_table_insert (w->acked, g_strdup (alias),
                         g_strdup (json_object_get_string_member (json_object_get_object_member (obj, "result"), "address")));
    g_mutex_lock (&w->progress->lock);
    if (++w->progress->total == w->progress->target)
      g_cond_signal (&w->progress->reached);
    g_mutex_unlock (&w->progress->lock);
  }
  return NULL;
}

static void
crash_round (guint round, guint kill_after)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) setup = NULL;
  g_autoptr (DaTestClient) check = NULL;
  g_autoptr (GHashTable) held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Worker workers[CLIENTS];
  GThread *threads[CLIENTS];
  Progress progress = { .target = kill_after };
  guint n_acked = 0;
  gint64 restart_started;

  /* snapshots happen during the run too */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=1000\n");
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  setup = da_test_client_connect (devaddrd->socket_path, NULL);
  for (guint c = 0; c < CLIENTS; c++) {
    g_autofree char *p = g_strdup_printf ("{\"vm\":\"vm%u\"}", c);
    g_autoptr (JsonNode) r = da_test_client_call_ok (setup, "vm.create", p);
  }
  for (guint c = 0; c < CLIENTS; c++) {
    workers[c] = (Worker) { devaddrd->socket_path, c, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), &progress };
    threads[c] = g_thread_new ("client", work, &workers[c]);
  }
  /* the kill comes the moment that many reserves are acknowledged */
  g_mutex_init (&progress.lock);
  g_cond_init (&progress.reached);
  g_mutex_lock (&progress.lock);
  while (progress.total < kill_after)
    g_cond_wait (&progress.reached, &progress.lock);
  g_mutex_unlock (&progress.lock);
  da_test_daemon_kill (devaddrd);
  for (guint c = 0; c < CLIENTS; c++)
    g_thread_join (threads[c]);

  restart_started = g_get_monotonic_time ();
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "round %u restart: %s", round, error ? error->message : "");
  check = da_test_client_connect (devaddrd->socket_path, NULL);
  {
    g_autoptr (JsonNode) info = da_test_client_call_ok (check, "server.info", NULL);
    gint64 serving_after = g_get_monotonic_time () - restart_started;

    ck_assert_msg (serving_after < 5 * G_USEC_PER_SEC, "serving only after %" G_GINT64_FORMAT " us", serving_after);
  }

  for (guint c = 0; c < CLIENTS; c++) {
    GHashTableIter iter;
    gpointer alias, address;

    g_hash_table_iter_init (&iter, workers[c].acked);
    while (g_hash_table_iter_next (&iter, &alias, &address)) {
      gboolean pci = g_str_has_prefix (address, "0000:");
      g_autofree char *params = pci ? g_strdup_printf ("{\"vm\":\"vm%u\",\"alias\":\"%s\"}", c, (char *) alias)
                                    : g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", (char *) alias);
      g_autoptr (JsonNode) got = da_test_client_request (check, "addr.lookup", params);
      JsonObject *obj = json_node_get_object (got);
      g_autofree char *key = pci ? g_strdup_printf ("vm%u/%s", c, (char *) address) : g_strdup_printf ("host/%s", (char *) address);

      ck_assert_msg (json_object_has_member (obj, "result"), "round %u: acknowledged %s lost after kill -9 at %u",
                     round, (char *) alias, kill_after);
      ck_assert_str_eq (json_object_get_string_member (json_object_get_object_member (obj, "result"), "address"), address);
      ck_assert_msg (g_hash_table_insert (held, g_steal_pointer (&key), g_strdup (alias)), "round %u: %s held twice",
                     round, (char *) address);
      n_acked++;
    }
    g_hash_table_unref (workers[c].acked);
  }
  /* and nothing else is held twice either: ids are unique in the pool */
  {
    g_autoptr (JsonNode) stats = da_test_client_call_ok (check, "pool.stats", "{\"scope\":\"host\",\"type\":\"id\"}");
    g_autoptr (JsonNode) info = da_test_client_call_ok (check, "server.info", NULL);
    gint64 used = json_object_get_int_member (json_node_get_object (stats), "used");
    gint64 reservations = json_object_get_int_member (json_node_get_object (info), "reservations");

    ck_assert_int_eq (used, json_object_get_int_member (json_node_get_object (stats), "reservations"));
    ck_assert_int_ge (reservations, n_acked);
  }
  ck_assert_uint_ge (n_acked, kill_after);
}

START_TEST (test_kill_during_reserves)
{
  const char *seed_env = g_getenv ("DA_CRASH_SEED");
  guint32 seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : g_random_int ();
  GRand *rand = g_rand_new_with_seed (seed);
  guint rounds = g_getenv ("DA_CRASH_ROUNDS") != NULL ? (guint) g_ascii_strtoull (g_getenv ("DA_CRASH_ROUNDS"), NULL, 10) : 3;

  /* a failure names its seed: DA_CRASH_SEED=n reruns it */
  g_print ("crash test seed %u, %u rounds\n", seed, rounds);
  for (guint round = 0; round < rounds; round++)
    crash_round (round, (guint) g_rand_int_range (rand, 500, CLIENTS * PER_CLIENT - 500));
  g_rand_free (rand);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("crash");
  TCase *tc = tcase_create ("crash");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 600);
  tcase_add_test (tc, test_kill_during_reserves);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
