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
# directory with a read-only source tree; a few minutes.  Root ignores the
# read-only tree and may change any reservation, so as root the stage runs
# as an unprivileged user (CI_USER, created if missing) on a copy of the
# tarball in a directory of its own.  distcheck removes its tree on
# success, so there is no test-suite.log to count: pass or fail is the
# stage's result
distcheck_unprivileged() {
  user=$1
  if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || return 1
  fi
  [ "$(id -u "$user")" != 0 ] || { echo "$user is root"; return 1; }
  make dist || return 1
  tarball=$(sed -n 's/^PACKAGE_TARNAME = //p' Makefile)-$(sed -n 's/^VERSION = //p' Makefile).tar.xz
  work=$(mktemp -d "${TMPDIR:-/tmp}/devaddr-distcheck.XXXXXX") || return 1
  cp "$tarball" "$work/" && chown -R "$user:" "$work" || return 1
  echo "distcheck as $user in $work"
  # shellcheck disable=SC2016
  if runuser -u "$user" -- env HOME="$work" sh -c \
       'cd "$1" && tar -xf "$2" && cd "${2%.tar.xz}" && ./configure -q && make -j2 distcheck' \
       sh "$work" "$tarball"; then
    rm -rf "$work"
  else
    echo "distcheck as $user failed; its tree is in $work"
    return 1
  fi
}

echo "== ci-check: distcheck"
if [ "$(id -u)" = 0 ]; then
  distcheck="distcheck_unprivileged ${CI_USER:-devaddr-ci}"
  as=" as ${CI_USER:-devaddr-ci}"
else
  distcheck="make -j2 distcheck"
  as=""
fi
if $distcheck > "$top/ci-distcheck.out" 2>&1; then
  echo "distcheck: passed$as"
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
