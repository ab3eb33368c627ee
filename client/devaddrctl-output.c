/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devaddrctl-output.h"

gboolean
da_output_use_color (void)
{
  const char *no_color = g_getenv ("NO_COLOR");
  const char *term = g_getenv ("TERM");

  /* https://no-color.org: set to anything but empty means no colour */
  if (no_color != NULL && *no_color != '\0')
    return FALSE;
  if (term != NULL && g_strcmp0 (term, "dumb") == 0)
    return FALSE;
  return isatty (STDOUT_FILENO);
}

char *
da_output_paint (gboolean color, const char *sgr, const char *text)
{
  if (!color || sgr == NULL)
    return g_strdup (text);
  return g_strdup_printf ("\033[%sm%s\033[0m", sgr, text);
}

/* columns of one character: two for East Asian wide ones, none for
 * combining marks */
static guint
char_width (gunichar c)
{
  if (g_unichar_iszerowidth (c))
    return 0;
  return g_unichar_iswide (c) ? 2 : 1;
}

guint
da_output_width (const char *text)
{
  guint width = 0;

  if (!g_utf8_validate (text, -1, NULL))
    return (guint) strlen (text);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    width += char_width (g_utf8_get_char (p));
  return width;
}

char *
da_output_ellipsize (const char *text, guint width)
{
  const char *p = text;
  guint used = 0;

  if (da_output_width (text) <= width)
    return g_strdup (text);
  if (width < 3)
    return g_strnfill (width, '.');
  /* bytes of text that is not UTF-8 are one column each */
  if (!g_utf8_validate (text, -1, NULL))
    return g_strdup_printf ("%.*s...", (int) (width - 3), text);
  /* whole characters only, and the marks that combine with the last */
  while (*p != '\0') {
    guint w = char_width (g_utf8_get_char (p));

    if (used + w > width - 3)
      break;
    used += w;
    p = g_utf8_next_char (p);
  }
  return g_strdup_printf ("%.*s...", (int) (p - text), text);
}

struct _DaTable {
  guint n_columns;
  GPtrArray *rows; /* GStrv; the first is the header */
};

DaTable *
da_table_new (guint n_columns, ...)
{
  DaTable *table = g_new0 (DaTable, 1);
  g_autoptr (GStrvBuilder) header = g_strv_builder_new ();
  va_list args;

  table->n_columns = n_columns;
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  va_start (args, n_columns);
  for (guint i = 0; i < n_columns; i++)
    g_strv_builder_add (header, va_arg (args, const char *));
  va_end (args);
  g_ptr_array_add (table->rows, g_strv_builder_end (header));
  return table;
}

void
da_table_add_rowv (DaTable *table, const char *const *cells)
{
  g_autoptr (GStrvBuilder) row = g_strv_builder_new ();

  for (guint i = 0; i < table->n_columns; i++)
    g_strv_builder_add (row, cells[i] != NULL ? cells[i] : "-");
  g_ptr_array_add (table->rows, g_strv_builder_end (row));
}

/* exactly n_columns cells; NULL prints as "-" */
void
da_table_add_row (DaTable *table, ...)
{
  g_autofree const char **cells = g_new0 (const char *, table->n_columns + 1);
  va_list args;

  va_start (args, table);
  for (guint i = 0; i < table->n_columns; i++)
    cells[i] = va_arg (args, const char *);
  va_end (args);
  da_table_add_rowv (table, cells);
}

guint
da_table_get_n_rows (DaTable *table)
{
  return table->rows->len - 1;
}

void
da_table_print (DaTable *table, GString *out, gboolean color)
{
  g_autofree guint *widths = g_new0 (guint, table->n_columns);

  for (guint r = 0; r < table->rows->len; r++) {
    char **row = g_ptr_array_index (table->rows, r);

    for (guint c = 0; c < table->n_columns; c++)
      widths[c] = MAX (widths[c], da_output_width (row[c]));
  }
  for (guint r = 0; r < table->rows->len; r++) {
    char **row = g_ptr_array_index (table->rows, r);
    g_autoptr (GString) line = g_string_new (NULL);

    for (guint c = 0; c < table->n_columns; c++) {
      g_string_append (line, row[c]);
      /* no trailing blanks after the last column */
      if (c + 1 < table->n_columns)
        for (guint pad = da_output_width (row[c]); pad < widths[c] + 2; pad++)
          g_string_append_c (line, ' ');
    }
    /* an empty last cell leaves no trailing blanks either */
    while (line->len > 0 && line->str[line->len - 1] == ' ')
      g_string_truncate (line, line->len - 1);
    if (r == 0) {
      g_autofree char *header = da_output_paint (color, "1", line->str);

      g_string_append_printf (out, "%s\n", header);
    } else {
      g_string_append_printf (out, "%s\n", line->str);
    }
  }
}

void
da_table_free (DaTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table);
}

static void
print_json (JsonNode *node, gboolean pretty)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

void
da_output_json (JsonNode *node)
{
  print_json (node, TRUE);
}

void
da_output_json_line (JsonNode *node)
{
  print_json (node, FALSE);
}
