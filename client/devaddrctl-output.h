/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* colour only on a terminal, and never with NO_COLOR set */
gboolean da_output_use_color (void);
/* an SGR sequence ("1", "2", "32" ...) around text when colour is on */
char *da_output_paint (gboolean color, const char *sgr, const char *text);

/* a table: columns aligned on the widest cell, two spaces apart */
typedef struct _DaTable DaTable;

DaTable *da_table_new (guint n_columns, ...);
void da_table_add_row (DaTable *table, ...);
void da_table_add_rowv (DaTable *table, const char *const *cells);
guint da_table_get_n_rows (DaTable *table);
void da_table_print (DaTable *table, GString *out, gboolean color);
void da_table_free (DaTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaTable, da_table_free)

/* JSON on stdout: indented, one text per call */
void da_output_json (JsonNode *node);
/* one JSON text per line, for streams */
void da_output_json_line (JsonNode *node);
/* text width in columns (UTF-8 characters; East Asian wide ones take two) */
guint da_output_width (const char *text);
/* text cut to at most width columns, ending in "..." when it was cut */
char *da_output_ellipsize (const char *text, guint width);

G_END_DECLS
