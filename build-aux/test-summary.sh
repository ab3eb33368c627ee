#!/bin/sh
# Print one line "N passed, N failed" from automake test-suite logs.
# Skipped tests count as neither; XFAIL counts as passed, XPASS and ERROR as failed.
set -u
pass=0 fail=0
for log in "$@"; do
  [ -f "$log" ] || { echo "test-summary: no $log" >&2; fail=$((fail + 1)); continue; }
  eval "$(sed -n 's/^# \(PASS\|XFAIL\|FAIL\|XPASS\|ERROR\): *\([0-9]*\)$/n_\1=\2/p' "$log")"
  pass=$((pass + ${n_PASS:-0} + ${n_XFAIL:-0}))
  fail=$((fail + ${n_FAIL:-0} + ${n_XPASS:-0} + ${n_ERROR:-0}))
  unset n_PASS n_XFAIL n_FAIL n_XPASS n_ERROR
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
