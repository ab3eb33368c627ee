/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Packs the records of a snapshot into one buffer on the main thread, as
 * cheaply as a memcpy: each record is a 4-byte little-endian length and the
 * bytes.  Checksums and frames are added later by the store's writer thread,
 * so building never computes anything per byte.
 */
typedef struct _DaSnapshotBuilder DaSnapshotBuilder;

/* size_hint: expected total payload bytes (0 when unknown) */
DaSnapshotBuilder *da_snapshot_builder_new (gsize size_hint);
void da_snapshot_builder_free (DaSnapshotBuilder *builder);

/* copies one record (at most DA_STORE_RECORD_MAX bytes) */
void da_snapshot_builder_add (DaSnapshotBuilder *builder, const void *data, gsize len);
/* room for one record of len bytes, to serialize into directly; valid until
 * the next call on the builder */
guint8 *da_snapshot_builder_reserve (DaSnapshotBuilder *builder, gsize len);
guint64 da_snapshot_builder_get_n_records (const DaSnapshotBuilder *builder);

/* the packed records for da_store_snapshot(); the builder is empty again */
GBytes *da_snapshot_builder_steal (DaSnapshotBuilder *builder);

/* Walks packed records as built above: calls func for each and returns FALSE
 * (without calling further) when the buffer is malformed or func returns
 * FALSE.  Used by the writer to count and then frame the records. */
typedef gboolean (*DaSnapshotRecordFunc) (const guint8 *data, gsize len, gpointer user_data);
gboolean da_snapshot_packed_foreach (const guint8 *packed, gsize packed_len, DaSnapshotRecordFunc func,
                                     gpointer user_data, guint64 *n_records, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaSnapshotBuilder, da_snapshot_builder_free)

G_END_DECLS
