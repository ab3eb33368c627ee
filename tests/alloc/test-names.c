/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "tests/common/da-test-suite.h"

START_TEST (test_names_accepted)
{
  const char *ok[] = { "vm1", "net0", "virtio-disk1", "ua-my.disk", "web server 01", "café", "pci.0", NULL };

  for (guint i = 0; ok[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;

    ck_assert_msg (da_name_validate ("vm", ok[i], &error), "%s: %s", ok[i], error ? error->message : "");
  }
}
END_TEST

START_TEST (test_names_rejected)
{
  g_autofree char *long_name = g_strnfill (DA_NAME_MAX + 1, 'a');
  g_autofree char *max_name = g_strnfill (DA_NAME_MAX, 'a');
  const char *bad[] = { "", "a/b", "..", ".", "a\\b", "tab\there", "nl\n", "del\x7f", "\xff\xfe", "bell\a", long_name, NULL };

  for (guint i = 0; bad[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;

    ck_assert_msg (!da_name_validate ("alias", bad[i], &error), "accepted %s", bad[i]);
    ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID));
    ck_assert_msg (strstr (error->message, "alias") != NULL, "message does not name the field: %s", error->message);
  }
  ck_assert (da_name_validate ("alias", max_name, NULL));
  ck_assert (!da_name_validate ("alias", NULL, NULL));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("names");
  TCase *tc = tcase_create ("validate");

  tcase_add_test (tc, test_names_accepted);
  tcase_add_test (tc, test_names_rejected);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
