"""Preflight: is this node fit for the handler? Facts are gathered, then judged by a pure
function, so each reason for refusal is unit-tested."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from tenantry_api.runtimes import RuntimeBackend

from tenantry_node_agent import containerd_config as cc
from tenantry_node_agent.backends import BACKENDS

MIN_KERNEL = (4, 14)
"""gVisor's and Kata's floor; older kernels lack what the shims need."""


@dataclass(frozen=True)
class Facts:
    kernel: str
    cgroup_version: int
    io_controller: bool
    """cgroup v2's io controller is available for pod cgroups."""
    containerd_version: str
    config_version: int
    """``version`` of config.toml; 0 when there is no config file."""
    binaries: dict[str, str] = field(default_factory=dict)
    """Required binary -> path where found, '' when missing."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str


def judge(facts: Facts, backend: RuntimeBackend) -> Verdict:
    """The first reason this node cannot take ``backend``, or a pass."""
    kernel = _kernel_tuple(facts.kernel)
    if kernel < MIN_KERNEL:
        return Verdict(
            False, f"kernel {facts.kernel} is older than {'.'.join(map(str, MIN_KERNEL))}"
        )
    if facts.cgroup_version not in (1, 2):
        return Verdict(False, "no cgroup hierarchy found at the cgroup root")
    try:
        version = cc.ContainerdVersion.parse(facts.containerd_version)
    except ValueError:
        return Verdict(False, f"cannot read the containerd version {facts.containerd_version!r}")
    if version.major not in (1, 2) or version < cc.ContainerdVersion(1, 6):
        return Verdict(
            False, f"containerd {facts.containerd_version} is not supported (1.6 to 2.x)"
        )
    # No config file: containerd runs on its built-in defaults, which the agent can extend.
    if facts.config_version not in (0, version.config_version):
        return Verdict(
            False,
            f"config.toml is version {facts.config_version}, but containerd {version} reads "
            f"version {version.config_version}; migrate it (`containerd config migrate`) first",
        )
    missing = sorted(name for name, path in facts.binaries.items() if not path)
    if missing:
        return Verdict(False, f"{backend.value} runtime binaries missing: {', '.join(missing)}")
    return Verdict(True, "")


def _kernel_tuple(release: str) -> tuple[int, int]:
    parts = release.split("-", maxsplit=1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


def cgroup_facts(root: Path) -> tuple[int, bool]:
    """(cgroup version, io controller available). A hybrid host (v1 controllers plus an
    empty v2 at /sys/fs/cgroup/unified) is version 1: pods live in the v1 hierarchies."""
    controllers = root / "cgroup.controllers"
    if controllers.exists():
        return 2, "io" in controllers.read_text().split()
    if any((root / c).is_dir() for c in ("memory", "cpu", "pids")):
        return 1, False
    return 0, False


def find_binaries(backend: RuntimeBackend, host_root: Path, dirs: list[str]) -> dict[str, str]:
    """Each required binary's path on the host ('' when missing). ``dirs`` are host paths; the
    agent sees the host's filesystem under ``host_root``."""
    found: dict[str, str] = {}
    for name in BACKENDS[backend].binaries:
        found[name] = next(
            (
                f"{d.rstrip('/')}/{name}"
                for d in dirs
                if os.access(_under(host_root, d) / name, os.X_OK)
            ),
            "",
        )
    return found


def _under(host_root: Path, path: str) -> Path:
    return host_root / path.lstrip("/")
