"""Run one of examples/ (or the quickstart) in the examples' virtualenv, through
tests/support/examples.py, and read back what it registered."""

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from tenantry_local.testbin import REPO

from tests.support.testbin import unavailable

PYTHON = REPO / "examples" / ".venv" / "bin" / "python"


@dataclass
class Run:
    resources: list[dict[str, Any]]
    error: str | None

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_) if name is None or r["name"] == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}: {[r['name'] for r in found]}"
        return found[0]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"].startswith("kubernetes:")]


def run(example: str, *config: str) -> Run:
    """Run ``example`` (a folder of examples/, or ``quickstart``) with KEY=VALUE ``config``."""
    if not PYTHON.exists():
        unavailable(f"{PYTHON} is missing: run `make sync`")
    done = subprocess.run(
        [str(PYTHON), "-m", "tests.support.examples", example, *config],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return Run(resources=report["resources"], error=report.get("error"))
