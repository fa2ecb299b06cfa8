#!/usr/bin/env bash
# Generates the SDKs of provider/schema.json with the locally built pulumi CLI:
#   hack/sdkgen/gen.sh OUT    writes OUT/{nodejs,python,go,dotnet}
# `make sdk` runs it with OUT=sdk; the SDK test runs it into a temporary directory and
# compares. The CLI finds the code-generation plugins that hack/sdkgen/build.sh built, first on
# PATH, and uses a PULUMI_HOME of its own so nothing is read from or written to ~/.pulumi.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"
OUT="$(mkdir -p "${1:?usage: gen.sh OUT}" && cd "$1" && pwd)"

home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
for lang in nodejs python go dotnet; do
  PATH="$TESTBIN/codegen:$PATH" PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true \
    "$TESTBIN/pulumi" package gen-sdk "$ROOT/provider/schema.json" \
    --language "$lang" --out "$OUT" 2>&1 | grep -v '^warning: using pulumi-language-' || true
  [[ -d $OUT/$lang ]] || { echo "gen.sh: no $lang SDK was written" >&2; exit 1; }
done
# go.sum (and the indirect requirements) for the Go SDK's go.mod, from the module proxy.
(cd "$OUT/go" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" mod tidy)
