/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/store/da-crc32c.h"
#include "tests/common/da-test-suite.h"

/* the textbook bit-at-a-time definition, to check the table-driven one against */
static guint32
crc32c_bitwise (const guint8 *p, gsize len)
{
  guint32 crc = 0xffffffffu;

  while (len--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++)
      crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

START_TEST (test_crc32c_vectors)
{
  guint8 buf[32];

  /* the "check" value of the CRC catalogue */
  ck_assert_uint_eq (da_crc32c (0, "123456789", 9), 0xE3069283u);
  ck_assert_uint_eq (da_crc32c (0, "", 0), 0);
  ck_assert_uint_eq (da_crc32c (0, "a", 1), 0xC1D04330u);

  /* RFC 3720 (iSCSI) appendix B.4 */
  memset (buf, 0, sizeof buf);
  ck_assert_uint_eq (da_crc32c (0, buf, sizeof buf), 0x8A9136AAu);
  memset (buf, 0xff, sizeof buf);
  ck_assert_uint_eq (da_crc32c (0, buf, sizeof buf), 0x62A8AB43u);
  for (guint i = 0; i < 32; i++)
    buf[i] = (guint8) i;
  ck_assert_uint_eq (da_crc32c (0, buf, sizeof buf), 0x46DD794Eu);
  for (guint i = 0; i < 32; i++)
    buf[i] = (guint8) (31 - i);
  ck_assert_uint_eq (da_crc32c (0, buf, sizeof buf), 0x113FDB5Cu);
}
END_TEST

START_TEST (test_crc32c_matches_bitwise)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree guint8 *buf = g_malloc (4096 + 16);

  for (guint i = 0; i < 4096 + 16; i++)
    buf[i] = (guint8) g_rand_int (rand);
  /* every alignment and every length around the 8-byte steps */
  for (guint offset = 0; offset < 16; offset++)
    for (guint len = 0; len < 80; len++)
      ck_assert_uint_eq (da_crc32c (0, buf + offset, len), crc32c_bitwise (buf + offset, len));
  ck_assert_uint_eq (da_crc32c (0, buf + 3, 4096), crc32c_bitwise (buf + 3, 4096));
}
END_TEST

START_TEST (test_crc32c_chains)
{
  const char *text = "The quick brown fox jumps over the lazy dog";
  gsize len = strlen (text);

  ck_assert_uint_eq (da_crc32c (0, text, len), 0x22620404u);
  for (gsize split = 0; split <= len; split++)
    ck_assert_uint_eq (da_crc32c (da_crc32c (0, text, split), text + split, len - split), 0x22620404u);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("crc32c");
  TCase *tc = tcase_create ("crc32c");

  tcase_add_test (tc, test_crc32c_vectors);
  tcase_add_test (tc, test_crc32c_matches_bitwise);
  tcase_add_test (tc, test_crc32c_chains);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
