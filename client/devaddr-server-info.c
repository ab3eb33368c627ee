/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrServerInfo {
  gatomicrefcount ref;
  char *version;
  guint64 protocol;
  guint64 uptime_s;
  guint64 vms;
  guint64 reservations;
  JsonObject *store;
};

/**
 * devaddr_server_info_get_type:
 *
 * Returns: the #GType of #DevaddrServerInfo
 */
G_DEFINE_BOXED_TYPE (DevaddrServerInfo, devaddr_server_info, devaddr_server_info_ref, devaddr_server_info_unref)

DevaddrServerInfo *
da_server_info_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrServerInfo) info = g_new0 (DevaddrServerInfo, 1);
  const char *version = NULL;
  JsonObject *obj = NULL, *store = NULL;

  g_atomic_ref_count_init (&info->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "version", TRUE, &version, error)
      || !da_result_member_uint (obj, path, "protocol", TRUE, &info->protocol, error)
      || !da_result_member_uint (obj, path, "uptime_s", TRUE, &info->uptime_s, error)
      || !da_result_member_uint (obj, path, "vms", TRUE, &info->vms, error)
      || !da_result_member_uint (obj, path, "reservations", TRUE, &info->reservations, error)
      || !da_result_member_object (obj, path, "store", TRUE, &store, error))
    return NULL;
  info->version = g_strdup (version);
  info->store = json_object_ref (store);
  return g_steal_pointer (&info);
}

/**
 * devaddr_server_info_ref:
 * @info: a #DevaddrServerInfo
 *
 * Returns: (transfer full): @info
 */
DevaddrServerInfo *
devaddr_server_info_ref (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref);
  return info;
}

/**
 * devaddr_server_info_unref:
 * @info: (transfer full) (nullable): a #DevaddrServerInfo
 *
 * Drops a reference; the last one frees @info.
 */
void
devaddr_server_info_unref (DevaddrServerInfo *info)
{
  if (info == NULL || !g_atomic_ref_count_dec (&info->ref))
    return;
  g_free (info->version);
  g_clear_pointer (&info->store, json_object_unref);
  g_free (info);
}

/**
 * devaddr_server_info_get_version:
 * @info: a #DevaddrServerInfo
 *
 * Returns: the daemon's release, such as "0.1.0"
 */
const char *
devaddr_server_info_get_version (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->version;
}

/**
 * devaddr_server_info_get_protocol:
 * @info: a #DevaddrServerInfo
 *
 * Returns: the protocol revision the daemon speaks; compare with
 *   %DEVADDR_PROTOCOL_VERSION
 */
guint
devaddr_server_info_get_protocol (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);
  return (guint) MIN (info->protocol, G_MAXUINT);
}

/**
 * devaddr_server_info_get_uptime:
 * @info: a #DevaddrServerInfo
 *
 * Returns: seconds since the daemon started
 */
guint64
devaddr_server_info_get_uptime (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);
  return info->uptime_s;
}

/**
 * devaddr_server_info_get_n_vms:
 * @info: a #DevaddrServerInfo
 *
 * Returns: the number of VMs the daemon knows
 */
guint64
devaddr_server_info_get_n_vms (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);
  return info->vms;
}

/**
 * devaddr_server_info_get_n_reservations:
 * @info: a #DevaddrServerInfo
 *
 * Returns: the number of reservations, over all VMs and the host scope
 */
guint64
devaddr_server_info_get_n_reservations (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);
  return info->reservations;
}

/**
 * devaddr_server_info_get_store:
 * @info: a #DevaddrServerInfo
 *
 * The state of the durable store: directory, sizes, sync counters.
 * Informational; its members may change between releases.
 *
 * Returns: (transfer none): the store description
 */
JsonObject *
devaddr_server_info_get_store (DevaddrServerInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->store;
}
