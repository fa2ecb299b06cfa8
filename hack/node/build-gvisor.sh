#!/usr/bin/env bash
# Builds gVisor's runsc and its containerd shim (containerd-shim-runsc-v1) from the Go module
# proxy into .testbin/node/, pinned by hack/node/gvisor/go.mod + go.sum.
#
# Why not Debian's runsc (bookworm: 0.0~20221219): on this kernel (6.x) it takes every network
# namespace for the host's (it tests for /proc/sys/net/core/rmem_default, which newer kernels
# show in every namespace) and refuses to start any pod with networking; and Debian ships no
# containerd-shim-runsc-v1, while runc's shim cannot follow the exits of containers inside a
# gVisor sandbox.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${TENANTRY_TESTBIN:-$ROOT/.testbin}/node"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
VERSION=$(awk '$1 == "gvisor.dev/gvisor" { print $2 }' "$HERE/gvisor/go.mod")
STAMP="$VERSION $(sha256sum "$HERE/gvisor/go.mod" "$HERE/gvisor/go.sum" | sha256sum | cut -c1-16)"

mkdir -p "$OUT"
if [[ -x $OUT/runsc && -x $OUT/containerd-shim-runsc-v1 && -f $OUT/.gvisor-stamp && $(<"$OUT/.gvisor-stamp") == "$STAMP" ]]; then
  echo "gvisor: up to date ($VERSION)"
  exit 0
fi
start=$SECONDS
for target in runsc:gvisor.dev/gvisor/runsc containerd-shim-runsc-v1:gvisor.dev/gvisor/shim; do
  name=${target%%:*} pkg=${target#*:}
  log="$OUT/.$name.log"
  if ! (cd "$HERE/gvisor" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    nice -n 10 "$GO" build -p 1 -trimpath -ldflags "-s -w" -o "$OUT/.$name.tmp" "$pkg") >"$log" 2>&1; then
    echo "build-gvisor.sh: FAILED: cd $HERE/gvisor && go build -o $OUT/$name $pkg" >&2
    tail -n 30 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
  mv -f "$OUT/.$name.tmp" "$OUT/$name"
done
printf '%s' "$STAMP" >"$OUT/.gvisor-stamp"
echo "gvisor: built runsc and containerd-shim-runsc-v1 ($VERSION) in $((SECONDS - start))s"
