#!/bin/sh
# systemd-analyze verify the units as they will be installed (ExecStart
# pointing at the built daemon); any complaint fails, since it reports
# unparsable settings as warnings with exit status 0.
set -u
command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
src=${DA_SRCDIR:-.}
build=${DA_BUILDDIR:-.}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$src/systemd/devaddrd.socket" "$src/systemd/devaddrd-ro.socket" "$dir/"
sed "s|@sbindir@|$build/daemon|g" "$src/systemd/devaddrd.service.in" > "$dir/devaddrd.service"
cd "$dir" || exit 1
out=$(systemd-analyze verify --man=no ./devaddrd.service ./devaddrd.socket ./devaddrd-ro.socket 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
  echo "systemd-analyze verify failed (rc=$rc):"
  echo "$out"
  exit 1
fi
# the hardening DESIGN.md asks for is really there
for key in Type=notify ProtectSystem=strict PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX \
           'CapabilityBoundingSet=$' SystemCallFilter=@system-service StateDirectory=devaddr; do
  grep -q "^$key" devaddrd.service || { echo "devaddrd.service lacks $key"; exit 1; }
done
grep -q '^FileDescriptorName=devaddrd$' devaddrd.socket && grep -q '^SocketMode=0660$' devaddrd.socket \
  && grep -q '^FileDescriptorName=devaddrd-ro$' devaddrd-ro.socket && grep -q '^SocketMode=0666$' devaddrd-ro.socket \
  || { echo "socket units lack their names or modes"; exit 1; }
# the read-write socket belongs to the group that may mutate, which the
# sysusers snippet creates
grep -q '^SocketGroup=devaddr$' devaddrd.socket || { echo "devaddrd.socket lacks SocketGroup=devaddr"; exit 1; }
grep -Eq '^[ug][[:space:]]+devaddr([[:space:]]|$)' "$src/systemd/devaddr.sysusers" \
  || { echo "systemd/devaddr.sysusers does not create the devaddr group"; exit 1; }
echo "units verified"
