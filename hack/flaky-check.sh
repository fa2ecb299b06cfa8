#!/usr/bin/env bash
# Runs test tiers again and again, and names every test that failed even once.
#
#   hack/flaky-check.sh [RUNS] [PYTEST ARGS...]
#       RUNS defaults to 5, the tiers to tests/integration (the node tier included)
#
# Each run gets a JUnit report under $TMPDIR/tenantry-flaky-<time>/; the summary at the end
# lists each failing test with the runs it failed in and the first line of its error.
# With CI=true, as in CI, a missing binary fails instead of skipping.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV="${UV:-$(command -v uv || echo "$ROOT/.tools/bin/uv")}"
runs=${1:-5}
[[ $runs =~ ^[0-9]+$ ]] || { echo "usage: hack/flaky-check.sh [RUNS] [PYTEST ARGS...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
(($#)) || set -- tests/integration
out="${TMPDIR:-/tmp}/tenantry-flaky-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
cd "$ROOT"
echo "flaky-check: $runs runs of pytest $*; reports in $out"
failed_runs=0
for ((i = 1; i <= runs; i++)); do
  t0=$SECONDS
  rc=0
  "$UV" run --frozen pytest -q -p no:cacheprovider --junitxml="$out/run-$i.xml" "$@" \
    >"$out/run-$i.log" 2>&1 || rc=$?
  echo "flaky-check: run $i/$runs: exit $rc in $((SECONDS - t0))s: $(tail -n 1 "$out/run-$i.log")"
  ((rc == 0)) || failed_runs=$((failed_runs + 1))
done
"$UV" run --frozen python - "$out" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

failures: dict[str, list[tuple[int, str]]] = defaultdict(list)
reports = sorted(Path(sys.argv[1]).glob("run-*.xml"), key=lambda p: int(p.stem.split("-")[1]))
for report in reports:
    run = int(report.stem.split("-")[1])
    for case in ET.parse(report).getroot().iter("testcase"):
        for bad in [*case.findall("failure"), *case.findall("error")]:
            test = f"{case.get('classname')}::{case.get('name')}"
            first = ((bad.get("message") or "").splitlines() or ["(no message)"])[0]
            failures[test].append((run, first[:200]))
if not failures:
    print(f"flaky-check: no test failed in {len(reports)} runs")
for test, seen in sorted(failures.items()):
    print(f"flaky-check: {test} failed in runs {[run for run, _ in seen]}: {seen[0][1]}")
EOF
exit $((failed_runs > 0))
