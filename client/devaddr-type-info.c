/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

typedef struct {
  char *name;
  guint64 min;
  guint64 max;
} Dimension;

struct _DevaddrTypeInfo {
  gatomicrefcount ref;
  char *name;
  char *description;
  char *format;
  char *pool;
  GArray *dimensions; /* Dimension, most significant first */
};

/**
 * devaddr_type_info_get_type:
 *
 * Returns: the #GType of #DevaddrTypeInfo
 */
G_DEFINE_BOXED_TYPE (DevaddrTypeInfo, devaddr_type_info, devaddr_type_info_ref, devaddr_type_info_unref)

static void
dimension_clear (Dimension *dim)
{
  g_free (dim->name);
}

DevaddrTypeInfo *
da_type_info_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrTypeInfo) info = g_new0 (DevaddrTypeInfo, 1);
  const char *name = NULL, *description = NULL, *format = NULL, *pool = NULL;
  JsonObject *obj = NULL;
  JsonArray *dims = NULL;

  g_atomic_ref_count_init (&info->ref);
  info->dimensions = g_array_new (FALSE, TRUE, sizeof (Dimension));
  g_array_set_clear_func (info->dimensions, (GDestroyNotify) dimension_clear);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "name", TRUE, &name, error)
      || !da_result_member_string (obj, path, "description", TRUE, &description, error)
      || !da_result_member_array (obj, path, "dimensions", TRUE, &dims, error)
      || !da_result_member_string (obj, path, "format", TRUE, &format, error)
      || !da_result_member_string (obj, path, "pool", TRUE, &pool, error))
    return NULL;
  info->name = g_strdup (name);
  info->description = g_strdup (description);
  info->format = g_strdup (format);
  info->pool = g_strdup (pool);
  for (guint i = 0; i < json_array_get_length (dims); i++) {
    g_autofree char *dim_path = g_strdup_printf ("%s.dimensions[%u]", path, i);
    Dimension dim = { NULL, 0, 0 };
    const char *dim_name = NULL;
    JsonObject *dobj = NULL;

    if (!da_result_get_object (json_array_get_element (dims, i), dim_path, &dobj, error)
        || !da_result_member_string (dobj, dim_path, "name", TRUE, &dim_name, error)
        || !da_result_member_uint (dobj, dim_path, "min", TRUE, &dim.min, error)
        || !da_result_member_uint (dobj, dim_path, "max", TRUE, &dim.max, error))
      return NULL;
    dim.name = g_strdup (dim_name);
    g_array_append_val (info->dimensions, dim);
  }
  return g_steal_pointer (&info);
}

/**
 * devaddr_type_info_ref:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: (transfer full): @info
 */
DevaddrTypeInfo *
devaddr_type_info_ref (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref);
  return info;
}

/**
 * devaddr_type_info_unref:
 * @info: (transfer full) (nullable): a #DevaddrTypeInfo
 *
 * Drops a reference; the last one frees @info.
 */
void
devaddr_type_info_unref (DevaddrTypeInfo *info)
{
  if (info == NULL || !g_atomic_ref_count_dec (&info->ref))
    return;
  g_free (info->name);
  g_free (info->description);
  g_free (info->format);
  g_free (info->pool);
  g_array_unref (info->dimensions);
  g_free (info);
}

/**
 * devaddr_type_info_get_name:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: the type's name, such as "pci"
 */
const char *
devaddr_type_info_get_name (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->name;
}

/**
 * devaddr_type_info_get_description:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: one line saying what the addresses are
 */
const char *
devaddr_type_info_get_description (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->description;
}

/**
 * devaddr_type_info_get_format:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: how an address is written, such as
 *   "{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"
 */
const char *
devaddr_type_info_get_format (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->format;
}

/**
 * devaddr_type_info_get_pool:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: a description of the type's default pool (informational)
 */
const char *
devaddr_type_info_get_pool (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->pool;
}

/**
 * devaddr_type_info_get_n_dimensions:
 * @info: a #DevaddrTypeInfo
 *
 * Returns: the number of dimensions of an address
 */
guint
devaddr_type_info_get_n_dimensions (DevaddrTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);
  return info->dimensions->len;
}

/**
 * devaddr_type_info_get_dimension:
 * @info: a #DevaddrTypeInfo
 * @index: a dimension, 0 for the most significant
 * @min: (out) (optional): its lowest value
 * @max: (out) (optional): its highest value
 *
 * Returns: the dimension's name, such as "slot"
 */
const char *
devaddr_type_info_get_dimension (DevaddrTypeInfo *info, guint index, guint64 *min, guint64 *max)
{
  Dimension *dim;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (index < info->dimensions->len, NULL);
  dim = &g_array_index (info->dimensions, Dimension, index);
  if (min != NULL)
    *min = dim->min;
  if (max != NULL)
    *max = dim->max;
  return dim->name;
}
