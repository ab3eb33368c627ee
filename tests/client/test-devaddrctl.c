/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devaddrctl against a real devaddrd: the exit code of each class of
 * error, --json output that parses and holds what it should, reserve
 * --xml, assign --create and import (all or nothing, --partial), the human
 * output of map against tests/client/expected/, colour only on a terminal,
 * watch, and the bash completion.
 *
 * DA_UPDATE_EXPECTED=1 rewrites the expected files from what devaddrctl
 * prints (then review the diff).
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-program.h"
#include "tests/common/da-test-suite.h"

static DaTestDaemon *daemon_;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;

  daemon_ = da_test_daemon_new (NULL);
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not start: %s", error->message);
}

static void
teardown (void)
{
  g_clear_pointer (&daemon_, da_test_daemon_free);
}

static const char *
ctl_binary (void)
{
  static char *path;

  if (path == NULL) {
    const char *builddir = g_getenv ("DA_BUILDDIR");

    path = g_build_filename (builddir != NULL ? builddir : ".", "client", "devaddrctl", NULL);
  }
  return path;
}

static char *
srcdir_file (const char *name)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");

  return g_build_filename (srcdir != NULL ? srcdir : ".", name, NULL);
}

/* a program with DEVADDR_SOCKET set to the test daemon; stdin from
 * input; env: extra NAME=VALUE pairs, NAME= unsets; program: NULL for
 * devaddrctl */
static DaTestRun *
run_program (const char *program, const char *const *env, const char *input, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = da_test_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_subprocess_launcher_setenv (launcher, "DEVADDR_SOCKET", daemon_->socket_path, TRUE);
  for (guint i = 0; env != NULL && env[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);

    if (kv[1] == NULL || *kv[1] == '\0')
      g_subprocess_launcher_unsetenv (launcher, kv[0]);
    else
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1], TRUE);
  }
  g_ptr_array_add (argv, (gpointer) (program != NULL ? program : ctl_binary ()));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return da_test_run_program (launcher, (const char *const *) argv->pdata, input != NULL ? input : "");
}

static DaTestRun *
run_full (const char *const *env, const char *input, const char *const *args)
{
  return run_program (NULL, env, input, args);
}

#define RUN(...) run_full (NULL, NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define RUN_ENV(env, ...) run_full ((const char *const[]) { env, NULL }, NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define RUN_INPUT(input, ...) run_full (NULL, input, (const char *const[]) { __VA_ARGS__, NULL })

#define assert_status(run, want) \
  ck_assert_msg ((run)->status == (want), "exit %d, expected %d\nstdout: %s\nstderr: %s", (run)->status, (want), \
                 (run)->out, (run)->err)

/* must succeed */
static void
ok (DaTestRun *run)
{
  assert_status (run, 0);
  da_test_run_free (run);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = da_json_parse (text, strlen (text), NULL, NULL, &error);

  ck_assert_msg (node != NULL, "not JSON (%s): %s", error != NULL ? error->message : "", text);
  return node;
}

/* ------------------------------------------------------------------ */

START_TEST (test_exit_codes)
{
  g_autofree char *missing = g_build_filename (daemon_->dir, "missing.sock", NULL);
  g_autofree char *socket_opt = g_strdup_printf ("--socket=%s", missing);
  g_autoptr (DaTestRun) usage1 = RUN ("frobnicate");
  g_autoptr (DaTestRun) usage2 = RUN ("vm", "show");
  g_autoptr (DaTestRun) usage3 = RUN ("reserve", "vm1", "pci", "x", "--no-such-option");
  g_autoptr (DaTestRun) usage4 = RUN ("release", "vm1", "x", "--begin", "--confirm");
  g_autoptr (DaTestRun) nothing = RUN ("--json");
  g_autoptr (DaTestRun) not_found = NULL, conflict = NULL, exhausted = NULL, read_only = NULL, unavailable = NULL;
  g_autoptr (DaTestRun) invalid = NULL, bad_file = NULL, bad_constraint = NULL, bad_where = NULL, domain = NULL;
  g_autofree char *example = srcdir_file ("examples/domain-pc.xml");

  assert_status (usage1, 1);
  ck_assert (strstr (usage1->err, "unknown command") != NULL);
  assert_status (usage2, 1);
  ck_assert (strstr (usage2->err, "usage: devaddrctl vm show VM") != NULL);
  assert_status (usage3, 1);
  assert_status (usage4, 1);
  assert_status (nothing, 1);

  ok (RUN ("vm", "create", "vm1", "--template", "pc"));
  not_found = RUN ("vm", "show", "nope");
  assert_status (not_found, 2);
  ck_assert (strstr (not_found->err, "devaddrctl: ") == not_found->err);

  ok (RUN ("reserve", "vm1", "pci", "net0"));
  conflict = RUN ("reserve", "vm1", "pci", "net1", "0000:00:03.0");
  assert_status (conflict, 3);
  ck_assert (strstr (conflict->err, "net0") != NULL);

  ok (RUN ("reserve", "vm1", "usb", "u1"));
  ok (RUN ("reserve", "vm1", "usb", "u2"));
  exhausted = RUN ("reserve", "vm1", "usb", "u3");
  assert_status (exhausted, 4);

  read_only = RUN ("--socket", daemon_->ro_socket_path, "vm", "create", "vm2");
  assert_status (read_only, 5);

  unavailable = RUN (socket_opt, "vm", "list");
  assert_status (unavailable, 6);
  ck_assert (strstr (unavailable->err, missing) != NULL);

  invalid = RUN ("reserve", "vm1", "pci", "bad", "zz");
  assert_status (invalid, 7);
  bad_file = RUN ("assign", "vm1", "/nonexistent/domain.xml");
  assert_status (bad_file, 7);
  bad_constraint = RUN ("reserve", "vm1", "pci", "x", "--constraint", "{not json");
  assert_status (bad_constraint, 7);
  bad_where = RUN ("reserve", "vm1", "pci", "x", "--where", "slot");
  assert_status (bad_where, 7);

  /* vm1's USB ports are taken by u1 and u2 above: its tablet cannot go
   * anywhere; a VM of its own takes the example as it is */
  domain = RUN ("assign", "vm1", example);
  assert_status (domain, 4);
  ck_assert (strstr (domain->err, "USB") != NULL);
  g_clear_pointer (&domain, da_test_run_free);
  domain = RUN ("assign", "web", example);
  assert_status (domain, 0);
  ck_assert_msg (strstr (domain->out, "<address type=\"pci\"") != NULL || strstr (domain->out, "<address type='pci'") != NULL,
                 "%s", domain->out);
}
END_TEST

START_TEST (test_permission_denied)
{
  g_autoptr (DaTestRun) create = NULL;
  g_autoptr (DaTestRun) list = NULL;
  g_autoptr (GError) error = NULL;

  if (geteuid () == 0)
    return; /* root may do anything */
  /* nobody outside a group that does not exist may change anything, not
   * even the daemon's own user */
  teardown ();
  daemon_ = da_test_daemon_new (NULL);
  da_test_daemon_set_config (daemon_, "[daemon]\ngroup=devaddr-test-no-such-group\nowner-may-mutate=false\n");
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not start: %s", error->message);
  create = RUN ("vm", "create", "vm1");
  assert_status (create, 5);

  /* a socket closed to the user: queries go to the read-only one */
  ck_assert_int_eq (chmod (daemon_->socket_path, 0), 0);
  list = RUN ("vm", "list");
  assert_status (list, 0);
  da_test_run_free (create);
  create = RUN ("vm", "create", "vm1");
  assert_status (create, 5);
}
END_TEST

/* ------------------------------------------------------------------ */

static JsonObject *
object_of (JsonNode *node)
{
  ck_assert (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

START_TEST (test_json)
{
  g_autoptr (DaTestRun) status = NULL, list = NULL, show = NULL, reserve = NULL, types = NULL, templates = NULL;
  g_autoptr (DaTestRun) lookup = NULL, stats = NULL, all_stats = NULL, map = NULL, release = NULL, batch = NULL;
  g_autoptr (JsonNode) n1 = NULL, n2 = NULL, n3 = NULL, n4 = NULL, n5 = NULL, n6 = NULL, n7 = NULL, n8 = NULL;
  g_autoptr (JsonNode) n9 = NULL, n10 = NULL, n11 = NULL, n12 = NULL;
  JsonArray *array;
  JsonObject *obj;

  ok (RUN ("vm", "create", "vm1"));
  status = RUN ("--json", "status");
  assert_status (status, 0);
  n1 = parse (status->out);
  ck_assert_str_eq (json_object_get_string_member (object_of (n1), "version"), PACKAGE_VERSION);
  ck_assert_int_eq (json_object_get_int_member (object_of (n1), "vms"), 1);

  /* --json also after the command */
  list = RUN ("vm", "list", "--json");
  assert_status (list, 0);
  n2 = parse (list->out);
  array = json_node_get_array (n2);
  ck_assert_uint_eq (json_array_get_length (array), 1);
  ck_assert_str_eq (json_object_get_string_member (json_array_get_object_element (array, 0), "template"), "pc");

  reserve = RUN ("--json", "reserve", "vm1", "pci", "net0", "--hold", "60");
  assert_status (reserve, 0);
  n3 = parse (reserve->out);
  obj = object_of (n3);
  ck_assert_str_eq (json_object_get_string_member (obj, "alias"), "net0");
  ck_assert_str_eq (json_object_get_string_member (obj, "address"), "0000:00:03.0");
  ck_assert_str_eq (json_object_get_string_member (obj, "state"), "held");
  ck_assert (json_object_has_member (obj, "expires_at"));

  show = RUN ("--json", "vm", "show", "vm1");
  assert_status (show, 0);
  n4 = parse (show->out);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (object_of (n4), "reservations")), 7);

  types = RUN ("--json", "types");
  assert_status (types, 0);
  n5 = parse (types->out);
  ck_assert_uint_ge (json_array_get_length (json_node_get_array (n5)), 10);
  templates = RUN ("--json", "templates");
  assert_status (templates, 0);
  n6 = parse (templates->out);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (n6)), 3);

  lookup = RUN ("--json", "lookup", "vm1", "pci", "0000:00:03.0");
  assert_status (lookup, 0);
  n7 = parse (lookup->out);
  ck_assert_str_eq (json_object_get_string_member (object_of (n7), "alias"), "net0");

  stats = RUN ("--json", "stats", "vm1", "pci");
  assert_status (stats, 0);
  n8 = parse (stats->out);
  ck_assert_int_eq (json_object_get_int_member (object_of (n8), "used"), 7);
  all_stats = RUN ("--json", "stats", "vm1");
  assert_status (all_stats, 0);
  n9 = parse (all_stats->out);
  ck_assert_uint_ge (json_array_get_length (json_node_get_array (n9)), 3);

  map = RUN ("--json", "map", "vm1");
  assert_status (map, 0);
  n10 = parse (map->out);
  obj = object_of (n10);
  ck_assert_str_eq (json_object_get_string_member (obj, "vm"), "vm1");
  array = json_object_get_array_member (obj, "pci");
  ck_assert_uint_eq (json_array_get_length (array), 1);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (json_array_get_object_element (array, 0),
                                                                          "functions")),
                     7);

  release = RUN ("--json", "release", "vm1", "net0");
  assert_status (release, 0);
  n11 = parse (release->out);
  ck_assert_str_eq (json_object_get_string_member (object_of (n11), "alias"), "net0");

  batch = RUN_INPUT ("[{\"type\":\"pci\",\"alias\":\"b0\"},{\"type\":\"drive-ide\",\"alias\":\"b1\"}]", "--json",
                     "reserve", "vm1", "--batch", "-");
  assert_status (batch, 0);
  n12 = parse (batch->out);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (object_of (n12), "reservations")), 2);
}
END_TEST

START_TEST (test_human)
{
  g_autoptr (DaTestRun) reserve = NULL, list = NULL, show = NULL, release = NULL, batch = NULL, host = NULL;
  g_autoptr (DaTestRun) empty = NULL, host_show = NULL;

  ok (RUN ("vm", "create", "vm1", "-t", "q35"));
  reserve = RUN ("reserve", "vm1", "pci", "net0", "--where", "slot=2");
  assert_status (reserve, 0);
  ck_assert_str_eq (reserve->out, "ALIAS  TYPE  ADDRESS       STATE   MODE     NOTE\n"
                                  "net0   pci   0000:00:02.0  active  dynamic\n");
  list = RUN ("vm", "list");
  assert_status (list, 0);
  ck_assert_str_eq (list->out, "VM   TEMPLATE  RESERVATIONS\nvm1  q35       5\n");
  show = RUN ("vm", "show", "vm1");
  assert_status (show, 0);
  ck_assert (g_str_has_prefix (show->out, "vm1 (template q35): 5 reservations\n"));
  ck_assert (strstr (show->out, "host-bridge  pci   0000:00:00.0  active  static   template\n") != NULL);
  release = RUN ("release", "vm1", "net0", "--begin");
  assert_status (release, 0);
  ck_assert_str_eq (release->out, "net0: releasing\n");
  batch = RUN_INPUT ("[{\"type\":\"pci\",\"alias\":\"b0\",\"address\":\"0000:00:07.0\"}]", "reserve", "vm1", "--batch",
                     "-", "--xml");
  assert_status (batch, 0);
  ck_assert_str_eq (batch->out, "<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>\n");
  empty = RUN ("host", "show");
  assert_status (empty, 0);
  ck_assert_str_eq (empty->out, "the host scope: 0 reservations\n");
  host = RUN ("reserve", "--host", "vsock-cid", "vm1-vsock");
  assert_status (host, 0);
  ck_assert (strstr (host->out, "vm1-vsock") != NULL);
  host_show = RUN ("host", "show");
  assert_status (host_show, 0);
  ck_assert_str_eq (host_show->out, "the host scope: 1 reservation\n\n"
                                    "ALIAS      TYPE       ADDRESS  STATE   MODE     NOTE\n"
                                    "vm1-vsock  vsock-cid  3        active  dynamic\n");
}
END_TEST

/* devaddrctl(1) documents the exit codes --help lists, 0 to 8, no more
 * and no fewer */
START_TEST (test_exit_codes_documented)
{
  g_autoptr (DaTestRun) help = RUN ("--help");
  g_autofree char *page_path = srcdir_file ("man/devaddrctl.1.scd");
  g_autofree char *page = NULL;
  g_auto (GStrv) help_lines = NULL;
  g_auto (GStrv) page_lines = NULL;
  g_autoptr (GString) in_help = g_string_new (NULL);
  g_autoptr (GString) in_page = g_string_new (NULL);
  gboolean inside = FALSE;

  assert_status (help, 0);
  help_lines = g_strsplit (help->out, "\n", -1);
  for (guint i = 0; help_lines[i] != NULL; i++) {
    if (strcmp (help_lines[i], "Exit status:") == 0)
      inside = TRUE;
    else if (inside && g_str_has_prefix (help_lines[i], "  ") && g_ascii_isdigit (help_lines[i][2]))
      g_string_append_printf (in_help, "%c", help_lines[i][2]);
    else if (inside)
      break;
  }
  ck_assert (g_file_get_contents (page_path, &page, NULL, NULL));
  page_lines = g_strsplit (page, "\n", -1);
  inside = FALSE;
  for (guint i = 0; page_lines[i] != NULL; i++) {
    if (g_str_has_prefix (page_lines[i], "# "))
      inside = strcmp (page_lines[i], "# EXIT STATUS") == 0;
    else if (inside && g_str_has_prefix (page_lines[i], "*") && g_ascii_isdigit (page_lines[i][1])
             && page_lines[i][2] == '*')
      g_string_append_printf (in_page, "%c", page_lines[i][1]);
  }
  ck_assert_str_eq (in_help->str, "012345678");
  ck_assert_str_eq (in_page->str, in_help->str);
}
END_TEST

START_TEST (test_vm_without_verb)
{
  g_autoptr (DaTestRun) alone = RUN ("vm");
  g_autoptr (DaTestRun) with_option = RUN ("vm", "--json");
  g_autoptr (DaTestRun) unknown = RUN ("vm", "frobnicate");

  assert_status (alone, 1);
  ck_assert_str_eq (alone->err, "devaddrctl: vm needs a verb: create, delete, list or show; see devaddrctl --help\n");
  assert_status (with_option, 1);
  ck_assert (strstr (with_option->err, "vm needs a verb") != NULL);
  assert_status (unknown, 1);
  ck_assert_str_eq (unknown->err, "devaddrctl: unknown command \"vm frobnicate\": vm takes create, delete, list or "
                                  "show; see devaddrctl --help\n");
}
END_TEST

/* the number of reservations vm list gives the VM */
static gint64
n_reservations (const char *vm)
{
  g_autoptr (DaTestRun) list = RUN ("--json", "vm", "list");
  g_autoptr (JsonNode) node = NULL;
  JsonArray *array;

  assert_status (list, 0);
  node = parse (list->out);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *obj = json_array_get_object_element (array, i);

    if (strcmp (json_object_get_string_member (obj, "vm"), vm) == 0)
      return json_object_get_int_member (obj, "reservations");
  }
  return -1;
}

START_TEST (test_vm_delete)
{
  g_autoptr (DaTestRun) deleted = NULL, gone = NULL, again = NULL, usage = NULL, read_only = NULL, json = NULL;
  g_autoptr (DaTestRun) list = NULL, reuse = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *expected = NULL;
  gint64 n;

  ok (RUN ("vm", "create", "vm1"));
  ok (RUN ("vm", "create", "vm2", "-t", "q35"));
  ok (RUN ("reserve", "vm1", "pci", "net0"));
  ok (RUN ("reserve", "vm1", "drive-ide", "ide0-0-0", "--hold", "60"));
  n = n_reservations ("vm1");
  ck_assert_int_gt (n, 2);

  usage = RUN ("vm", "delete");
  assert_status (usage, 1);
  ck_assert (strstr (usage->err, "usage: devaddrctl vm delete VM") != NULL);
  read_only = RUN ("--socket", daemon_->ro_socket_path, "vm", "delete", "vm1");
  assert_status (read_only, 5);
  ck_assert_int_eq (n_reservations ("vm1"), n);

  /* every reservation goes with it, the template's too */
  deleted = RUN ("vm", "delete", "vm1");
  assert_status (deleted, 0);
  expected = g_strdup_printf ("vm1: deleted, %" G_GINT64_FORMAT " reservations released\n", n);
  ck_assert_str_eq (deleted->out, expected);
  gone = RUN ("vm", "show", "vm1");
  assert_status (gone, 2);
  ck_assert_str_eq (gone->err, "devaddrctl: no vm vm1\n");
  list = RUN ("vm", "list");
  assert_status (list, 0);
  ck_assert_str_eq (list->out, "VM   TEMPLATE  RESERVATIONS\nvm2  q35       4\n");
  again = RUN ("vm", "delete", "vm1");
  assert_status (again, 2);
  /* the name is free again, with nothing left of the old VM */
  reuse = RUN ("vm", "create", "vm1");
  assert_status (reuse, 0);
  ck_assert_int_eq (n_reservations ("vm1"), n - 2);

  json = RUN ("--json", "vm", "delete", "vm2");
  assert_status (json, 0);
  node = parse (json->out);
  ck_assert_int_eq (json_object_get_int_member (object_of (node), "released"), 4);
}
END_TEST

/* the tables of the queries, as a person reads them */
START_TEST (test_human_queries)
{
  g_autoptr (DaTestRun) status = NULL, types = NULL, templates = NULL, stats = NULL, pci = NULL, empty = NULL;
  g_autoptr (DaTestRun) by_alias = NULL, by_address = NULL, missing = NULL, host = NULL;
  g_autofree char *socket_line = g_strdup_printf ("\nsocket        %s\n", daemon_->socket_path);
  g_autofree char *state_line = g_strdup_printf ("\nstate         %s\n", daemon_->state_dir);
  g_autofree char *head = g_strdup_printf ("devaddrd %s, protocol %d\n", PACKAGE_VERSION, DA_PROTOCOL_VERSION);

  ok (RUN ("vm", "create", "vm1"));
  ok (RUN ("vm", "create", "idle"));
  ok (RUN ("reserve", "vm1", "pci", "net0"));
  ok (RUN ("reserve", "vm1", "drive-ide", "ide0-0-0", "--hold", "60"));

  status = RUN ("status");
  assert_status (status, 0);
  ck_assert_msg (g_str_has_prefix (status->out, head), "%s", status->out);
  ck_assert_msg (strstr (status->out, socket_line) != NULL, "%s", status->out);
  ck_assert_msg (strstr (status->out, "\nvms           2\n") != NULL, "%s", status->out);
  ck_assert_msg (strstr (status->out, "\nreservations  14\n") != NULL, "%s", status->out);
  ck_assert_msg (strstr (status->out, state_line) != NULL, "%s", status->out);
  ck_assert_msg (g_str_has_suffix (status->out, "\nstore         ok\n"), "%s", status->out);

  types = RUN ("types");
  assert_status (types, 0);
  ck_assert_msg (g_str_has_prefix (types->out, "NAME           DIMENSIONS                   EXAMPLE            DESCRIPTION\n"),
                 "%s", types->out);
  ck_assert_msg (strstr (types->out, "\npci            domain,bus,slot,function     0000:00:00.0       PCI address: "
                                     "domain, bus, slot and function\n") != NULL, "%s", types->out);
  ck_assert_msg (strstr (types->out, "\nmac            o0,o1,o2,o3,o4,o5            52:54:00:00:00:00  ") != NULL,
                 "%s", types->out);

  templates = RUN ("templates");
  assert_status (templates, 0);
  ck_assert_msg (g_str_has_prefix (templates->out, "NAME    MACHINES                      DESCRIPTION\nganeti  -   "),
                 "%s", templates->out);
  ck_assert_msg (strstr (templates->out, "\nq35     q35,pc-q35-*                  Q35 with ICH9") != NULL, "%s",
                 templates->out);

  /* the pools in use, then one pool in detail */
  stats = RUN ("stats", "vm1");
  assert_status (stats, 0);
  ck_assert_str_eq (stats->out, "TYPE       USED  FREE  CAPACITY  LARGEST FREE RUN\n"
                                "drive-fdc  0     2     2         2\n"
                                "drive-ide  1     3     4         2\n"
                                "pci        7     249   256       231\n");
  pci = RUN ("stats", "vm1", "pci");
  assert_status (pci, 0);
  ck_assert_msg (g_str_has_prefix (pci->out, "pci in vm1: 7 used, 249 free of 256, largest free run 231\n\n"
                                             "PART  NAME            USED  FREE  CAPACITY\n"),
                 "%s", pci->out);
  ck_assert_msg (g_str_has_suffix (pci->out, "\nbus   domain=0,bus=0  7     249   256\n"), "%s", pci->out);
  empty = RUN ("stats", "--host");
  assert_status (empty, 0);
  ck_assert_str_eq (empty->out, "the host scope has no addresses in use\n");

  by_alias = RUN ("lookup", "vm1", "ide0-0-0");
  assert_status (by_alias, 0);
  ck_assert_msg (g_str_has_prefix (by_alias->out, "ALIAS     TYPE       ADDRESS  STATE  MODE     NOTE\n"
                                                  "ide0-0-0  drive-ide  0:0:0:0  held   dynamic  expires "),
                 "%s", by_alias->out);
  by_address = RUN ("lookup", "vm1", "pci", "0000:00:01.1");
  assert_status (by_address, 0);
  ck_assert_str_eq (by_address->out, "ALIAS      TYPE  ADDRESS       STATE   MODE    NOTE\n"
                                     "piix3-ide  pci   0000:00:01.1  active  static  template\n");
  missing = RUN ("lookup", "vm1", "pci", "0000:00:1f.0");
  assert_status (missing, 2);
  ok (RUN ("reserve", "--host", "mac", "vm1-net0", "52:54:00:00:00:07"));
  host = RUN ("lookup", "--host", "vm1-net0");
  assert_status (host, 0);
  ck_assert_str_eq (host->out, "ALIAS     TYPE  ADDRESS            STATE   MODE    NOTE\n"
                               "vm1-net0  mac   52:54:00:00:00:07  active  static\n");
}
END_TEST

START_TEST (test_commit)
{
  g_autoptr (DaTestRun) committed = NULL, again = NULL, missing = NULL, usage = NULL, host = NULL, read_only = NULL;
  g_autoptr (DaTestRun) held = NULL, show = NULL;

  ok (RUN ("vm", "create", "vm1"));
  held = RUN ("reserve", "vm1", "pci", "net1", "--hold", "120");
  assert_status (held, 0);
  ck_assert_msg (strstr (held->out, "  held   dynamic  expires ") != NULL, "%s", held->out);
  read_only = RUN ("--socket", daemon_->ro_socket_path, "commit", "vm1", "net1");
  assert_status (read_only, 5);

  /* held becomes active, and stays so */
  committed = RUN ("commit", "vm1", "net1");
  assert_status (committed, 0);
  ck_assert_str_eq (committed->out, "ALIAS  TYPE  ADDRESS       STATE   MODE     NOTE\n"
                                    "net1   pci   0000:00:03.0  active  dynamic\n");
  show = RUN ("vm", "show", "vm1");
  assert_status (show, 0);
  ck_assert_msg (strstr (show->out, "\nnet1           pci   0000:00:03.0  active  dynamic\n") != NULL, "%s",
                 show->out);
  /* committing an active one again is a harmless retry */
  again = RUN ("commit", "vm1", "net1");
  assert_status (again, 0);
  ck_assert_str_eq (again->out, committed->out);

  missing = RUN ("commit", "vm1", "nope");
  assert_status (missing, 2);
  ck_assert_str_eq (missing->err, "devaddrctl: vm vm1 has no reservation nope\n");
  usage = RUN ("commit", "vm1");
  assert_status (usage, 1);
  ck_assert (strstr (usage->err, "usage: devaddrctl commit {VM|--host} ALIAS") != NULL);

  ok (RUN ("reserve", "--host", "vsock-cid", "vm1", "--hold", "60"));
  host = RUN ("commit", "--host", "vm1");
  assert_status (host, 0);
  ck_assert_str_eq (host->out, "ALIAS  TYPE       ADDRESS  STATE   MODE     NOTE\n"
                               "vm1    vsock-cid  3        active  dynamic\n");
}
END_TEST

START_TEST (test_reserve_xml)
{
  static const char *const cases[][4] = {
    { "pci", "net0", "0000:00:03.0", "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n" },
    { "drive-ide", "cd0", "0:1:0:1", "<address type='drive' controller='0' bus='1' target='0' unit='1'/>\n" },
    { "virtio-serial", "ch0", "0:0:2", "<address type='virtio-serial' controller='0' bus='0' port='2'/>\n" },
    { "usb", "tab0", "0:2", "<address type='usb' bus='0' port='2'/>\n" },
    { "ccw", "dev0", "fe.0.0001", "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>\n" },
  };
  g_autoptr (DaTestRun) mac = NULL;
  g_autoptr (DaTestRun) json_and_xml = NULL;

  ok (RUN ("vm", "create", "vm1"));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (DaTestRun) run = RUN ("reserve", "vm1", cases[i][0], cases[i][1], cases[i][2], "--xml", "--hold", "60");

    assert_status (run, 0);
    ck_assert_str_eq (run->out, cases[i][3]);
  }
  /* no element for a MAC */
  mac = RUN ("reserve", "--host", "mac", "m0", "--xml");
  assert_status (mac, 7);
  json_and_xml = RUN ("--json", "reserve", "vm1", "pci", "x", "--xml");
  assert_status (json_and_xml, 1);
}
END_TEST

START_TEST (test_assign_create)
{
  g_autofree char *q35 = srcdir_file ("examples/domain-q35.xml");
  g_autofree char *odd = g_build_filename (daemon_->dir, "odd.xml", NULL);
  g_autoptr (DaTestRun) first = NULL, again = NULL, list = NULL, unknown = NULL, clash = NULL;
  g_autofree char *pc = srcdir_file ("examples/domain-pc.xml");

  /* the VM is made with the template of the machine type */
  first = RUN ("assign", "--create", "web1", q35);
  assert_status (first, 0);
  ck_assert (strstr (first->out, "<address type=\"pci\"") != NULL);
  list = RUN ("vm", "list");
  ck_assert (strstr (list->out, "web1  q35") != NULL);
  again = RUN ("assign", "-c", "web1", q35);
  assert_status (again, 0);
  ck_assert_str_eq (again->out, first->out);
  clash = RUN ("assign", "--create", "web1", pc);
  assert_status (clash, 3);

  g_file_set_contents (odd, "<domain><os><type machine='virt'>hvm</type></os></domain>", -1, NULL);
  unknown = RUN ("assign", "--create", "arm1", odd);
  assert_status (unknown, 2);
  ck_assert (strstr (unknown->err, "virt") != NULL);
}
END_TEST

/* the reservations of a VM that are not the machine's, one "alias address" a line */
static char *
held_by (const char *vm)
{
  g_autoptr (DaTestRun) show = RUN ("--json", "vm", "show", vm);
  g_autoptr (JsonNode) node = NULL;
  JsonArray *list;
  GString *out = g_string_new (NULL);

  assert_status (show, 0);
  node = parse (show->out);
  list = json_object_get_array_member (json_node_get_object (node), "reservations");
  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *res = json_array_get_object_element (list, i);

    if (!json_object_has_member (res, "builtin"))
      g_string_append_printf (out, "%s %s\n", json_object_get_string_member (res, "alias"),
                              json_object_get_string_member (res, "address"));
  }
  return g_string_free (out, FALSE);
}

/* import: all or nothing unless --partial, in the human and the --json
 * form; a clash exits 3 either way, and names both devices */
START_TEST (test_import)
{
  g_autofree char *pc = srcdir_file ("examples/domain-pc.xml");
  g_autofree char *domain = g_build_filename (daemon_->dir, "domain.xml", NULL);
  g_autoptr (DaTestRun) assign = NULL, human = NULL, json = NULL, refused = NULL, refused_json = NULL;
  g_autoptr (DaTestRun) partial = NULL, partial_json = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *web = NULL, *copy = NULL, *copy_json = NULL, *left = NULL, *left_json = NULL;
  g_autofree char *kept = NULL, *kept_json = NULL;
  JsonObject *result;

  assign = RUN ("assign", "--create", "web", pc);
  assert_status (assign, 0);
  ck_assert (g_file_set_contents (domain, assign->out, -1, NULL));
  web = held_by ("web");
  ck_assert_ptr_nonnull (strstr (web, "net0 0000:00:03.0\n"));

  /* nothing in the way: everything adopted, exit 0, a VM made for it */
  human = RUN ("import", "copy", domain);
  assert_status (human, 0);
  ck_assert (strstr (human->out, "net0") != NULL && strstr (human->out, "0000:00:03.0") != NULL);
  copy = held_by ("copy");
  ck_assert_str_eq (copy, web);
  json = RUN ("--json", "import", "copy-json", domain);
  assert_status (json, 0);
  node = parse (json->out);
  result = json_node_get_object (node);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (result, "conflicts")), 0);
  ck_assert_uint_gt (json_array_get_length (json_object_get_array_member (result, "reservations")), 0);
  copy_json = held_by ("copy-json");
  ck_assert_str_eq (copy_json, web);

  /* a hotplug script holds 00:03.0 in these VMs: all or nothing refuses,
   * names both, and adopts nothing */
  ok (RUN ("vm", "create", "busy", "--template", "pc"));
  ok (RUN ("reserve", "busy", "pci", "script0", "0000:00:03.0"));
  ok (RUN ("vm", "create", "busy-json", "--template", "pc"));
  ok (RUN ("reserve", "busy-json", "pci", "script0", "0000:00:03.0"));
  refused = RUN ("import", "busy", domain);
  assert_status (refused, 3);
  ck_assert_msg (strstr (refused->err, "net0") != NULL && strstr (refused->err, "script0") != NULL, "%s", refused->err);
  ck_assert_str_eq (refused->out, "");
  left = held_by ("busy");
  ck_assert_str_eq (left, "script0 0000:00:03.0\n");
  refused_json = RUN ("--json", "import", "busy-json", domain);
  assert_status (refused_json, 3);
  ck_assert_msg (strstr (refused_json->err, "net0") != NULL && strstr (refused_json->err, "script0") != NULL, "%s",
                 refused_json->err);
  left_json = held_by ("busy-json");
  ck_assert_str_eq (left_json, "script0 0000:00:03.0\n");

  /* --partial adopts the rest and still exits 3, listing the clash */
  partial = RUN ("import", "--partial", "busy", domain);
  assert_status (partial, 3);
  ck_assert (strstr (partial->out, "virtio-disk0") != NULL);
  ck_assert_msg (strstr (partial->err, "not adopted") != NULL && strstr (partial->err, "net0") != NULL
                   && strstr (partial->err, "script0") != NULL, "%s", partial->err);
  kept = held_by ("busy");
  ck_assert_ptr_nonnull (strstr (kept, "script0 0000:00:03.0\n"));
  ck_assert_ptr_nonnull (strstr (kept, "virtio-disk0 0000:00:05.0\n"));
  ck_assert_ptr_null (strstr (kept, "net0"));
  partial_json = RUN ("--json", "import", "--partial", "busy-json", domain);
  assert_status (partial_json, 3);
  g_clear_pointer (&node, json_node_unref);
  node = parse (partial_json->out);
  result = json_node_get_object (node);
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (result, "conflicts")), 1);
  ck_assert_ptr_nonnull (strstr (json_array_get_string_element (json_object_get_array_member (result, "conflicts"), 0),
                                 "script0"));
  kept_json = held_by ("busy-json");
  ck_assert_str_eq (kept_json, kept);
}
END_TEST

/* ------------------------------------------------------------------ */
/* map */

static void
check_expected (const char *name, const char *output)
{
  g_autofree char *rel = g_build_filename ("tests", "client", "expected", name, NULL);
  g_autofree char *path = srcdir_file (rel);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;

  if (g_getenv ("DA_UPDATE_EXPECTED") != NULL) {
    g_file_set_contents (path, output, -1, &error);
    g_assert_no_error (error);
    return;
  }
  if (!g_file_get_contents (path, &expected, NULL, &error))
    ck_abort_msg ("%s: %s", path, error->message);
  ck_assert_msg (strcmp (expected, output) == 0, "%s differs; devaddrctl printed:\n%s", name, output);
}

/* columns on a terminal: East Asian wide characters take two */
static guint
columns (const char *line)
{
  guint n = 0;

  for (const char *p = line; *p != '\0'; p = g_utf8_next_char (p))
    n += g_unichar_iszerowidth (g_utf8_get_char (p)) ? 0 : g_unichar_iswide (g_utf8_get_char (p)) ? 2 : 1;
  return n;
}

static void
check_width (const char *output)
{
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);

  ck_assert_msg (g_utf8_validate (output, -1, NULL), "not UTF-8: %s", output);
  for (guint i = 0; lines[i] != NULL; i++) {
    ck_assert_msg (columns (lines[i]) <= 80, "line %u is wider than 80 columns: %s", i + 1, lines[i]);
    ck_assert_msg (!g_str_has_suffix (lines[i], " "), "line %u ends in a blank: \"%s\"", i + 1, lines[i]);
    ck_assert_msg (strchr (lines[i], '\033') == NULL, "line %u has an escape sequence: %s", i + 1, lines[i]);
  }
}

/* a VM of every kind of cell and pool: template, dynamic, static, held,
 * releasing, a multi-function run, drives, usb, virtio-serial */
static void
populate_pc (void)
{
  ok (RUN ("vm", "create", "vm1", "--template", "pc"));
  ok (RUN ("reserve", "vm1", "pci", "net0"));
  ok (RUN ("reserve", "vm1", "pci", "net1", "--hold", "600"));
  ok (RUN ("reserve", "vm1", "pci", "virtio-disk0", "0000:00:07.0"));
  ok (RUN ("reserve", "vm1", "pci", "gpu0", "0000:00:08.0", "--count", "2"));
  ok (RUN ("reserve", "vm1", "pci", "hostdev0", "0000:00:0a.0"));
  ok (RUN ("release", "vm1", "hostdev0", "--begin"));
  ok (RUN ("reserve", "vm1", "pci", "sound0", "0000:00:1f.0", "--count", "8"));
  ok (RUN ("reserve", "vm1", "drive-ide", "ide0-0-0"));
  ok (RUN ("reserve", "vm1", "drive-ide", "ide0-0-1"));
  ok (RUN ("reserve", "vm1", "usb", "input0"));
  ok (RUN ("reserve", "vm1", "usb", "input1"));
  ok (RUN ("reserve", "vm1", "virtio-serial", "channel0"));
}

START_TEST (test_map_pc)
{
  g_autoptr (DaTestRun) map = NULL;

  populate_pc ();
  map = RUN ("map", "vm1");
  assert_status (map, 0);
  check_width (map->out);
  check_expected ("map-pc.txt", map->out);
}
END_TEST

START_TEST (test_map_q35)
{
  g_autoptr (DaTestRun) map = NULL;

  ok (RUN ("vm", "create", "vm2", "--template", "q35"));
  ok (RUN ("reserve", "vm2", "pci", "net0", "--where", "slot=2"));
  ok (RUN ("reserve", "vm2", "pci", "net1", "0000:00:03.0", "--hold", "600"));
  ok (RUN ("reserve", "vm2", "drive-sata", "sata0-0-0"));
  map = RUN ("map", "vm2");
  assert_status (map, 0);
  check_width (map->out);
  check_expected ("map-q35.txt", map->out);
}
END_TEST

START_TEST (test_map_ganeti)
{
  g_autoptr (DaTestRun) map = NULL;

  ok (RUN ("vm", "create", "inst1", "--template", "ganeti"));
  ok (RUN ("reserve", "inst1", "pci", "hotnic-0"));
  map = RUN ("map", "inst1");
  assert_status (map, 0);
  check_width (map->out);
  check_expected ("map-ganeti.txt", map->out);
}
END_TEST

/* names at the limit of 128 bytes are cut with "...", whole characters
 * only, so that every line still fits 80 columns */
START_TEST (test_map_long_names)
{
  g_autofree char *vm = g_strnfill (128, 'v');
  g_autofree char *nic = g_strnfill (128, 'n');
  g_autofree char *disk = g_strnfill (128, 'd');
  g_autoptr (GString) accents = g_string_new (NULL);
  g_autoptr (GString) wide = g_string_new (NULL);
  g_autoptr (DaTestRun) map = NULL;

  for (guint i = 0; i < 64; i++)
    g_string_append (accents, "\u00e9"); /* 2 bytes, 1 column */
  for (guint i = 0; i < 42; i++)
    g_string_append (wide, "\u6f22"); /* 3 bytes, 2 columns */
  ok (RUN ("vm", "create", vm, "--template", "pc"));
  ok (RUN ("reserve", vm, "pci", nic));
  ok (RUN ("reserve", vm, "pci", accents->str, "--hold", "600"));
  ok (RUN ("reserve", vm, "pci", wide->str, "0000:00:05.0"));
  ok (RUN ("release", vm, wide->str, "--begin"));
  ok (RUN ("reserve", vm, "pci", "short"));
  ok (RUN ("reserve", vm, "drive-ide", disk));
  map = RUN ("map", vm);
  assert_status (map, 0);
  check_width (map->out);
  ck_assert_msg (strstr (map->out, nic) == NULL && strstr (map->out, disk) == NULL, "%s", map->out);
  check_expected ("map-long.txt", map->out);
}
END_TEST

START_TEST (test_color)
{
  g_autoptr (DaTestRun) plain = NULL;
  g_autoptr (DaTestRun) tty = NULL;
  g_autoptr (DaTestRun) no_color = NULL;
  g_autofree char *script = g_find_program_in_path ("script");
  g_autofree char *command = NULL;

  ok (RUN ("vm", "create", "vm1"));
  /* not a terminal: never colour */
  plain = RUN ("map", "vm1");
  assert_status (plain, 0);
  ck_assert (strchr (plain->out, '\033') == NULL);
  if (script == NULL)
    return;
  /* a terminal (script(1) gives devaddrctl a pty): colour, unless NO_COLOR */
  command = g_strdup_printf ("%s map vm1", ctl_binary ());
  {
    const char *const argv[] = { script, "-qec", command, "/dev/null", NULL };
    g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                          | G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_autoptr (GSubprocess) p1 = NULL, p2 = NULL;
    g_autofree char *out1 = NULL, *out2 = NULL;

    g_subprocess_launcher_setenv (launcher, "DEVADDR_SOCKET", daemon_->socket_path, TRUE);
    g_subprocess_launcher_setenv (launcher, "TERM", "xterm", TRUE);
    g_subprocess_launcher_unsetenv (launcher, "NO_COLOR");
    p1 = g_subprocess_launcher_spawnv (launcher, argv, NULL);
    if (p1 == NULL || !g_subprocess_communicate_utf8 (p1, NULL, NULL, &out1, NULL, NULL)
        || !g_subprocess_get_successful (p1))
      return; /* no pty to be had here */
    ck_assert_msg (strstr (out1, "\033[") != NULL, "no colour on a terminal: %s", out1);
    g_subprocess_launcher_setenv (launcher, "NO_COLOR", "1", TRUE);
    p2 = g_subprocess_launcher_spawnv (launcher, argv, NULL);
    ck_assert (p2 != NULL && g_subprocess_communicate_utf8 (p2, NULL, NULL, &out2, NULL, NULL));
    ck_assert_msg (strstr (out2, "\033[") == NULL, "colour with NO_COLOR set: %s", out2);
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* watch */

typedef struct {
  char *line;
  gboolean done;
} LineRead;

static void
line_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), res, NULL, NULL);
  read->done = TRUE;
}

START_TEST (test_watch)
{
  const char *const argv[] = { ctl_binary (), "--json", "watch", "vm1", NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) watch = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (JsonNode) event = NULL;
  LineRead read = { NULL, FALSE };
  g_autoptr (GError) error = NULL;
  guint n = 0;

  ok (RUN ("vm", "create", "vm1"));
  g_subprocess_launcher_setenv (launcher, "DEVADDR_SOCKET", daemon_->socket_path, TRUE);
  watch = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (watch));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, line_read, &read);
  /* the watch starts a moment after the process: reserve until it tells */
  while (!read.done && n < 100) {
    g_autofree char *alias = g_strdup_printf ("dev%u", n++);

    ok (RUN ("reserve", "vm1", "pci", alias, "--hold", "60"));
    for (guint i = 0; i < 10 && !read.done; i++) {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  }
  ck_assert_msg (read.line != NULL, "devaddrctl watch printed nothing");
  event = parse (read.line);
  ck_assert_str_eq (json_object_get_string_member (object_of (event), "vm"), "vm1");
  ck_assert_str_eq (json_object_get_string_member (object_of (event), "event"), "reserved");
  ck_assert_str_eq (json_object_get_string_member (object_of (event), "state"), "held");
  g_free (read.line);

  /* SIGTERM ends it, successfully */
  g_subprocess_send_signal (watch, SIGTERM);
  ck_assert (g_subprocess_wait (watch, NULL, NULL));
  ck_assert (g_subprocess_get_if_exited (watch));
  ck_assert_int_eq (g_subprocess_get_exit_status (watch), 0);
}
END_TEST

START_TEST (test_watch_daemon_gone)
{
  const char *const argv[] = { ctl_binary (), "watch", NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GSubprocess) watch = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_setenv (launcher, "DEVADDR_SOCKET", daemon_->socket_path, TRUE);
  watch = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_usleep (300 * 1000);
  da_test_daemon_stop (daemon_);
  ck_assert (g_subprocess_wait (watch, NULL, NULL));
  ck_assert_int_eq (g_subprocess_get_exit_status (watch), 6);
}
END_TEST

/* ------------------------------------------------------------------ */
/* examples/hotplug.sh with a stand-in for virsh */

static DaTestRun *
hotplug (const char *alias, int virsh_status)
{
  g_autofree char *script = srcdir_file ("examples/hotplug.sh");
  g_autofree char *nic = srcdir_file ("examples/nic.xml");
  g_autofree char *virsh = g_build_filename (daemon_->dir, "virsh", NULL);
  g_autofree char *virsh_env = g_strdup_printf ("VIRSH=%s", virsh);
  g_autofree char *ctl_env = g_strdup_printf ("DEVADDRCTL=%s", ctl_binary ());
  g_autofree char *status_env = g_strdup_printf ("FAKE_VIRSH_STATUS=%d", virsh_status);
  g_autoptr (GError) error = NULL;
  /* virsh attach-device VM FILE --live: keep the XML it was given */
  static const char fake[] = "#!/bin/sh\n"
                             "[ \"$1\" = attach-device ] && [ \"$4\" = --live ] || exit 99\n"
                             "cp \"$3\" \"$(dirname \"$0\")/attached.xml\"\n"
                             "exit \"$FAKE_VIRSH_STATUS\"\n";
  const char *const env[] = { virsh_env, ctl_env, status_env, "HOLD=60", NULL };

  g_file_set_contents (virsh, fake, -1, &error);
  g_assert_no_error (error);
  g_assert (chmod (virsh, 0755) == 0);
  return run_program ("/bin/sh", env, NULL, (const char *const[]) { script, "vm1", alias, nic, NULL });
}

START_TEST (test_hotplug_script)
{
  g_autoptr (DaTestRun) good = NULL, bad = NULL, lookup = NULL, gone = NULL, usage = NULL;
  g_autofree char *script = srcdir_file ("examples/hotplug.sh");
  g_autofree char *attached_path = g_build_filename (daemon_->dir, "attached.xml", NULL);
  g_autofree char *attached = NULL;

  ok (RUN ("vm", "create", "vm1"));
  good = hotplug ("net1", 0);
  assert_status (good, 0);
  ck_assert_str_eq (good->out, "net1: attached at <address type='pci' domain='0x0000' bus='0x00' slot='0x03' "
                               "function='0x0'/>\n");
  ck_assert (g_file_get_contents (attached_path, &attached, NULL, NULL));
  ck_assert_msg (strstr (attached, "  <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n"
                                   "</interface>") != NULL,
                 "%s", attached);
  lookup = RUN ("--json", "lookup", "vm1", "net1");
  assert_status (lookup, 0);
  ck_assert (strstr (lookup->out, "\"active\"") != NULL);

  /* libvirt refuses: the address goes back */
  bad = hotplug ("net2", 1);
  assert_status (bad, 10);
  gone = RUN ("lookup", "vm1", "net2");
  assert_status (gone, 2);

  usage = run_program ("/bin/sh", NULL, NULL, (const char *const[]) { script, "vm1", NULL });
  assert_status (usage, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* bash completion */

static char *
complete (const char *const *words)
{
  g_autofree char *completion = srcdir_file ("client/devaddrctl.bash-completion");
  g_autofree char *bash = g_find_program_in_path ("bash");
  g_autofree char *client_dir = g_build_filename (g_getenv ("DA_BUILDDIR") != NULL ? g_getenv ("DA_BUILDDIR") : ".",
                                                  "client", NULL);
  g_autofree char *path = g_strdup_printf ("%s:%s", client_dir, g_getenv ("PATH"));
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) process = NULL;
  char *out = NULL;

  if (bash == NULL)
    return NULL;
  g_ptr_array_add (argv, bash);
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) "source \"$0\"; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _devaddrctl; "
                                    "printf '%s\\n' \"${COMPREPLY[@]}\"");
  g_ptr_array_add (argv, completion);
  for (guint i = 0; words[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) words[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (launcher, "DEVADDR_SOCKET", daemon_->socket_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "PATH", path, TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, NULL);
  ck_assert (process != NULL);
  ck_assert (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, NULL));
  return out;
}

START_TEST (test_completion)
{
  g_autofree char *commands = NULL, *verbs = NULL, *vms = NULL, *aliases = NULL, *types = NULL, *options = NULL;
  g_autofree char *templates = NULL, *host_aliases = NULL, *host_verbs = NULL;

  ok (RUN ("vm", "create", "vm1"));
  ok (RUN ("vm", "create", "vm2", "-t", "q35"));
  ok (RUN ("reserve", "vm1", "pci", "net0"));
  ok (RUN ("reserve", "--host", "mac", "vm1-nic"));
  commands = complete ((const char *const[]) { "devaddrctl", "", NULL });
  if (commands == NULL)
    return; /* no bash */
  ck_assert (strstr (commands, "\nmap\n") != NULL && g_str_has_prefix (commands, "status\n"));
  verbs = complete ((const char *const[]) { "devaddrctl", "vm", "", NULL });
  ck_assert_str_eq (verbs, "create\ndelete\nlist\nshow\n");
  vms = complete ((const char *const[]) { "devaddrctl", "map", "", NULL });
  ck_assert_str_eq (vms, "vm1\nvm2\n");
  aliases = complete ((const char *const[]) { "devaddrctl", "release", "vm1", "n", NULL });
  ck_assert_str_eq (aliases, "net0\n");
  host_aliases = complete ((const char *const[]) { "devaddrctl", "release", "--host", "", NULL });
  ck_assert_str_eq (host_aliases, "vm1-nic\n");
  host_verbs = complete ((const char *const[]) { "devaddrctl", "host", "", NULL });
  ck_assert_str_eq (host_verbs, "show\n");
  types = complete ((const char *const[]) { "devaddrctl", "reserve", "vm1", "drive-", NULL });
  ck_assert_str_eq (types, "drive-fdc\ndrive-ide\ndrive-sata\ndrive-scsi\n");
  options = complete ((const char *const[]) { "devaddrctl", "release", "vm1", "net0", "--c", NULL });
  ck_assert_str_eq (options, "--confirm\n");
  templates = complete ((const char *const[]) { "devaddrctl", "vm", "create", "x", "--template", "q", NULL });
  ck_assert_str_eq (templates, "q35\n");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("devaddrctl");
  TCase *tc = tcase_create ("cli");

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_exit_codes);
  tcase_add_test (tc, test_permission_denied);
  tcase_add_test (tc, test_json);
  tcase_add_test (tc, test_human);
  tcase_add_test (tc, test_exit_codes_documented);
  tcase_add_test (tc, test_vm_without_verb);
  tcase_add_test (tc, test_vm_delete);
  tcase_add_test (tc, test_human_queries);
  tcase_add_test (tc, test_commit);
  tcase_add_test (tc, test_reserve_xml);
  tcase_add_test (tc, test_assign_create);
  tcase_add_test (tc, test_import);
  tcase_add_test (tc, test_map_pc);
  tcase_add_test (tc, test_map_q35);
  tcase_add_test (tc, test_map_ganeti);
  tcase_add_test (tc, test_map_long_names);
  tcase_add_test (tc, test_color);
  tcase_add_test (tc, test_watch);
  tcase_add_test (tc, test_watch_daemon_gone);
  tcase_add_test (tc, test_hotplug_script);
  tcase_add_test (tc, test_completion);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
