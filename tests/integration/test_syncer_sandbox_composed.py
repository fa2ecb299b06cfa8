"""The composition issue 14 was about, end to end on two real API servers: a VirtualCluster
with a TenantPolicy at Pod Security privileged and a VirtualNode's gVisor isolation, the
syncer and the policy both rendered by the components. What the syncer sends must pass the
host's own admission (the CEL policy, require_sandbox, PSS), and what it refuses is told."""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException
from tenantry import PodSecurityLevel, VirtualClusterArgs, VirtualNode
from tenantry.tenant_policy import render as render_policy
from tenantry.virtual_cluster import resolve
from tenantry_api.config import SyncerConfig, load
from tenantry_api.naming import host_name
from tenantry_api.sandbox import PssCheck
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube

from tests.support.kube import namespace, wait_for
from tests.support.mocks import deploy
from tests.support.testbin import require
from tests.support.virtualcluster import render, synced

HOST_NS = "sync-composed"
VC = "vcc"
RUNTIME_CLASS = "tenantry-composed-sandbox"


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    config: SyncerConfig


def _args() -> VirtualClusterArgs:
    made: list[VirtualNode] = []
    deploy(lambda: made.append(VirtualNode("node", {"runtime_class_name": RUNTIME_CLASS})))
    return {
        "namespace": HOST_NS,
        "policy": {
            "create_namespace": False,
            "pod_security": {"level": PodSecurityLevel.PRIVILEGED},
            # The syncer's own egress is not what this test is about.
            "network": {"enabled": False},
        },
        "isolation": made[0].isolation,
    }


def _apply_policy(host: Kube) -> None:
    policy = resolve(VC, _args()).policy
    assert policy is not None
    for child in render_policy(policy):
        manifest = child.manifest
        if manifest["kind"] == "Namespace":  # adopted: the harness made it
            host.patch("v1", "Namespace", HOST_NS, None, {"metadata": manifest["metadata"]})
        else:
            host.create(manifest)
    # The control: the policy is in force (a new ValidatingAdmissionPolicy takes a moment), so
    # a pod that reaches the host below passed it rather than came too early.
    probe = _pod("probe", HOST_NS, hostNetwork=True, runtimeClassName=RUNTIME_CLASS)
    wait_for(lambda: "tenantry/" in _refusal(host, probe), timeout=60, what="the policy in force")


def _refusal(host: Kube, pod: Manifest) -> str:
    try:
        host.create(pod, dry_run=True)
    except ApiException as e:
        return str(e.body)
    return ""


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    root = Path(tmp_path_factory.mktemp("sync-composed"))
    kube.create(
        {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": {"name": RUNTIME_CLASS},
            "handler": "tenantry-gvisor",
        }
    )
    rendered = render(VC, HOST_NS, extra=_args())
    try:
        with synced(kube, cluster.kubeconfig, root, rendered, name=VC, namespace_=HOST_NS) as s:
            _apply_policy(kube)
            yield Setup(kube, s.tenant, load(SyncerConfig, rendered.config_json))
    finally:
        kube.delete("node.k8s.io/v1", "RuntimeClass", RUNTIME_CLASS)


def _pod(name: str, ns: str, **spec: object) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def _events(tenant: Kube, ns: str, pod: str) -> list[Manifest]:
    return [e for e in tenant.list("v1", "Event", ns) if e["involvedObject"]["name"] == pod]


def _event(tenant: Kube, ns: str, pod: str, reason: str) -> Manifest | None:
    return next((e for e in _events(tenant, ns, pod) if e["reason"] == reason), None)


def test_the_components_compose_into_a_syncer_that_knows_its_sandbox(setup: Setup) -> None:
    isolation = setup.config.isolation
    assert isolation is not None
    assert isolation.backend is not None
    assert isolation.backend.value == "gvisor"
    assert setup.config.pod_security_level is PodSecurityLevel.PRIVILEGED
    # The policy refuses every hostPath on the host: the syncer refuses them, not rewrites.
    assert setup.config.sandbox_rewrites.host_path is False


def test_what_the_syncer_sends_passes_the_hosts_admission(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    ns = "shop"
    tenant.create(namespace(ns))
    wait_for(lambda: tenant.get_or_none("v1", "ServiceAccount", "default", ns), what="default SA")
    synced = {
        "clean": _pod("clean", ns),
        "net": _pod(
            "net",
            ns,
            hostNetwork=True,
            containers=[{"name": "c", "image": "busybox", "ports": [{"containerPort": 8080}]}],
        ),
        "port": _pod(
            "port",
            ns,
            containers=[
                {"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 80}]}
            ],
        ),
        "root": _pod(
            "root",
            ns,
            containers=[{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}],
        ),
    }
    refused = {
        "disk": (
            _pod("disk", ns, volumes=[{"name": "r", "hostPath": {"path": "/"}}]),
            PssCheck.HOST_PATH,
            "sandbox_rewrites.host_path",
        ),
        "ipc": (_pod("ipc", ns, hostIPC=True), PssCheck.HOST_IPC, "spec.hostIPC"),
    }
    for pod in [*synced.values(), *(p for p, _, _ in refused.values())]:
        tenant.create(pod)

    def on_host(name: str) -> Manifest | None:
        return host.get_or_none("v1", "Pod", host_name(name, ns, VC), HOST_NS)

    for name in synced:
        found = wait_for(partial(on_host, name), timeout=120, what=f"{name} on the host")
        spec = found["spec"]
        assert spec["runtimeClassName"] == RUNTIME_CLASS
        assert not spec.get("hostNetwork")
        assert not any(p.get("hostPort") for c in spec["containers"] for p in c.get("ports") or [])
        assert not [e for e in _events(tenant, ns, name) if e["reason"] == "HostRefused"]
    assert on_host("root")["spec"]["containers"][0]["securityContext"]["privileged"] is True  # type: ignore[index]
    for name, (_, check, named) in refused.items():
        event = wait_for(
            partial(_event, tenant, ns, name, "PodSecurity"),
            timeout=60,
            what=f"{name}'s PodSecurity Event",
        )
        assert f"(rule {check.value}" in event["message"]
        assert named in event["message"]
        assert on_host(name) is None


def test_a_pod_the_hosts_admission_refuses_is_told_not_dropped(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    ns = "greedy"
    tenant.create(namespace(ns))
    wait_for(lambda: tenant.get_or_none("v1", "ServiceAccount", "default", ns), what="default SA")
    # The virtual cluster has no quota; the host namespace's TenantPolicy has one (cpu 10).
    big = {"requests": {"cpu": "50"}, "limits": {"cpu": "50"}}
    tenant.create(_pod("big", ns, containers=[{"name": "c", "image": "busybox", "resources": big}]))
    event = wait_for(
        partial(_event, tenant, ns, "big", "HostRefused"), timeout=60, what="HostRefused"
    )
    assert "exceeded quota" in event["message"]
    assert host.get_or_none("v1", "Pod", host_name("big", ns, VC), HOST_NS) is None
