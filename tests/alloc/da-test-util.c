/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "da-test-util.h"

DaCatalog *
da_test_catalog (void)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *data = g_build_filename (srcdir != NULL ? srcdir : ".", "data", NULL);
  g_autofree char *extra = g_build_filename (srcdir != NULL ? srcdir : ".", "tests", "alloc", "data", NULL);
  const char *dirs[] = { data, extra, NULL };
  g_autoptr (GError) error = NULL;
  DaCatalog *catalog = da_catalog_load (dirs, &error);

  ck_assert_msg (catalog != NULL, "catalog: %s", error ? error->message : "?");
  return catalog;
}

DaEngine *
da_test_engine (void)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();
  DaEngine *engine = da_engine_new (catalog);

  da_engine_set_seed (engine, 42);
  return engine;
}

guint64
da_test_key_of (DaAddressType *type, const char *text)
{
  g_autoptr (GError) error = NULL;
  guint64 key = 0;

  ck_assert_msg (da_address_type_parse (type, text, &key, &error), "%s: %s", text, error ? error->message : "");
  return key;
}

guint64
da_test_key (DaEngine *engine, const char *type_name, const char *text)
{
  DaAddressType *type = da_catalog_get_type (da_engine_get_catalog (engine), type_name);

  ck_assert_msg (type != NULL, "no type %s", type_name);
  return da_test_key_of (type, text);
}

void
da_test_request (DaRequest *request, DaEngine *engine, const char *type_name, const char *alias,
                 const char *address, const char *box)
{
  DaAddressType *type = da_catalog_get_type (da_engine_get_catalog (engine), type_name);
  g_autoptr (GError) error = NULL;

  ck_assert_msg (type != NULL, "no type %s", type_name);
  memset (request, 0, sizeof (*request));
  request->type = type_name;
  request->alias = alias;
  da_constraint_init (&request->constraint, type, address == NULL);
  if (address != NULL) {
    request->has_address = TRUE;
    request->address = da_test_key (engine, type_name, address);
  }
  if (box != NULL)
    ck_assert_msg (da_address_type_parse_box (type, box, &request->constraint.box, &error), "%s", error ? error->message : "");
}

DaReservation *
da_test_reserve (DaScope *scope, const char *type, const char *alias, const char *address, const char *box,
                 GError **error)
{
  DaRequest request;

  da_test_request (&request, da_scope_get_engine (scope), type, alias, address, box);
  return da_scope_reserve (scope, &request, 1000, NULL, NULL, error);
}

char *
da_test_address (DaReservation *res)
{
  return res != NULL ? da_reservation_format_address (res) : g_strdup ("(none)");
}

void
da_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);

    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      da_test_remove_tree (child);
    else
      g_unlink (child);
  }
  g_rmdir (path);
}
