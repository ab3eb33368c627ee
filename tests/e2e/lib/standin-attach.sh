#!/bin/sh
# Stand-in for devaddr's device.attach until devaddrd exists: the address
# libvirt itself would give DEV if it were added to the domain now.
#   standin-attach.sh VM DEV DOM
# DOM is the running domain's current XML.  A scratch copy of it is
# defined under a temporary name, DEV is attached to that copy with
# --config (libvirt assigns the address offline, nothing runs), and the
# device as libvirt completed it is printed.  The scratch copy is removed.
set -u
lib=$(cd "$(dirname "$0")" && pwd)
URI=${LIBVIRT_URI:-qemu:///system}
dev=$2 dom=$3
name="devaddr-standin-$$"
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"; virsh -q -c "$URI" undefine "$name" >/dev/null 2>&1' EXIT
xsltproc --stringparam name "$name" "$lib/rewrite.xsl" "$dom" >"$tmp" || exit 1
virsh -q -c "$URI" define "$tmp" >/dev/null || exit 1
virsh -q -c "$URI" attach-device "$name" "$dev" --config >/dev/null || exit 1
kind=$(xmllint --xpath 'name(/*)' "$dev") || exit 1
virsh -q -c "$URI" dumpxml --inactive "$name" >"$tmp" || exit 1
xsltproc --stringparam kind "$kind" "$lib/last-device.xsl" "$tmp"
