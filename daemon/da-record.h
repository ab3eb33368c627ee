/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "daemon/alloc/da-engine.h"
#include "daemon/store/da-snapshot-builder.h"

G_BEGIN_DECLS

/*
 * A record is what the daemon hands the store for one mutation: the engine
 * changes it made, encoded compactly, so that a batch is one checksummed
 * record and replays all or nothing.  A snapshot is a series of records of
 * one change each.
 *
 *   record  := version:u8 n:varint change{n}
 *   change  := kind:u8 bits:u8 mode:u8 state:u8 flags:varint
 *              scope template type alias tag  (each str)
 *              start:varint end:varint count:varint time:zigzag-varint
 *   str     := 0 (absent) | length+1:varint bytes
 *   bits    := 1 cursor, 2 expired
 */

#define DA_RECORD_VERSION 1

void da_record_append_change (GByteArray *out, const DaChange *change);
GBytes *da_record_encode (GPtrArray *changes);
/* the whole engine as snapshot records, one change each */
void da_record_snapshot (DaEngine *engine, gint64 now, DaSnapshotBuilder *builder);
/* the changes of a record; a malformed record is an error, never a crash */
GPtrArray *da_record_decode (const guint8 *data, gsize len, GError **error);

/* the same, one change at a time without allocating: the change and its
 * strings (kept in scratch, which the caller reuses) are valid during the
 * call only.  A record that turns out malformed after some changes were
 * handed over is still an error. */
typedef gboolean (*DaRecordChangeFunc) (const DaChange *change, gpointer user_data, GError **error);
gboolean da_record_foreach (const guint8 *data, gsize len, GByteArray *scratch, DaRecordChangeFunc func,
                            gpointer user_data, GError **error);

G_END_DECLS
