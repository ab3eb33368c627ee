/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-config.h"

#define DEFAULT_RUNDIR "/run/devaddr"
#define DEFAULT_STATEDIR "/var/lib/devaddr"

DaConfig *
da_config_new_default (void)
{
  DaConfig *config = g_new0 (DaConfig, 1);
  const char *catalog[] = { DA_DATADIR, "/etc/devaddr/catalog", NULL };

  config->socket_path = g_strdup (DEFAULT_RUNDIR "/devaddrd.sock");
  config->ro_socket_path = g_strdup (DEFAULT_RUNDIR "/devaddrd-ro.sock");
  config->state_dir = g_strdup (DEFAULT_STATEDIR);
  config->catalog_dirs = g_strdupv ((char **) catalog);
  config->group = g_strdup ("devaddr");
  config->owner_may_mutate = -1;
  config->cooldown_us = 60 * G_USEC_PER_SEC;
  config->snapshot_records = 100000;
  config->group_delay_us = 4000;
  config->journal_preallocate = 4 * 1024 * 1024;
  config->max_frame = 4 * 1024 * 1024;
  config->max_depth = 64;
  config->max_pending = 64;
  config->max_connections_per_uid = 128;
  config->max_connections = 4096;
  config->max_output = 16 * 1024 * 1024;
  config->max_xml = 1024 * 1024;
  config->frame_timeout_s = 30;
  return config;
}

void
da_config_free (DaConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->socket_path);
  g_free (config->ro_socket_path);
  g_free (config->state_dir);
  g_strfreev (config->catalog_dirs);
  g_free (config->group);
  g_free (config);
}

void
da_config_set_local (DaConfig *config, const char *dir)
{
  const char *catalog[] = { DA_SRC_DATADIR, NULL };

  g_free (config->socket_path);
  g_free (config->ro_socket_path);
  g_free (config->state_dir);
  g_strfreev (config->catalog_dirs);
  config->socket_path = g_build_filename (dir, "devaddrd.sock", NULL);
  config->ro_socket_path = g_build_filename (dir, "devaddrd-ro.sock", NULL);
  config->state_dir = g_build_filename (dir, "state", NULL);
  config->catalog_dirs = g_strdupv ((char **) catalog);
  config->local = TRUE;
}

gboolean
da_config_owner_may_mutate (const DaConfig *config)
{
  /* a local daemon's user owns its state directory anyway: refusing it
   * changes would only stop make run and the README tour for non-root */
  if (config->owner_may_mutate >= 0)
    return config->owner_may_mutate > 0;
  return config->local;
}

static gboolean
get_uint (GKeyFile *file, const char *group, const char *key, guint64 min, guint64 max, guint64 *out, GError **error)
{
  g_autofree char *text = g_key_file_get_string (file, group, key, NULL);
  guint64 value;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (g_strstrip (text), 10, min, max, &value, NULL)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                 "[%s] %s must be a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ", not \"%s\"",
                 group, key, min, max, text);
    return FALSE;
  }
  *out = value;
  return TRUE;
}

static void
get_string (GKeyFile *file, const char *group, const char *key, char **out)
{
  g_autofree char *text = g_key_file_get_string (file, group, key, NULL);

  if (text != NULL) {
    g_free (*out);
    *out = g_strdup (g_strstrip (text));
  }
}

gboolean
da_config_load (DaConfig *config, const char *path, gboolean required, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) catalog = NULL;
  guint64 v;

  g_autofree char *contents = NULL;
  gsize length;

  /* read first: GKeyFile refuses what is not a regular file, /dev/null too */
  if (!g_file_get_contents (path, &contents, &length, &local)) {
    if (!required && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
    return FALSE;
  }
  if (!g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, &local)) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
    return FALSE;
  }
  get_string (file, "daemon", "socket", &config->socket_path);
  get_string (file, "daemon", "ro-socket", &config->ro_socket_path);
  get_string (file, "daemon", "state-dir", &config->state_dir);
  get_string (file, "daemon", "group", &config->group);
  catalog = g_key_file_get_string_list (file, "daemon", "catalog", NULL, NULL);
  if (catalog != NULL) {
    g_strfreev (config->catalog_dirs);
    config->catalog_dirs = g_steal_pointer (&catalog);
  }
  config->accept_data_loss = g_key_file_get_boolean (file, "daemon", "accept-data-loss", NULL);
  if (g_key_file_has_key (file, "daemon", "owner-may-mutate", NULL)) {
    gboolean owner = g_key_file_get_boolean (file, "daemon", "owner-may-mutate", &local);

    if (local != NULL) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s: [daemon] owner-may-mutate must be true or false", path);
      return FALSE;
    }
    config->owner_may_mutate = owner ? 1 : 0;
  }

#define LOAD(group, key, min, max, field) \
  v = config->field; \
  if (!get_uint (file, group, key, min, max, &v, error)) \
    goto fail; \
  config->field = v;

  LOAD ("daemon", "idle-timeout", 0, 86400, idle_timeout_s);
  v = (guint64) (config->cooldown_us / G_USEC_PER_SEC);
  if (!get_uint (file, "daemon", "cooldown", 0, 86400, &v, error))
    goto fail;
  config->cooldown_us = (gint64) v * G_USEC_PER_SEC;
  LOAD ("daemon", "snapshot-records", 100, G_MAXUINT32, snapshot_records);
  LOAD ("daemon", "group-commit-delay-us", 0, 100000, group_delay_us);
  LOAD ("daemon", "journal-preallocate", 0, 1024 * 1024 * 1024, journal_preallocate);
  LOAD ("limits", "frame-bytes", 1024, 256 * 1024 * 1024, max_frame);
  LOAD ("limits", "depth", 4, 1024, max_depth);
  LOAD ("limits", "pending", 1, 65536, max_pending);
  LOAD ("limits", "connections-per-uid", 1, 65536, max_connections_per_uid);
  LOAD ("limits", "connections", 1, 1048576, max_connections);
  LOAD ("limits", "output-bytes", 4096, G_MAXUINT32, max_output);
  LOAD ("limits", "xml-bytes", 1024, 256 * 1024 * 1024, max_xml);
  LOAD ("limits", "frame-timeout", 0, 3600, frame_timeout_s);
#undef LOAD
  return TRUE;

fail:
  g_prefix_error (error, "%s: ", path);
  return FALSE;
}
