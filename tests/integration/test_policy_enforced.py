"""TenantPolicy's rendered objects, enforced by a real kube-apiserver.

The manifests come from the component's pure renderer, so this checks the very objects
`pulumi up` applies: PSS labels, the CEL admission policy, the quota and the LimitRange.
"""

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tenantry import PodSecurityLevel
from tenantry.tenant_policy import TenantPolicyArgs, render, resolve
from tenantry_local.kube import Kube

from tests.support.kube import wait_for


def apply_policy(kube: Kube, name: str, args: TenantPolicyArgs) -> None:
    for child in render(resolve(name, args)):
        kube.create(child.manifest)


def pod(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def _rejected(kube: Kube, namespace: str, spec: dict[str, Any]) -> str:
    try:
        kube.create(pod(namespace, "probe", **spec), dry_run=True)
    except ApiException as e:
        return str(e.body)
    return ""


@pytest.fixture(scope="module")
def tenant(kube: Kube) -> str:
    # PSS privileged, so the rejections below come from Tenantry's CEL policy alone.
    apply_policy(kube, "tenant-cel", {"pod_security": {"level": PodSecurityLevel.PRIVILEGED}})
    # The admission policy is compiled asynchronously: wait until it rejects a host pod.
    wait_for(
        lambda: "tenantry/" in _rejected(kube, "tenant-cel", {"hostPID": True}),
        what="admission policy active",
    )
    return "tenant-cel"


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ({"hostPID": True}, "tenantry/host-namespaces: spec.hostPID"),
        ({"hostNetwork": True}, "tenantry/host-namespaces: spec.hostNetwork"),
        (
            {
                "containers": [
                    {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}
                ]
            },
            "tenantry/privileged:",
        ),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "tenantry/host-path:"),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox",
                        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                    }
                ]
            },
            "tenantry/capabilities:",
        ),
    ],
)
def test_admission_policy_rejects_host_access(
    kube: Kube, tenant: str, spec: dict[str, Any], rule: str
) -> None:
    assert rule in _rejected(kube, tenant, spec)


def test_a_plain_pod_is_admitted(kube: Kube, tenant: str) -> None:
    assert _rejected(kube, tenant, {}) == ""


def test_pod_security_rejects_privileged_pods_at_baseline(kube: Kube) -> None:
    apply_policy(kube, "tenant-pss", {"admission": {"enabled": False}})
    message = _rejected(kube, "tenant-pss", {"hostPID": True})
    assert "violates PodSecurity" in message
    assert "baseline" in message


def test_limit_range_defaults_and_quota(kube: Kube, tenant: str) -> None:
    created = kube.create(pod(tenant, "defaults"))
    resources = created["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"}
    assert resources["requests"] == {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "3Gi"}
    for i in range(1, 20):  # 20 pods in all, the quota's count/pods
        kube.create(pod(tenant, f"p{i}"))
    with pytest.raises(ApiException) as rejected:
        kube.create(pod(tenant, "p21"))
    assert rejected.value.status == 403
    assert "exceeded quota: tenantry-quota" in str(rejected.value.body)
    assert "count/pods=20" in str(rejected.value.body)
