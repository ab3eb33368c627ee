#!/bin/sh
# run-fuzz.sh tests/fuzz/NAME.fuzz: run libFuzzer target fuzz-NAME of the
# fuzz build for FUZZ_SECONDS (default 60) on a fresh copy of its seed
# corpus plus its regressions, and print one line
#   fuzz-NAME: S s, N executions, cov C, ft F, corpus U inputs
# An automake test: exit 0 when it ran clean, 1 when it found a crash, a
# leak, a timeout or an UBSan report (the input is kept and named), 77
# without a fuzz build.  NAME.fuzz holds the target's settings as
# KEY=VALUE lines: max_len (bytes), timeout (seconds per input), dict.
# Environment: DA_FUZZ_BUILDDIR (the configured fuzz build) and
# DA_FUZZ_WORKDIR (where each run keeps its corpus, artifacts and output),
# both set by make fuzz; DA_SRCDIR (the source tree), FUZZ_SECONDS.
set -u
settings=$1
name=$(basename "$settings" .fuzz)
srcdir=${DA_SRCDIR:-$(cd "$(dirname "$settings")/../.." && pwd)}
build=${DA_FUZZ_BUILDDIR:-}
bin=$build/tests/fuzz/fuzz-$name
seconds=${FUZZ_SECONDS:-60}

if [ -z "$build" ] || [ ! -x "$bin" ]; then
  echo "fuzz-$name: no fuzz build (run make fuzz)"
  exit 77
fi
max_len=4096 timeout=10 dict=
while IFS='=' read -r key value; do
  case $key in
    max_len) max_len=$value ;;
    timeout) timeout=$value ;;
    dict) dict=$value ;;
  esac
done < "$settings"

work=${DA_FUZZ_WORKDIR:-$build/fuzz-work}/$name
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$srcdir/tests/fuzz/corpus/$name"/* "$work/corpus/"
set -- "$work/corpus"
[ -d "$srcdir/tests/fuzz/regressions/$name" ] && set -- "$@" "$srcdir/tests/fuzz/regressions/$name"
[ -n "$dict" ] && set -- "-dict=$srcdir/tests/fuzz/$dict" "$@"

# GLib's slice allocator would hide memory errors from ASan; leaks in
# libraries' one-time caches are suppressed by name in lsan.supp
G_SLICE=always-malloc
LSAN_OPTIONS=suppressions=$srcdir/tests/fuzz/lsan.supp:print_suppressions=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export G_SLICE LSAN_OPTIONS UBSAN_OPTIONS DA_SRCDIR="$srcdir"

echo "fuzz-$name: $bin for $seconds s, -max_len=$max_len -timeout=$timeout"
start=$(date +%s)
"$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" > "$work/output" 2>&1
status=$?
end=$(date +%s)
cat "$work/output"

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/output" | tail -n 1)
last=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$work/output" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
units=$(ls "$work/corpus" | wc -l)
echo "fuzz-$name: $((end - start)) s, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus $units inputs"
if [ "$status" -ne 0 ]; then
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/output" | tail -n 1)
  echo "fuzz-$name: FAILED (exit $status); the input is ${artifact:-not saved}"
  if [ -n "$artifact" ]; then
    echo "fuzz-$name:   again: $bin $artifact"
    echo "fuzz-$name:   smaller: $bin -minimize_crash=1 -runs=100000 -exact_artifact_path=$work/minimized $artifact"
  fi
  exit 1
fi
exit 0
