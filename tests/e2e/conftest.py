"""The end-to-end tier: the quickstart deployed exactly as `make demo` deploys it (pulumi up
onto a local cluster with its real node, on the built images), then driven only through the
tenant kubeconfig that the stack outputs and the real kubectl, as a user drives it.

One tenant serves the whole tier; the files run in order (test_1_…, test_2_…, test_3_…), and the
last destroys it. Host access (`host`) is only for what a platform engineer checks on the host.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tenantry_api.keys import OBJECT_NAME
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster
from tenantry_local.demo import wait_for_api
from tenantry_local.demo_stack import DemoStack, local_settings
from tenantry_local.demo_workload import NAMESPACE, deploy_web
from tenantry_local.images import build_all
from tenantry_local.kubectl import Kubectl
from tenantry_local.node import RealNode
from tenantry_local.quickstart import ENGINE_BINARIES, project_copy

from tests.integration.conftest import start_node_cluster
from tests.integration.test_images_built import needs_images
from tests.support.testbin import require


@dataclass
class Tenant:
    cluster: LocalCluster
    node: RealNode
    stack: DemoStack
    outputs: dict[str, str]
    tenant: Kubectl
    """Through the stack's kubeconfig output: the only way the tests reach the tenant."""
    host: Kubectl
    containerd_config: bytes
    """The real node's containerd config.toml before `pulumi up`."""
    page: str
    """What the demo's client pod fetched through the web Service."""

    @property
    def namespace(self) -> str:
        return self.outputs["namespace"]

    def host_twins(self, name: str) -> list[Manifest]:
        """The host pods that mirror the tenant's pod ``name`` (the syncer's annotation)."""
        pods = self.host.json("-n", self.namespace, "get", "pods")["items"]
        return [
            p for p in pods if (p["metadata"].get("annotations") or {}).get(OBJECT_NAME) == name
        ]

    def syncer_image(self) -> str:
        """The syncer's image as the VirtualCluster pod runs it: Python, for probes that need
        more than busybox."""
        pods = self.host.json("-n", self.namespace, "get", "pods")["items"]
        (image,) = {
            c["image"] for p in pods for c in p["spec"]["containers"] if c["name"] == "syncer"
        }
        return str(image)


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    require(*ENGINE_BINARIES, "kubectl")
    needs_images()
    build_all()  # as `make images` leaves them; quick when nothing changed
    cluster = start_node_cluster()
    try:
        assert cluster.node is not None
        work = tmp_path_factory.mktemp("e2e")
        stack = DemoStack(work / "state", cluster.kubeconfig, project_copy(work / "project"))
        original = (cluster.node.containerd_dir / "config.toml").read_bytes()
        stack.select(local_settings(cluster.node))
        stack.up()
        tenant = Kubectl(stack.write_kubeconfig(work / "tenant.kubeconfig"))
        wait_for_api(tenant, 120)
        outputs = stack.outputs()
        host = Kubectl(cluster.kubeconfig)
        page = deploy_web(tenant, host, outputs["namespace"], outputs["runtime_class"])
        yield Tenant(cluster, cluster.node, stack, outputs, tenant, host, original, page)
    finally:
        cluster.stop()
        cluster.root.parent.rmdir()


@pytest.fixture
def plain_namespace(deployed: Tenant) -> Iterator[str]:
    """A host namespace without Tenantry: no policy, no quota, no sandbox: the controls."""
    namespace = f"plain-{uuid.uuid4().hex[:6]}"
    deployed.host("create", "namespace", namespace)
    try:
        yield namespace
    finally:
        deployed.host("delete", "namespace", namespace, "--wait=false")


def events_of(tenant: Kubectl, name: str, namespace: str = NAMESPACE) -> dict[str, str]:
    """The tenant's Events on pod ``name``: reason → message."""
    selector = f"involvedObject.name={name}"
    items = tenant.json("-n", namespace, "get", "events", "--field-selector", selector)["items"]
    return {e["reason"]: e["message"] for e in items}
