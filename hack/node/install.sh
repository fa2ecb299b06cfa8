#!/usr/bin/env bash
# Installs the node tier's host packages from Debian at pinned versions: a real containerd,
# runc, CNI plugins and a static busybox (the test images' only binary).
#
#   hack/node/install.sh          install what is missing or at another version (needs root)
#   hack/node/install.sh --check  exit 1 naming what is missing, install nothing
#
# The pins live in hack/node/packages.env. Nothing here starts a service: the tests run
# their own containerd under a temporary directory.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mapfile -t WANT < <(grep -Ev '^\s*(#|$)' "$HERE/packages.env" | sed 's/^\([^=]*\)=\(.*\)$/\1=\2/')

missing=()
for pin in "${WANT[@]}"; do
  name=${pin%%=*} version=${pin#*=}
  have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)
  [[ $have == "$version" ]] || missing+=("$name=$version")
done

if ((${#missing[@]} == 0)); then
  echo "node packages: up to date (${WANT[*]})"
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  echo "node packages missing: ${missing[*]} (run hack/node/install.sh as root)" >&2
  exit 1
fi
if ((EUID != 0)); then
  echo "node packages missing: ${missing[*]}; hack/node/install.sh needs root, skipping" >&2
  exit 0
fi
echo "node packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale on a fresh machine; a pinned version must be findable.
apt-get update -qq
# policy-rc.d 101: packages must not start their services on this machine.
policy=/usr/sbin/policy-rc.d
cleanup_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && cleanup_policy=1
fi
trap '((cleanup_policy)) && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "node packages: installed ${missing[*]}"
