#!/bin/sh
# libvirt's own address assignment for a domain XML, in a form that can be
# compared device by device with devaddr's.
#
#   libvirt-reference.sh [FILE]            = reference FILE
#   libvirt-reference.sh reference FILE    strip every device <address>,
#       define the result in libvirt under a unique temporary name, read
#       back `dumpxml --inactive`, undefine, print the canonical lines
#   libvirt-reference.sh assign [--keep-addresses] FILE
#       the same define/dumpxml/undefine round trip, printing the whole
#       XML libvirt produced; addresses are stripped first unless
#       --keep-addresses (then static addresses in FILE stay as given)
#   libvirt-reference.sh strip FILE        FILE without device <address>es
#   libvirt-reference.sh canon FILE        canonical lines of any domain XML:
#       "KEY ADDRESS ATTRS", KEY independent of addresses (disk[target=vda],
#       controller[type=pci,index=1], interface[3], ...), sorted by KEY
#   libvirt-reference.sh compare REF CAND [LABEL]
#       per-device agreement of two canonical lists, then "agree A/T P%"
#
# Only <address> children of devices are removed: controllers, models and
# everything else the author wrote stay, so libvirt assigns on exactly the
# input devaddr gets.  Nothing else is added or dropped except <uuid>.
#
# Environment: LIBVIRT_URI (default qemu:///system).
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/lib
URI=${LIBVIRT_URI:-qemu:///system}

die() { echo "libvirt-reference: $*" >&2; exit 1; }

strip() { xsltproc --stringparam strip 1 "$lib/rewrite.xsl" "$1"; }

canon() {
  xsltproc "$lib/addresses.xsl" "$1" | awk -f "$lib/canon.awk" | LC_ALL=C sort
}

# define FILE (already rewritten) under a fresh name, print dumpxml, undefine
roundtrip() { # file keep
  name="devaddr-ref-$$-$(date +%s%N | tail -c 7)"
  tmp=$(mktemp) || die "mktemp failed"
  if [ "$2" = keep ]; then
    xsltproc --stringparam name "$name" "$lib/rewrite.xsl" "$1" >"$tmp"
  else
    xsltproc --stringparam name "$name" --stringparam strip 1 \
      "$lib/rewrite.xsl" "$1" >"$tmp"
  fi || { rm -f "$tmp"; die "cannot read $1"; }
  if ! err=$(virsh -q -c "$URI" define "$tmp" 2>&1 >/dev/null); then
    rm -f "$tmp"
    echo "$err" >&2
    return 1
  fi
  rm -f "$tmp"
  virsh -q -c "$URI" dumpxml --inactive "$name"
  rc=$?
  virsh -q -c "$URI" undefine --nvram "$name" >/dev/null 2>&1 ||
    virsh -q -c "$URI" undefine "$name" >/dev/null
  return $rc
}

cmd=${1:-}
case $cmd in
  strip) [ $# -eq 2 ] || die "usage: strip FILE"; strip "$2" ;;
  canon) [ $# -eq 2 ] || die "usage: canon FILE"; canon "$2" ;;
  assign)
    keep=drop
    [ "${2:-}" = --keep-addresses ] && { keep=keep; shift; }
    [ $# -eq 2 ] || die "usage: assign [--keep-addresses] FILE"
    roundtrip "$2" "$keep" ;;
  compare)
    [ $# -ge 3 ] || die "usage: compare REF CAND [LABEL]"
    awk -v label="${4:-}" -v quiet="${QUIET:-}" -f "$lib/compare.awk" "$2" "$3" ;;
  reference|*)
    [ "$cmd" = reference ] && shift
    [ $# -eq 1 ] || die "usage: [reference] FILE"
    out=$(mktemp) || die "mktemp failed"
    if roundtrip "$1" drop >"$out"; then
      canon "$out"; rc=$?
    else
      rc=1
    fi
    rm -f "$out"
    exit $rc ;;
esac
