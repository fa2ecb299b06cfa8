#!/usr/bin/env bash
# Builds the kubelet from k8s.io/kubernetes at the Kubernetes pin (hack/testbin/versions.env)
# into .testbin/node/kubelet, for the node tier's stretch test: a real kubelet joined to the
# local API server, running pods through the Tenantry handler on the test's containerd.
# Its wrapper module hack/node/kubelet/ pins the same version and staging replaces as
# hack/testbin/kubernetes/; most packages are shared with kube-apiserver's build, so with a
# warm Go build cache this takes about a minute.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"
OUT="$TESTBIN/node"
VER=$(sed -n 's/^KUBERNETES_VERSION=//p' "$ROOT/hack/testbin/versions.env")
got=$(awk '($1 == "require" && $2 == "k8s.io/kubernetes") { print $3; exit } ($1 == "k8s.io/kubernetes") { print $2; exit }' "$HERE/kubelet/go.mod")
[[ $got == "$VER" ]] || { echo "build-kubelet.sh: versions.env says $VER, hack/node/kubelet/go.mod $got" >&2; exit 1; }
STAMP="$VER $(sha256sum "$HERE/kubelet/go.mod" "$HERE/kubelet/go.sum" | sha256sum | cut -c1-16)"
mkdir -p "$OUT"
if [[ -x $OUT/kubelet && -f $OUT/.kubelet-stamp && $(<"$OUT/.kubelet-stamp") == "$STAMP" ]]; then
  echo "kubelet: up to date ($VER)"
  exit 0
fi
major=${VER#v}; major=${major%%.*}
minor=${VER#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for x in gitVersion="$VER" gitMajor="$major" gitMinor="$minor" gitTreeState=clean; do
  ldflags+=" -X k8s.io/component-base/version.$x"
done
start=$SECONDS
logged build-kubelet.sh "$OUT/.kubelet.log" "$HERE/kubelet" \
  env GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
  nice -n 10 "$GO" build -p "$GO_BUILD_P" -trimpath -ldflags "$ldflags" -o "$OUT/.kubelet.tmp" k8s.io/kubernetes/cmd/kubelet
got=$("$OUT/.kubelet.tmp" --version 2>&1) || true
[[ $got == *"$VER"* ]] || { echo "build-kubelet.sh: built $OUT/.kubelet.tmp, but its --version says '$got', not $VER" >&2; exit 1; }
mv -f "$OUT/.kubelet.tmp" "$OUT/kubelet"
printf '%s' "$STAMP" >"$OUT/.kubelet-stamp"
echo "kubelet: built $VER in $((SECONDS - start))s"
