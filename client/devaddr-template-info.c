/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrTemplateInfo {
  gatomicrefcount ref;
  char *name;
  char *description;
  GStrv machines;
};

/**
 * devaddr_template_info_get_type:
 *
 * Returns: the #GType of #DevaddrTemplateInfo
 */
G_DEFINE_BOXED_TYPE (DevaddrTemplateInfo, devaddr_template_info, devaddr_template_info_ref,
                     devaddr_template_info_unref)

DevaddrTemplateInfo *
da_template_info_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrTemplateInfo) info = g_new0 (DevaddrTemplateInfo, 1);
  const char *name = NULL, *description = NULL;
  JsonObject *obj = NULL;

  g_atomic_ref_count_init (&info->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "name", TRUE, &name, error)
      || !da_result_member_string (obj, path, "description", TRUE, &description, error)
      || !da_result_member_strv (obj, path, "machines", TRUE, &info->machines, error))
    return NULL;
  info->name = g_strdup (name);
  info->description = g_strdup (description);
  return g_steal_pointer (&info);
}

/**
 * devaddr_template_info_ref:
 * @info: a #DevaddrTemplateInfo
 *
 * Returns: (transfer full): @info
 */
DevaddrTemplateInfo *
devaddr_template_info_ref (DevaddrTemplateInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref);
  return info;
}

/**
 * devaddr_template_info_unref:
 * @info: (transfer full) (nullable): a #DevaddrTemplateInfo
 *
 * Drops a reference; the last one frees @info.
 */
void
devaddr_template_info_unref (DevaddrTemplateInfo *info)
{
  if (info == NULL || !g_atomic_ref_count_dec (&info->ref))
    return;
  g_free (info->name);
  g_free (info->description);
  g_strfreev (info->machines);
  g_free (info);
}

/**
 * devaddr_template_info_get_name:
 * @info: a #DevaddrTemplateInfo
 *
 * Returns: the template's name, such as "q35"; give it to
 *   devaddr_client_create_vm()
 */
const char *
devaddr_template_info_get_name (DevaddrTemplateInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->name;
}

/**
 * devaddr_template_info_get_description:
 * @info: a #DevaddrTemplateInfo
 *
 * Returns: one line saying what machine the template describes
 */
const char *
devaddr_template_info_get_description (DevaddrTemplateInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->description;
}

/**
 * devaddr_template_info_get_machines:
 * @info: a #DevaddrTemplateInfo
 *
 * Returns: (transfer none) (array zero-terminated=1): the QEMU machine
 *   types (names or glob patterns) the template fits; may be empty
 */
const char *const *
devaddr_template_info_get_machines (DevaddrTemplateInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return (const char *const *) info->machines;
}
