/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>

/*
 * How every check-based test program ends its main(): run the suite and
 * give the exit status automake's test harness reads.  Inline in a
 * header, so that a test program has it without linking anything more.
 */
static inline int
da_test_run_suite (Suite *suite)
{
  SRunner *runner = srunner_create (suite);
  int failed;

  srunner_run_all (runner, CK_NORMAL);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  return failed == 0 ? 0 : 1;
}
