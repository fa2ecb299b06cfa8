"""The tenant part of every example, deployed for real onto a local cluster.

Each example keeps its tenant in a function of a kubernetes Provider (examples/*/tenant.py,
examples/multi-tenant/tenants.py). Here each function runs as an inline Automation API program
(in this process, so no language host is needed) through the pinned pulumi CLI and the
pulumi-resource-kubernetes plugin from .testbin/, with a Provider for a local cluster of its
own: `pulumi up`, every object on the API server, a second preview that changes nothing,
`pulumi destroy`. The local cluster has no load balancer, no cloud StorageClass and only kwok
nodes, so the cloud tenants use ClusterIP exposure and the cluster's default class, and no
tenant reads its kubeconfig back (kwok runs no container, so the init container never writes
it). Everything else is the examples' own code.
"""

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi import automation as auto
from tenantry import ExposureType
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_local.testbin import REPO, TESTBIN, binary
from tenantry_syncer.kube import api_client_from

from tests.integration.conftest import CLUSTER_BINARIES
from tests.support.testbin import require

EXAMPLES = REPO / "examples"
ENGINE_BINARIES = ["pulumi", "pulumi-resource-kubernetes"]
PASSPHRASE = "tenantry-local-only"  # guards nothing but throwaway stacks in a temp dir


def load(example: str, module: str) -> ModuleType:
    """examples/<example>/<module>.py, imported under a name of its own."""
    path = EXAMPLES / example / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"example_{example.replace('-', '_')}", path)
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def multi_tenant_entries() -> list[dict[str, Any]]:
    config = yaml.safe_load((EXAMPLES / "multi-tenant" / "Pulumi.dev.yaml").read_text())
    # No load balancer here: every tenant gets ClusterIP exposure instead.
    return [
        {k: v for k, v in entry.items() if k != "loadBalancer"}
        for entry in config["config"]["tenantry-multi-tenant:tenants"]
    ]


Tenant = Callable[[k8s.Provider], object]
CLOUD = {"exposure": ExposureType.CLUSTER_IP, "storage_class": None, "read_kubeconfig": False}
TENANTS: dict[str, tuple[Tenant, list[str]]] = {
    # example: (its tenant part on a provider, the namespaces it must create)
    "eks": (lambda p: load("eks", "tenant").tenant("eks-acme", p, **CLOUD), ["eks-acme"]),
    "gke": (lambda p: load("gke", "tenant").tenant("gke-acme", p, **CLOUD), ["gke-acme"]),
    "aks": (lambda p: load("aks", "tenant").tenant("aks-acme", p, **CLOUD), ["aks-acme"]),
    "bare": (
        lambda p: load("bare", "tenant").tenant("bare-acme", p, read_kubeconfig=False),
        ["bare-acme"],
    ),
    "multi-tenant": (
        lambda p: load("multi-tenant", "tenants").tenants(
            multi_tenant_entries(), p, read_kubeconfig=False
        ),
        [entry["name"] for entry in multi_tenant_entries()],
    ),
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require(*CLUSTER_BINARIES, *ENGINE_BINARIES)
    cluster = LocalCluster(tmp_path_factory.mktemp("examples-up") / "host", nodes=2).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def stack_for(example: str, kubeconfig: Path, tmp: Path) -> auto.Stack:
    tenant, _ = TENANTS[example]
    kubeconfig_text = kubeconfig.read_text()

    def program() -> None:
        provider = k8s.Provider("local", kubeconfig=kubeconfig_text)
        outputs = tenant(provider)
        if isinstance(outputs, dict):
            for key, value in outputs.items():
                pulumi.export(key, value)

    (tmp / "state").mkdir(parents=True)
    (tmp / "cli" / "bin").mkdir(parents=True)
    (tmp / "cli" / "bin" / "pulumi").symlink_to(binary("pulumi"))
    env = {
        # The engine prefers a plugin on PATH to any installed one; nothing is downloaded.
        "PATH": f"{TESTBIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(tmp / "home"),
        "PULUMI_BACKEND_URL": f"file://{tmp / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }
    return auto.create_or_select_stack(
        stack_name="local",
        project_name=f"tenantry-{example}-tenant",
        program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(tmp),
            pulumi_home=env["PULUMI_HOME"],
            env_vars=env,
            pulumi_command=auto.PulumiCommand(root=str(tmp / "cli"), skip_version_check=True),
        ),
    )


@pytest.mark.parametrize("example", sorted(TENANTS))
def test_tenant_part_deploys_for_real_then_changes_nothing_then_destroys(
    example: str, local: LocalCluster, tmp_path: Path
) -> None:
    kube = Kube(api_client_from(local.kubeconfig))
    stack = stack_for(example, local.kubeconfig, tmp_path)
    _, namespaces = TENANTS[example]
    try:
        up = stack.up(color="never", on_output=print)
        assert up.summary.result == "succeeded"
        for namespace in namespaces:
            assert kube.get("v1", "Namespace", namespace)
            assert kube.list("apps/v1", "StatefulSet", namespace=namespace)
            assert kube.get("v1", "ResourceQuota", "tenantry-quota", namespace)
        assert kube.list("node.k8s.io/v1", "RuntimeClass")
        preview = stack.preview(color="never")
        changes = {str(getattr(op, "value", op)): n for op, n in preview.change_summary.items()}
        assert set(changes) <= {"same"}, changes
    finally:
        stack.destroy(color="never", on_output=print)
    left = {ns for ns in namespaces if kube.get_or_none("v1", "Namespace", ns) is not None}
    terminating = {
        ns
        for ns in left
        if kube.get("v1", "Namespace", ns).get("status", {}).get("phase") == "Terminating"
    }
    assert left == terminating, f"namespaces left behind: {left - terminating}"
