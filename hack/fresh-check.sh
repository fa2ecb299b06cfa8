#!/usr/bin/env bash
# The fresh-start check: CI's run as a new machine meets it.
#
#   hack/fresh-check.sh           clone HEAD into a new temporary directory and run
#                                 `CI=true bash .ci/run` there, on empty caches
#   hack/fresh-check.sh --keep    keep the clone and its caches afterwards (they are kept on
#                                 failure anyway)
#   hack/fresh-check.sh --demo    then, in the same clone and caches, `make demo`, the tenant
#                                 kubeconfig used with kubectl, and `make demo-down`
#
# Empty for the run: the Go module and build caches (GOMODCACHE, GOCACHE, GOPATH, so the gVisor
# toolchain is fetched again too), uv's and pip's caches, npm's cache, XDG_CACHE_HOME, the
# containers storage (CONTAINERS_STORAGE_CONF: no image, no base for `make images`); the clone
# has no .testbin/, no .venv, no .tools/, no node_modules, and a uv already on PATH is hidden so
# that the Makefile installs its pinned one. What it cannot undo: Debian packages that an
# earlier run installed (hack/node/packages.env) stay installed, and the machine's own Go,
# Python, Node.js and npm are used as a new machine would have them.
#
# Prints each line with the seconds since the start, then the time of each phase and the
# slowest build steps. The whole log is written to $TMPDIR/tenantry-fresh-check-<time>.log.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
keep=0
demo=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --demo) demo=1 ;;
    *) echo "usage: hack/fresh-check.sh [--keep] [--demo]" >&2; exit 2 ;;
  esac
done

commit=$(git -C "$ROOT" rev-parse HEAD)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no) ]]; then
  echo "fresh-check: the working tree has uncommitted changes; checking the commit $commit only"
fi
base=$(mktemp -d "${TMPDIR:-/tmp}/tenantry-fresh-check.XXXXXX")
log="${TMPDIR:-/tmp}/tenantry-fresh-check-$(date -u +%Y%m%dT%H%M%SZ).log"
mkdir -p "$base"/{gopath,gocache,uv,pip,npm,xdg,containers}
# A containers storage of its own (buildah, skopeo), so `make images` starts with no image.
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' \
  "$base/containers" "$base/containers" >"$base/containers/storage.conf"

# PATH without any directory that holds a uv: a new machine has none.
path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [[ -x $d/uv ]]; then echo "fresh-check: hiding $d from PATH (it holds a uv)"; continue; fi
  path+="${path:+:}$d"
done

echo "fresh-check: commit $commit in $base/repo; log $log"
echo "fresh-check: not undone: Debian packages already installed ($(grep -Ev '^[[:space:]]*(#|$)' "$ROOT/hack/node/packages.env" | sed 's/=.*//' | tr '\n' ' '))"
start=$SECONDS
set +e
(
  set -e
  git clone --quiet --no-hardlinks "$ROOT" "$base/repo"
  git -C "$base/repo" checkout --quiet --detach "$commit"
  cd "$base/repo"
  fresh() {
    env -u TENANTRY_TESTBIN -u VIRTUAL_ENV -u UV -u GOFLAGS \
      PATH="$path" CI=true \
      GOPATH="$base/gopath" GOMODCACHE="$base/gopath/pkg/mod" GOCACHE="$base/gocache" \
      UV_CACHE_DIR="$base/uv" PIP_CACHE_DIR="$base/pip" npm_config_cache="$base/npm" \
      XDG_CACHE_HOME="$base/xdg" CONTAINERS_STORAGE_CONF="$base/containers/storage.conf" \
      "$@"
  }
  fresh bash .ci/run
  if ((demo)); then
    echo "fresh-check: make demo (in the same clone, after CI)"
    fresh make demo
    fresh .testbin/kubectl --kubeconfig .pulumi/demo/tenant.kubeconfig get pods -A
    echo "fresh-check: make demo-down"
    fresh make demo-down
  fi
) 2>&1 | while IFS= read -r line; do printf '[%5ds] %s\n' $((SECONDS - start)) "$line"; done | tee "$log"
rc=${PIPESTATUS[0]}
set -e
total=$((SECONDS - start))

# Phases: each starts at the line where make runs its recipe, and ends where the next starts.
echo
echo "fresh-check: phases"
awk '
  function phase(name) { if (cur != "") { printf "  %-14s %6ds\n", cur, t - t0 } cur = name; t0 = t }
  BEGIN { cur = "clone, sync" }
  { t = substr($0, 2) + 0 }
  # After CI, `make demo` echoes the build recipes again (up to date): they are its phase.
  /fresh-check: make demo \(/   { phase("demo"); demo = 1 }
  /fresh-check: make demo-down/ { phase("demo-down") }
  demo { next }
  / ruff check /               { phase("lint") }
  /bash hack\/testbin\/build/  { phase("testbin") }
  /bash hack\/node\/install/   { phase("node packages") }
  /bash hack\/node\/build-gv/  { phase("gvisor") }
  /bash hack\/node\/build-ku/  { phase("kubelet") }
  /bash hack\/sdkgen\/build/   { phase("sdkgen") }
  /npm ci /                    { phase("tsc") }
  /-m tenantry_local.images$/  { phase("images") }
  / run --frozen pytest /      { phase("pytest") }
  END { phase("") }
' "$log"
echo "fresh-check: slowest build steps"
sed -nE \
  -e 's/^\[ *[0-9]+s\] \[[0-9]+\/[0-9]+\] ([^ ]+) .* built in ([0-9]+)s.*/\2 \1/p' \
  -e 's/^\[ *[0-9]+s\] (kubernetes): (.*) built in ([0-9]+)s$/\3 \1 (\2)/p' \
  -e 's/^\[ *[0-9]+s\] (gvisor|kubelet|sdkgen): built .* in ([0-9]+)s$/\2 \1/p' \
  "$log" | sort -rn | head -n 5 | awk '{ t = $1; $1 = ""; printf "  %-60s %6ds\n", substr($0, 2), t }'
tail -n 1 "$log" | sed 's/^/fresh-check: last line: /'
printf 'fresh-check: %s in %dm%02ds (commit %s)\n' "$( ((rc == 0)) && echo PASSED || echo "FAILED (exit $rc)")" \
  $((total / 60)) $((total % 60)) "${commit:0:12}"

if ((rc == 0 && !keep)); then
  chmod -R u+w "$base" && rm -rf "$base"
else
  echo "fresh-check: kept $base"
fi
exit "$rc"
