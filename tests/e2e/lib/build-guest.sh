#!/bin/sh
# Build a tiny guest for the hotplug checks: Debian's cloud kernel and an
# initramfs whose /init is busybox keeping the guest alive.  A guest OS is
# needed so that PCI unplug completes (ACPI or PCIe native hotplug).
# Usage: build-guest.sh DIR   (writes DIR/vmlinuz and DIR/initrd.gz)
# Exit 77 when the packages cannot be had.  Runs as root (apt-get).
set -u
dir=$1
[ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.gz" ] && exit 0
mkdir -p "$dir" || exit 1
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
apt-get download linux-image-cloud-amd64 busybox-static >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null 2>&1; apt-get download linux-image-cloud-amd64 busybox-static >/dev/null 2>&1; } ||
  { echo "build-guest: cannot download the guest kernel" >&2; exit 77; }
kpkg=$(dpkg-deb -f linux-image-cloud-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -n 1)
[ -n "$kpkg" ] && apt-get download "$kpkg" >/dev/null 2>&1 ||
  { echo "build-guest: cannot download $kpkg" >&2; exit 77; }
dpkg-deb -x linux-image-[0-9]*.deb k && dpkg-deb -x busybox-static_*.deb bb || exit 1
mkdir -p ir/bin && cp bb/bin/busybox ir/bin/ || exit 1
cat >ir/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "devaddr-e2e guest up"
while :; do /bin/busybox sleep 3600; done
INIT
chmod 755 ir/init
(cd ir && find . | ../bb/bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$dir/initrd.gz.tmp" &&
  cp k/boot/vmlinuz-* "$dir/vmlinuz.tmp" &&
  mv "$dir/initrd.gz.tmp" "$dir/initrd.gz" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
