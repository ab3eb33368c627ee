#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hotplug.sh VM ALIAS DEVICE-XML [TYPE]
#
# Hot-plug a device into a running libvirt domain at an address devaddrd
# holds for it: reserve the address (held, so that it expires by itself
# if this script dies), put the <address/> element devaddrctl prints into
# the device XML, run `virsh attach-device --live`, then commit the
# reservation if libvirt took the device and release it if not.
#
# TYPE is the address type (default pci).  The device XML must not have
# an <address> of its own.  Environment: DEVADDRCTL (default devaddrctl),
# VIRSH (default virsh), HOLD (seconds, default 120), and what devaddrctl
# reads (DEVADDR_SOCKET).
#
# Exit status: 0 attached; devaddrctl's status when no address could be
# reserved (see devaddrctl(1)); 10 when virsh failed (the address was
# released again); 1 for a usage error.
set -u

usage() {
  echo "usage: hotplug.sh VM ALIAS DEVICE-XML [TYPE]" >&2
  exit 1
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  usage
fi
vm=$1
alias=$2
device=$3
type=${4:-pci}
# unquoted where used: DEVADDRCTL may carry options ("devaddrctl --socket X")
devaddrctl=${DEVADDRCTL:-devaddrctl}
virsh=${VIRSH:-virsh}
hold=${HOLD:-120}

[ -r "$device" ] || { echo "hotplug.sh: cannot read $device" >&2; exit 1; }
if grep -q '<address' "$device"; then
  echo "hotplug.sh: $device already has an <address>" >&2
  exit 1
fi

# 1. a held reservation: it lapses unless committed
address=$($devaddrctl reserve "$vm" "$type" "$alias" --hold "$hold" --xml) || exit $?

# 2. the device XML with the address, just before its closing tag
tmp=$(mktemp "${TMPDIR:-/tmp}/hotplug.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
awk -v address="$address" '
  { lines[NR] = $0 }
  END {
    # the last line with a closing tag closes the device
    for (last = NR; last > 0 && lines[last] !~ /<\//; last--)
      ;
    for (i = 1; i <= NR; i++) {
      if (i == last) {
        indent = lines[1]; sub(/[^ \t].*/, "", indent)
        print indent "  " address
      }
      print lines[i]
    }
  }' "$device" > "$tmp"

# 3. attach; 4. commit, or give the address back
if "$virsh" attach-device "$vm" "$tmp" --live; then
  if ! $devaddrctl commit "$vm" "$alias" > /dev/null; then
    echo "hotplug.sh: attached, but the commit failed: the reservation lapses in ${hold}s" >&2
    exit 1
  fi
  echo "$alias: attached at $address"
  exit 0
fi
$devaddrctl release "$vm" "$alias" > /dev/null || true
echo "hotplug.sh: virsh attach-device failed; $alias released" >&2
exit 10
