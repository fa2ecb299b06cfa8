#!/usr/bin/env bash
# Builds the code-generation-only language plugins that `pulumi package gen-sdk` needs into
# $TENANTRY_TESTBIN/codegen/ (default .testbin/codegen/): pulumi-language-{nodejs,python,go}
# from github.com/pulumi/pulumi/pkg/v3 v3.259.0 (this module) and pulumi-language-dotnet from
# pkg/v3 v3.225.1 (./dotnet). Rebuilt only when a source, go.mod or go.sum changed (a stamp
# records their hash). With a warm Go build cache: about a minute; cold: several.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"
OUT="$TESTBIN/codegen"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

stamp="$OUT/.stamp"
want="$(cd "$HERE" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.png' \) \
  -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
plugins=(nodejs python go dotnet)
fresh=1
for p in "${plugins[@]}"; do [[ -x $OUT/pulumi-language-$p ]] || fresh=0; done
if [[ $fresh == 1 && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "sdkgen: up to date in $OUT"
  exit 0
fi

mkdir -p "$OUT"
start=$SECONDS
logged "sdkgen: pulumi-language-{nodejs,python,go}" "$OUT/.build.log" "$HERE" \
  nice "$GO" build -p "$GO_BUILD_P" -trimpath -ldflags "-s -w" -o "$OUT/" ./cmd/...
# One generator binary serves the three languages under their plugin names.
for p in nodejs python go; do
  ln -f "$OUT/pulumi-language-codegen" "$OUT/pulumi-language-$p"
done
rm -f "$OUT/pulumi-language-codegen"
logged "sdkgen: pulumi-language-dotnet" "$OUT/.build-dotnet.log" "$HERE/dotnet" \
  nice "$GO" build -p "$GO_BUILD_P" -trimpath -ldflags "-s -w" -o "$OUT/" ./cmd/...
echo "$want" >"$stamp"
echo "sdkgen: built ${plugins[*]/#/pulumi-language-} into $OUT in $((SECONDS - start))s"
