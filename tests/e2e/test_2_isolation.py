"""What the tenant cannot do, each beside its control: the same step without Tenantry, which
succeeds, so every refusal here is shown to be Tenantry's."""

import json
import secrets
import subprocess
from decimal import Decimal
from pathlib import Path

from tenantry.validation import quantity
from tenantry_api.keys import OBJECT_NAME
from tenantry_api.types import Manifest
from tenantry_local.demo_workload import IMAGE, NAMESPACE, finished, probe_pod
from tenantry_local.kubectl import Kubectl, wait_until
from tenantry_local.node import NODE_LABEL

from tests.e2e.conftest import Tenant
from tests.e2e.test_1_workloads import GVISOR_KERNEL


def escape_script(host_file: Path, host_pid: int) -> str:
    """vNode's demo: privileged and hostPID, enter PID 1's namespaces. On this VM even host
    root may not open /proc/1/ns/*, so the entering is also tried on a host process."""
    return (
        "exec > /dev/termination-log 2>&1; cat /proc/version; cat /proc/1/cmdline; echo; "
        f"nsenter -t 1 -m -u -i -n -p -- cat {host_file}; echo; "
        f"nsenter -t {host_pid} -m -u -i -n -p -- cat {host_file}; echo; echo end"
    )


def escape_pod(name: str, script: str, namespace: str) -> Manifest:
    pod = probe_pod(name, script, hostPID=True)
    pod["metadata"]["namespace"] = namespace
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    return pod


def test_vnodes_escape_pod_stays_in_its_sandbox(deployed: Tenant, plain_namespace: str) -> None:
    secret = secrets.token_hex(16)
    host_file = deployed.cluster.root / "host-only"
    host_file.write_text(secret)
    host_process = subprocess.Popen(["sleep", "600"])
    script = escape_script(host_file, host_process.pid)
    try:
        # The control: the same spec in a plain host namespace, under runc on the real node.
        control_pod = escape_pod("escape", script, plain_namespace)
        control_pod["spec"]["nodeSelector"] = {NODE_LABEL: "real"}
        deployed.host.apply([control_pod])
        _, control = finished(deployed.host, "escape", 120, plain_namespace)
        # The tenant's: created through the tenant kubeconfig, synced to the host.
        tenant_pod = escape_pod("escape", script, NAMESPACE)
        deployed.tenant.apply([tenant_pod])
        phase, sandboxed = finished(deployed.tenant, "escape")
        host_twin = deployed.host_twins("escape")
    finally:
        host_process.kill()
        host_process.wait()
        deployed.tenant("-n", NAMESPACE, "delete", "pod", "escape", "--ignore-not-found")
    host_init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()

    # Without Tenantry the pod reaches the host: its PID 1, and a host process's namespaces.
    assert host_init in control, control
    assert secret in control, control
    assert not control.startswith(GVISOR_KERNEL), control

    # In the tenant the same spec is admitted, synced and run under the sandbox...
    (twin,) = host_twin
    assert twin["spec"]["hostPID"] is True
    assert twin["spec"]["runtimeClassName"] == deployed.outputs["runtime_class"]
    assert phase == "Succeeded", sandboxed
    # ...where it sees exactly this: the Sentry's kernel, its own pause process as PID 1,
    # gVisor refusing to enter PID 1's namespaces, and nothing of the host.
    lines = sandboxed.splitlines()
    assert lines[0].startswith(GVISOR_KERNEL), sandboxed
    assert lines[1].rstrip("\0") == "/pause", sandboxed  # cmdline ends in a NUL
    assert "nsenter: setns(): can't reassociate to namespace 'pid': Invalid argument" in lines
    assert host_init not in sandboxed, sandboxed
    assert secret not in sandboxed, sandboxed
    assert lines[-1] == "end", sandboxed


def greedy(namespace: str) -> Manifest:
    """Three replicas of 8Gi each: the tenant's quota (requests.memory 20Gi) admits two."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "greedy", "namespace": namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "greedy"}},
            "template": {
                "metadata": {"labels": {"app": "greedy"}},
                "spec": {
                    # Never scheduled: only admission is under test, not the node's memory.
                    "nodeSelector": {"tenantry.test/nowhere": "true"},
                    "containers": [
                        {
                            "name": "sleep",
                            "image": IMAGE,
                            "command": ["sleep", "3600"],
                            "resources": {
                                "requests": {"memory": "8Gi"},
                                "limits": {"memory": "8Gi"},
                            },
                        }
                    ],
                },
            },
        },
    }


def pod_memory_request(pod: Manifest) -> Decimal:
    """As the quota's pod evaluator counts it: the containers' sum or the largest init container,
    plus the RuntimeClass overhead."""

    def request(container: Manifest) -> Decimal:
        text = ((container.get("resources") or {}).get("requests") or {}).get("memory", "0")
        return quantity("requests.memory", text)

    spec = pod["spec"]
    running = sum((request(c) for c in spec["containers"]), Decimal(0))
    overhead = quantity("overhead.memory", (spec.get("overhead") or {}).get("memory", "0"))
    return max([running, *(request(c) for c in spec.get("initContainers") or [])]) + overhead


def quota_settled(host: Kubectl, namespace: str) -> bool:
    """No pod is going away and the quota's memory usage matches the pods that are there.

    Kubernetes' quota controller recounts usage from its pod informer after every pod deletion;
    a recount that lags the creates it races writes a lower usage and lets a pod past the quota
    (kubernetes/kubernetes#123434). Starting from a settled quota keeps that race out of the test.
    """
    pods = host.json("-n", namespace, "get", "pods")["items"]
    if any(p["metadata"].get("deletionTimestamp") for p in pods):
        return False
    live = [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
    expected = sum((pod_memory_request(p) for p in live), Decimal(0))
    quotas = host.json("-n", namespace, "get", "resourcequotas")["items"]
    used = [(q.get("status", {}).get("used") or {}).get("requests.memory") for q in quotas]
    return bool(used) and all(u is not None and quantity("used", u) == expected for u in used)


def test_pods_over_the_quota_are_refused_and_the_tenant_is_told_why(
    deployed: Tenant, plain_namespace: str
) -> None:
    # The control: without Tenantry's quota all three pods are created on the host.
    deployed.host.apply([greedy(plain_namespace)])
    wait_until(
        lambda: len(deployed.host.json("-n", plain_namespace, "get", "pods")["items"]) == 3,
        60,
        "three greedy pods in the plain namespace",
    )
    wait_until(
        lambda: quota_settled(deployed.host, deployed.namespace),
        120,
        "the tenant namespace's quota counting exactly the pods that are there",
    )
    tenant = deployed.tenant
    tenant.apply([greedy(NAMESPACE)])
    try:

        def refused() -> list[Manifest] | None:
            events = tenant.json("-n", NAMESPACE, "get", "events")["items"]
            found = [e for e in events if "exceeded quota" in e.get("message", "")]
            return found or None

        events = wait_until(refused, 120, "a virtual Event saying the quota refused a pod")
        synced = [
            p
            for p in deployed.host.json("-n", deployed.namespace, "get", "pods")["items"]
            if (p["metadata"].get("annotations") or {}).get(OBJECT_NAME, "").startswith("greedy-")
        ]
        virtual = tenant.json("-n", NAMESPACE, "get", "pods", "-l", "app=greedy")["items"]
        quotas = deployed.host.json("-n", deployed.namespace, "get", "resourcequotas")["items"]
    finally:
        tenant("-n", NAMESPACE, "delete", "deployment", "greedy", "--ignore-not-found")
    # The tenant sees three pods, the Event names the quota, and the host admitted two.
    assert len(virtual) == 3
    assert any("requests.memory" in e["message"] for e in events), events
    assert {e["involvedObject"]["kind"] for e in events} == {"Pod"}
    names = [p["metadata"]["name"] for p in synced]
    status = [q["status"] for q in quotas]
    assert len(synced) == 2, json.dumps({"host pods": names, "quotas": status})
