/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
    return G_LOG_WRITER_HANDLED;
  g_log_writer_standard_streams (level, fields, n_fields, user_data);
  /* a warning is the code saying it met something it did not expect */
  abort ();
}

void
da_fuzz_init (void)
{
  static gsize done;

  if (!g_once_init_enter (&done))
    return;
  /* GSlice's magazines would hide use-after-free and leaks from ASan */
  g_setenv ("G_SLICE", "always-malloc", FALSE);
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
  g_once_init_leave (&done, 1);
}

const char *
da_fuzz_srcdir (void)
{
  static char *srcdir;

  if (srcdir == NULL) {
    const char *env = g_getenv ("DA_SRCDIR");

    srcdir = env != NULL && *env != '\0' ? g_strdup (env) : g_path_get_dirname (DA_SRC_DATADIR);
  }
  return srcdir;
}

DaCatalog *
da_fuzz_load_catalog (void)
{
  g_autofree char *data = g_build_filename (da_fuzz_srcdir (), "data", NULL);
  const char *dirs[] = { data, NULL };
  g_autoptr (GError) error = NULL;
  DaCatalog *catalog = da_catalog_load (dirs, &error);

  da_fuzz_check (catalog != NULL, "the catalog in %s: %s", data, error->message);
  return catalog;
}

void
da_fuzz_fail (const char *file, int line, const char *cond, const char *format, ...)
{
  va_list args;

  fprintf (stderr, "%s:%d: check failed: %s: ", file, line, cond);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  abort ();
}

guint
da_fuzz_input_take_index (DaFuzzInput *input, guint n)
{
  guint8 byte;

  if (input->len == 0 || n == 0)
    return 0;
  byte = input->data[0];
  input->data++;
  input->len--;
  return byte % n;
}

guint64
da_fuzz_input_take_u64 (DaFuzzInput *input)
{
  guint64 value = 0;
  gsize n = MIN (input->len, sizeof value);

  for (gsize i = 0; i < n; i++)
    value |= (guint64) input->data[i] << (8 * i);
  input->data += n;
  input->len -= n;
  return value;
}

gboolean
da_fuzz_input_take_line (DaFuzzInput *input, const char **line, gsize *len)
{
  const guint8 *newline;

  if (input->len == 0)
    return FALSE;
  newline = memchr (input->data, '\n', input->len);
  *line = (const char *) input->data;
  *len = newline != NULL ? (gsize) (newline - input->data) : input->len;
  input->data += *len + (newline != NULL ? 1 : 0);
  input->len -= *len + (newline != NULL ? 1 : 0);
  return TRUE;
}
