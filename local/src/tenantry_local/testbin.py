"""Where the locally built binaries live, and what to do when one is missing."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TESTBIN = Path(os.environ.get("TENANTRY_TESTBIN", REPO / ".testbin"))
VERSIONS_FILE = REPO / "hack" / "testbin" / "versions.env"


def versions() -> dict[str, str]:
    """The pinned versions recorded by hack/testbin (the one place they are written)."""
    pins: dict[str, str] = {}
    for raw in VERSIONS_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip().strip('"')
    return pins


class MissingBinaryError(RuntimeError):
    pass


def binary(name: str, *, executable: bool = True) -> Path:
    """Path of a built binary (or data file); raises MissingBinaryError naming the command
    that builds it."""
    path = TESTBIN / name
    if not os.access(path, os.X_OK if executable else os.R_OK):
        raise MissingBinaryError(f"{path} is missing: run `make testbin` to build it")
    return path


def module_dir(name: str) -> Path:
    """The Go module directory binary ``name`` is built from, downloaded when not cached
    (`hack/testbin/build.sh --source`)."""
    done = subprocess.run(
        ["bash", str(REPO / "hack" / "testbin" / "build.sh"), "--source", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise MissingBinaryError(f"cannot locate the module of {name}: {done.stderr.strip()}")
    return Path(done.stdout.strip().splitlines()[-1])
