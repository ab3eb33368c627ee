#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make installcheck: the first program of README.md, compiled as the README
# says (cc first.c $(pkg-config --cflags --libs devaddr)) against the
# installed devaddr.pc and headers, run against the installed devaddrd
# with the installed catalog, on sockets of its own.
#
# usage: installcheck-readme.sh README BINDIR SBINDIR LIBDIR
# environment: CC, PKG_CONFIG (defaults cc, pkg-config)
set -u
readme=$1 bindir=$2 sbindir=$3 libdir=$4
cc=${CC:-cc}
pkg_config=${PKG_CONFIG:-pkg-config}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devaddr-installcheck.XXXXXX") || exit 99
pid=""
drain=""

cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  [ -z "$drain" ] || wait "$drain" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "installcheck: $*" >&2
  if [ -s "$tmp/devaddrd.log" ]; then
    echo "devaddrd said:" >&2
    sed 's/^/  /' "$tmp/devaddrd.log" >&2
  fi
  exit 1
}

# the first C block of the README
sed -n '/^```c$/,/^```$/{/^```/d;p}' "$readme" > "$tmp/first.c"
grep -q 'devaddr_client_reserve' "$tmp/first.c" || fail "no first program in $readme"
grep -q '^    cc first.c $(pkg-config --cflags --libs devaddr)$' "$readme" ||
  fail "$readme no longer says how to build the first program"

# the installed library, as a user of it finds it
PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
flags=$($pkg_config --cflags --libs devaddr) || fail "pkg-config finds no devaddr in $libdir/pkgconfig"
# shellcheck disable=SC2086
(cd "$tmp" && $cc first.c $flags -o first) || fail "the README's first program does not build"

# the installed daemon: its group is ours, so that it lets us reserve
group=$(id -gn)
printf '[daemon]\ngroup=%s\n' "$group" > "$tmp/devaddrd.conf"
mkfifo "$tmp/log.fifo" || exit 99
"$sbindir/devaddrd" --config "$tmp/devaddrd.conf" --socket "$tmp/rw.sock" --ro-socket "$tmp/ro.sock" \
  --state-dir "$tmp/state" --verbose > "$tmp/log.fifo" 2>&1 &
pid=$!
# it logs (GLib's info messages go to standard output) when its sockets
# listen: read until then, keep the rest
exec 3< "$tmp/log.fifo"
ready=no
while IFS= read -r line <&3; do
  printf '%s\n' "$line" >> "$tmp/devaddrd.log"
  case $line in
    *"listening on $tmp/ro.sock"*) ready=yes; break ;;
  esac
done
[ "$ready" = yes ] || fail "devaddrd did not start"
cat <&3 >> "$tmp/devaddrd.log" &
drain=$!
exec 3<&-

LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
DEVADDR_SOCKET=$tmp/rw.sock
export LD_LIBRARY_PATH DEVADDR_SOCKET
"$bindir/devaddrctl" vm create demo --template pc > /dev/null || fail "devaddrctl vm create failed"
address=$("$tmp/first") || fail "the README's first program failed"
case $address in
  0000:00:[0-9a-f][0-9a-f].[0-7]) ;;
  *) fail "the README's first program printed \"$address\", not a PCI address" ;;
esac
# what it printed is what the daemon keeps
"$bindir/devaddrctl" lookup demo pci "$address" | grep -q "^net1 " ||
  fail "net1 is not at $address"

kill "$pid" && wait "$pid" || fail "devaddrd did not exit cleanly"
pid=""
echo "installcheck: the README's first program reserved net1 at $address"
