#!/usr/bin/env bash
# @file deps.sh  Install the Debian packages sipveil needs to build, test and benchmark.
#
# Idempotent and non-interactive: it asks dpkg which packages are missing and installs only
# those, so a second run on a ready machine prints nothing and exits 0. Needs root (or sudo)
# only when something is missing. Every package comes from the Debian archive; nothing is
# fetched from anywhere else.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config clang llvm libclang-rt-14-dev
  # libraries of the product
  libevent-dev libssl-dev libxml2-dev libyaml-dev libjansson-dev libsqlite3-dev libhiredis-dev
  # tests: unit framework, real SIP peer, wire checker
  libcmocka-dev sip-tester tshark python3
  # interop: a softphone no one here wrote, and a SIP scanner (user enumeration must fail)
  baresip sipvicious
  # tools the tests drive: curl (XCAP client), openssl (test certificates, grant checks)
  curl openssl
  # benchmark peers: libosip2 (linked only into bench/), Kamailio (run only by bench/)
  libosip2-dev kamailio kamailio-presence-modules
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: missing packages (${missing[*]}) and not root; rerun as root" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, in advance.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
# Packages must not start services (Kamailio would take port 5060): deny starts for the
# duration of the install, unless the machine already has a policy of its own.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
