"""The tenant's life after `pulumi up`: its control plane restarted, a second `pulumi up`,
and `pulumi destroy` leaving the host and its node as they were. Runs last: it destroys the
tier's tenant."""

from tenantry_api import keys, naming
from tenantry_local.demo import wait_for_api
from tenantry_local.demo_workload import NAMESPACE
from tenantry_local.kube import Kube
from tenantry_local.kubectl import KubectlError, wait_until
from tenantry_local.node import NODE_LABEL
from tenantry_local.node_config import NODE_NAME
from tenantry_local.quickstart import tenantry_objects
from tenantry_syncer.kube import api_client_from

from tests.e2e.conftest import Tenant


def host_web_pods(deployed: Tenant) -> dict[str, str]:
    """The host twins of the web pods: name -> uid, Running ones only."""
    pods = deployed.host.json("-n", deployed.namespace, "get", "pods")["items"]
    return {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in pods
        if (p["metadata"].get("annotations") or {}).get(keys.OBJECT_NAME, "").startswith("web-")
        and p["status"].get("phase") == "Running"
    }


def test_a_restarted_control_plane_keeps_the_tenant_and_its_pods_run_on(deployed: Tenant) -> None:
    host, tenant, namespace = deployed.host, deployed.tenant, deployed.namespace
    vcluster = deployed.outputs["service"]
    pki = host.json("-n", namespace, "get", "secret", naming.pki_secret_name(vcluster))["data"]
    before = host_web_pods(deployed)
    objects = tenant("-n", NAMESPACE, "get", "deployment,service,configmap", "-o", "name")
    assert len(before) == 2
    host("-n", namespace, "delete", "pod", f"{vcluster}-0", "--wait=false")

    def down() -> bool:
        try:
            tenant("get", "--raw", "/readyz", timeout=5)
        except (KubectlError, OSError):
            return True
        return False

    wait_until(down, 60, "the tenant API server to go down")
    # While it is down the tenant's pods keep running on the host, untouched.
    assert host_web_pods(deployed) == before
    wait_for_api(tenant, 240)  # the same kubeconfig
    assert tenant("-n", NAMESPACE, "get", "deployment,service,configmap", "-o", "name") == objects
    assert (
        host.json("-n", namespace, "get", "secret", naming.pki_secret_name(vcluster))["data"] == pki
    )
    assert host_web_pods(deployed) == before
    ready = tenant.json("-n", NAMESPACE, "get", "deployment", "web")["status"]
    assert ready.get("readyReplicas") == 2


def test_a_second_pulumi_up_changes_nothing(deployed: Tenant) -> None:
    deployed.stack.up(expect_no_changes=True)  # fails on any change


def test_the_control_for_no_changes_fails_on_a_change(deployed: Tenant) -> None:
    """--expect-no-changes can fail: a preview with a changed config reports the change."""
    stack = deployed.stack
    stack.pulumi("config", "set", "syncIngresses", "true", quiet=True)
    try:
        result = stack.run("preview", "--expect-no-changes")
    finally:
        stack.pulumi("config", "set", "syncIngresses", "false", quiet=True)
    assert result.returncode != 0, result.stdout


def test_pulumi_destroy_leaves_the_host_and_its_node_as_they_were(deployed: Tenant) -> None:
    node = deployed.node
    runtime_class = deployed.outputs["runtime_class"]
    assert deployed.host.json("get", "runtimeclass", runtime_class)  # the control: it exists
    deployed.stack.destroy()
    kube = Kube(api_client_from(deployed.cluster.kubeconfig))

    def gone() -> bool:
        return not tenantry_objects(kube)

    wait_until(gone, 180, "every Tenantry-labelled object gone")
    meta = deployed.host.json("get", "node", NODE_NAME)["metadata"]
    # The local cluster's own placement label is the only tenantry.dev key left.
    ours = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    assert [k for k in ours if keys.PREFIX in k.partition("/")[0]] == [NODE_LABEL], ours
    assert (node.containerd_dir / "config.toml").read_bytes() == deployed.containerd_config

    def no_sandbox() -> bool:
        # The agent's uninstall restarts containerd: a refused call is asked again.
        listed = node.ctr("containers", "ls", check=False)
        return listed.returncode == 0 and "io.containerd.runsc" not in listed.stdout

    wait_until(no_sandbox, 120, "no gVisor container left in the node's containerd")
