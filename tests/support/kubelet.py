"""A real kubelet (built at the Kubernetes pin) joined to the local API server, running pods
on a test's containerd. cgroupfs driver; cgroup v1 is allowed (`failCgroupV1: false`), since
this VM has no cgroup v2 controllers. Its pods live under a cgroup root of its own, removed
again on stop."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tenantry_local.cluster import LocalCluster, free_port

from tests.support.containerd import Containerd

CGROUP_ROOT = Path("/sys/fs/cgroup")


def node_ip() -> str:
    """The address of the default route's interface (the kubelet refuses loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        return str(s.getsockname()[0])


class Kubelet:
    def __init__(
        self, binary: Path, root: Path, cluster: LocalCluster, containerd: Containerd, name: str
    ) -> None:
        self.binary = binary
        self.root = root
        self.cluster = cluster
        self.containerd = containerd
        self.name = name
        self.cgroup = f"tenantry-kubelet-{uuid.uuid4().hex[:8]}"
        self.log = root / "kubelet.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _hierarchies(self, *, unified: bool = False) -> list[Path]:
        # cgroup v1: one directory per mounted hierarchy. The v2 "unified" one has no
        # controllers, so the kubelet's root is not made there, but runc adds to it.
        return [
            d
            for d in sorted(CGROUP_ROOT.iterdir())
            if d.is_dir() and (unified or d.name != "unified") and (d / "cgroup.procs").exists()
        ]

    def start(self) -> "Kubelet":
        self.root.mkdir(parents=True, exist_ok=True)
        for hierarchy in self._hierarchies():
            path = hierarchy / self.cgroup
            path.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":  # a cpuset cgroup is empty until given cpus and mems
                for key in ("cpuset.cpus", "cpuset.mems"):
                    (path / key).write_text((hierarchy / key).read_text())
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.cgroup}",
            "failCgroupV1": False,
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.containerd.socket}",
            "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "address": "127.0.0.1",
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzPort": free_port(),
            "enforceNodeAllocatable": [],
            # Evictions and image GC would only add noise to a short test.
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%"},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "resolvConf": "",
            "podLogsDir": str(self.root / "pod-logs"),
            "localStorageCapacityIsolation": False,
        }
        (self.root / "config.json").write_text(json.dumps(config))
        log = self.log.open("ab")
        self._proc = subprocess.Popen(
            [
                str(self.binary),
                f"--config={self.root / 'config.json'}",
                # The cluster's admin credentials: the local API server has no bootstrap flow.
                f"--kubeconfig={self.cluster.kubeconfig}",
                f"--root-dir={self.root / 'state'}",
                f"--hostname-override={self.name}",
                f"--node-ip={node_ip()}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def tail_log(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        state = self.root / "state"
        if state.exists():
            for line in Path("/proc/self/mountinfo").read_text().splitlines():
                mount = line.split()[4]
                if mount.startswith(str(state)):
                    subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        self._remove_cgroups()
        shutil.rmtree(self.root, ignore_errors=True)

    def _remove_cgroups(self, timeout: float = 30) -> None:
        # Pods are gone once containerd removed them; their cgroups are removed leaf first.
        deadline = time.monotonic() + timeout
        for hierarchy in self._hierarchies(unified=True):
            top = hierarchy / self.cgroup
            while top.exists() and time.monotonic() < deadline:
                for directory, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                    with contextlib.suppress(OSError):  # still busy: tried again below
                        os.rmdir(directory)
                if top.exists():
                    time.sleep(0.5)
