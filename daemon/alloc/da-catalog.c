/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alloc-error.h"
#include "da-catalog.h"
#include "da-util.h"

struct _DaCatalog {
  gatomicrefcount ref;
  GHashTable *types;      /* name -> DaAddressType */
  GHashTable *buses;      /* name -> DaBusModel */
  GHashTable *templates;  /* name -> DaTemplate */
  GPtrArray *sorted_types;
  GPtrArray *sorted_templates;
};

/* a catalog file is small; anything bigger is a mistake or an attack */
#define MAX_CATALOG_FILE (256 * 1024)
#define MAX_CATALOG_FILES 1024

void
da_pool_piece_free (DaPoolPiece *piece)
{
  if (piece == NULL)
    return;
  g_free (piece->spec);
  g_strfreev (piece->tags);
  g_free (piece);
}

static DaPoolPiece *
pool_piece_new (const char *spec, const char *const *tags, gboolean pool_keys)
{
  DaPoolPiece *piece = g_new0 (DaPoolPiece, 1);

  piece->spec = g_strdup (spec);
  piece->tags = g_strdupv ((char **) tags);
  piece->pool_keys = pool_keys;
  return piece;
}

static void
bus_model_free (DaBusModel *model)
{
  g_free (model->name);
  g_free (model->type);
  g_ptr_array_unref (model->pieces);
  g_hash_table_unref (model->params);
  g_free (model);
}

static void
template_bus_free (DaTemplateBus *bus)
{
  g_free (bus->model);
  g_free (bus);
}

static void
template_reservation_free (DaTemplateReservation *res)
{
  g_free (res->alias);
  g_free (res->type);
  g_free (res->address);
  g_free (res);
}

static void
template_pool_free (DaTemplatePool *pool)
{
  g_free (pool->type);
  g_ptr_array_unref (pool->pieces);
  g_free (pool);
}

static void
template_free (DaTemplate *tmpl)
{
  g_free (tmpl->name);
  g_free (tmpl->description);
  g_strfreev (tmpl->machines);
  g_ptr_array_unref (tmpl->buses);
  g_ptr_array_unref (tmpl->pools);
  g_ptr_array_unref (tmpl->reservations);
  g_free (tmpl);
}

DaCatalog *
da_catalog_new (void)
{
  DaCatalog *catalog = g_new0 (DaCatalog, 1);

  g_atomic_ref_count_init (&catalog->ref);
  catalog->types = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) da_address_type_unref);
  catalog->buses = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) bus_model_free);
  catalog->templates = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) template_free);
  return catalog;
}

DaCatalog *
da_catalog_ref (DaCatalog *catalog)
{
  g_atomic_ref_count_inc (&catalog->ref);
  return catalog;
}

void
da_catalog_unref (DaCatalog *catalog)
{
  if (catalog == NULL || !g_atomic_ref_count_dec (&catalog->ref))
    return;
  g_clear_pointer (&catalog->sorted_types, g_ptr_array_unref);
  g_clear_pointer (&catalog->sorted_templates, g_ptr_array_unref);
  g_hash_table_unref (catalog->types);
  g_hash_table_unref (catalog->buses);
  g_hash_table_unref (catalog->templates);
  g_free (catalog);
}

static void
catalog_changed (DaCatalog *catalog)
{
  g_clear_pointer (&catalog->sorted_types, g_ptr_array_unref);
  g_clear_pointer (&catalog->sorted_templates, g_ptr_array_unref);
}

static gboolean
group_has_prefix (const char *group, const char *prefix, const char **rest)
{
  gsize len = strlen (prefix);

  if (strncmp (group, prefix, len) != 0 || group[len] != ' ' || group[len + 1] == '\0')
    return FALSE;
  *rest = group + len + 1;
  return TRUE;
}

/* the keys "Ranges" (plain pool keys, tagged with Tags) and "Tag.NAME"
 * (extra keys carrying tag NAME) of a group become pool pieces */
static gboolean
read_pieces (GKeyFile *file, const char *group, GPtrArray *pieces, const char *origin, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (file, group, NULL, error);
  g_auto (GStrv) ranges = NULL;
  g_auto (GStrv) tags = NULL;

  if (keys == NULL || !da_key_file_get_string_list (file, origin, group, "Ranges", FALSE, &ranges, error)
      || !da_key_file_get_string_list (file, origin, group, "Tags", FALSE, &tags, error))
    return FALSE;
  for (guint i = 0; ranges != NULL && ranges[i] != NULL; i++)
    g_ptr_array_add (pieces, pool_piece_new (g_strstrip (ranges[i]), (const char *const *) tags, TRUE));
  for (guint i = 0; keys[i] != NULL; i++) {
    g_auto (GStrv) specs = NULL;
    const char *tag;

    if (!g_str_has_prefix (keys[i], "Tag."))
      continue;
    tag = keys[i] + 4;
    if (!da_name_validate ("tag", tag, error)) {
      g_prefix_error (error, "%s: [%s]: ", origin, group);
      return FALSE;
    }
    if (!da_key_file_get_string_list (file, origin, group, keys[i], FALSE, &specs, error))
      return FALSE;
    for (guint j = 0; specs != NULL && specs[j] != NULL; j++) {
      const char *one[] = { tag, NULL };

      g_ptr_array_add (pieces, pool_piece_new (g_strstrip (specs[j]), one, FALSE));
    }
  }
  return TRUE;
}

static gboolean
load_type (DaCatalog *catalog, GKeyFile *file, const char *origin, GError **error)
{
  DaAddressType *type = da_address_type_new_from_keyfile (file, origin, error);

  if (type == NULL)
    return FALSE;
  g_hash_table_replace (catalog->types, (gpointer) da_address_type_get_name (type), type);
  return TRUE;
}

static gboolean
load_buses (DaCatalog *catalog, GKeyFile *file, const char *origin, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint i = 0; groups[i] != NULL; i++) {
    g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) da_pool_piece_free);
    g_auto (GStrv) params = NULL;
    DaBusModel *model;
    const char *name;

    if (!group_has_prefix (groups[i], "Bus", &name)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: unknown group [%s]; expected [Bus NAME]", origin, groups[i]);
      return FALSE;
    }
    if (!da_name_validate ("bus model", name, error) || !read_pieces (file, groups[i], pieces, origin, error))
      return FALSE;
    model = g_new0 (DaBusModel, 1);
    model->name = g_strdup (name);
    model->pieces = g_steal_pointer (&pieces);
    model->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_replace (catalog->buses, model->name, model);
    if (!da_key_file_get_string (file, origin, groups[i], "Type", TRUE, &model->type, error)
        || !da_key_file_get_string_list (file, origin, groups[i], "Params", FALSE, &params, error))
      return FALSE;
    for (guint j = 0; params != NULL && params[j] != NULL; j++) {
      g_auto (GStrv) kv = g_strsplit (g_strstrip (params[j]), "=", 2);
      guint64 value;

      if (kv[0] == NULL || kv[1] == NULL || !da_parse_u64 (kv[1], &value)) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: [%s]: parameter \"%s\" must be NAME=NUMBER", origin, groups[i], params[j]);
        return FALSE;
      }
      g_hash_table_replace (model->params, g_strdup (kv[0]), g_memdup2 (&value, sizeof value));
    }
  }
  return TRUE;
}

static gboolean
load_template (DaCatalog *catalog, GKeyFile *file, const char *origin, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);
  g_auto (GStrv) buses = NULL;
  DaTemplate *tmpl = g_new0 (DaTemplate, 1);

  tmpl->buses = g_ptr_array_new_with_free_func ((GDestroyNotify) template_bus_free);
  tmpl->pools = g_ptr_array_new_with_free_func ((GDestroyNotify) template_pool_free);
  tmpl->reservations = g_ptr_array_new_with_free_func ((GDestroyNotify) template_reservation_free);
  if (!da_key_file_get_string (file, origin, "Template", "Name", TRUE, &tmpl->name, error)
      || !da_name_validate ("template", tmpl->name, error)) {
    template_free (tmpl);
    return FALSE;
  }
  g_hash_table_replace (catalog->templates, tmpl->name, tmpl);
  if (!da_key_file_get_string (file, origin, "Template", "Description", FALSE, &tmpl->description, error)
      || !da_key_file_get_string_list (file, origin, "Template", "Machines", FALSE, &tmpl->machines, error)
      || !da_key_file_get_string_list (file, origin, "Template", "Buses", FALSE, &buses, error))
    return FALSE;
  if (tmpl->machines == NULL)
    tmpl->machines = g_new0 (char *, 1);

  for (guint i = 0; buses != NULL && buses[i] != NULL; i++) {
    g_auto (GStrv) parts = g_strsplit (g_strstrip (buses[i]), ":", 2);
    DaTemplateBus *bus = g_new0 (DaTemplateBus, 1);

    g_ptr_array_add (tmpl->buses, bus);
    bus->model = g_strdup (parts[0]);
    /* an empty item ("a;;b") splits into nothing at all */
    if (parts[0] == NULL || parts[1] == NULL || !da_parse_u64 (parts[1], &bus->index)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: bus \"%s\" must be MODEL:INDEX", origin, buses[i]);
      return FALSE;
    }
  }

  for (guint i = 0; groups[i] != NULL; i++) {
    const char *name;

    if (strcmp (groups[i], "Template") == 0)
      continue;
    if (group_has_prefix (groups[i], "Pool", &name)) {
      DaTemplatePool *pool = g_new0 (DaTemplatePool, 1);

      pool->type = g_strdup (name);
      pool->pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) da_pool_piece_free);
      g_ptr_array_add (tmpl->pools, pool);
      if (!read_pieces (file, groups[i], pool->pieces, origin, error))
        return FALSE;
    } else if (group_has_prefix (groups[i], "Reserve", &name)) {
      DaTemplateReservation *res = g_new0 (DaTemplateReservation, 1);
      g_autofree char *count = NULL;

      g_ptr_array_add (tmpl->reservations, res);
      res->alias = g_strdup (name);
      if (!da_key_file_get_string (file, origin, groups[i], "Type", TRUE, &res->type, error)
          || !da_key_file_get_string (file, origin, groups[i], "Address", TRUE, &res->address, error)
          || !da_key_file_get_string (file, origin, groups[i], "Count", FALSE, &count, error))
        return FALSE;
      res->count = 1;
      if (!da_name_validate ("alias", res->alias, error)
          || (count != NULL && (!da_parse_u64 (count, &res->count) || res->count == 0))) {
        if (error != NULL && *error == NULL)
          g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s: [%s]: bad Count", origin, groups[i]);
        return FALSE;
      }
    } else {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: unknown group [%s]", origin, groups[i]);
      return FALSE;
    }
  }
  return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

/* the kind of a file follows from its directory and suffix */
static const struct {
  const char *dir;
  const char *suffix;
  gboolean (*load) (DaCatalog *catalog, GKeyFile *file, const char *origin, GError **error);
} file_kinds[] = {
  [DA_CATALOG_FILE_TYPE] = { "types", ".type", load_type },
  [DA_CATALOG_FILE_BUS] = { "buses", ".bus", load_buses },
  [DA_CATALOG_FILE_TEMPLATE] = { "templates", ".template", load_template },
};

/**
 * da_catalog_load_data:
 * @catalog: a catalog
 * @kind: what the file holds (its directory and suffix say so on disk)
 * @data: the file's contents
 * @len: their length
 * @origin: the file's name, for messages
 * @error: why the file was refused
 *
 * Adds one catalog file, as da_catalog_load_dir() does for each file it
 * reads.  Entries replace those of the same name.  Safe on any input: a
 * fuzzing entry point.  Run da_catalog_validate() once every file is in.
 */
gboolean
da_catalog_load_data (DaCatalog *catalog, DaCatalogFileKind kind, const char *data, gsize len, const char *origin,
                      GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();

  g_return_val_if_fail (kind < G_N_ELEMENTS (file_kinds), FALSE);
  catalog_changed (catalog);
  if (len > MAX_CATALOG_FILE) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT, "%s is larger than %d bytes", origin, MAX_CATALOG_FILE);
    return FALSE;
  }
  if (!g_key_file_load_from_data (file, data, len, G_KEY_FILE_NONE, error)) {
    g_prefix_error (error, "%s: ", origin);
    return FALSE;
  }
  return file_kinds[kind].load (catalog, file, origin, error);
}

static gboolean
load_files (DaCatalog *catalog, const char *base, DaCatalogFileKind kind, GError **error)
{
  g_autofree char *dir = g_build_filename (base, file_kinds[kind].dir, NULL);
  const char *suffix = file_kinds[kind].suffix;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return TRUE;
  while ((name = g_dir_read_name (d)) != NULL) {
    if (g_str_has_suffix (name, suffix) && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
    if (names->len > MAX_CATALOG_FILES) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT, "%s holds more than %d catalog files", dir, MAX_CATALOG_FILES);
      return FALSE;
    }
  }
  /* a fixed order makes overrides within one directory predictable */
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    g_autofree char *contents = NULL;
    gsize length;

    if (!g_file_get_contents (path, &contents, &length, error)
        || !da_catalog_load_data (catalog, kind, contents, length, path, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
da_catalog_load_dir (DaCatalog *catalog, const char *dir, GError **error)
{
  return load_files (catalog, dir, DA_CATALOG_FILE_TYPE, error)
         && load_files (catalog, dir, DA_CATALOG_FILE_BUS, error)
         && load_files (catalog, dir, DA_CATALOG_FILE_TEMPLATE, error);
}

static gboolean
check_pieces (const DaAddressType *type, GPtrArray *pieces, const char *where, GError **error)
{
  g_autoptr (DaRangeMap) scratch = da_range_map_new_set ();

  for (guint i = 0; i < pieces->len; i++) {
    DaPoolPiece *piece = g_ptr_array_index (pieces, i);

    if (!da_address_type_add_spec (type, piece->spec, scratch, error)) {
      g_prefix_error (error, "%s: ", where);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
da_catalog_validate (DaCatalog *catalog, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, catalog->buses);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    DaBusModel *model = value;
    DaAddressType *type = da_catalog_get_type (catalog, model->type);
    g_autoptr (GPtrArray) pieces = NULL;
    g_autofree char *where = g_strdup_printf ("bus model %s", model->name);

    if (type == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                   "bus model %s uses unknown type %s", model->name, model->type);
      return FALSE;
    }
    pieces = da_bus_model_expand (model, 0, NULL, error);
    if (pieces == NULL || !check_pieces (type, pieces, where, error))
      return FALSE;
  }

  g_hash_table_iter_init (&iter, catalog->templates);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    DaTemplate *tmpl = value;

    for (guint i = 0; i < tmpl->buses->len; i++) {
      DaTemplateBus *bus = g_ptr_array_index (tmpl->buses, i);

      if (da_catalog_get_bus_model (catalog, bus->model) == NULL) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                     "template %s uses unknown bus model %s", tmpl->name, bus->model);
        return FALSE;
      }
    }
    for (guint i = 0; i < tmpl->pools->len; i++) {
      DaTemplatePool *pool = g_ptr_array_index (tmpl->pools, i);
      DaAddressType *type = da_catalog_get_type (catalog, pool->type);
      g_autofree char *where = g_strdup_printf ("template %s, pool %s", tmpl->name, pool->type);

      if (type == NULL) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                     "template %s has a pool of unknown type %s", tmpl->name, pool->type);
        return FALSE;
      }
      if (!check_pieces (type, pool->pieces, where, error))
        return FALSE;
    }
    for (guint i = 0; i < tmpl->reservations->len; i++) {
      DaTemplateReservation *res = g_ptr_array_index (tmpl->reservations, i);
      DaAddressType *type = da_catalog_get_type (catalog, res->type);
      guint64 key;

      if (type == NULL) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND,
                     "template %s reserves %s of unknown type %s", tmpl->name, res->alias, res->type);
        return FALSE;
      }
      if (!da_address_type_parse (type, res->address, &key, error)) {
        g_prefix_error (error, "template %s, reservation %s: ", tmpl->name, res->alias);
        return FALSE;
      }
    }
  }
  return TRUE;
}

DaCatalog *
da_catalog_load (const char *const *dirs, GError **error)
{
  g_autoptr (DaCatalog) catalog = da_catalog_new ();

  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    if (!da_catalog_load_dir (catalog, dirs[i], error))
      return NULL;
  if (!da_catalog_validate (catalog, error))
    return NULL;
  return g_steal_pointer (&catalog);
}

DaAddressType *
da_catalog_get_type (const DaCatalog *catalog, const char *name)
{
  return g_hash_table_lookup (catalog->types, name);
}

static gint
compare_type_names (gconstpointer a, gconstpointer b)
{
  return strcmp (da_address_type_get_name (*(DaAddressType **) a), da_address_type_get_name (*(DaAddressType **) b));
}

static gint
compare_template_names (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(DaTemplate **) a)->name, (*(DaTemplate **) b)->name);
}

GPtrArray *
da_catalog_get_types (const DaCatalog *catalog)
{
  DaCatalog *self = (DaCatalog *) catalog;

  if (self->sorted_types == NULL) {
    self->sorted_types = da_hash_table_values (self->types);
    g_ptr_array_sort (self->sorted_types, compare_type_names);
  }
  return self->sorted_types;
}

const DaTemplate *
da_catalog_get_template (const DaCatalog *catalog, const char *name)
{
  return g_hash_table_lookup (catalog->templates, name);
}

GPtrArray *
da_catalog_get_templates (const DaCatalog *catalog)
{
  DaCatalog *self = (DaCatalog *) catalog;

  if (self->sorted_templates == NULL) {
    self->sorted_templates = da_hash_table_values (self->templates);
    g_ptr_array_sort (self->sorted_templates, compare_template_names);
  }
  return self->sorted_templates;
}

const DaTemplate *
da_catalog_match_machine (const DaCatalog *catalog, const char *machine)
{
  GPtrArray *templates = da_catalog_get_templates (catalog);
  const DaTemplate *best = NULL;
  gsize best_len = 0;

  /* the longest matching pattern wins, so "pc-q35-*" beats "pc-*" */
  for (guint i = 0; i < templates->len; i++) {
    const DaTemplate *tmpl = g_ptr_array_index (templates, i);

    for (guint j = 0; tmpl->machines[j] != NULL; j++) {
      gsize len = strlen (tmpl->machines[j]);

      if (len > best_len && g_pattern_match_simple (tmpl->machines[j], machine)) {
        best = tmpl;
        best_len = len;
      }
    }
  }
  return best;
}

const DaBusModel *
da_catalog_get_bus_model (const DaCatalog *catalog, const char *name)
{
  return g_hash_table_lookup (catalog->buses, name);
}

static gboolean
lookup_param (const DaBusModel *model, GHashTable *given, const char *name, guint64 *value)
{
  guint64 *found = g_hash_table_lookup (given, name);

  if (found == NULL)
    found = g_hash_table_lookup (model->params, name);
  if (found == NULL)
    return FALSE;
  *value = *found;
  return TRUE;
}

/* replace {name}, {name+N} and {name-N} with decimal numbers */
static char *
substitute (const DaBusModel *model, GHashTable *given, const char *spec, GError **error)
{
  GString *out = g_string_new (NULL);

  for (const char *p = spec; *p != '\0'; p++) {
    g_autofree char *expr = NULL;
    const char *end;
    char *op;
    char sign;
    guint64 value, delta = 0;

    if (*p != '{') {
      g_string_append_c (out, *p);
      continue;
    }
    end = strchr (p, '}');
    if (end == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "bus model %s: unterminated \"{\" in %s", model->name, spec);
      g_string_free (out, TRUE);
      return NULL;
    }
    expr = g_strndup (p + 1, (gsize) (end - p - 1));
    op = strpbrk (expr, "+-");
    sign = op != NULL ? *op : '\0';
    if (op != NULL) {
      *op = '\0';
      if (!da_parse_u64 (op + 1, &delta))
        sign = '?';
    }
    if (sign == '?' || !lookup_param (model, given, expr, &value)
        || (sign == '-' && value < delta) || (sign == '+' && value > G_MAXUINT64 - delta)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "bus model %s: cannot evaluate the parameter in %s", model->name, spec);
      g_string_free (out, TRUE);
      return NULL;
    }
    value = sign == '-' ? value - delta : sign == '+' ? value + delta : value;
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
    p = end;
  }
  return g_string_free (out, FALSE);
}

GPtrArray *
da_bus_model_expand (const DaBusModel *model, guint64 index, const char *const *params, GError **error)
{
  g_autoptr (GHashTable) given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) da_pool_piece_free);

  g_hash_table_replace (given, g_strdup ("index"), g_memdup2 (&index, sizeof index));
  for (guint i = 0; params != NULL && params[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (params[i], "=", 2);
    guint64 value;

    if (kv[0] == NULL || kv[1] == NULL || !da_parse_u64 (kv[1], &value)
        || strcmp (kv[0], "index") == 0 || !g_hash_table_contains (model->params, kv[0])) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "bus model %s has no parameter \"%s\"", model->name, params[i]);
      return NULL;
    }
    g_hash_table_replace (given, g_strdup (kv[0]), g_memdup2 (&value, sizeof value));
  }
  for (guint i = 0; i < model->pieces->len; i++) {
    DaPoolPiece *piece = g_ptr_array_index (model->pieces, i);
    g_autofree char *spec = substitute (model, given, piece->spec, error);

    if (spec == NULL)
      return NULL;
    g_ptr_array_add (pieces, pool_piece_new (spec, (const char *const *) piece->tags, piece->pool_keys));
  }
  return g_steal_pointer (&pieces);
}
