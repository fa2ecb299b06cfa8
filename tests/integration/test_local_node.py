"""The local cluster's real node: the pinned kubelet with its own credentials, containerd,
CNI bridge networking, kube-proxy, NetworkPolicy enforcement and CoreDNS, in a network namespace
of its own; pods on it reach the host API server through the ``kubernetes`` Service; two
clusters' nodes run side by side; and a stopped cluster leaves nothing behind on the machine."""

import json
import re
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException
from tenantry_api.types import Manifest
from tenantry_local.cluster import KWOK_TAINT, LocalCluster, State, is_ready
from tenantry_local.kube import Kube
from tenantry_local.node import NODE_LABEL
from tenantry_local.node_config import NODE_NAME
from tenantry_local.processes import alive
from tenantry_syncer.kube import api_client_from

from tests.integration.conftest import require_node_cluster
from tests.support.kube import wait_for
from tests.support.localnode import (
    BUSYBOX_IMAGE,
    HTTPS_ANSWER,
    inventory,
    node_inventory,
    node_of,
    run_pod,
)

pytestmark = pytest.mark.integration

PROBE = (
    "nslookup kubernetes.default.svc.cluster.local; "
    "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 kubernetes.default.svc 443; echo; "
    # The controls: a Service without endpoints answers nothing (no DNAT, and the node has no
    # route for a bare ClusterIP), and a name that no Service has does not resolve.
    "echo no-endpoints:; nc -w 3 no-endpoints.default.svc 80 </dev/null; echo rc=$?; "
    "echo absent:; nslookup absent.default.svc.cluster.local; echo rc=$?"
)


def test_the_real_node_joins_with_its_own_identity(
    node_cluster: LocalCluster, node_kube: Kube
) -> None:
    assert node_cluster.node is not None
    node = node_kube.get("v1", "Node", NODE_NAME)
    assert is_ready(node)
    assert node["metadata"]["labels"][NODE_LABEL] == "real"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == node_cluster.node.net.node_ip
    kwok = [n for n in node_kube.list("v1", "Node") if n["metadata"]["name"] != NODE_NAME]
    assert kwok
    assert all(KWOK_TAINT in (n["spec"].get("taints") or []) for n in kwok)

    # The kubelet's own credentials: its Node is its own to label, another node is not
    # (the Node authorizer and NodeRestriction), and nor are Secrets no pod of it uses.
    as_node = Kube(api_client_from(node_cluster.node.root / "kubelet.kubeconfig"))
    as_node.patch("v1", "Node", NODE_NAME, None, {"metadata": {"labels": {"probe": "own"}}})
    assert node_kube.get("v1", "Node", NODE_NAME)["metadata"]["labels"]["probe"] == "own"
    other = kwok[0]["metadata"]["name"]
    with pytest.raises(ApiException) as refused:
        as_node.patch("v1", "Node", other, None, {"metadata": {"labels": {"probe": "other"}}})
    assert refused.value.status == 403
    with pytest.raises(ApiException) as secrets:
        as_node.list("v1", "Secret", "kube-system")
    assert secrets.value.status == 403


def test_the_kubelet_authenticates_callers_through_the_api_server(
    node_cluster: LocalCluster,
) -> None:
    assert node_cluster.node is not None
    url = f"https://{node_cluster.node.net.node_ip}:10250/pods"
    anonymous = ssl.create_default_context(cafile=str(node_cluster.root / "pki" / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, context=anonymous, timeout=10)
    assert refused.value.code == 401
    # The control: the admin's certificate is accepted, and the SubjectAccessReview allows it.
    admin = ssl.create_default_context(cafile=str(node_cluster.root / "pki" / "ca.crt"))
    admin.load_cert_chain(
        str(node_cluster.root / "pki" / "admin.crt"), str(node_cluster.root / "pki" / "admin.key")
    )
    with urllib.request.urlopen(url, context=admin, timeout=10) as response:
        assert json.load(response)["kind"] == "PodList"


def test_a_pod_reaches_the_host_api_through_kube_proxy_and_coredns(
    node_cluster: LocalCluster, node_kube: Kube
) -> None:
    node_kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "no-endpoints", "namespace": "default"},
            "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 80}]},
        }
    )
    try:
        log = run_pod(node_kube, node_cluster.kubeconfig, PROBE)
    finally:
        node_kube.delete("v1", "Service", "no-endpoints", "default")
    reached, controls = log.split("no-endpoints:")
    # CoreDNS (through the kube-dns Service) answered with the kubernetes Service's ClusterIP.
    assert re.search(r"^Address:\s*10\.96\.0\.1$", reached, re.MULTILINE), log
    assert HTTPS_ANSWER in reached, log  # and kube-proxy took the bytes to the API server
    no_endpoints, absent = controls.split("absent:")
    assert HTTPS_ANSWER not in no_endpoints, log
    assert "rc=0" not in no_endpoints, log
    assert "rc=0" not in absent, log


def web_server(kube: Kube, name: str) -> str:
    """A busybox httpd pod on the real node; returns its IP once it serves."""
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {
                "nodeSelector": {NODE_LABEL: "real"},
                "containers": [
                    {
                        "name": "httpd",
                        "image": BUSYBOX_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["/bin/sh", "-c", "mkdir /www && echo served > /www/index.html"
                                    " && exec httpd -f -p 8080 -h /www"],
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                    }
                ],
            },
        }
    )  # fmt: skip

    def serving() -> str | None:
        pod = kube.get("v1", "Pod", name, "default")
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod["status"].get("conditions") or []
        )
        return pod["status"].get("podIP") if ready else None

    return wait_for(serving, timeout=120, what=f"pod {name} serving")


def deny_ingress(name: str) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"]},
    }


def test_a_network_policy_is_enforced_on_the_real_node(
    node_cluster: LocalCluster, node_kube: Kube
) -> None:
    ip = web_server(node_kube, "guarded")
    fetch = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} 8080; echo rc=$?"
    try:
        # The control: with no policy the page is fetched.
        assert "served" in run_pod(node_kube, node_cluster.kubeconfig, fetch)

        node_kube.create(deny_ingress("guarded"))

        def refused() -> str | None:
            log = run_pod(node_kube, node_cluster.kubeconfig, fetch)
            return None if "served" in log else log

        log = wait_for(refused, timeout=60, what="the policy to refuse the fetch")
        assert "rc=0" not in log, log
        # Removed, the policy stops refusing: it was the policy, not the pod, that refused.
        node_kube.delete("networking.k8s.io/v1", "NetworkPolicy", "guarded", "default")
        wait_for(
            lambda: "served" in run_pod(node_kube, node_cluster.kubeconfig, fetch),
            timeout=60,
            what="the fetch to succeed again once the policy is gone",
        )
    finally:
        if node_kube.get_or_none("networking.k8s.io/v1", "NetworkPolicy", "guarded", "default"):
            node_kube.delete("networking.k8s.io/v1", "NetworkPolicy", "guarded", "default")
        node_kube.delete("v1", "Pod", "guarded", "default")


def cluster_cli(*args: str) -> str:
    """`make cluster-up` / `make cluster-down`: the module the Makefile runs."""
    done = subprocess.run(
        [sys.executable, "-m", "tenantry_local.cluster", *args],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_cluster_up_twice_beside_another_real_node_then_down_leaves_nothing(
    node_cluster: LocalCluster, node_kube: Kube
) -> None:
    """`make cluster-up` starts a cluster with a real node beside the session's (two real nodes
    at once), says what it does and where the kubeconfig is; run again it replaces its
    cluster; `make cluster-down` then leaves nothing of it on the machine."""
    require_node_cluster()
    root = Path(tempfile.mkdtemp(prefix="tlc-", dir="/tmp")) / "c"
    try:
        first_up = cluster_cli("up", "--dir", str(root), "--nodes", "1")
        assert "cluster: real node: kubelet" in first_up, first_up
        assert first_up.rstrip().endswith(f"kubeconfig: {root / 'kubeconfig'}"), first_up
        replaced = _state_of(root)
        again = cluster_cli("up", "--dir", str(root), "--nodes", "1")
        assert f"replacing the cluster left in {root}" in again, again
        state = _state_of(root)
        assert not [pid for pid in replaced.pids.values() if alive(pid)]
        assert node_cluster.node is not None
        assert state.node_slot != node_cluster.node.net.slot
        assert state.server != node_cluster.server

        kube = Kube(api_client_from(root / "kubeconfig"))
        node_of(root).import_image(BUSYBOX_IMAGE, ["/bin/sh"])
        reach = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 kubernetes.default.svc 443"
        assert HTTPS_ANSWER in run_pod(kube, root / "kubeconfig", reach)
        # A pod left running: its volumes, sandbox and veth are part of what must go.
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "left-running", "namespace": "default"},
                "spec": {
                    "nodeSelector": {NODE_LABEL: "real"},
                    "containers": [
                        {
                            "name": "sleep",
                            "image": BUSYBOX_IMAGE,
                            "imagePullPolicy": "Never",
                            "command": ["/bin/sleep", "3600"],
                        }
                    ],
                },
            }
        )
        wait_for(
            lambda: is_ready(kube.get("v1", "Pod", "left-running", "default")),
            timeout=120,
            what="the pod left running",
        )
        # The control: on a live cluster the inventory finds each kind of thing.
        live = inventory(root, state)
        for found in ("processes", "mounts", "netns", "cgroups", "links", "routes", "log_links"):
            assert getattr(live, found), (found, live)
        inside = node_inventory(state)
        assert inside.links, inside
        assert inside.iptables, inside
        # Even live, the host's own iptables tables hold nothing of the node.
        assert live.iptables == [], live.iptables
    finally:
        cluster_cli("down", "--dir", str(root))
        root.parent.rmdir()
    left = inventory(root, state)
    assert left.empty(), left
    assert not root.exists()
    # The session cluster's node was not touched.
    assert is_ready(node_kube.get("v1", "Node", NODE_NAME))
    assert not inventory(node_cluster.root, _state_of(node_cluster.root)).empty()


def _state_of(root: Path) -> State:
    return State(**json.loads((root / "state.json").read_text()))
