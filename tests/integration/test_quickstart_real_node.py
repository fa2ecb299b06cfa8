"""The quickstart as it ships: `pulumi up` onto a local cluster with a real node, on the images
`make images` built, which the node's containerd pulls under their upstream names through its
registry mirrors. Every container of the VirtualCluster pod and the node agent really runs."""

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from pulumi import automation as auto
from tenantry_api import keys
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster, is_ready
from tenantry_local.images import build_all
from tenantry_local.kube import Kube
from tenantry_local.node_config import NODE_NAME
from tenantry_local.quickstart import ENGINE_BINARIES
from tenantry_syncer.kube import api_client_from

from tests.integration.conftest import start_node_cluster
from tests.integration.test_images_built import needs_images
from tests.support.kube import wait_for
from tests.support.localnode import run_on_node
from tests.support.stacks import stack_in
from tests.support.testbin import require

TENANT = "acme"
GVISOR_READY = "runtime.tenantry.dev/tenantry-gvisor"
# Run in the shipped syncer image, whose Python verifies TLS like any client would.
FETCH = """
import ssl, sys, urllib.request
url, ca = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url, context=ssl.create_default_context(cafile=ca), timeout=10) as r:
    print(r.status, r.read().decode())
"""


@pytest.fixture(scope="module")
def host() -> Iterator[LocalCluster]:
    require(*ENGINE_BINARIES)
    needs_images()
    build_all()  # as `make images` leaves them; quick when nothing changed
    local = start_node_cluster()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def kube(host: LocalCluster) -> Kube:
    return Kube(api_client_from(host.kubeconfig))


@pytest.fixture(scope="module")
def up(host: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> auto.UpResult:
    assert host.node is not None
    stack = stack_in(
        tmp_path_factory.mktemp("real-node"),
        host.kubeconfig,
        "real",
        {"tenant": TENANT, "nodeAgent": json.dumps(host.node.agent_settings())},
    )
    return stack.up(on_output=print, color="never")


def pods(kube: Kube, namespace: str, name: str) -> list[Manifest]:
    return kube.list("v1", "Pod", namespace, label_selector=f"app.kubernetes.io/name={name}")


def all_ready(pod: Manifest) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all(s["ready"] for s in statuses)


def test_the_virtual_cluster_pod_runs_every_container_on_the_real_node(
    up: auto.UpResult, kube: Kube
) -> None:
    def running() -> Manifest | None:
        found = pods(kube, TENANT, "tenantry-vcluster")
        return found[0] if len(found) == 1 and all_ready(found[0]) else None

    pod = wait_for(running, timeout=300, what="the VirtualCluster pod ready")
    assert pod["spec"]["nodeName"] == NODE_NAME
    names = {s["name"] for s in pod["status"]["containerStatuses"]}
    assert names == {"kine", "kube-apiserver", "kube-controller-manager", "syncer"}
    (init,) = pod["status"]["initContainerStatuses"]
    assert init["state"]["terminated"]["exitCode"] == 0
    time.sleep(60)
    pod = kube.get("v1", "Pod", pod["metadata"]["name"], TENANT)
    restarts = {s["name"]: s["restartCount"] for s in pod["status"]["containerStatuses"]}
    assert restarts == dict.fromkeys(names, 0)
    assert all_ready(pod)


def test_the_node_agent_installs_gvisor_on_the_real_node(up: auto.UpResult, kube: Kube) -> None:
    def labelled() -> bool:
        labels = kube.get("v1", "Node", NODE_NAME)["metadata"]["labels"]
        return bool(labels.get(GVISOR_READY) == "ready")

    wait_for(labelled, timeout=300, what="the agent's ready label on the real node")
    (agent,) = pods(kube, "kube-system", "tenantry-node-agent")
    assert agent["spec"]["nodeName"] == NODE_NAME
    assert is_ready(agent)


def fetch(kube: Kube, host: LocalCluster, url: str, ca: str, mounts: Manifest) -> str:
    """Run FETCH in the shipped syncer image in a pod on the real node; its log."""
    image = next(
        c["image"]
        for p in pods(kube, TENANT, "tenantry-vcluster")
        for c in p["spec"]["containers"]
        if c["name"] == "syncer"
    )
    container = {"image": image, "command": ["python", "-c", FETCH, url, ca]}
    phase, log = run_on_node(
        kube, host.kubeconfig, {**container, **mounts.get("container", {})}, mounts.get("pod")
    )
    assert phase == "Succeeded", log
    return log


def test_a_pod_reaches_the_host_api_through_kube_proxy(
    up: auto.UpResult, kube: Kube, host: LocalCluster
) -> None:
    token_ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
    answer = fetch(kube, host, "https://kubernetes.default.svc/version", token_ca, {})
    assert answer.startswith("200 ")
    assert json.loads(answer[4:])["gitVersion"].startswith("v1.")


def test_a_pod_reaches_the_virtual_api_at_its_cluster_ip_and_verifies_it(
    up: auto.UpResult, kube: Kube, host: LocalCluster
) -> None:
    service = kube.get("v1", "Service", up.outputs["service"].value, TENANT)
    ip = service["spec"]["clusterIP"]
    secret = kube.get("v1", "Secret", up.outputs["kubeconfig_secret"].value, TENANT)
    ca_name = f"vc-ca-{uuid.uuid4().hex[:6]}"
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": ca_name, "namespace": "default"},
            "data": {"ca.crt": base64.b64decode(secret["data"]["certificate-authority"]).decode()},
        }
    )
    mount = {
        "container": {"volumeMounts": [{"name": "ca", "mountPath": "/ca"}]},
        "pod": {"volumes": [{"name": "ca", "configMap": {"name": ca_name}}]},
    }
    answer = fetch(kube, host, f"https://{ip}/version", "/ca/ca.crt", mount)
    assert answer.startswith("200 ")
    assert json.loads(answer[4:])["gitVersion"].startswith("v1.")
    # The control: the host's CA does not verify the virtual API server's certificate.
    token_ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
    with pytest.raises(AssertionError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(kube, host, f"https://{ip}/version", token_ca, {})
    assert keys.MANAGED_BY in secret["metadata"]["labels"]
