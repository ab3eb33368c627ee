/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The replay driver: a main() that runs a fuzz target's
 * LLVMFuzzerTestOneInput on every file of the files and directories given,
 * with the normal compiler and no libFuzzer.  Without arguments it replays
 * the target's seed corpus and its regressions from the source tree
 * (tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME): that is the
 * target's test in `make check`.  A crash is the test failing; the name of
 * the input being run is printed first, so the log says which one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"

#ifndef DA_FUZZ_TARGET
#error "DA_FUZZ_TARGET names the target (e.g. \"jsonrpc\")"
#endif

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* the files of a directory (not recursive, hidden files skipped), sorted */
static gboolean
collect (const char *path, gboolean must_exist, GPtrArray *files)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_ptr_array_add (files, g_strdup (path));
    return TRUE;
  }
  dir = g_dir_open (path, 0, &error);
  if (dir == NULL) {
    if (!must_exist && g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    fprintf (stderr, "fuzz-replay: %s\n", error->message);
    return FALSE;
  }
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *file = g_build_filename (path, name, NULL);

    if (name[0] != '.' && g_file_test (file, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (found, g_steal_pointer (&file));
  }
  g_ptr_array_sort (found, compare_paths);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (files, g_strdup (g_ptr_array_index (found, i)));
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  da_fuzz_init ();
  if (argc > 1) {
    for (int i = 1; i < argc; i++)
      if (!collect (argv[i], TRUE, files))
        return 1;
  } else {
    g_autofree char *corpus = g_build_filename (da_fuzz_srcdir (), "tests", "fuzz", "corpus", DA_FUZZ_TARGET, NULL);
    g_autofree char *regressions = g_build_filename (da_fuzz_srcdir (), "tests", "fuzz", "regressions", DA_FUZZ_TARGET, NULL);

    /* a target without regressions yet has no directory for them */
    if (!collect (corpus, TRUE, files) || !collect (regressions, FALSE, files))
      return 1;
    if (files->len == 0) {
      fprintf (stderr, "fuzz-replay: no inputs in %s\n", corpus);
      return 1;
    }
  }
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index (files, i);
    g_autoptr (GError) error = NULL;
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents (file, &data, &len, &error)) {
      fprintf (stderr, "fuzz-replay: %s\n", error->message);
      return 1;
    }
    printf ("%s (%" G_GSIZE_FORMAT " bytes)\n", file, len);
    fflush (stdout);
    /* libFuzzer hands over exactly the bytes, in memory of their own
     * size (ASan sees a read past them), never a NULL pointer */
    {
      g_autofree guint8 *copy = g_malloc (MAX (len, 1));

      memcpy (copy, data, len);
      LLVMFuzzerTestOneInput (copy, len);
    }
  }
  printf ("fuzz-%s: %u inputs replayed\n", DA_FUZZ_TARGET, files->len);
  return 0;
}
