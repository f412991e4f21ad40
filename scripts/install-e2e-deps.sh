#!/usr/bin/env bash
# Installs what the end-to-end suite needs from Debian's packages when it is missing:
# prometheus + promtool, chromium for the status-page screenshots, and openssh-client, whose
# `ssh -G` checks the config `vastwatch ssh-config` prints. Fails loudly when it cannot, so CI
# never skips those tests silently.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool   >/dev/null 2>&1 || need+=(prometheus)
command -v chromium   >/dev/null 2>&1 || need+=(chromium)
command -v ssh        >/dev/null 2>&1 || need+=(openssh-client)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-e2e-deps: missing ${need[*]} and not root; install them with apt-get" >&2
  exit 1
fi
echo "install-e2e-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
for bin in prometheus promtool chromium ssh; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-e2e-deps: $bin still missing after apt-get" >&2; exit 1; }
done
