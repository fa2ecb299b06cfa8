#!/usr/bin/env bash
# Builds gVisor's runsc and its containerd shim (containerd-shim-runsc-v1) from the Go module
# proxy into .testbin/node/, pinned by hack/node/gvisor/go.mod + go.sum.
#
# Why not Debian's runsc (bookworm: 0.0~20221219): on this kernel (6.x) it takes every network
# namespace for the host's (it tests for /proc/sys/net/core/rmem_default, which newer kernels
# show in every namespace) and refuses to start any pod with networking; and Debian ships no
# containerd-shim-runsc-v1, while runc's shim cannot follow the exits of containers inside a
# gVisor sandbox.
#
# Why this gVisor (2025-02-05): the newest whose shim still speaks containerd 1.x's shim
# bootstrap (a plain address; later shims answer with containerd 2's JSON bootstrap, which
# Debian's containerd 1.6 cannot parse) and whose runsc already has the fixed root-namespace
# test (dev_weight).
#
# One build-time adjustment, made with sed on a temporary copy of the module's source
# (nothing of gVisor is copied into this repository): the shim sets its own
# oom_score_adj to -999 and gives up when that is refused. Root on this VM has no
# CAP_SYS_RESOURCE (the same reason containerd needs restrict_oom_score_adj here), so the
# shim is built to carry on with the score it inherited, as containerd's own shims do when
# they may not lower it.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"
OUT="$TESTBIN/node"
# gVisor reads its goroutine ids at a fixed offset into the Go runtime's g struct
# (pkg/goid, "+checkoffset runtime g.goid"), known for the Go releases it supports. Built with
# a newer Go, the offset is wrong and the Sentry panics at random ("running on goroutine ...
# task goroutine ... is 0"). So it is built with the Go it was released for: the go command
# fetches that toolchain from the Go module proxy (golang.org/toolchain).
GVISOR_GO=go1.23.12
VERSION=$(awk '($1 == "require" && $2 == "gvisor.dev/gvisor") { print $3; exit } ($1 == "gvisor.dev/gvisor") { print $2; exit }' "$HERE/gvisor/go.mod")
STAMP="$VERSION $GVISOR_GO $(sha256sum "$HERE/gvisor/go.mod" "$HERE/gvisor/go.sum" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"

mkdir -p "$OUT"
if [[ -x $OUT/runsc && -x $OUT/containerd-shim-runsc-v1 && -f $OUT/.gvisor-stamp && $(<"$OUT/.gvisor-stamp") == "$STAMP" ]]; then
  echo "gvisor: up to date ($VERSION)"
  exit 0
fi
start=$SECONDS
src=$(module_dir "$HERE/gvisor" gvisor.dev/gvisor "$GVISOR_GO") ||
  { echo "build-gvisor.sh: cannot locate module gvisor.dev/gvisor" >&2; exit 1; }
# The shim is built from a copy of the module with the one line changed (Go refuses overlays
# of files in the module cache); a temporary go.mod points gvisor.dev/gvisor at the copy.
patched="$OUT/.gvisor-src"
rm -rf "$patched" && cp -r "$src" "$patched" && chmod -R u+w "$patched"
# Every `if err := sys.SetOOMScore(<shim pid>, <max>); err != nil {` in the shim gets
# `&& !os.IsPermission(err)`.
pattern='if err := sys\.SetOOMScore(cmd\.Process\.Pid, \(oomScoreMax[A-Za-z]*\)); err != nil {'
files=$(grep -rl "sys.SetOOMScore(cmd.Process.Pid, oomScoreMax" "$patched/pkg/shim" || true)
[[ -n $files ]] || { echo "build-gvisor.sh: the shim's OOM score call moved; revisit the adjustment" >&2; exit 1; }
# shellcheck disable=SC2086
sed -i "s/$pattern/if err := sys.SetOOMScore(cmd.Process.Pid, \1); err != nil \&\& !os.IsPermission(err) {/" $files
grep -q 'IsPermission' $files || { echo "build-gvisor.sh: OOM score adjustment not applied" >&2; exit 1; }
cp "$HERE/gvisor/go.mod" "$OUT/.shim.go.mod" && cp "$HERE/gvisor/go.sum" "$OUT/.shim.go.sum"
printf '\nreplace gvisor.dev/gvisor => %s\n' "$patched" >>"$OUT/.shim.go.mod"
for target in runsc:gvisor.dev/gvisor/runsc:go.mod containerd-shim-runsc-v1:gvisor.dev/gvisor/shim:$OUT/.shim.go.mod; do
  IFS=: read -r name pkg modfile <<<"$target"
  logged "build-gvisor.sh: $name" "$OUT/.$name.log" "$HERE/gvisor" \
    env GOTOOLCHAIN=$GVISOR_GO GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    nice -n 10 "$GO" build -modfile "$modfile" -p "$GO_BUILD_P" -trimpath -ldflags "-s -w" -o "$OUT/.$name.tmp" "$pkg"
  mv -f "$OUT/.$name.tmp" "$OUT/$name"
done
rm -rf "$patched"
printf '%s' "$STAMP" >"$OUT/.gvisor-stamp"
echo "gvisor: built runsc and containerd-shim-runsc-v1 ($VERSION) in $((SECONDS - start))s"
