"""A cgroup of its own for a real node, in every mounted hierarchy (this VM has cgroup v1; the
v2 "unified" hierarchy has no controllers, but runc adds containers to it too).

The node's processes (containerd and its shims, the kubelet, kube-proxy, CoreDNS) start in
``<name>/system``, and the kubelet's pods live under ``<name>`` (its ``cgroupRoot``), so tearing
a node down is: kill every process in the tree, then remove it leaf first. Nothing the node
started can outlive that, not even a container whose shim was killed first.
"""

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchies(*, unified: bool = True) -> list[Path]:
    if not CGROUP_ROOT.is_dir():
        return []
    return [
        d
        for d in sorted(CGROUP_ROOT.iterdir())
        if d.is_dir() and (unified or d.name != "unified") and (d / "cgroup.procs").exists()
    ]


def create(name: str, *children: str) -> None:
    """``name`` and its ``children`` in every v1 hierarchy (the kubelet makes its own below)."""
    for hierarchy in hierarchies():
        for path in (hierarchy / name, *(hierarchy / name / c for c in children)):
            path.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":  # empty until given cpus and mems
                for key in ("cpuset.cpus", "cpuset.mems"):
                    (path / key).write_text((path.parent / key).read_text())


def join(name: str) -> None:
    """Move the calling process into ``name`` in every hierarchy (a ``preexec_fn``)."""
    for hierarchy in hierarchies():
        procs = hierarchy / name / "cgroup.procs"
        if procs.exists():
            procs.write_text(f"{os.getpid()}\n")


def pids(name: str) -> set[int]:
    found: set[int] = set()
    for hierarchy in hierarchies():
        top = hierarchy / name
        if not top.exists():
            continue
        for directory, _, _ in os.walk(top):
            with contextlib.suppress(OSError):
                text = (Path(directory) / "cgroup.procs").read_text()
                found.update(int(p) for p in text.split())
    return found


def kill_all(name: str, timeout: float = 30) -> None:
    """SIGKILL every process in the tree until none is left (a dying parent may fork)."""
    deadline = time.monotonic() + timeout
    while (left := pids(name)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def remove(name: str, timeout: float = 30) -> None:
    """Remove the tree leaf first; a cgroup still emptying is tried again."""
    deadline = time.monotonic() + timeout
    for hierarchy in hierarchies():
        top = hierarchy / name
        while top.exists() and time.monotonic() < deadline:
            for directory, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
            if top.exists():
                time.sleep(0.3)


def leftovers(name: str) -> list[Path]:
    return [hierarchy / name for hierarchy in hierarchies() if (hierarchy / name).exists()]
