/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIGHUP reloads the configuration and the catalog and keeps the state (a
 * configuration that does not load keeps the running one); SIGTERM under
 * load stops taking connections, answers what it took, and exits 0
 * without losing an acknowledged reservation */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define WAIT_MS 30000

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  ck_assert (g_mkdir_with_parents (parent, 0700) == 0);
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

static const char *
source_catalog (void)
{
  static char *path;

  if (path == NULL)
    path = g_build_filename (g_getenv ("DA_SRCDIR") != NULL ? g_getenv ("DA_SRCDIR") : ".", "data", NULL);
  return path;
}

/* SIGHUP with this devaddrd.conf; the message that ends the reload */
static char *
reload_with (DaTestDaemon *devaddrd, const char *config)
{
  char *ready;

  if (config != NULL)
    ck_assert (g_file_set_contents (devaddrd->config_path, config, -1, NULL));
  da_test_daemon_send_signal (devaddrd, SIGHUP);
  g_free (da_test_daemon_wait_notify (devaddrd, "RELOADING=1", WAIT_MS));
  ready = da_test_daemon_wait_notify (devaddrd, "READY=1", WAIT_MS);
  ck_assert_msg (ready != NULL, "no READY=1 after SIGHUP");
  return ready;
}

static gint64
pending_limit (DaTestClient *client)
{
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);

  return json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "limits"),
                                     "pending_per_connection");
}

static gboolean
has_template (DaTestClient *client, const char *name)
{
  g_autoptr (JsonNode) list = da_test_client_call_ok (client, "templates.list", NULL);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (array, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

/* n reservations written at once: how many were answered, how many refused
 * over the pending limit */
static void
pipeline (DaTestClient *client, guint n, const char *prefix, guint *answered, guint *limited)
{
  g_autoptr (GString) frames = g_string_new (NULL);

  *answered = *limited = 0;
  for (guint i = 0; i < n; i++)
    g_string_append_printf (frames, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"addr.reserve\","
                            "\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s%u\"}}\n", i, prefix, i);
  ck_assert (da_test_client_send (client, frames->str, frames->len));
  for (guint i = 0; i < n; i++) {
    g_autofree char *line = da_test_client_read_line (client, WAIT_MS);
    g_autoptr (JsonNode) reply = NULL;
    JsonObject *obj;

    ck_assert (line != NULL);
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    obj = json_node_get_object (reply);
    if (json_object_has_member (obj, "result")) {
      (*answered)++;
    } else {
      ck_assert_str_eq (da_test_error_reason (json_object_get_object_member (obj, "error")), "limit");
      (*limited)++;
    }
  }
}

START_TEST (test_sighup_reload)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *broken = NULL;
  g_autofree char *config = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *status = NULL;
  g_autofree char *log = NULL;
  guint answered, limited;

  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm1\"}");
    g_autoptr (JsonNode) net = da_test_client_call_ok (client, "addr.reserve", "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"net0\"}");
    g_autoptr (JsonNode) held = da_test_client_call_ok (client, "addr.reserve",
                                                        "{\"vm\":\"vm1\",\"type\":\"pci\",\"alias\":\"hot\",\"hold_s\":3600}");
  }
  before = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");
  ck_assert_int_eq (pending_limit (client), 64);
  ck_assert (!has_template (client, "tiny"));

  /* a second catalog directory with a new template, and a new limit */
  extra = g_build_filename (devaddrd->dir, "extra", NULL);
  write_file (extra, "templates/tiny.template",
              "[Template]\nName=tiny\nDescription=one PCI bus with its bridge (tests)\nBuses=pci-root:0\n\n"
              "[Reserve bridge]\nType=pci\nAddress=0000:00:00.0\n");
  config = g_strdup_printf ("%scatalog=%s;%s\n[limits]\npending=8\n", devaddrd->config_text, source_catalog (), extra);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=serving 1 vms", NULL));

  ck_assert (has_template (client, "tiny"));
  ck_assert_int_eq (pending_limit (client), 8);
  {
    g_autoptr (JsonNode) after = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");

    ck_assert_msg (da_json_equal (before, after), "the reload changed vm1");
  }
  {
    g_autoptr (JsonNode) vm = da_test_client_call_ok (client, "vm.create", "{\"vm\":\"vm2\",\"template\":\"tiny\"}");
    g_autoptr (JsonNode) vm2 = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm2\"}");
    JsonArray *list = json_object_get_array_member (json_node_get_object (vm2), "reservations");

    ck_assert_uint_eq (json_array_get_length (list), 1);
    ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (list, 0), "alias"), "bridge");
  }
  /* the new limit is the one in force */
  pipeline (client, 20, "a", &answered, &limited);
  ck_assert_uint_eq (answered, 8);
  ck_assert_uint_eq (limited, 12);

  /* a value out of range: nothing changes, and the log says so */
  g_free (config);
  config = g_strdup_printf ("%scatalog=%s\n[limits]\npending=0\n", devaddrd->config_text, source_catalog ());
  g_free (ready);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", &status));
  ck_assert_msg (strstr (status, "pending") != NULL, "%s", status);
  log = da_test_daemon_log (devaddrd);
  ck_assert_msg (strstr (log, "reload failed, keeping the running configuration") != NULL
                 && strstr (log, "[limits] pending must be") != NULL, "%s", log);
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));

  /* a catalog that does not load: the same */
  broken = g_build_filename (devaddrd->dir, "broken", NULL);
  write_file (broken, "templates/bad.template", "[Template]\nName=bad\nBuses=no-such-bus:0\n");
  g_free (config);
  config = g_strdup_printf ("%scatalog=%s;%s\n[limits]\npending=16\n", devaddrd->config_text, source_catalog (), broken);
  g_free (ready);
  ready = reload_with (devaddrd, config);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", NULL));
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));

  /* the --config file gone: an error, as it would be at start */
  ck_assert (unlink (devaddrd->config_path) == 0);
  g_free (ready);
  ready = reload_with (devaddrd, NULL);
  g_clear_pointer (&status, g_free);
  ck_assert (da_test_notify_has (ready, "STATUS=reload failed", &status));
  ck_assert_msg (strstr (status, devaddrd->config_path) != NULL, "%s", status);
  ck_assert_int_eq (pending_limit (client), 8);
  ck_assert (has_template (client, "tiny"));
  {
    g_autoptr (JsonNode) after = da_test_client_call_ok (client, "vm.get", "{\"vm\":\"vm1\"}");

    ck_assert (da_json_equal (before, after));
  }
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */

#define LOAD_CLIENTS 4
#define WINDOW 16

typedef struct {
  GMutex *lock;
  GCond *cond;
  guint *total_acked;
  const char *socket_path;
  guint index;
  GHashTable *acked;    /* alias -> address */
  GPtrArray *refused;   /* aliases answered "unavailable" */
  GString *other;       /* anything else that came back */
  gboolean half_line;   /* the connection ended inside a reply */
} Load;

static gpointer
load_run (gpointer data)
{
  Load *load = data;
  g_autoptr (DaTestClient) client = da_test_client_connect (load->socket_path, NULL);
  guint next = 0;

  /* windows of WINDOW requests, well under the pending limit, until the
   * daemon goes away */
  while (client != NULL) {
    g_autoptr (GString) frames = g_string_new (NULL);
    guint sent = 0;

    for (; sent < WINDOW; sent++, next++)
      g_string_append_printf (frames, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"addr.reserve\","
                              "\"params\":{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"c%u-%u\"}}\n", next, load->index, next);
    if (!da_test_client_send (client, frames->str, frames->len))
      break;
    for (guint i = 0; i < sent; i++) {
      g_autofree char *line = da_test_client_read_line (client, WAIT_MS);
      g_autoptr (JsonNode) reply = NULL;
      g_autofree char *alias = NULL;
      JsonObject *obj;

      if (line == NULL) {
        load->half_line = client->in->len > 0;
        g_clear_pointer (&client, da_test_client_free);
        break;
      }
      reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
      if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply) || !json_object_has_member (json_node_get_object (reply), "id")) {
        g_string_append_printf (load->other, "%s\n", line);
        continue;
      }
      obj = json_node_get_object (reply);
      alias = g_strdup_printf ("c%u-%" G_GINT64_FORMAT, load->index, json_object_get_int_member (obj, "id"));
      if (json_object_has_member (obj, "result")) {
        g_hash_table_insert (load->acked, g_steal_pointer (&alias),
                             g_strdup (json_object_get_string_member (json_object_get_object_member (obj, "result"), "address")));
        g_mutex_lock (load->lock);
        (*load->total_acked)++;
        g_cond_signal (load->cond);
        g_mutex_unlock (load->lock);
      } else if (strcmp (da_test_error_reason (json_object_get_object_member (obj, "error")), "unavailable") == 0) {
        g_ptr_array_add (load->refused, g_steal_pointer (&alias));
      } else {
        g_string_append_printf (load->other, "%s\n", line);
      }
    }
  }
  return NULL;
}

START_TEST (test_sigterm_under_load)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autofree char *hook = g_build_filename (devaddrd->dir, "sync-hook", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaTestClient) client = NULL;
  g_autofree char *stopping = NULL;
  Load loads[LOAD_CLIENTS];
  GThread *threads[LOAD_CLIENTS];
  GMutex lock;
  GCond cond;
  guint total_acked = 0, n_acked = 0, n_refused = 0;
  gint64 deadline;

  /* syncs of 50 ms: commits are always in flight when SIGTERM comes */
  da_test_daemon_setenv (devaddrd, "DEVADDRD_TEST_SYNC_HOOK", hook);
  ck_assert (g_file_set_contents (hook, "delay-ms=50\n", -1, NULL));
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  g_mutex_init (&lock);
  g_cond_init (&cond);
  for (guint c = 0; c < LOAD_CLIENTS; c++) {
    loads[c] = (Load) { &lock, &cond, &total_acked, devaddrd->socket_path, c,
                        g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
                        g_ptr_array_new_with_free_func (g_free), g_string_new (NULL), FALSE };
    threads[c] = g_thread_new ("load", load_run, &loads[c]);
  }

  /* in the middle of it */
  deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  g_mutex_lock (&lock);
  while (total_acked < 100)
    ck_assert_msg (g_cond_wait_until (&cond, &lock, deadline), "only %u reservations in %d ms", total_acked, WAIT_MS);
  g_mutex_unlock (&lock);
  da_test_daemon_send_signal (devaddrd, SIGTERM);
  stopping = da_test_daemon_wait_notify (devaddrd, "STOPPING=1", WAIT_MS);
  ck_assert_msg (stopping != NULL, "no STOPPING=1 after SIGTERM");
  /* nobody new gets in (the daemon may still be finishing its commits) */
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  ck_assert_msg (client == NULL, "a connection was accepted after SIGTERM");
  for (guint c = 0; c < LOAD_CLIENTS; c++)
    g_thread_join (threads[c]);
  ck_assert_int_eq (da_test_daemon_wait (devaddrd), 0);

  for (guint c = 0; c < LOAD_CLIENTS; c++) {
    ck_assert_msg (loads[c].other->len == 0, "client %u got other answers:\n%s", c, loads[c].other->str);
    ck_assert_msg (!loads[c].half_line, "client %u got half a reply", c);
    n_acked += g_hash_table_size (loads[c].acked);
    n_refused += loads[c].refused->len;
  }
  ck_assert_uint_ge (n_acked, 100);
  g_print ("%u acknowledged, %u answered unavailable\n", n_acked, n_refused);

  /* every acknowledged reservation is there after a restart, at its
   * address; nothing answered "unavailable" is */
  ck_assert (unlink (hook) == 0);
  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  for (guint c = 0; c < LOAD_CLIENTS; c++) {
    GHashTableIter iter;
    gpointer alias, address;

    g_hash_table_iter_init (&iter, loads[c].acked);
    while (g_hash_table_iter_next (&iter, &alias, &address)) {
      g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", (char *) alias);
      g_autoptr (JsonNode) r = da_test_client_call_ok (client, "addr.lookup", p);

      ck_assert_str_eq (json_object_get_string_member (json_node_get_object (r), "address"), address);
    }
    for (guint i = 0; i < loads[c].refused->len; i++) {
      g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", (char *) g_ptr_array_index (loads[c].refused, i));
      g_autoptr (JsonObject) e = da_test_client_call_error (client, "addr.lookup", p);

      ck_assert_str_eq (da_test_error_reason (e), "not-found");
    }
    g_hash_table_unref (loads[c].acked);
    g_ptr_array_unref (loads[c].refused);
    g_string_free (loads[c].other, TRUE);
  }
  g_mutex_clear (&lock);
  g_cond_clear (&cond);
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("signals");
  TCase *tc = tcase_create ("signals");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_sighup_reload);
  tcase_add_test (tc, test_sigterm_under_load);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
