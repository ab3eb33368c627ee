#!/bin/sh
# Bring up a system libvirtd with the QEMU driver on a Debian 12 machine
# without systemd (a CI container), so the end-to-end suite can define and
# boot guests.  Idempotent: every step checks before it acts.
#
# Exit status follows automake: 0 ready, 77 skip (not root, or no way to
# get the packages), 1 error.
set -u

log() { echo "setup-libvirt: $*"; }
skip() { echo "setup-libvirt: SKIP: $*" >&2; exit 77; }
die() { echo "setup-libvirt: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "must run as root (installs packages and starts libvirtd)"

URI=qemu:///system
PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils libxml2-utils xsltproc"
# how long to wait for the daemons to answer, in tenths of a second
WAIT_TENTHS=${SETUP_LIBVIRT_WAIT_TENTHS:-600}

# --- packages --------------------------------------------------------
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null 2>&1 || skip "apt-get not found; install:$missing"
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # no daemon may start from a maintainer script: there is no init here
  # and we start them ourselves below
  policy=/usr/sbin/policy-rc.d
  policy_made=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && policy_made=1
  fi
  apt-get update -qq || log "apt-get update failed; trying the cached lists"
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/tmp/setup-libvirt-apt.log 2>&1
  rc=$?
  [ -n "$policy_made" ] && rm -f "$policy"
  if [ $rc -ne 0 ]; then
    tail -n 20 /tmp/setup-libvirt-apt.log >&2
    die "apt-get install failed (log: /tmp/setup-libvirt-apt.log)"
  fi
fi

# --- users, groups, directories --------------------------------------
getent group kvm >/dev/null || groupadd -r kvm || die "cannot create group kvm"
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu ||
  die "cannot create group libvirt-qemu"
getent passwd libvirt-qemu >/dev/null ||
  useradd -r -g kvm -G libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin \
    libvirt-qemu || die "cannot create user libvirt-qemu"
for d in /var/log/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu \
         /var/cache/libvirt/qemu /run/libvirt; do
  [ -d "$d" ] || mkdir -p "$d" || die "cannot create $d"
done

# --- qemu.conf --------------------------------------------------------
# set KEY = VALUE once: rewrite an active KEY line, else append one
conf=/etc/libvirt/qemu.conf
[ -f "$conf" ] || { mkdir -p /etc/libvirt && : >"$conf"; } || die "cannot create $conf"
set_conf() {
  key=$1 value=$2
  if grep -Eq "^[[:space:]]*${key}[[:space:]]*=[[:space:]]*$(printf '%s' "$value" |
       sed 's/[][\.*^$]/\\&/g')[[:space:]]*\$" "$conf"; then
    return 0
  fi
  if grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$conf"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|$key = $value|" "$conf"
  else
    printf '%s = %s\n' "$key" "$value" >>"$conf"
  fi
  conf_changed=1
}
conf_changed=""
set_conf user '"root"'
set_conf group '"root"'
set_conf security_driver '"none"'
set_conf namespaces '[]'

# --- daemons ----------------------------------------------------------
running() { pidfile=$1
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if ! running /run/virtlogd.pid; then
  log "starting virtlogd"
  virtlogd --daemon || die "virtlogd did not start"
fi

if running /run/libvirtd.pid && [ -n "$conf_changed" ]; then
  # a running daemon read the old qemu.conf: restart it
  log "qemu.conf changed: restarting libvirtd"
  pid=$(cat /run/libvirtd.pid)
  kill "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
if ! running /run/libvirtd.pid; then
  log "starting libvirtd"
  libvirtd --daemon || die "libvirtd did not start"
fi

# wait until the QEMU driver answers, bounded
i=0
until virsh -c "$URI" version >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -ge "$WAIT_TENTHS" ] && {
    virsh -c "$URI" version >&2
    die "libvirtd did not answer on $URI"
  }
  sleep 0.1
done
log "ready: $(virsh -c "$URI" version 2>/dev/null | tr '\n' ' ' | sed 's/  */ /g')"
exit 0
