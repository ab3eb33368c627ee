/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-alloc-error.h"

G_BEGIN_DECLS

/* the values of a hash table in a new array (GLib 2.74 has no
 * g_hash_table_get_values_as_ptr_array) */
static inline GPtrArray *
da_hash_table_values (GHashTable *table)
{
  GPtrArray *values = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (values, value);
  return values;
}

/* One value of a catalog file: *out is NULL when the key is absent (an
 * error if required).  A value GLib cannot read (a bad escape sequence)
 * is an error: g_key_file_get_string() would return what it read of it
 * with its error set, and g_key_file_get_string_list() would make it look
 * absent. */
static inline gboolean
da_key_file_check (const char *origin, const char *group, const char *key, gboolean required, gboolean present,
                   GError *local, GError **error)
{
  if (local != NULL && !g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
      && !g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s: [%s] %s: %s", origin, group, key, local->message);
    g_error_free (local);
    return FALSE;
  }
  g_clear_error (&local);
  if (!present && required) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s: [%s] has no %s", origin, group, key);
    return FALSE;
  }
  return TRUE;
}

static inline gboolean
da_key_file_get_string (GKeyFile *file, const char *origin, const char *group, const char *key, gboolean required,
                        char **out, GError **error)
{
  GError *local = NULL;

  *out = g_key_file_get_string (file, group, key, &local);
  if (local != NULL)
    g_clear_pointer (out, g_free);
  return da_key_file_check (origin, group, key, required, *out != NULL, local, error);
}

static inline gboolean
da_key_file_get_string_list (GKeyFile *file, const char *origin, const char *group, const char *key,
                             gboolean required, char ***out, GError **error)
{
  GError *local = NULL;

  *out = g_key_file_get_string_list (file, group, key, NULL, &local);
  if (local != NULL)
    g_clear_pointer (out, g_strfreev);
  return da_key_file_check (origin, group, key, required, *out != NULL, local, error);
}

G_END_DECLS
