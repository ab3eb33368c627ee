#!/bin/sh
# bench/load briefly: a mixed load from several connections, after which
# the daemon's state must equal the generator's model; and the model check
# itself must notice a model that is off by one address.
set -u
build=${DA_BUILDDIR:-.}
load="$build/bench/load"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$load" --seconds 2 --connections 8 > "$out" 2>&1
rc=$?
cat "$out"
if [ $rc -ne 0 ] || ! grep -q "the daemon's state equals the model" "$out"; then
  echo "FAIL: the load run did not end with an equal state (rc=$rc)"
  exit 1
fi

"$load" --seconds 1 --connections 2 --mix 1:0:0:0 --tamper > "$out" 2>&1
rc=$?
if [ $rc -ne 1 ] || ! grep -q "DIFFERENCES" "$out"; then
  cat "$out"
  echo "FAIL: a tampered model was not noticed (rc=$rc)"
  exit 1
fi
echo "a tampered model is noticed"
