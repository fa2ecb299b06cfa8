"""A real kubelet (built at the Kubernetes pin) joined to the local API server with node
credentials of its own, running pods on a test's containerd, in the host's network namespace.
Its configuration and cgroups are the local node's (tenantry_local.node, tenantry_local.cgroups):
cgroupfs driver, cgroup v1 allowed, pods under a cgroup root of its own, removed on stop."""

import json
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from tenantry_local import cgroups
from tenantry_local.cluster import LocalCluster, free_port
from tenantry_local.containerd import unmount_under
from tenantry_local.node import remove_log_links
from tenantry_local.node_config import kubelet_config

from tests.support.containerd import Containerd


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

    def start(self) -> "Kubelet":
        self.root.mkdir(parents=True, exist_ok=True)
        cgroups.create(self.cgroup)
        assert self.cluster.pki is not None
        pki = self.cluster.pki
        # Its own identity: the Node authorizer and NodeRestriction confine it to its Node.
        user = f"system:node:{self.name}"
        client = pki.issue(f"kubelet-{self.name}", user, organization="system:nodes")
        kubeconfig = self.root / "kubelet.kubeconfig"
        self.cluster.write_kubeconfig(kubeconfig, client)
        config = kubelet_config(
            runtime_socket=self.containerd.socket,
            logs=self.root / "pod-logs",
            address="127.0.0.1",
            cgroup=self.cgroup,
            ca=pki.ca.cert,
            serving=None,  # self-signed: this cluster's API server never calls it
            cluster_dns=[],
        )
        # Host network namespace: ports of its own, beside anything else on the machine.
        config |= {"port": free_port(), "healthzPort": free_port()}
        (self.root / "config.json").write_text(json.dumps(config))
        log = self.log.open("ab")
        self._proc = subprocess.Popen(
            [
                str(self.binary),
                f"--config={self.root / 'config.json'}",
                f"--kubeconfig={kubeconfig}",
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
        unmount_under(self.root / "state")
        # Pods are gone once containerd removed them; their cgroups are removed leaf first.
        cgroups.remove(self.cgroup)
        remove_log_links(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
