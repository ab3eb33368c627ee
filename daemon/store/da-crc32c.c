/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-crc32c.h"

#define DA_CRC32C_POLY 0x82F63B78u

/* table[0] is the classic byte table; table[k][b] is the crc of byte b
 * followed by k zero bytes, which lets one step consume eight bytes */
static guint32 crc32c_table[8][256];

static void
crc32c_init_tables (void)
{
  for (guint i = 0; i < 256; i++) {
    guint32 c = i;

    for (guint k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ DA_CRC32C_POLY : c >> 1;
    crc32c_table[0][i] = c;
  }
  for (guint i = 0; i < 256; i++)
    for (guint t = 1; t < 8; t++)
      crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

guint32
da_crc32c (guint32 crc, const void *data, gsize len)
{
  static gsize initialized = 0;
  const guint8 *p = data;

  if (g_once_init_enter (&initialized)) {
    crc32c_init_tables ();
    g_once_init_leave (&initialized, 1);
  }

  crc = ~crc;
  while (len > 0 && ((guintptr) p & 7) != 0) {
    crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    len--;
  }
  while (len >= 8) {
    guint32 lo, hi;

    /* the data is little-endian by definition of the reflected crc */
    memcpy (&lo, p, 4);
    memcpy (&hi, p + 4, 4);
    lo = GUINT32_FROM_LE (lo) ^ crc;
    hi = GUINT32_FROM_LE (hi);
    crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
          crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
          crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
          crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len-- > 0)
    crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}
