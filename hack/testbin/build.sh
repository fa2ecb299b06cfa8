#!/usr/bin/env bash
# Builds the pinned test binaries into .testbin/ from the Go module proxy.
#
#   hack/testbin/build.sh             build every binary that is missing or stale
#   hack/testbin/build.sh NAME...     only these (see --list)
#   hack/testbin/build.sh --list      print the binaries and their pinned versions
#   hack/testbin/build.sh --force ... rebuild even if up to date
#   hack/testbin/build.sh --source NAME
#                                     print the module directory NAME is built from,
#                                     downloading the module when it is not cached
#
# Pins live in hack/testbin/versions.env; each family's wrapper module
# (hack/testbin/<family>/go.mod + go.sum) must agree with it, and this script
# checks that before building. Binaries are rebuilt when their version or
# their wrapper's go.mod/go.sum changes (a stamp in .testbin/.stamps/ records
# what each was built from). Builds are niced and run `go build -p $(nproc)`
# (TENANTRY_GO_BUILD_P overrides); the five Kubernetes binaries share one
# `go build`. On a 2-core machine with empty Go caches all of them take about
# 23 minutes, module downloads included (pulumi-resource-kubernetes ~11,
# the Kubernetes three ~4, pulumi ~3.5); with a warm Go build cache, about a
# minute of linking; with the stamps matching, under a second (docs/testing.md).
#
# Environment:
#   TENANTRY_TESTBIN  output directory (default: <repo>/.testbin); the tests
#                     read the same variable
#   GO                go binary (default: go on PATH, else /usr/local/go/bin/go);
#                     needs Go >= 1.26.5 (kine's go.mod), run with GOTOOLCHAIN=local
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/build.sh
source "$HERE/../lib/build.sh"
OUT="$TESTBIN"
# The stand-in language hosts the wrappers below run (docs/testing.md).
PYTHON_HOST=$HERE/language-hosts/language_host.py
NODEJS_HOST=$HERE/language-hosts/nodejs_language_host.py

ALL=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kube-router-netpol etcd kwok kine coredns pulumi
  pulumi-resource-kubernetes pulumi-language-python pulumi-language-nodejs pulumi-language-yaml)

trap 'rc=$?; echo "build.sh: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

die() { echo "build.sh: $*" >&2; exit 1; }

# Runs "$@" in $RUN_DIR with its output in $RUN_LOG; on failure names $RUN_NAME, prints the
# exact command, the log's path and its last lines, and exits.
run() { logged "build.sh: ${RUN_NAME:?}" "$RUN_LOG" "$RUN_DIR" "$@" || exit 1; }

# versions.env: strict KEY=VALUE, nothing a shell would expand.
load_versions() {
  local line n=0
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ -z $line || $line == \#* ]] && continue
    [[ $line =~ ^([A-Z][A-Z0-9_]*)=(v[0-9][0-9A-Za-z.+-]*)$ ]] ||
      die "versions.env:$n: expected KEY=vX.Y.Z, got: $line"
    printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
  done <"$HERE/versions.env"
  local k
  for k in KUBERNETES_VERSION KUBE_ROUTER_VERSION ETCD_VERSION KWOK_VERSION KINE_VERSION COREDNS_VERSION PULUMI_VERSION \
    PULUMI_KUBERNETES_VERSION PULUMI_KUBERNETES_PLUGIN_VERSION PULUMI_YAML_VERSION; do
    [[ -n ${!k:-} ]] || die "versions.env: $k is not set"
  done
}

# Sets DIR MOD VER PKG CGO TAGS LDFLAGS for binary $1.
spec() {
  TAGS="" LDFLAGS="-s -w"
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy | kubectl)
      DIR=kubernetes MOD=k8s.io/kubernetes VER=$KUBERNETES_VERSION
      PKG=k8s.io/kubernetes/cmd/$1 CGO=0
      local major minor p x
      major=${VER#v}; major=${major%%.*}
      minor=${VER#v*.}; minor=${minor%%.*}
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        for x in gitVersion="$VER" gitMajor="$major" gitMinor="$minor" gitTreeState=clean; do
          LDFLAGS+=" -X $p.$x"
        done
      done
      ;;
    kube-router-netpol)
      # The real node's NetworkPolicy: kube-router's policy controller under our own main
      # (kubernetes/kube-router-netpol/), in the Kubernetes wrapper so that it shares the
      # compiled client-go; --version prints the kube-router module version from build info.
      DIR=kubernetes MOD=github.com/cloudnativelabs/kube-router/v2 VER=$KUBE_ROUTER_VERSION
      PKG=./kube-router-netpol CGO=0
      ;;
    etcd)
      # etcd's version is a constant in go.etcd.io/etcd/api/v3/version.
      DIR=etcd MOD=go.etcd.io/etcd/server/v3 VER=$ETCD_VERSION
      PKG=go.etcd.io/etcd/server/v3 CGO=0
      LDFLAGS+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=$VER"
      ;;
    kwok)
      # kwok's version is a constant in sigs.k8s.io/kwok/pkg/consts. kwok
      # does nothing without stages: see write_kwok_stages.
      DIR=kwok MOD=sigs.k8s.io/kwok VER=$KWOK_VERSION
      PKG=sigs.k8s.io/kwok/cmd/kwok CGO=0
      ;;
    kine)
      # CGO for github.com/mattn/go-sqlite3; tags as in kine's scripts/build.
      DIR=kine MOD=github.com/k3s-io/kine VER=$KINE_VERSION
      PKG=github.com/k3s-io/kine CGO=1
      TAGS=nats,sqlite_unlock_notify,sqlite_vtable,sqlite_stat4,sqlite_preupdate_hook,sqlite_math_functions,sqlite_dbstat,sqlite_column_metadata
      LDFLAGS+=" -X github.com/k3s-io/kine/pkg/version.Version=$VER"
      ;;
    coredns)
      # The tenant's DNS (make images: registry.k8s.io/coredns/coredns). Its version is a
      # constant in coremain; upstream's Makefile stamps only the commit.
      DIR=coredns MOD=github.com/coredns/coredns VER=$COREDNS_VERSION
      PKG=github.com/coredns/coredns CGO=0
      LDFLAGS+=" -X github.com/coredns/coredns/coremain.GitCommit=$VER"
      ;;
    pulumi)
      DIR=pulumi MOD=github.com/pulumi/pulumi/pkg/v3 VER=$PULUMI_VERSION
      PKG=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi CGO=0
      LDFLAGS+=" -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VER"
      ;;
    pulumi-resource-kubernetes)
      # Built from our own main package (plugin/), fed upstream's generated
      # embeds: see build_kubernetes_plugin.
      DIR=pulumi-kubernetes MOD=github.com/pulumi/pulumi-kubernetes/provider/v4
      VER=$PULUMI_KUBERNETES_VERSION PKG=./plugin CGO=0
      LDFLAGS+=" -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${PULUMI_KUBERNETES_PLUGIN_VERSION#v}"
      ;;
    pulumi-language-python)
      # Not a Go build: a wrapper that runs Tenantry's stand-in language host
      # ($PYTHON_HOST) in the workspace virtualenv, plus the program runner from
      # the Pulumi SDK module. See install_language_python. The host's path is in
      # the stamp, so a wrapper that runs it from elsewhere is rewritten.
      DIR=pulumi MOD=github.com/pulumi/pulumi/pkg/v3 VER=$PULUMI_VERSION PKG="" CGO=0
      LDFLAGS="root=$ROOT host=$PYTHON_HOST"
      ;;
    pulumi-language-nodejs)
      # Not a Go build either: a wrapper that runs Tenantry's stand-in Node.js host
      # ($NODEJS_HOST). See install_language_nodejs.
      DIR=pulumi MOD=github.com/pulumi/pulumi/pkg/v3 VER=$PULUMI_VERSION PKG="" CGO=0
      LDFLAGS="root=$ROOT host=$NODEJS_HOST"
      ;;
    pulumi-language-yaml)
      # The YAML language host (examples/yaml).
      DIR=pulumi-yaml MOD=github.com/pulumi/pulumi-yaml VER=$PULUMI_YAML_VERSION
      PKG=github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml CGO=0
      LDFLAGS+=" -X github.com/pulumi/pulumi-yaml/pkg/version.Version=${VER#v}"
      ;;
    *) die "unknown binary '$1' (known: ${ALL[*]})" ;;
  esac
}

# The version a wrapper go.mod requires for module $2 (in dir $1).
gomod_version() {
  awk -v m="$2" '($1 == "require" && $2 == m) { print $3; exit }
                 ($1 == m && $2 ~ /^v/)        { print $2; exit }' "$HERE/$1/go.mod"
}

# Fails unless the wrapper module of binary $1 pins what versions.env says.
check_pins() {
  spec "$1"
  local got
  got=$(gomod_version "$DIR" "$MOD")
  [[ $got == "$VER" ]] ||
    die "$1: versions.env says $MOD $VER but hack/testbin/$DIR/go.mod requires ${got:-nothing}"
  [[ -s $HERE/$DIR/go.sum ]] || die "$1: hack/testbin/$DIR/go.sum is missing"
  if [[ $MOD == k8s.io/kubernetes ]]; then
    # Every k8s.io staging module must be replaced with v0.<minor>.<patch>.
    local want="v0.${VER#v*.}" bad
    bad=$(awk -v w="$want" '$2 == "=>" && $1 ~ /^k8s\.io\// && $3 !~ /^\./ && $4 != w' \
      "$HERE/$DIR/go.mod")
    [[ -z $bad ]] || die "$1: hack/testbin/$DIR/go.mod has staging replaces not at $want:"$'\n'"$bad"
  fi
}

# kwok refuses to start without Stage objects. Its module ships the upstream
# "fast" stages (the ones kwokctl uses by default); collect them into
# $OUT/kwok-stages.yaml for `kwok --config $OUT/kwok-stages.yaml`.
write_kwok_stages() {
  local src
  src=$(module_dir "$HERE/kwok" sigs.k8s.io/kwok) || die "kwok: cannot locate module sigs.k8s.io/kwok"
  [[ -d $src/kustomize/stage ]] || die "kwok: no kustomize/stage in $src"
  local f
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "# from sigs.k8s.io/kwok@$KWOK_VERSION kustomize/stage/$f"
    cat "$src/kustomize/stage/$f"
    echo "---"
  done >"$OUT/.kwok-stages.yaml.tmp"
  mv -f "$OUT/.kwok-stages.yaml.tmp" "$OUT/kwok-stages.yaml"
}

# The provider's main package embeds schema-embed.json (schema.json stamped
# with the provider version) and terraform-mapping-embed.json, which upstream
# makes with `go generate` (cmd/pulumi-resource-kubernetes/generate.go) and
# gitignores, so the module zip lacks them. Run that same generator, then build
# plugin/ (a main package equivalent to upstream's) with the generated files
# overlaid: `go build -overlay` may not replace files in the module cache, so
# upstream's own package cannot take them. Writes $OUT/.$1.tmp.
build_kubernetes_plugin() {
  local src gen=$OUT/.pulumi-kubernetes-gen
  src=$(module_dir "$HERE/$DIR" "$MOD") || die "$1: cannot locate module $MOD"
  [[ -f $src/cmd/pulumi-resource-kubernetes/schema.json ]] ||
    die "$1: module $MOD ($src) has no cmd/pulumi-resource-kubernetes/schema.json"
  rm -rf "$gen" && mkdir -p "$gen"
  cp "$src"/cmd/pulumi-resource-kubernetes/{schema.json,terraform-mapping.json} "$gen/"
  chmod u+w "$gen"/*.json
  RUN_DIR=$HERE/$DIR RUN_LOG=$OUT/.logs/$1.generate.log
  run env GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    nice -n 10 "$GO" build -p "$GO_BUILD_P" -trimpath -o "$gen/generate" "$src/cmd/pulumi-resource-kubernetes/generate.go"
  RUN_DIR=$gen
  run env VERSION="${PULUMI_KUBERNETES_PLUGIN_VERSION#v}" ./generate
  printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' \
    "$HERE/$DIR/plugin/schema-embed.json" "$gen/schema-embed.json" \
    "$HERE/$DIR/plugin/terraform-mapping-embed.json" "$gen/terraform-mapping-embed.json" >"$gen/overlay.json"
  RUN_DIR=$HERE/$DIR RUN_LOG=$OUT/.logs/$1.log
  run env GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    nice -n 10 "$GO" build -p "$GO_BUILD_P" -trimpath -overlay "$gen/overlay.json" -ldflags "$LDFLAGS" \
    -o "$OUT/.$1.tmp" "$PKG"
}

# pulumi-language-python: a wrapper script running Tenantry's stand-in host in
# the workspace virtualenv, and pulumi-language-python-exec (the program runner
# the Pulumi SDK ships; it runs in the program's virtualenv) from the
# github.com/pulumi/pulumi/sdk/v3 module at the CLI's version. Writes
# $OUT/.$1.tmp and $OUT/pulumi-language-python-exec.
install_language_python() {
  local sdk
  sdk=$(module_dir "$HERE/pulumi" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION") ||
    die "$1: cannot locate module github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
  [[ -f $sdk/python/cmd/pulumi-language-python-exec ]] ||
    die "$1: no python/cmd/pulumi-language-python-exec in the sdk/v3 module ($sdk)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$OUT/pulumi-language-python-exec"
  [[ -x $ROOT/.venv/bin/python ]] || die "$1: $ROOT/.venv is missing: run \`make sync\` first"
  {
    echo '#!/bin/sh'
    echo "# Written by hack/testbin/build.sh: Tenantry's stand-in Python language host"
    echo "# (hack/testbin/language-hosts/; why: docs/testing.md), in the workspace virtualenv."
    printf 'exec %q %q --exec-script %q "$@"\n' "$ROOT/.venv/bin/python" \
      "$PYTHON_HOST" "$OUT/pulumi-language-python-exec"
  } >"$OUT/.$1.tmp"
  chmod 0755 "$OUT/.$1.tmp"
}

# pulumi-language-nodejs: a wrapper script running Tenantry's stand-in Node.js host
# in the workspace virtualenv; it imports the Python host's shared code from beside
# it. The program runner is @pulumi/pulumi's own, from the program's node_modules.
# Writes $OUT/.$1.tmp.
install_language_nodejs() {
  [[ -x $ROOT/.venv/bin/python ]] || die "$1: $ROOT/.venv is missing: run \`make sync\` first"
  {
    echo '#!/bin/sh'
    echo "# Written by hack/testbin/build.sh: Tenantry's stand-in Node.js language host"
    echo "# (hack/testbin/language-hosts/; why: docs/testing.md), in the workspace virtualenv."
    printf 'exec %q %q "$@"\n' "$ROOT/.venv/bin/python" "$NODEJS_HOST"
  } >"$OUT/.$1.tmp"
  chmod 0755 "$OUT/.$1.tmp"
}

stamp_of() {
  spec "$1"
  local inputs=("$HERE/$DIR/go.mod" "$HERE/$DIR/go.sum")
  [[ $1 != pulumi-resource-kubernetes ]] || inputs+=("$HERE/$DIR/plugin/main.go")
  [[ $1 != kube-router-netpol ]] || inputs+=("$HERE/$DIR/kube-router-netpol/main.go")
  printf '%s %s %s %s\n' "$MOD" "$VER" "$LDFLAGS $TAGS" \
    "$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
}

# True when binary $1 is built and its stamp matches (and --force was not given).
up_to_date() {
  ((!force)) && [[ -x $OUT/$1 && -f $OUT/.stamps/$1 && $(<"$OUT/.stamps/$1") == "$(stamp_of "$1")" ]]
}

# The binaries of the Kubernetes wrapper share most of their packages. One `go build` of all
# the stale ones links one while it compiles the next, instead of leaving a core idle during
# each link. The Kubernetes version flags it stamps are inert in kube-router-netpol. Leaves
# them in $OUT/.kubernetes/ for the main loop to check and install.
build_kubernetes_group() {
  local n stale=() pkgs=()
  for n in "$@"; do
    spec "$n"
    [[ $DIR == kubernetes ]] && ! up_to_date "$n" && stale+=("$n") && pkgs+=("$PKG")
  done
  rm -rf "$OUT/.kubernetes"
  ((${#stale[@]} > 1)) || return 0
  spec kube-apiserver
  mkdir -p "$OUT/.kubernetes"
  echo "kubernetes: building ${stale[*]} in one go build (log: $OUT/.logs/kubernetes.log)"
  local t0=$SECONDS
  RUN_NAME="${stale[*]}" RUN_DIR=$HERE/$DIR RUN_LOG=$OUT/.logs/kubernetes.log
  run env GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED="$CGO" \
    nice -n 10 "$GO" build -p "$GO_BUILD_P" -trimpath -ldflags "$LDFLAGS" -o "$OUT/.kubernetes/" "${pkgs[@]}"
  echo "kubernetes: ${stale[*]} built in $((SECONDS - t0))s"
}

main() {
  local force=0 names=() n
  while (($#)); do
    case $1 in
      --force) force=1 ;;
      --list)
        load_versions
        for n in "${ALL[@]}"; do spec "$n"; printf '%-24s %-10s %s\n' "$n" "$VER" "$PKG"; done
        return 0 ;;
      --source)
        load_versions
        spec "${2:?--source needs a binary name}"
        check_pins "$2"
        module_dir "$HERE/$DIR" "$MOD" || die "$2: cannot locate module $MOD"
        return ;;
      -h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; return 0 ;;
      -*) die "unknown option $1" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  ((${#names[@]})) || names=("${ALL[@]}")

  load_versions
  [[ -x $GO ]] || die "go not found (set GO=/path/to/go)"
  for n in "${names[@]}"; do check_pins "$n"; done

  mkdir -p "$OUT/.stamps" "$OUT/.logs"
  [[ -e $OUT/.gitignore ]] || printf '*\n' >"$OUT/.gitignore"
  exec 9>"$OUT/.lock"
  flock -n 9 || { echo "build.sh: waiting for another build.sh in $OUT"; flock 9; }

  local start=$SECONDS i=0 built=0 t0 want size
  build_kubernetes_group "${names[@]}"
  for n in "${names[@]}"; do
    i=$((i + 1))
    spec "$n"
    want=$(stamp_of "$n")
    printf '[%d/%d] %-24s %-9s ' "$i" "${#names[@]}" "$n" "$VER"
    if up_to_date "$n"; then
      [[ $n != kwok || -s $OUT/kwok-stages.yaml ]] || write_kwok_stages
      echo "up to date"
      continue
    fi
    t0=$SECONDS
    RUN_NAME=$n RUN_DIR=$HERE/$DIR RUN_LOG=$OUT/.logs/$n.log
    case $n in
      pulumi-resource-kubernetes) build_kubernetes_plugin "$n" ;;
      pulumi-language-python) install_language_python "$n" ;;
      pulumi-language-nodejs) install_language_nodejs "$n" ;;
      *)
        if [[ -x $OUT/.kubernetes/$n ]]; then
          mv -f "$OUT/.kubernetes/$n" "$OUT/.$n.tmp"
        else
          run env GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED="$CGO" \
            nice -n 10 "$GO" build -p "$GO_BUILD_P" -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" \
            -o "$OUT/.$n.tmp" "$PKG"
        fi
        ;;
    esac
    # Smoke check: the binary runs and reports the pinned version.
    RUN_DIR=$OUT RUN_LOG=$OUT/.logs/$n.version.log
    case $n in
      pulumi)
        run env PULUMI_SKIP_UPDATE_CHECK=true PULUMI_HOME="$OUT/.pulumi-home" "./.$n.tmp" version ;;
      pulumi-resource-kubernetes)
        # A plugin serves gRPC and has no --version: check the stamped string instead.
        grep -c -F -- "${PULUMI_KUBERNETES_PLUGIN_VERSION#v}" "$OUT/.$n.tmp" >"$RUN_LOG" || true
        VER=$PULUMI_KUBERNETES_PLUGIN_VERSION ;;
      pulumi-language-yaml)
        # No --version either: the stamped version must be in the binary.
        grep -c -F -- "${VER#v}" "$OUT/.$n.tmp" >"$RUN_LOG" || true ;;
      pulumi-language-python)
        run "$ROOT/.venv/bin/python" "$PYTHON_HOST" --help
        echo "$VER" >>"$RUN_LOG" ;;
      pulumi-language-nodejs)
        run "$ROOT/.venv/bin/python" "$NODEJS_HOST" --help
        echo "$VER" >>"$RUN_LOG" ;;
      kubectl) run "./.$n.tmp" version --client ;;
      *) run "./.$n.tmp" --version ;;
    esac
    if [[ $n == pulumi-resource-kubernetes || $n == pulumi-language-yaml ]]; then
      (($(<"$RUN_LOG") > 0)) || die "$n: built, but ${VER#v} is not stamped in it"
    else
      grep -qF -- "${VER#v}" "$RUN_LOG" ||
        die "$n: built, but its version output does not mention ${VER#v}: $(head -c 300 "$RUN_LOG")"
    fi
    [[ $n != kwok ]] || write_kwok_stages
    mv -f "$OUT/.$n.tmp" "$OUT/$n"
    printf '%s' "$want" >"$OUT/.stamps/$n"
    size=$(du -m "$OUT/$n" | cut -f1)
    echo "built in $((SECONDS - t0))s (${size} MB)"
    built=$((built + 1))
  done
  echo "testbin: ${#names[@]} binaries in $OUT ($built built) in $((SECONDS - start))s"
}

# On one line, so bash has parsed the exit before main runs: editing this file
# while a build runs cannot make bash read on into the edited text.
main "$@"; exit
