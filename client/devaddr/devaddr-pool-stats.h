/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DevaddrCounts:
 * @capacity: addresses in the pool (or in the part counted), saturating
 *   at %G_MAXINT64
 * @used: addresses held by reservations
 * @free: addresses free
 *
 * Occupancy of a pool, of the part of it carrying a tag, or of one bus.
 */
typedef struct {
  guint64 capacity;
  guint64 used;
  guint64 free;
} DevaddrCounts;

/**
 * DevaddrPoolStats:
 *
 * Occupancy of one pool (one address type of one VM, or of the host):
 * totals, per tag and per bus.  Immutable, reference counted.
 */
typedef struct _DevaddrPoolStats DevaddrPoolStats;

/**
 * DEVADDR_TYPE_POOL_STATS:
 *
 * The #GType of #DevaddrPoolStats, a boxed type.
 */
#define DEVADDR_TYPE_POOL_STATS (devaddr_pool_stats_get_type ())

GType devaddr_pool_stats_get_type (void);
DevaddrPoolStats *devaddr_pool_stats_ref (DevaddrPoolStats *stats);
void devaddr_pool_stats_unref (DevaddrPoolStats *stats);

const char *devaddr_pool_stats_get_address_type (DevaddrPoolStats *stats);
void devaddr_pool_stats_get_counts (DevaddrPoolStats *stats, DevaddrCounts *counts);
guint64 devaddr_pool_stats_get_largest_free_run (DevaddrPoolStats *stats);
gboolean devaddr_pool_stats_get_exists (DevaddrPoolStats *stats);
GStrv devaddr_pool_stats_get_tags (DevaddrPoolStats *stats);
gboolean devaddr_pool_stats_get_tag_counts (DevaddrPoolStats *stats, const char *tag, DevaddrCounts *counts);
guint devaddr_pool_stats_get_n_buses (DevaddrPoolStats *stats);
const char *devaddr_pool_stats_get_bus (DevaddrPoolStats *stats, guint index, DevaddrCounts *counts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrPoolStats, devaddr_pool_stats_unref)

G_END_DECLS
