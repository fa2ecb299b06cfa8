"""A tenant's workloads as its users meet them: DNS and Services, in-cluster API clients, and
the sandbox under every pod."""

import json
import uuid
from pathlib import Path

from tenantry_local.demo_workload import (
    FETCH_WEB,
    NAMESPACE,
    PAGE,
    WEB_HOST,
    finished,
    pod_pairs,
    probe_pod,
    retrying,
    run_probe,
)

from tests.e2e.conftest import Tenant

GVISOR_KERNEL = "Linux version 4.4.0"


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_the_demo_page_comes_through_the_tenant_service(deployed: Tenant) -> None:
    assert deployed.page == PAGE
    web = [
        p
        for p in pod_pairs(deployed.tenant, deployed.host, deployed.namespace)
        if "/web-" in p.virtual
    ]
    assert len(web) == 2
    for pair in web:
        assert pair.phase == "Running"
        assert pair.node == "real-node"
        assert pair.runtime_class == deployed.outputs["runtime_class"]


def test_a_tenant_pod_resolves_a_service_through_the_tenants_own_coredns(
    deployed: Tenant,
) -> None:
    tenant = deployed.tenant
    dns = tenant.json("-n", "kube-system", "get", "service", "kube-dns")["spec"]["clusterIP"]
    web = tenant.json("-n", NAMESPACE, "get", "service", "web")["spec"]["clusterIP"]
    script = retrying(f"grep nameserver /etc/resolv.conf && nslookup {WEB_HOST} && {FETCH_WEB}")
    phase, out = run_probe(tenant, probe_pod(name("dns"), script))
    assert phase == "Succeeded", out
    # The pod asks the tenant's own CoreDNS (the virtual kube-dns Service), which answers
    # with the virtual Service's ClusterIP, and the page comes back through it.
    assert f"nameserver {dns}" in out, out
    assert f"Address: {web}" in out or f"Address 1: {web}" in out, out
    assert out.endswith(PAGE), out


def api_client(other_token: str) -> str:
    """Python listing the pods of its namespace in the virtual API with the pod's projected
    token, then with ``other_token``; the status of each is its termination message."""
    return f"""
import json, ssl, urllib.error, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
context = ssl.create_default_context(cafile=sa + "ca.crt")
url = "https://kubernetes.default.svc/api/v1/namespaces/{NAMESPACE}/pods"
out = {{}}
for who, token in (("own", open(sa + "token").read()), ("other", {other_token!r})):
    request = urllib.request.Request(url, headers={{"Authorization": "Bearer " + token}})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as r:
            out[who] = [r.status, [p["metadata"]["name"] for p in json.load(r)["items"]]]
    except urllib.error.HTTPError as e:
        out[who] = [e.code, json.load(e).get("reason", "")]
open("/dev/termination-log", "w").write(json.dumps(out))
"""


def test_a_pod_lists_its_namespace_with_its_own_token_and_a_foreign_token_is_refused(
    deployed: Tenant,
) -> None:
    tenant = deployed.tenant
    reader, other = name("reader"), name("other")
    tenant.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": n, "namespace": NAMESPACE},
            }
            for n in (reader, other)
        ]
        + [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": reader, "namespace": NAMESPACE},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": reader, "namespace": NAMESPACE},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": reader,
                },
                "subjects": [{"kind": "ServiceAccount", "name": reader, "namespace": NAMESPACE}],
            },
        ]
    )
    # A token of the tenant's API for a service account that was granted nothing.
    foreign = tenant("-n", NAMESPACE, "create", "token", other).strip()
    # The shipped syncer image, for a Python that verifies TLS as any client would.
    statefulset = deployed.host.json(
        "-n", deployed.namespace, "get", "statefulset", deployed.outputs["service"]
    )
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    image = next(c["image"] for c in containers if c["name"] == "syncer")
    client = name("client")
    pod = probe_pod(
        client, api_client(foreign), image=image, shell="python", serviceAccountName=reader
    )
    phase, out = run_probe(tenant, pod)
    assert phase == "Succeeded", out
    seen = json.loads(out)
    # Its own token lists the pods of its namespace, itself among them (the control).
    assert seen["own"][0] == 200, seen
    assert client in seen["own"][1], seen
    # The other service account's token is refused: it was granted nothing.
    assert seen["other"] == [403, "Forbidden"], seen


def test_a_synced_pod_runs_on_the_gvisor_kernel_under_the_runtime_class(deployed: Tenant) -> None:
    probe = name("kernel")
    deployed.tenant.apply([probe_pod(probe, "cat /proc/version > /dev/termination-log; sleep 5")])
    try:
        phase, version = finished(deployed.tenant, probe)
        pairs = {
            p.virtual: p for p in pod_pairs(deployed.tenant, deployed.host, deployed.namespace)
        }
    finally:
        deployed.tenant("-n", NAMESPACE, "delete", "pod", probe, "--ignore-not-found")
    assert phase == "Succeeded", version
    assert version.startswith(GVISOR_KERNEL), version
    assert pairs[f"{NAMESPACE}/{probe}"].runtime_class == deployed.outputs["runtime_class"]
    # The host's kernel is not gVisor's: the assertion above can fail.
    assert not Path("/proc/version").read_text().startswith(GVISOR_KERNEL)
