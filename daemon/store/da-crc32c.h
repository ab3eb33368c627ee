/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI, ext4 and btrfs.  Computed in software with slicing-by-8 tables,
 * so it is the same on every machine and needs no CPU feature.
 *
 * The value is chainable: da_crc32c (da_crc32c (0, a, n), b, m) equals the
 * CRC of a followed by b.  Start with 0.
 */
guint32 da_crc32c (guint32 crc, const void *data, gsize len);

G_END_DECLS
