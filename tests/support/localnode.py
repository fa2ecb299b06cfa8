"""Helpers for tests of the local cluster's real node: busybox pods on it, and an inventory of
everything a real node makes on the machine, to prove a teardown left none of it."""

import json
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client
from tenantry_api.types import Manifest
from tenantry_local import cgroups, network
from tenantry_local.cluster import LocalCluster, State
from tenantry_local.containerd import mounts_under
from tenantry_local.kube import Kube
from tenantry_local.node import CONTAINER_LOG_LINKS, NODE_LABEL, RealNode
from tenantry_syncer.kube import api_client_from

from tests.support.kube import wait_for

BUSYBOX_IMAGE = "tenantry.test/busybox:1"
# The Go TLS server's answer to plain HTTP: proof that a pod's bytes reached the API server.
HTTPS_ANSWER = "Client sent an HTTP request to an HTTPS server"


def import_busybox(cluster: LocalCluster) -> None:
    assert cluster.node is not None
    cluster.node.import_image(BUSYBOX_IMAGE, ["/bin/sh"])


def node_of(root: Path) -> RealNode:
    """The real node of the cluster running in ``root`` (started by another process)."""
    state = State(**json.loads((root / "state.json").read_text()))
    assert state.node_slot is not None
    return RealNode(root / "node", network.NodeNetwork(state.node_slot), state.node_cgroup)


def run_pod(kube: Kube, kubeconfig: Path, script: str, timeout: float = 120) -> str:
    """Run ``script`` in a busybox pod on the real node; returns its log."""
    container = {
        "image": BUSYBOX_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["/bin/sh", "-c", f"exec 2>&1; {script}"],
    }
    return run_on_node(kube, kubeconfig, container, timeout=timeout)[1]


def run_on_node(
    kube: Kube,
    kubeconfig: Path,
    container: Manifest,
    pod: Manifest | None = None,
    timeout: float = 120,
) -> tuple[str, str]:
    """Run ``container`` (with ``pod``'s extra fields) to its end in a pod on the real node;
    returns its phase and its log (read through the API server, which fetches it from the
    kubelet with its kubelet client certificate)."""
    name = f"probe-{uuid.uuid4().hex[:6]}"
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "nodeSelector": {NODE_LABEL: "real"},
                "restartPolicy": "Never",
                "containers": [{"name": "probe", **container}],
                **(pod or {}),
            },
        }
    )
    try:
        done = wait_for(
            lambda: _finished(kube, name), timeout=timeout, what=f"pod {name} to finish"
        )
        assert done["spec"]["nodeName"] == "real-node"
        core = client.CoreV1Api(api_client_from(kubeconfig))
        return done["status"]["phase"], str(core.read_namespaced_pod_log(name, "default"))
    finally:
        kube.delete("v1", "Pod", name, "default")


def _finished(kube: Kube, name: str) -> Manifest | None:
    pod = kube.get("v1", "Pod", name, "default")
    return pod if pod["status"].get("phase") in ("Succeeded", "Failed") else None


@dataclass
class Inventory:
    """What of a real node exists on the machine right now."""

    processes: list[int] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    netns: bool = False
    links: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    iptables: list[str] = field(default_factory=list)
    cgroups: list[Path] = field(default_factory=list)
    log_links: list[Path] = field(default_factory=list)

    def empty(self) -> bool:
        return not any(vars(self).values())


def inventory(root: Path, state: State) -> Inventory:
    assert state.node_slot is not None
    net = network.NodeNetwork(state.node_slot)
    cidr_prefix = ".".join(str(net.block.network_address).split(".")[:3]) + "."
    names = (net.bridge, net.host_veth, net.node_veth, net.netns)
    links = json.loads(_out(["ip", "-j", "link", "show"]) or "[]")
    routes = json.loads(_out(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]")
    # The host's own tables: nothing of the node may be written there.
    rules = _out(["iptables-save"]).splitlines() + _out(["iptables-save", "-t", "nat"]).splitlines()
    # Only what names this node: a kubelet of another test in the host's namespace writes
    # KUBE-* chains of its own there.
    ours = (cidr_prefix, "tenantry-local", *names)
    return Inventory(
        processes=sorted(_naming(root) | cgroups.pids(state.node_cgroup)),
        mounts=mounts_under(root),
        netns=net.netns_path.exists() or net.netns in _out(["ip", "netns", "list"]),
        links=[link["ifname"] for link in links if link["ifname"] in names],
        routes=[r.get("dst", "") for r in routes if r.get("dst", "").startswith(cidr_prefix)],
        iptables=[r for r in rules if any(o in r for o in ours)],
        cgroups=cgroups.leftovers(state.node_cgroup),
        log_links=[
            link
            for link in (CONTAINER_LOG_LINKS.iterdir() if CONTAINER_LOG_LINKS.is_dir() else [])
            if link.is_symlink() and str(link.readlink()).startswith(f"{root}/")
        ],
    )


def node_inventory(state: State) -> Inventory:
    """Inside the node's namespace: its bridge and the rules kube-proxy and CNI wrote."""
    assert state.node_slot is not None
    net = network.NodeNetwork(state.node_slot)
    links = json.loads(_out(net.enter(["ip", "-j", "link", "show"])) or "[]")
    return Inventory(
        netns=True,
        links=[link["ifname"] for link in links if link["ifname"] == net.bridge],
        iptables=[r for r in _out(net.enter(["iptables-save"])).splitlines() if "KUBE-" in r],
    )


def _naming(root: Path) -> set[int]:
    """Processes whose command line names ``root`` (every process of the cluster does)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(root).encode() in (proc / "cmdline").read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def _out(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
