/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The five-minute tour of README.md, run as it is written: the commands
 * are read out of the README (its indented blocks), run with sh in a
 * directory laid out like a build tree (run/, client/, examples/), against
 * a devaddrd --local like the one `make run` starts, and as an
 * unprivileged user (as root the program becomes nobody first), since
 * that is who follows a tour.  Each command must succeed; the map must be
 * the sample the README shows, and "# prints" comments must hold.
 */
#include "config.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-program.h"
#include "tests/common/da-test-suite.h"
#include "tests/common/da-test-user.h"

/* the tour's steps, each a command and the output the README shows for
 * it (possibly none) */
typedef struct {
  char *command;
  char *output;
} Step;

typedef struct {
  gboolean starts_daemon; /* "./autogen.sh && make run" */
  char *env;              /* the "export ..." line */
  GPtrArray *steps;       /* Step: the devaddrctl commands */
  GPtrArray *skipped;     /* char *: commands that need libvirt */
} Tour;

static void
step_free (Step *step)
{
  g_free (step->command);
  g_free (step->output);
  g_free (step);
}

static void
tour_free (Tour *tour)
{
  g_free (tour->env);
  g_ptr_array_unref (tour->steps);
  g_ptr_array_unref (tour->skipped);
  g_free (tour);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tour, tour_free)

static DaTestDaemon *daemon_;
static char *tour_dir;

static char *
srcdir_file (const char *name)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");

  return g_build_filename (srcdir != NULL ? srcdir : ".", name, NULL);
}

static char *
builddir_file (const char *name)
{
  const char *builddir = g_getenv ("DA_BUILDDIR");

  return g_build_filename (builddir != NULL ? builddir : ".", name, NULL);
}

/* output lines collected so far become the last step's output */
static void
finish_output (Tour *tour, GString *output)
{
  Step *last;

  /* blank lines around a sample are markdown's, not the program's */
  while (output->len > 0 && output->str[output->len - 1] == '\n')
    g_string_truncate (output, output->len - 1);
  if (output->len > 0) {
    ck_assert_msg (tour->steps->len > 0, "README tour: output before any command: %s", output->str);
    last = g_ptr_array_index (tour->steps, tour->steps->len - 1);
    ck_assert_msg (last->output == NULL, "README tour: two outputs for %s", last->command);
    last->output = g_strdup_printf ("%s\n", output->str);
  }
  g_string_truncate (output, 0);
}

/* the indented lines of the "A five-minute tour" section: commands, and
 * the output shown after a command */
static Tour *
read_tour (void)
{
  g_autofree char *path = srcdir_file ("README.md");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) output = g_string_new (NULL);
  Tour *tour = g_new0 (Tour, 1);
  gboolean inside = FALSE;

  tour->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  tour->skipped = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_get_contents (path, &text, NULL, &error))
    ck_abort_msg ("%s", error->message);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];
    const char *code;

    if (g_str_has_prefix (line, "## ")) {
      if (inside)
        break;
      inside = strcmp (line, "## A five-minute tour") == 0;
      continue;
    }
    if (!inside)
      continue;
    if (*line == '\0') {
      if (output->len > 0)
        g_string_append_c (output, '\n');
      continue;
    }
    if (!g_str_has_prefix (line, "    ")) {
      /* prose ends a code block */
      finish_output (tour, output);
      continue;
    }
    code = line + 4;
    if (strcmp (code, "./autogen.sh && make run") == 0) {
      finish_output (tour, output);
      tour->starts_daemon = TRUE;
    } else if (g_str_has_prefix (code, "export ")) {
      finish_output (tour, output);
      ck_assert_msg (tour->env == NULL, "README tour: a second export line");
      tour->env = g_strdup (code);
    } else if (g_str_has_prefix (code, "devaddrctl ")) {
      Step *step = g_new0 (Step, 1);

      finish_output (tour, output);
      step->command = g_strdup (code);
      g_ptr_array_add (tour->steps, step);
    } else if (g_str_has_prefix (code, "examples/")) {
      finish_output (tour, output);
      g_ptr_array_add (tour->skipped, g_strdup (code));
    } else {
      g_string_append_printf (output, "%s\n", code);
    }
  }
  finish_output (tour, output);
  ck_assert_msg (inside, "README.md has no \"## A five-minute tour\"");
  return tour;
}

/* a command line of the tour with sh, in the tour directory, after the
 * tour's export line */
static DaTestRun *
run_step (const char *env, const char *command)
{
  g_autoptr (GSubprocessLauncher) launcher = da_test_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *script = g_strdup_printf ("%s\n%s\n", env, command);
  const char *const argv[] = { "/bin/sh", "-c", script, NULL };

  g_subprocess_launcher_set_cwd (launcher, tour_dir);
  /* the export line says where the daemon is, nothing else may */
  g_subprocess_launcher_unsetenv (launcher, "DEVADDR_SOCKET");
  return da_test_run_program (launcher, argv, NULL);
}

static void
setup (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *run = NULL, *client = NULL, *examples = NULL, *client_target = NULL, *examples_target = NULL;

  /* a group nobody is in: the daemon's own user must be let in because
   * it runs with --local, as for a user outside the devaddr group */
  daemon_ = da_test_daemon_new (NULL);
  da_test_daemon_set_config (daemon_, "[daemon]\ngroup=devaddr-test-no-such-group\n");
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not start: %s", error->message);
  /* a build tree as far as the tour can tell: run/ is the daemon's */
  tour_dir = g_dir_make_tmp ("devaddr-tour-XXXXXX", &error);
  g_assert_no_error (error);
  run = g_build_filename (tour_dir, "run", NULL);
  client = g_build_filename (tour_dir, "client", NULL);
  examples = g_build_filename (tour_dir, "examples", NULL);
  client_target = builddir_file ("client");
  examples_target = srcdir_file ("examples");
  if (!g_path_is_absolute (client_target) || !g_path_is_absolute (examples_target))
    ck_abort_msg ("DA_BUILDDIR and DA_SRCDIR must be absolute");
  ck_assert (symlink (daemon_->dir, run) == 0);
  ck_assert (symlink (client_target, client) == 0);
  ck_assert (symlink (examples_target, examples) == 0);
}

static void
teardown (void)
{
  if (tour_dir != NULL && g_getenv ("DA_TEST_KEEP") == NULL)
    da_test_rm_rf (tour_dir);
  g_clear_pointer (&tour_dir, g_free);
  g_clear_pointer (&daemon_, da_test_daemon_free);
}

#define assert_ok(run, command) \
  ck_assert_msg ((run)->status == 0, "%s: exit %d\nstdout: %s\nstderr: %s", (command), (run)->status, (run)->out, \
                 (run)->err)

static void
check_width (const char *command, const char *output)
{
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    ck_assert_msg (g_utf8_strlen (lines[i], -1) <= 80, "%s: line %u is wider than 80 columns: %s", command, i + 1,
                   lines[i]);
}

/* "devaddrctl X # prints <a ... b/>": the output matches, "..." standing
 * for anything */
static void
check_prints (const char *command, const char *output)
{
  const char *comment = strstr (command, "# prints ");
  g_autofree char *pattern = NULL;
  g_autofree char *line = NULL;
  g_auto (GStrv) parts = NULL;

  if (comment == NULL)
    return;
  parts = g_strsplit (comment + strlen ("# prints "), "...", -1);
  pattern = g_strjoinv ("*", parts);
  line = g_strchomp (g_strdup (output));
  ck_assert_msg (g_pattern_match_simple (pattern, line), "%s: printed %s", command, output);
}

/* the text with every run of blanks as one blank: table rows whose
 * column widths changed compare equal */
static char *
squeeze (const char *text)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (*p != ' ' || (out->len > 0 && out->str[out->len - 1] != ' '))
      g_string_append_c (out, *p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* the devaddrctl subcommand of a tour line: "vm create", "map" ... */
static char *
subcommand (const char *command)
{
  g_auto (GStrv) words = g_strsplit (command, " ", -1);

  if (words[1] != NULL && strcmp (words[1], "vm") == 0 && words[2] != NULL)
    return g_strdup_printf ("vm %s", words[2]);
  return g_strdup (words[1] != NULL ? words[1] : "");
}

START_TEST (test_tour)
{
  g_autoptr (Tour) tour = read_tour ();
  /* what the tour must show, in this order (the commands the README
   * promises: start, assign, hotplug by hand, the map) */
  static const char *const wanted[] = { "status", "templates", "vm create", "assign", "vm show",
                                        "reserve", "commit", "map", NULL };
  g_autoptr (GString) order = g_string_new (NULL);
  g_autofree char *show_before = NULL;
  g_autofree char *assigned = NULL;
  g_autofree char *xml_path = g_build_filename (tour_dir, "demo.xml", NULL);
  const char *assign_command = NULL, *show_command = NULL;
  guint map_steps = 0;

  ck_assert_msg (tour->starts_daemon, "the tour does not start the daemon with make run");
  ck_assert_msg (tour->env != NULL, "the tour exports no DEVADDR_SOCKET");
  ck_assert_msg (strstr (tour->env, "DEVADDR_SOCKET=$PWD/run/devaddrd.sock") != NULL, "%s", tour->env);
  for (guint i = 0; i < tour->steps->len; i++) {
    g_autofree char *sub = subcommand (((Step *) g_ptr_array_index (tour->steps, i))->command);

    g_string_append_printf (order, "%s%s", order->len > 0 ? "," : "", sub);
  }
  {
    g_autofree char *want = g_strjoinv (",", (char **) wanted);

    ck_assert_str_eq (order->str, want);
  }
  /* the hotplug script needs libvirt; it is there, at least */
  for (guint i = 0; i < tour->skipped->len; i++) {
    const char *command = g_ptr_array_index (tour->skipped, i);
    g_auto (GStrv) words = g_strsplit (command, " ", 2);
    g_autofree char *script = srcdir_file (words[0]);

    ck_assert_msg (g_file_test (script, G_FILE_TEST_IS_EXECUTABLE), "%s: %s is not executable", command, script);
  }

  for (guint i = 0; i < tour->steps->len; i++) {
    Step *step = g_ptr_array_index (tour->steps, i);
    g_autofree char *sub = subcommand (step->command);
    g_autoptr (DaTestRun) run = run_step (tour->env, step->command);

    assert_ok (run, step->command);
    check_prints (step->command, run->out);
    if (step->output != NULL)
      ck_assert_msg (strcmp (run->out, step->output) == 0,
                     "%s: README.md shows\n%s\nbut it printed\n%s", step->command, step->output, run->out);

    if (strcmp (sub, "status") == 0) {
      g_autofree char *head = g_strdup_printf ("devaddrd %s, protocol %d\n", PACKAGE_VERSION, DA_PROTOCOL_VERSION);

      ck_assert_msg (g_str_has_prefix (run->out, head), "%s", run->out);
      ck_assert_msg (strstr (run->out, "/run/devaddrd.sock\n") != NULL, "%s", run->out);
    } else if (strcmp (sub, "templates") == 0) {
      ck_assert_msg (strstr (run->out, "\npc ") != NULL && strstr (run->out, "\nq35 ") != NULL, "%s", run->out);
    } else if (strcmp (sub, "vm create") == 0) {
      ck_assert_str_eq (run->out, "demo: created\n");
    } else if (strcmp (sub, "assign") == 0) {
      /* "> demo.xml": the domain, every device with an address */
      assign_command = step->command;
      ck_assert_str_eq (run->out, "");
      ck_assert (g_file_get_contents (xml_path, &assigned, NULL, NULL));
      ck_assert_msg (g_str_has_prefix (assigned, "<domain") && strstr (assigned, "<address type=") != NULL, "%s",
                     assigned);
    } else if (strcmp (sub, "vm show") == 0) {
      show_command = step->command;
      show_before = g_strdup (run->out);
      ck_assert_msg (g_str_has_prefix (run->out, "demo (template pc): "), "%s", run->out);
    } else if (strcmp (sub, "commit") == 0) {
      ck_assert_msg (strstr (run->out, "net1") != NULL && strstr (run->out, "active") != NULL, "%s", run->out);
    } else if (strcmp (sub, "map") == 0) {
      ck_assert_msg (step->output != NULL, "the README shows no map after %s", step->command);
      check_width (step->command, run->out);
      map_steps++;
    }
  }
  ck_assert_uint_eq (map_steps, 1);

  /* "Assigning again changes nothing, and the addresses survive a
   * restart of the daemon" */
  {
    g_autoptr (DaTestRun) again = run_step (tour->env, assign_command);
    g_autofree char *reassigned = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (DaTestRun) show = NULL;
    g_autoptr (DaTestRun) show_net1 = NULL;

    assert_ok (again, assign_command);
    ck_assert (g_file_get_contents (xml_path, &reassigned, NULL, NULL));
    ck_assert_str_eq (reassigned, assigned);
    show_net1 = run_step (tour->env, show_command);
    assert_ok (show_net1, show_command);
    ck_assert_msg (da_test_daemon_restart (daemon_, &error), "%s", error ? error->message : "");
    show = run_step (tour->env, show_command);
    assert_ok (show, show_command);
    ck_assert_str_eq (show->out, show_net1->out);
    /* and every reservation the assignment made is still there */
    {
      g_auto (GStrv) before = g_strsplit (show_before, "\n", -1);
      g_autofree char *after = squeeze (show->out);

      for (guint i = 1; before[i] != NULL; i++) {
        g_autofree char *row = squeeze (before[i]);

        if (*row != '\0')
          ck_assert_msg (strstr (after, row) != NULL, "after a restart, \"%s\" is gone:\n%s", row, show->out);
      }
    }
  }
}
END_TEST

int
main (void)
{
  g_autofree char *ctl = builddir_file ("client/devaddrctl");
  g_autofree char *ctl_libs = builddir_file ("client/.libs");
  g_autofree char *readme = srcdir_file ("README.md");
  g_autofree char *examples = srcdir_file ("examples/domain-pc.xml");
  g_autofree char *data = srcdir_file ("data/types");
  const DaTestAccess needs[] = {
    { da_test_daemon_binary (), X_OK },
    { ctl, X_OK },
    { ctl_libs, R_OK | X_OK },
    { readme, R_OK },
    { examples, R_OK },
    { data, R_OK | X_OK },
    { NULL, 0 },
  };
  g_autoptr (GError) error = NULL;
  Suite *s = suite_create ("tour");
  TCase *tc = tcase_create ("tour");

  if (!da_test_become_unprivileged (needs, &error))
    g_print ("cannot become unprivileged, so this proves less: %s\n", error->message);
  g_print ("the tour runs as uid %u\n", (guint) geteuid ());
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_tour);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
