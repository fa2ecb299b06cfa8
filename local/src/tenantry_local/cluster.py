"""A real local Kubernetes cluster: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok-simulated nodes, all on 127.0.0.1 with ports chosen at start-up.

Used as a pytest fixture and by `make cluster-up` / `make cluster-down` / `make demo`:

    python -m tenantry_local.cluster up   [--dir DIR] [--nodes N]
    python -m tenantry_local.cluster down [--dir DIR]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tenantry_api.types import Manifest
from tenantry_syncer.kube import api_client_from

from tenantry_local.kube import Kube
from tenantry_local.pki import DevPKI
from tenantry_local.registry import IMAGE_STORE, Registry, registry_available
from tenantry_local.testbin import REPO, binary

DEFAULT_DIR = REPO / ".testbin" / "cluster"
SERVICE_CIDR = "10.96.0.0/16"
STORAGE_CLASS = "standard"
NODE_CAPACITY = {"cpu": "1k", "memory": "1Ti", "pods": "1M", "ephemeral-storage": "1Ti"}


def is_ready(obj: Manifest) -> bool:
    """True when a Node or Pod reports the Ready condition."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class State:
    """What a running cluster is made of; saved as state.json so another process can stop it."""

    root: str
    kubeconfig: str
    server: str
    pids: dict[str, int] = field(default_factory=dict)
    registry: str = ""
    """host:port of the cluster's image registry (what `make images` published), or ''."""


class LocalCluster:
    def __init__(self, root: Path, nodes: int = 3) -> None:
        self.root = root
        self.nodes = nodes
        self.kubeconfig = root / "kubeconfig"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.server = ""
        self.registry: Registry | None = None

    # --- lifecycle ---

    def start(self, timeout: float = 120) -> "LocalCluster":
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "logs").mkdir(parents=True)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        pki = DevPKI(self.root / "pki")
        api_port = free_port()
        etcd_port, etcd_peer = free_port(), free_port()
        self.server = f"https://127.0.0.1:{api_port}"
        serving = pki.issue("apiserver", "kube-apiserver", server_hosts=["127.0.0.1", "localhost"])
        admin = pki.issue("admin", "tenantry-admin", organization="system:masters")
        self._write_kubeconfig(self.kubeconfig, pki.ca.cert, admin.cert, admin.key)

        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn(
            "etcd",
            [
                str(binary("etcd")),
                "--name=local",
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=local=http://127.0.0.1:{etcd_peer}",
                "--listen-metrics-urls=",
                "--quota-backend-bytes=1073741824",
            ],
        )
        wait_http(f"{etcd_url}/health", timeout, alive=self._check_alive)

        self._spawn(
            "kube-apiserver",
            [
                str(binary("kube-apiserver")),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--etcd-servers={etcd_url}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={pki.ca.cert}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,"
                "DefaultStorageClass,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,"
                "Priority,DefaultTolerationSeconds",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        wait_http(
            f"{self.server}/readyz",
            timeout,
            (pki.ca.cert, admin.cert, admin.key),
            self._check_alive,
        )

        controller = pki.issue("controller-manager", "system:kube-controller-manager")
        scheduler = pki.issue("scheduler", "system:kube-scheduler")
        kcm_config = self.root / "controller-manager.kubeconfig"
        sched_config = self.root / "scheduler.kubeconfig"
        self._write_kubeconfig(kcm_config, pki.ca.cert, controller.cert, controller.key)
        self._write_kubeconfig(sched_config, pki.ca.cert, scheduler.cert, scheduler.key)
        self._spawn(
            "kube-controller-manager",
            [
                str(binary("kube-controller-manager")),
                f"--kubeconfig={kcm_config}",
                f"--authentication-kubeconfig={kcm_config}",
                f"--authorization-kubeconfig={kcm_config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca.cert}",
                f"--cluster-signing-cert-file={pki.ca.cert}",
                f"--cluster-signing-key-file={pki.ca.key}",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(binary("kube-scheduler")),
                f"--kubeconfig={sched_config}",
                f"--authentication-kubeconfig={sched_config}",
                f"--authorization-kubeconfig={sched_config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--leader-elect=false",
            ],
        )
        self._spawn(
            "kwok",
            [
                str(binary("kwok")),
                f"--kubeconfig={self.kubeconfig}",
                # kwok's own "fast" node and pod stages, copied out of its module by testbin.
                f"--config={binary('kwok-stages.yaml', executable=False)}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{free_port()}",
            ],
        )
        if not registry_available():  # the images `make images` published (docs/air-gapped.md)
            self.registry = Registry(self.root / "registry", storage=IMAGE_STORE)
            self._spawn("registry", self.registry.command())
            self.registry.wait_ready(timeout, self._procs["registry"])
        self._save()
        self._seed(timeout)

    def stop(self) -> None:
        """Stop every process this cluster started, by PID, and remove its data."""
        pids = {name: proc.pid for name, proc in self._procs.items()}
        state = self.root / "state.json"
        if not pids and state.exists():
            pids = State(**json.loads(state.read_text())).pids
        stop_pids(pids)
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- helpers ---

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.root / "logs" / f"{name}.log").open("wb")
        # A session of its own, so `make cluster-up` can exit and leave the cluster running.
        self._procs[name] = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._save()

    def _save(self) -> None:
        state = State(
            root=str(self.root),
            kubeconfig=str(self.kubeconfig),
            server=self.server,
            pids={name: proc.pid for name, proc in self._procs.items()},
            registry=self.registry.address if self.registry else "",
        )
        (self.root / "state.json").write_text(json.dumps(asdict(state), indent=2))

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                log = (self.root / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}; last log lines:\n{log}")

    def _write_kubeconfig(self, path: Path, ca: Path, cert: Path, key: Path) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.server, "certificate-authority": str(ca)},
                }
            ],
            "users": [
                {"name": "local", "user": {"client-certificate": str(cert), "client-key": str(key)}}
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local"}}],
            "current-context": "local",
        }
        path.write_text(json.dumps(config, indent=2))

    def _seed(self, timeout: float) -> None:
        """Simulated nodes, a default StorageClass and a pool of volumes to bind."""
        kube = Kube(api_client_from(self.kubeconfig))
        for i in range(self.nodes):
            name = f"kwok-node-{i}"
            kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "annotations": {
                            "kwok.x-k8s.io/node": "fake",
                            "node.alpha.kubernetes.io/ttl": "0",
                        },
                        "labels": {
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "type": "kwok",
                        },
                    },
                    "spec": {},
                    # Nodes may be created with their status (as a kubelet registers). kwok's
                    # stage keeps what is given; its own default has no ephemeral-storage, so
                    # no pod that requests some (a tenant's LimitRange default does) would fit.
                    "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY},
                }
            )
        kube.create(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": STORAGE_CLASS,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "Immediate",
            }
        )
        for i in range(20):
            kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {"name": f"local-pv-{i}"},
                    "spec": {
                        "capacity": {"storage": "100Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Delete",
                        "storageClassName": STORAGE_CLASS,
                        "hostPath": {"path": f"/tmp/tenantry-local-pv-{i}"},
                    },
                }
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if len([n for n in kube.list("v1", "Node") if is_ready(n)]) >= self.nodes:
                return
            time.sleep(0.5)
        raise TimeoutError(f"kwok nodes not ready after {timeout}s")


def wait_http(
    url: str,
    timeout: float,
    tls: tuple[Path, Path, Path] | None = None,
    alive: Callable[[], None] = lambda: None,
) -> None:
    """Poll ``url`` until it answers 200; ``tls`` is (CA, client cert, client key) files."""
    context = None
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls[0]))
        context.load_cert_chain(str(tls[1]), str(tls[2]))
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        alive()
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                if response.status == 200:
                    return
        except Exception as e:
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


def stop_pids(pids: dict[str, int], grace: float = 10) -> None:
    # Reverse start order: kwok and the controllers before the apiserver, etcd last.
    for pid in reversed(list(pids.values())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    for pid in pids.values():
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask the kernel instead
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return finished == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcluster")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args(argv)
    cluster = LocalCluster(args.dir, nodes=args.nodes)
    if args.command == "down":
        cluster.stop()
        print(f"local cluster in {args.dir} stopped")
        return 0
    if (args.dir / "state.json").exists():
        cluster.stop()  # a previous cluster left behind: replace it
    cluster.start()
    print(f"local cluster up: {cluster.server}\nkubeconfig: {cluster.kubeconfig}")
    if cluster.registry:
        print(f"image registry: {cluster.registry.url} (make images publishes into it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
