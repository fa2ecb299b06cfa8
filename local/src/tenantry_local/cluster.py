"""A real local Kubernetes cluster: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok-simulated nodes with ports chosen at start-up, and (``real_node``) one
real node beside them (tenantry_local.node: kubelet, containerd, kube-proxy, CoreDNS).

Without a real node everything listens on 127.0.0.1. With one, the API server binds and
advertises the host end of the node's veth (tenantry_local.network), the one host address pods
reach, so the ``kubernetes`` Service works from pods; the kubeconfig and ``state.json``'s
``server`` name that address, and the serving certificate names it, 127.0.0.1 and the Service.
The kwok nodes are then tainted (``KWOK_TAINT``), so what must run lands on the real node and
only what tolerates simulation on kwok (scale tests).

Used as a pytest fixture and by `make cluster-up` / `make cluster-down` / `make demo`:

    python -m tenantry_local.cluster up   [--dir DIR] [--nodes N] [--no-real-node]
    python -m tenantry_local.cluster down [--dir DIR]
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tenantry_api.types import Manifest
from tenantry_syncer.kube import api_client_from

from tenantry_local import cgroups, network
from tenantry_local import control_plane_flags as flags
from tenantry_local.kube import Kube
from tenantry_local.node import RealNode
from tenantry_local.node import missing as node_missing
from tenantry_local.pki import DevPKI, Pair
from tenantry_local.processes import alive, free_port, stop_pids, wait_http
from tenantry_local.registry import IMAGE_STORE, Registry, registry_available
from tenantry_local.seed import (
    KWOK_TAINT,
    NODE_CAPACITY,
    STORAGE_CLASS,
    seed_objects,
    volume_dirs,
)
from tenantry_local.testbin import REPO

__all__ = [
    "KWOK_TAINT",
    "NODE_CAPACITY",
    "STORAGE_CLASS",
    "LocalCluster",
    "State",
    "free_port",
    "is_ready",
    "stop_pids",
    "wait_http",
]

DEFAULT_DIR = REPO / ".testbin" / "cluster"


def is_ready(obj: Manifest) -> bool:
    """True when a Node or Pod reports the Ready condition."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@dataclass
class State:
    """What a running cluster is made of; saved as state.json so another process can stop it."""

    root: str
    kubeconfig: str
    server: str
    pids: dict[str, int] = field(default_factory=dict)
    registry: str = ""
    """host:port of the cluster's image registry (what `make images` published), or ''."""
    # The real node's network slot and cgroup, when it has one.
    node_slot: int | None = None
    node_cgroup: str = ""


# The node's processes, stopped first (in this order) and torn down before the control plane.
NODE_PROCESSES = ("coredns", "kube-router-netpol", "kube-proxy", "kubelet", "containerd")


class LocalCluster:
    def __init__(
        self,
        root: Path,
        nodes: int = 3,
        *,
        real_node: bool = False,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.root = root
        self.nodes = nodes
        self.real_node = real_node
        self.progress = progress
        self.kubeconfig = root / "kubeconfig"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._argv: dict[str, list[str]] = {}
        self._admin: tuple[Path, Path, Path] | None = None
        self.server = ""
        self.registry: Registry | None = None
        self.pki: DevPKI | None = None
        self.node: RealNode | None = None

    # --- lifecycle ---

    def start(self, timeout: float = 120) -> "LocalCluster":
        if (self.root / "state.json").exists():
            LocalCluster(self.root).stop()  # a cluster left here: stop it, not only its files
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
        pki = self.pki = DevPKI(self.root / "pki")
        address = "127.0.0.1"
        if self.real_node:
            net = network.claim()
            self.node = RealNode(self.root / "node", net, f"tenantry-local-{net.slot}")
            self._save()  # from here on, stop() removes the namespace even if start fails
            self.progress(f"network: namespace {net.netns}, pods {net.pod_cidr}")
            net.create()
            cgroups.create(self.node.cgroup, "system")
            address = net.host_ip
        api_port = free_port()
        etcd_port, etcd_peer = free_port(), free_port()
        self.server = f"https://{address}:{api_port}"
        serving = pki.issue(
            "apiserver", "kube-apiserver", server_hosts=flags.serving_hosts(address)
        )
        admin = pki.issue("admin", "tenantry-admin", organization="system:masters")
        kubelet_client = pki.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client")
        self._write_kubeconfig(self.kubeconfig, pki.ca.cert, admin.cert, admin.key)
        self._admin = (pki.ca.cert, admin.cert, admin.key)
        self.progress(f"etcd, kube-apiserver on {self.server}")

        self._spawn("etcd", flags.etcd(self.root / "etcd", etcd_port, etcd_peer))
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        wait_http(f"{etcd_url}/health", timeout, alive=self._check_alive)
        api = flags.ApiServer(
            address, api_port, etcd_url, serving, kubelet_client, verify_kubelets=self.real_node
        )
        self._spawn("kube-apiserver", flags.kube_apiserver(api, pki))
        wait_http(f"{self.server}/readyz", timeout, self._admin, self._check_alive)

        controller = pki.issue("controller-manager", "system:kube-controller-manager")
        scheduler = pki.issue("scheduler", "system:kube-scheduler")
        kcm_config = self.root / "controller-manager.kubeconfig"
        sched_config = self.root / "scheduler.kubeconfig"
        self._write_kubeconfig(kcm_config, pki.ca.cert, controller.cert, controller.key)
        self._write_kubeconfig(sched_config, pki.ca.cert, scheduler.cert, scheduler.key)
        self.progress("kube-controller-manager, kube-scheduler, kwok")
        self._spawn(
            "kube-controller-manager", flags.kube_controller_manager(kcm_config, free_port(), pki)
        )
        self._spawn("kube-scheduler", flags.kube_scheduler(sched_config, free_port()))
        self._spawn("kwok", flags.kwok(self.kubeconfig, free_port()))
        if not registry_available():  # the images `make images` published (docs/air-gapped.md)
            self.registry = Registry(self.root / "registry", storage=IMAGE_STORE, host=address)
            self._spawn("registry", self.registry.command())
            self.registry.wait_ready(timeout, self._procs["registry"])
        self._save()
        self.progress(f"{self.nodes} kwok nodes, storage")
        self._seed(timeout)
        if self.node is not None:
            self.node.start(
                pki=pki,
                registry=self.registry,
                kube=Kube(api_client_from(self.kubeconfig)),
                spawn=self._spawn,
                write_kubeconfig=self.write_kubeconfig,
                progress=self.progress,
                check_alive=self._check_alive,
                timeout=timeout,
            )

    def restart_api_server(self, timeout: float = 120) -> None:
        """Stop the kube-apiserver and start it again with the same flags, as a crash or an
        upgrade would: everything else keeps running and has to ride it out."""
        proc = self._procs["kube-apiserver"]
        # SIGTERM, then SIGKILL: its graceful shutdown can wait on open watches for minutes.
        stop_pids({"kube-apiserver": proc.pid}, grace=15)
        proc.wait(15)
        self._spawn("kube-apiserver", self._argv["kube-apiserver"], log_mode="ab")
        wait_http(f"{self.server}/readyz", timeout, self._admin, self._check_alive)

    def stop(self) -> None:
        """Stop every process this cluster started, by PID, tear its real node down (mounts,
        network namespace, cgroups) and remove its data."""
        pids = {name: proc.pid for name, proc in self._procs.items()}
        node = self.node
        state_file = self.root / "state.json"
        if state_file.exists() and (not pids or node is None):
            state = State(**json.loads(state_file.read_text()))
            pids = pids or state.pids
            if node is None and state.node_slot is not None:
                net = network.NodeNetwork(state.node_slot)
                node = RealNode(self.root / "node", net, state.node_cgroup)
        if node is not None:
            # The node first: the kubelet would restart what is removed under it.
            stop_pids({n: pids[n] for n in NODE_PROCESSES[:-1] if n in pids})
            if "containerd" in pids and alive(pids["containerd"]):
                node.remove_tasks()
            stop_pids({n: pids.pop(n) for n in NODE_PROCESSES if n in pids})
            node.teardown()
        stop_pids(pids)
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- helpers ---

    def _spawn(
        self, name: str, argv: list[str], in_node: bool = False, log_mode: str = "wb"
    ) -> None:
        self._argv[name] = argv  # as given: a restart wraps it for the node again
        log = (self.root / "logs" / f"{name}.log").open(log_mode)
        preexec: Callable[[], None] | None = None
        if in_node:
            assert self.node is not None
            cgroup = f"{self.node.cgroup}/system"
            argv = self.node.net.enter(argv)

            def preexec() -> None:
                cgroups.join(cgroup)

        # A session of its own, so `make cluster-up` can exit and leave the cluster running.
        self._procs[name] = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 -- only writes to cgroup.procs before exec
        )
        self._save()

    def _save(self) -> None:
        state = State(
            root=str(self.root),
            kubeconfig=str(self.kubeconfig),
            server=self.server,
            pids={name: proc.pid for name, proc in self._procs.items()},
            registry=self.registry.address if self.registry else "",
            node_slot=self.node.net.slot if self.node else None,
            node_cgroup=self.node.cgroup if self.node else "",
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
        volumes = self.root / "volumes"
        for path in volume_dirs(volumes):
            # Pods on the real node write there as any uid (kine as 65532), as they would to
            # a provisioner's fresh volume.
            path.mkdir(parents=True)
            path.chmod(0o1777)
        for manifest in seed_objects(self.nodes, tainted=self.real_node, volumes=volumes):
            kube.create(manifest)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            ready = len([n for n in kube.list("v1", "Node") if is_ready(n)]) >= self.nodes
            # Pods are refused until the controller-manager made the namespace's account.
            if ready and kube.get_or_none("v1", "ServiceAccount", "default", "default"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"kwok nodes or the default ServiceAccount not ready after {timeout}s")

    def write_kubeconfig(self, path: Path, pair: Pair) -> None:
        """A kubeconfig for this cluster with ``pair``'s client certificate."""
        assert self.pki is not None
        self._write_kubeconfig(path, self.pki.ca.cert, pair.cert, pair.key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcluster")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument(
        "--no-real-node", dest="real_node", action="store_false", help="kwok nodes only"
    )
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(f"cluster: {line}", flush=True)

    cluster = LocalCluster(args.dir, nodes=args.nodes, real_node=args.real_node, progress=progress)
    if args.command == "down":
        cluster.stop()
        print(f"local cluster in {args.dir} stopped")
        return 0
    if args.real_node and (reason := node_missing()):
        sys.exit(f"cluster: no real node here: {reason} (or run with --no-real-node)")
    if (args.dir / "state.json").exists():
        progress(f"replacing the cluster left in {args.dir}")
        LocalCluster(args.dir).stop()
    started = time.monotonic()
    cluster.start()
    print(f"local cluster up in {time.monotonic() - started:.0f}s: {cluster.server}")
    if cluster.registry:
        print(f"image registry: {cluster.registry.url} (make images publishes into it)")
    print(f"kubeconfig: {cluster.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
