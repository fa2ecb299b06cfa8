# Sourced by the build scripts: where things are, Go build settings, and helpers that never
# trust a warm cache.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTBIN="${TENANTRY_TESTBIN:-$ROOT/.testbin}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

# Packages `go build` compiles at once. `-p 1` left a core idle while one package linked
# or ran cgo: etcd built cold in 53 s at -p 1 and 40 s at -p 2 on 2 cores, at the same
# peak memory (docs/testing.md). The builds stay niced, so tests beside them keep running.
GO_BUILD_P=${TENANTRY_GO_BUILD_P:-$(nproc)}

# module_dir WRAPPER_DIR MODULE[@VERSION] [GOTOOLCHAIN]
# Prints the directory of MODULE in the module cache, downloading it first.
# `go list -m -f {{.Dir}}` prints nothing for a module that is not downloaded yet,
# so a fresh GOMODCACHE looked like a broken module; `go mod download -json` fetches
# it and reports its directory, or an error that names the module.
module_dir() {
  local wrapper=$1 mod=$2 toolchain=${3:-local} json dir
  if ! json=$(cd "$wrapper" && GOTOOLCHAIN=$toolchain GOFLAGS=-mod=readonly "${GO:-go}" mod download -json "$mod" 2>&1); then
    echo "module_dir: \`cd $wrapper && go mod download -json $mod\` failed:" >&2
    printf '%s\n' "$json" | tail -n 20 | sed 's/^/  | /' >&2
    return 1
  fi
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
  if [[ -z $dir || ! -d $dir ]]; then
    echo "module_dir: \`cd $wrapper && go mod download -json $mod\` reported no directory:" >&2
    printf '%s\n' "$json" | tail -n 20 | sed 's/^/  | /' >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# logged NAME LOG DIR COMMAND...
# Runs COMMAND in DIR with its output in LOG. On failure says which binary, the exact
# command, where the whole log is, and its last lines; returns the command's status.
logged() {
  local name=$1 log=$2 dir=$3 rc=0
  shift 3
  mkdir -p "$(dirname "$log")"
  (cd "$dir" && "$@") >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    {
      echo "$name: FAILED (exit $rc): cd $(printf '%q' "$dir") && $(printf '%q ' "$@")"
      echo "$name: whole log: $log; its last lines:"
      tail -n 30 "$log" | sed 's/^/  | /'
    } >&2
  fi
  return "$rc"
}
