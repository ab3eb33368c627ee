/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-snapshot-builder.h"
#include "da-store-error.h"
#include "da-store-format.h"

struct _DaSnapshotBuilder {
  guint8 *buf;
  gsize len;
  gsize allocated;
  guint64 n_records;
};

DaSnapshotBuilder *
da_snapshot_builder_new (gsize size_hint)
{
  DaSnapshotBuilder *builder = g_new0 (DaSnapshotBuilder, 1);

  builder->allocated = MAX (size_hint, 4096);
  builder->buf = g_malloc (builder->allocated);
  return builder;
}

void
da_snapshot_builder_free (DaSnapshotBuilder *builder)
{
  if (builder == NULL)
    return;
  g_free (builder->buf);
  g_free (builder);
}

guint8 *
da_snapshot_builder_reserve (DaSnapshotBuilder *builder, gsize len)
{
  gsize need;
  guint32 le;
  guint8 *p;

  g_return_val_if_fail (len <= DA_STORE_RECORD_MAX, NULL);

  need = builder->len + 4 + len;
  if (G_UNLIKELY (need > builder->allocated)) {
    /* doubling keeps the copies amortised; large reallocs are remapped, not copied */
    builder->allocated = MAX (need, builder->allocated * 2);
    builder->buf = g_realloc (builder->buf, builder->allocated);
  }
  p = builder->buf + builder->len;
  le = GUINT32_TO_LE ((guint32) len);
  memcpy (p, &le, 4);
  builder->len = need;
  builder->n_records++;
  return p + 4;
}

void
da_snapshot_builder_add (DaSnapshotBuilder *builder, const void *data, gsize len)
{
  guint8 *p = da_snapshot_builder_reserve (builder, len);

  if (p != NULL && len > 0)
    memcpy (p, data, len);
}

guint64
da_snapshot_builder_get_n_records (const DaSnapshotBuilder *builder)
{
  return builder->n_records;
}

GBytes *
da_snapshot_builder_steal (DaSnapshotBuilder *builder)
{
  GBytes *bytes;

  bytes = g_bytes_new_take (g_realloc (g_steal_pointer (&builder->buf), MAX (builder->len, 1)), builder->len);
  builder->allocated = 4096;
  builder->buf = g_malloc (builder->allocated);
  builder->len = 0;
  builder->n_records = 0;
  return bytes;
}

gboolean
da_snapshot_packed_foreach (const guint8 *packed, gsize packed_len, DaSnapshotRecordFunc func,
                            gpointer user_data, guint64 *n_records, GError **error)
{
  gsize pos = 0;
  guint64 n = 0;

  while (pos < packed_len) {
    guint32 le;
    gsize len;

    if (packed_len - pos < 4) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_INVALID,
                   "snapshot payload ends inside the length of record %" G_GUINT64_FORMAT, n + 1);
      return FALSE;
    }
    memcpy (&le, packed + pos, 4);
    len = GUINT32_FROM_LE (le);
    if (len > DA_STORE_RECORD_MAX || len > packed_len - pos - 4) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_INVALID,
                   "snapshot payload record %" G_GUINT64_FORMAT " claims %" G_GSIZE_FORMAT
                   " bytes; only %" G_GSIZE_FORMAT " remain",
                   n + 1, len, packed_len - pos - 4);
      return FALSE;
    }
    if (func != NULL && !func (packed + pos + 4, len, user_data)) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_INVALID, "snapshot payload walk stopped");
      return FALSE;
    }
    pos += 4 + len;
    n++;
  }
  if (n_records != NULL)
    *n_records = n;
  return TRUE;
}
