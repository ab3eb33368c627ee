#!/bin/sh
# Prepare a checkout for building: install the Debian build dependencies that
# are missing (when run as root; otherwise print the apt-get line), generate
# the build system and run configure with the arguments given.
set -eu

srcdir=$(cd "$(dirname "$0")" && pwd)

# Debian 12 packages needed to build, test and document devaddr
DEPS="build-essential autoconf automake autoconf-archive libtool pkg-config
libglib2.0-dev libjson-glib-dev libvirt-glib-1.0-dev libxml2-dev libxml2-utils
libsystemd-dev systemd check scdoc mandoc socat clang libclang-rt-14-dev"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $DEPS; do
    st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "autogen.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || apt-get update
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
  else
    echo "autogen.sh: missing Debian packages; as root run:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
  fi
fi

cd "$srcdir"
autoreconf --force --install --warnings=all
if [ -z "${NOCONFIGURE:-}" ]; then
  ./configure "$@"
fi
