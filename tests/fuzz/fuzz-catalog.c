/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-catalog: the type, bus model and template parser of
 * daemon/alloc/da-catalog.c on hostile key files, then what the daemon
 * does with a catalog that validates.
 *
 * The input is one or more catalog files, each introduced by a line
 *   %% types/NAME.type | buses/NAME.bus | templates/NAME.template
 * (text before the first such line is a types/input.type).  A first line
 *   %% +data
 * loads the shipped catalog (data/) first, so that a template or bus file
 * alone finds the types it names.  Files are loaded in order with
 * da_catalog_load_data(), as da_catalog_load_dir() loads them from disk,
 * and the catalog is validated.  When it validates: every type's default
 * pool bounds format and parse back to the same keys, every bus model
 * expands, every template becomes a VM of a fresh engine (or says why not),
 * and machine types are matched against the templates.
 */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-engine.h"
#include "fuzz-util.h"

#define MAX_FILES 32

typedef struct {
  DaCatalogFileKind kind;
  char *name;
  char *contents;
  gsize len;
} CatalogFile;

static GPtrArray *shipped; /* CatalogFile: data/, in da_catalog_load_dir() order */

static void
catalog_file_free (CatalogFile *file)
{
  g_free (file->name);
  g_free (file->contents);
  g_free (file);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
read_shipped_dir (const char *dir, const char *suffix, DaCatalogFileKind kind)
{
  g_autofree char *path = g_build_filename (da_fuzz_srcdir (), "data", dir, NULL);
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  da_fuzz_check (d != NULL, "no %s", path);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    CatalogFile *file = g_new0 (CatalogFile, 1);
    g_autofree char *file_path = g_build_filename (path, g_ptr_array_index (names, i), NULL);

    file->kind = kind;
    file->name = g_steal_pointer (&file_path);
    da_fuzz_check (g_file_get_contents (file->name, &file->contents, &file->len, NULL), "cannot read %s", file->name);
    g_ptr_array_add (shipped, file);
  }
}

static void
init_once (void)
{
  da_fuzz_init ();
  shipped = g_ptr_array_new_with_free_func ((GDestroyNotify) catalog_file_free);
  read_shipped_dir ("types", ".type", DA_CATALOG_FILE_TYPE);
  read_shipped_dir ("buses", ".bus", DA_CATALOG_FILE_BUS);
  read_shipped_dir ("templates", ".template", DA_CATALOG_FILE_TEMPLATE);
}

/* "%% types/x.type": the kind, or FALSE when the line is no file header */
static gboolean
header_kind (const char *line, gsize len, DaCatalogFileKind *kind)
{
  g_autofree char *text = g_strndup (line, len);

  if (!g_str_has_prefix (text, "%% "))
    return FALSE;
  if (g_str_has_suffix (text, ".type"))
    *kind = DA_CATALOG_FILE_TYPE;
  else if (g_str_has_suffix (text, ".bus"))
    *kind = DA_CATALOG_FILE_BUS;
  else if (g_str_has_suffix (text, ".template"))
    *kind = DA_CATALOG_FILE_TEMPLATE;
  else
    return FALSE;
  return TRUE;
}

/* the daemon refuses the whole catalog at the first bad file, so what a
 * refused file left behind is never used: stop there too */
static gboolean
load_file (DaCatalog *catalog, DaCatalogFileKind kind, const char *data, gsize len, guint index)
{
  g_autofree char *origin = g_strdup_printf ("input file %u", index);
  g_autoptr (GError) error = NULL;

  if (da_catalog_load_data (catalog, kind, data, len, origin, &error))
    return TRUE;
  da_fuzz_check (error != NULL && error->message != NULL, "a refused file without an error");
  return FALSE;
}

/* every key of a type's default pool bounds formats and parses back */
static void
check_type (DaAddressType *type)
{
  DaRangeMapIter iter;
  DaRange range;
  guint n = 0;

  da_range_map_iter_init (&iter, da_address_type_get_default_pool (type), 0);
  while (n++ < 64 && da_range_map_iter_next (&iter, &range, NULL)) {
    guint64 ends[2] = { range.start, range.end };

    for (guint i = 0; i < G_N_ELEMENTS (ends); i++) {
      g_autofree char *text = da_address_type_format_key (type, ends[i]);
      g_autoptr (GError) error = NULL;
      guint64 key = 0;

      /* a box pool may hold keys no address has (a dimension's min
       * above 0): those have no text to round-trip */
      if (!da_address_type_validate_key (type, ends[i], NULL))
        continue;
      da_fuzz_check (da_address_type_parse (type, text, &key, &error), "type %s: pool key %" G_GUINT64_FORMAT
                     " formats as \"%s\", which does not parse: %s", da_address_type_get_name (type), ends[i], text,
                     error->message);
      da_fuzz_check (key == ends[i], "type %s: pool key %" G_GUINT64_FORMAT " formats as \"%s\", which parses as %"
                     G_GUINT64_FORMAT, da_address_type_get_name (type), ends[i], text, key);
    }
  }
}

static void
exercise (DaCatalog *catalog)
{
  static const char *const machines[] = { "pc", "pc-i440fx-7.2", "q35", "pc-q35-8.0", "virt", "" };
  GPtrArray *types = da_catalog_get_types (catalog);
  GPtrArray *templates = da_catalog_get_templates (catalog);
  g_autoptr (DaEngine) engine = da_engine_new (catalog);

  for (guint i = 0; i < types->len; i++)
    check_type (g_ptr_array_index (types, i));
  for (guint i = 0; i < templates->len; i++) {
    const DaTemplate *tmpl = g_ptr_array_index (templates, i);
    g_autofree char *vm = g_strdup_printf ("vm%u", i);
    g_autoptr (GError) error = NULL;
    DaScope *scope = da_engine_create_vm (engine, vm, tmpl->name, NULL, &error);

    da_fuzz_check ((scope != NULL) != (error != NULL), "create_vm %s: a scope and an error, or neither", tmpl->name);
    for (guint b = 0; b < tmpl->buses->len; b++) {
      const DaTemplateBus *bus = g_ptr_array_index (tmpl->buses, b);
      const DaBusModel *model = da_catalog_get_bus_model (catalog, bus->model);
      g_autoptr (GPtrArray) pieces = NULL;
      g_autoptr (GError) expand_error = NULL;

      da_fuzz_check (model != NULL, "template %s names bus model %s, which validation let through", tmpl->name,
                     bus->model);
      pieces = da_bus_model_expand (model, bus->index, NULL, &expand_error);
      da_fuzz_check ((pieces != NULL) != (expand_error != NULL), "expanding bus model %s", bus->model);
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS (machines); i++)
    da_catalog_match_machine (catalog, machines[i]);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  DaFuzzInput input = { data, size };
  g_autoptr (DaCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;
  DaCatalogFileKind kind = DA_CATALOG_FILE_TYPE;
  const char *start = (const char *) data;
  const char *line;
  gsize len;
  guint n_files = 0;

  if (shipped == NULL)
    init_once ();
  catalog = da_catalog_new ();
  if (size >= 8 && memcmp (data, "%% +data", 8) == 0 && (size == 8 || data[8] == '\n')) {
    for (guint i = 0; i < shipped->len; i++) {
      CatalogFile *file = g_ptr_array_index (shipped, i);

      da_fuzz_check (da_catalog_load_data (catalog, file->kind, file->contents, file->len, file->name, &error),
                     "the shipped %s: %s", file->name, error->message);
    }
    da_fuzz_input_take_line (&input, &line, &len);
    start = (const char *) input.data;
  }

  /* split at the header lines; each part is one file */
  while (da_fuzz_input_take_line (&input, &line, &len)) {
    DaCatalogFileKind next;

    if (!header_kind (line, len, &next))
      continue;
    if (line > start && n_files < MAX_FILES && !load_file (catalog, kind, start, (gsize) (line - start), n_files++))
      return 0;
    kind = next;
    start = (const char *) input.data;
  }
  if ((const char *) input.data > start && n_files < MAX_FILES
      && !load_file (catalog, kind, start, (gsize) ((const char *) input.data - start), n_files++))
    return 0;

  if (da_catalog_validate (catalog, &error))
    exercise (catalog);
  else
    da_fuzz_check (error != NULL, "validation failed without an error");
  return 0;
}
