#!/bin/sh
# build-fuzz.sh BUILDDIR PROGRAM...: the fuzz build.  BUILDDIR/dist is a
# fresh `make distdir` copy of the sources; what differs from BUILDDIR/src
# is copied over (with its time stamps, so make rebuilds only what
# changed), BUILDDIR/src is configured with clang, ASan, UBSan and libFuzzer's
# coverage instrumentation the first time, and PROGRAMs are built there.
# Environment: MAKE, FUZZ_CC (clang), FUZZ_CFLAGS (-g -O1).
set -eu
build=$1
shift
dist=$build/dist
src=$build/src

mkdir -p "$src"
(cd "$dist" && find . -type f) | while IFS= read -r f; do
  if ! cmp -s "$dist/$f" "$src/$f"; then
    mkdir -p "$src/$(dirname "$f")"
    cp -p "$dist/$f" "$src/$f"
  fi
done
rm -rf "$dist"

cd "$src"
if [ ! -f config.status ]; then
  echo "build-fuzz: configuring $src"
  # every library the targets link is instrumented too; the targets
  # themselves add -fsanitize=fuzzer when they link
  ./configure -q CC="${FUZZ_CC:-clang}" CFLAGS="${FUZZ_CFLAGS:--g -O1} -fsanitize=fuzzer-no-link" \
    --enable-sanitizers --disable-werror
fi
echo "build-fuzz: building $*"
${MAKE:-make} -s "$@"
