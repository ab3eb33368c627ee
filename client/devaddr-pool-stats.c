/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-result.h"
#include "devaddr-private.h"

typedef struct {
  char *name;
  DevaddrCounts counts;
} NamedCounts;

struct _DevaddrPoolStats {
  gatomicrefcount ref;
  char *address_type;
  DevaddrCounts counts;
  guint64 largest_free_run;
  gboolean exists;
  GArray *tags;  /* NamedCounts, sorted by name */
  GArray *buses; /* NamedCounts, in the daemon's order */
};

/**
 * devaddr_pool_stats_get_type:
 *
 * Returns: the #GType of #DevaddrPoolStats
 */
G_DEFINE_BOXED_TYPE (DevaddrPoolStats, devaddr_pool_stats, devaddr_pool_stats_ref, devaddr_pool_stats_unref)

static void
named_counts_clear (NamedCounts *nc)
{
  g_free (nc->name);
}

static gboolean
read_counts (JsonObject *obj, const char *path, DevaddrCounts *counts, GError **error)
{
  return da_result_member_uint (obj, path, "capacity", TRUE, &counts->capacity, error)
         && da_result_member_uint (obj, path, "used", TRUE, &counts->used, error)
         && da_result_member_uint (obj, path, "free", TRUE, &counts->free, error);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (((const NamedCounts *) a)->name, ((const NamedCounts *) b)->name);
}

/* the protocol names a bus by text ("0000:00"); a daemon that sends the
 * leading dimensions as numbers instead gets them written name=value */
static char *
bus_name (JsonObject *bus)
{
  static const char *const counts[] = { "capacity", "used", "free", "largest_free_run", NULL };
  JsonNode *text = json_object_get_member (bus, "bus");
  g_autoptr (GList) members = NULL;
  GString *out;

  if (text != NULL && JSON_NODE_HOLDS_VALUE (text) && json_node_get_value_type (text) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (text));
  out = g_string_new (NULL);
  members = json_object_get_members (bus);
  for (GList *l = members; l != NULL; l = l->next) {
    JsonNode *value = json_object_get_member (bus, l->data);

    if (g_strv_contains (counts, l->data) || !JSON_NODE_HOLDS_VALUE (value)
        || json_node_get_value_type (value) != G_TYPE_INT64)
      continue;
    g_string_append_printf (out, "%s%s=%" G_GINT64_FORMAT, out->len > 0 ? "," : "", (const char *) l->data,
                            json_node_get_int (value));
  }
  return g_string_free (out, FALSE);
}

DevaddrPoolStats *
da_pool_stats_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrPoolStats) stats = g_new0 (DevaddrPoolStats, 1);
  const char *type = NULL;
  JsonObject *obj = NULL, *tags = NULL;
  JsonArray *buses = NULL;

  g_atomic_ref_count_init (&stats->ref);
  stats->tags = g_array_new (FALSE, TRUE, sizeof (NamedCounts));
  stats->buses = g_array_new (FALSE, TRUE, sizeof (NamedCounts));
  g_array_set_clear_func (stats->tags, (GDestroyNotify) named_counts_clear);
  g_array_set_clear_func (stats->buses, (GDestroyNotify) named_counts_clear);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "type", TRUE, &type, error)
      || !read_counts (obj, path, &stats->counts, error)
      || !da_result_member_uint (obj, path, "largest_free_run", TRUE, &stats->largest_free_run, error)
      || !da_result_member_object (obj, path, "tags", TRUE, &tags, error)
      || !da_result_member_array (obj, path, "buses", TRUE, &buses, error))
    return NULL;
  /* a daemon without "exists" left "reservations" out for a pool that did
   * not exist yet */
  stats->exists = json_object_has_member (obj, "reservations");
  if (!da_result_member_boolean (obj, path, "exists", FALSE, &stats->exists, error))
    return NULL;
  stats->address_type = g_strdup (type);
  {
    g_autoptr (GList) names = json_object_get_members (tags);
    g_autofree char *tags_path = da_result_path (path, "tags");

    for (GList *l = names; l != NULL; l = l->next) {
      NamedCounts nc = { NULL, { 0, 0, 0 } };
      JsonObject *tag = NULL;

      if (!da_result_member_object (tags, tags_path, l->data, TRUE, &tag, error))
        return NULL;
      {
        g_autofree char *tag_path = da_result_path (tags_path, l->data);

        if (!read_counts (tag, tag_path, &nc.counts, error))
          return NULL;
      }
      nc.name = g_strdup (l->data);
      g_array_append_val (stats->tags, nc);
    }
    g_array_sort (stats->tags, compare_names);
  }
  for (guint i = 0; i < json_array_get_length (buses); i++) {
    g_autofree char *bus_path = g_strdup_printf ("%s.buses[%u]", path, i);
    NamedCounts nc = { NULL, { 0, 0, 0 } };
    JsonObject *bus = NULL;

    if (!da_result_get_object (json_array_get_element (buses, i), bus_path, &bus, error)
        || !read_counts (bus, bus_path, &nc.counts, error))
      return NULL;
    nc.name = bus_name (bus);
    g_array_append_val (stats->buses, nc);
  }
  return g_steal_pointer (&stats);
}

/**
 * devaddr_pool_stats_ref:
 * @stats: a #DevaddrPoolStats
 *
 * Returns: (transfer full): @stats
 */
DevaddrPoolStats *
devaddr_pool_stats_ref (DevaddrPoolStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);
  g_atomic_ref_count_inc (&stats->ref);
  return stats;
}

/**
 * devaddr_pool_stats_unref:
 * @stats: (transfer full) (nullable): a #DevaddrPoolStats
 *
 * Drops a reference; the last one frees @stats.
 */
void
devaddr_pool_stats_unref (DevaddrPoolStats *stats)
{
  if (stats == NULL || !g_atomic_ref_count_dec (&stats->ref))
    return;
  g_free (stats->address_type);
  g_array_unref (stats->tags);
  g_array_unref (stats->buses);
  g_free (stats);
}

/**
 * devaddr_pool_stats_get_address_type:
 * @stats: a #DevaddrPoolStats
 *
 * Returns: the address type of the pool
 */
const char *
devaddr_pool_stats_get_address_type (DevaddrPoolStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);
  return stats->address_type;
}

/**
 * devaddr_pool_stats_get_counts:
 * @stats: a #DevaddrPoolStats
 * @counts: (out caller-allocates): the occupancy of the whole pool
 *
 * Fills in capacity, used and free of the whole pool.
 */
void
devaddr_pool_stats_get_counts (DevaddrPoolStats *stats, DevaddrCounts *counts)
{
  g_return_if_fail (stats != NULL);
  g_return_if_fail (counts != NULL);
  *counts = stats->counts;
}

/**
 * devaddr_pool_stats_get_largest_free_run:
 * @stats: a #DevaddrPoolStats
 *
 * Returns: the longest run of consecutive free addresses
 */
guint64
devaddr_pool_stats_get_largest_free_run (DevaddrPoolStats *stats)
{
  g_return_val_if_fail (stats != NULL, 0);
  return stats->largest_free_run;
}

/**
 * devaddr_pool_stats_get_exists:
 * @stats: a #DevaddrPoolStats
 *
 * Whether the scope has the pool yet.  Before the first reservation of the
 * type (when the machine template laid out no bus for it either) there is
 * none, and the counts, tags and buses are those of the pool the first
 * reservation would create.
 *
 * Returns: %TRUE when the pool exists
 */
gboolean
devaddr_pool_stats_get_exists (DevaddrPoolStats *stats)
{
  g_return_val_if_fail (stats != NULL, FALSE);
  return stats->exists;
}

/**
 * devaddr_pool_stats_get_tags:
 * @stats: a #DevaddrPoolStats
 *
 * Returns: (transfer full): the tags of the pool, sorted
 */
GStrv
devaddr_pool_stats_get_tags (DevaddrPoolStats *stats)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (stats != NULL, NULL);
  for (guint i = 0; i < stats->tags->len; i++)
    g_strv_builder_add (builder, g_array_index (stats->tags, NamedCounts, i).name);
  return g_strv_builder_end (builder);
}

/**
 * devaddr_pool_stats_get_tag_counts:
 * @stats: a #DevaddrPoolStats
 * @tag: a tag of the pool
 * @counts: (out caller-allocates): the occupancy of the addresses with @tag
 *
 * Returns: %FALSE if the pool has no such tag
 */
gboolean
devaddr_pool_stats_get_tag_counts (DevaddrPoolStats *stats, const char *tag, DevaddrCounts *counts)
{
  g_return_val_if_fail (stats != NULL, FALSE);
  g_return_val_if_fail (tag != NULL, FALSE);
  g_return_val_if_fail (counts != NULL, FALSE);
  for (guint i = 0; i < stats->tags->len; i++) {
    NamedCounts *nc = &g_array_index (stats->tags, NamedCounts, i);

    if (strcmp (nc->name, tag) == 0) {
      *counts = nc->counts;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * devaddr_pool_stats_get_n_buses:
 * @stats: a #DevaddrPoolStats
 *
 * Returns: the number of buses counted one by one; 0 for types without a
 *   bus dimension
 */
guint
devaddr_pool_stats_get_n_buses (DevaddrPoolStats *stats)
{
  g_return_val_if_fail (stats != NULL, 0);
  return stats->buses->len;
}

/**
 * devaddr_pool_stats_get_bus:
 * @stats: a #DevaddrPoolStats
 * @index: a bus, from 0 to devaddr_pool_stats_get_n_buses() - 1
 * @counts: (out caller-allocates) (optional): the occupancy of the bus
 *
 * Returns: the bus, in the text form of the leading dimensions of the
 *   type (such as "0000:01" for pci)
 */
const char *
devaddr_pool_stats_get_bus (DevaddrPoolStats *stats, guint index, DevaddrCounts *counts)
{
  NamedCounts *nc;

  g_return_val_if_fail (stats != NULL, NULL);
  g_return_val_if_fail (index < stats->buses->len, NULL);
  nc = &g_array_index (stats->buses, NamedCounts, index);
  if (counts != NULL)
    *counts = nc->counts;
  return nc->name;
}
