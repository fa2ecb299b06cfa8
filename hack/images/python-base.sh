#!/usr/bin/env bash
# Makes the root filesystem of the stand-in for python:3.11.14-slim-bookworm as a tarball, with
# mmdebstrap (bookworm, minbase, hack/images/python-base.packages), for `make images` when
# no registry serves the real one (tenantry_local.images).
#
#   hack/images/python-base.sh OUT.tar
#
# Reproducible on one machine: SOURCE_DATE_EPOCH clamps every time stamp, and the logs and
# caches that record when apt and dpkg ran are removed. Across days the mirror moves on, so
# the package versions do too: OUT.tar.packages lists the ones this build got.
#
# Environment:
#   SOURCE_DATE_EPOCH       required
#   TENANTRY_DEBIAN_MIRROR  default http://deb.debian.org
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"

die() { echo "python-base.sh: $*" >&2; exit 1; }
trap 'rc=$?; echo "python-base.sh: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

(($# == 1)) || die "usage: python-base.sh OUT.tar"
out=$(realpath -m "$1")
[[ -n ${SOURCE_DATE_EPOCH:-} ]] || die "SOURCE_DATE_EPOCH is not set"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: run \`make testbin\` (hack/node/install.sh)"
((EUID == 0)) || die "mmdebstrap's root mode needs root"

mapfile -t packages < <(grep -Ev '^\s*(#|$)' "$HERE/python-base.packages")
include=$(IFS=,; echo "${packages[*]}")
mirror=${TENANTRY_DEBIAN_MIRROR:-http://deb.debian.org}
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp" "$out.packages.tmp"

# merged-usr by a hook, not the usrmerge package: that one pulls in perl (40 MB).
# The path excludes are bookworm-slim's: no docs but copyrights, no man pages, no locales.
logged "python-base.sh: mmdebstrap" "$out.log" "$HERE" \
  mmdebstrap --mode=root --variant=minbase --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include="$include" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package}=\${Version}\n' >'$out.packages.tmp'" \
  --customize-hook='rm -rf "$1"/var/log/* "$1"/var/cache/ldconfig/aux-cache "$1"/var/lib/dpkg/*-old "$1"/var/cache/debconf/*-old' \
  bookworm "$out.tmp" \
  "deb $mirror/debian bookworm main" \
  "deb $mirror/debian bookworm-updates main" \
  "deb $mirror/debian-security bookworm-security main" || exit 1
mv -f "$out.packages.tmp" "$out.packages"
mv -f "$out.tmp" "$out"
