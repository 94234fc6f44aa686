#!/usr/bin/env bash
# Installs the reference servers for the benchmark from Debian, without ever starting their
# system services: policy-rc.d first, then apt-get. The benchmark runs each server from its own
# config and data folder under .bench-work/ (see bench/targets/*.ts), never from /etc or systemd.
# usage: bash bench/setup.sh [prosody] [ejabberd]     (default: both)
set -euo pipefail
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(prosody ejabberd)
if [ "$(id -u)" != 0 ]; then echo "setup.sh: run as root to install ${pkgs[*]}" >&2; exit 1; fi
if ! grep -q 'exit 101' /usr/sbin/policy-rc.d 2>/dev/null; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
fi
chmod +x /usr/sbin/policy-rc.d
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# another apt-get may hold the lock (CI installing its own packages): wait for it, bounded
for _ in $(seq 1 120); do
  fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1 || break
  sleep 2
done
apt-get update -q >/dev/null || true
apt-get install -y -q --no-install-recommends "${missing[@]}"
