#!/bin/sh
# The built man pages pass mandoc -Tlint.  Warnings fail the test, except
# "skipping paragraph macro", which every page scdoc writes has (an empty
# .PP after .SH and around .RS) and which changes nothing in the output.
set -u
srcdir=${DA_SRCDIR:-.}
builddir=${DA_BUILDDIR:-.}
pages="devaddrd.8 devaddrctl.1 devaddrd.conf.5 devaddr-protocol.7 libdevaddr.3"

if ! command -v mandoc >/dev/null 2>&1; then
  echo "mandoc is not installed"
  exit 77
fi
bs=$(printf '\b')
status=0
for page in $pages; do
  # built in the build tree, or shipped in the source tree (a tarball)
  file="$builddir/man/$page"
  [ -f "$file" ] || file="$srcdir/man/$page"
  if [ ! -f "$file" ]; then
    echo "FAIL: $page was not built"
    status=1
    continue
  fi
  out=$(mandoc -Tlint -W warning "$file" 2>&1 | grep -v 'skipping paragraph macro')
  if [ -n "$out" ]; then
    echo "FAIL: $page"
    echo "$out"
    status=1
  else
    echo "ok: $page"
  fi
  # the page names itself and renders
  if ! mandoc -Tascii "$file" 2>/dev/null | sed "s/.$bs//g" | grep -q "^NAME"; then
    echo "FAIL: $page does not render"
    status=1
  fi
done
exit $status
