#!/bin/sh
# The whole CI sequence, run from the top of a configured in-tree build:
# the test suite, the same suite under AddressSanitizer + UBSan from a
# fresh copy of the distributed sources, and any longer suites the tree
# defines.  Each stage prints "N passed, N failed"; the last line is the
# total over every stage.
set -u
top=$(pwd)
summary="$top/build-aux/test-summary.sh"
[ -x "$summary" ] || summary="$(dirname "$0")/test-summary.sh"
status=0
logs=""

stage() {
  name=$1; dir=$2; shift 2
  echo "== ci-check: $name"
  if (cd "$dir" && "$@"); then :; else status=1; fi
  if [ -f "$dir/test-suite.log" ]; then
    printf '%s: ' "$name"; sh "$summary" "$dir/test-suite.log" || true
    cp "$dir/test-suite.log" "$top/ci-$name.log"
    logs="$logs $top/ci-$name.log"
  else
    echo "$name: no test-suite.log"; status=1
  fi
}

stage check "$top" make -j2 check

# the sanitizer build runs from the distributed sources, so it also proves
# that the tarball holds everything the tests need
rm -rf "$top/_build-asan"
mkdir -p "$top/_build-asan"
if make distdir distdir="$top/_build-asan/src" >/dev/null; then
  stage asan "$top/_build-asan/src" sh -c \
    './configure --enable-sanitizers --enable-werror -q && make -j2 check'
else
  echo "asan: make distdir failed"; status=1
fi

# the tarball builds, tests, installs and cleans up in a separate build
# directory with a read-only source tree (read-only only when not root);
# about 40 s.  distcheck removes its tree on success, so there is no
# test-suite.log to count: pass or fail is the stage's result
echo "== ci-check: distcheck"
if make -j2 distcheck > "$top/ci-distcheck.out" 2>&1; then
  echo "distcheck: passed"
else
  echo "distcheck: FAILED (see ci-distcheck.out)"; status=1
fi

# make fuzz runs each target this long (60 s when run by hand)
FUZZ_SECONDS=${CI_FUZZ_SECONDS:-20}
export FUZZ_SECONDS
for t in $(make -s print-ci-suites 2>/dev/null); do
  rm -f "$top/test-suite.log"
  stage "$t" "$top" make "$t"
done

printf 'total: '
# shellcheck disable=SC2086
sh "$summary" $logs || status=1
exit $status
