"""A privileged tenant's escapes, vNode's use case: the tenant at Pod Security `privileged`, its
pods under the sandbox. Each attempt is made by pods created through the tenant kubeconfig, and
beside each is its control, the same pod under runc in a plain host namespace, which gets out.
The attempts themselves are in escape_attempts.py, run by the syncer image's Python."""

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tenantry_api.types import Manifest
from tenantry_local.demo_workload import NAMESPACE, finished, probe_pod
from tenantry_local.kubectl import wait_until
from tenantry_local.node import NODE_LABEL

from tests.e2e.conftest import Tenant, events_of
from tests.support.localnode import HTTPS_ANSWER

SCRIPT = (Path(__file__).parent / "escape_attempts.py").read_text()
THROUGH_HOST_PATHS = ("host-file", "containerd-socket")
FROM_INSIDE = ("kubelet-port", "pid-1", "kernel-module", "block-device")


@dataclass(frozen=True)
class Target:
    """What on the host the pods try to reach."""

    secret: str
    secret_dir: Path
    containerd_dir: Path
    socket: str
    node_ip: str
    device: str
    image: str


def root_device() -> str:
    """The block device the machine's root filesystem is mounted from."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        device, mount_point = line.split()[:2]
        if mount_point == "/":
            return device
    raise AssertionError("no root filesystem in /proc/self/mounts")


@pytest.fixture
def target(deployed: Tenant) -> Iterator[Target]:
    secret_dir = deployed.cluster.root / f"host-only-{secrets.token_hex(3)}"
    secret_dir.mkdir()
    secret = secrets.token_hex(16)
    (secret_dir / "secret").write_text(secret)
    try:
        yield Target(
            secret,
            secret_dir,
            deployed.node.containerd_dir,
            deployed.node.socket.name,
            deployed.node.net.node_ip,
            root_device(),
            deployed.syncer_image(),
        )
    finally:
        shutil.rmtree(secret_dir)


def hostile(name: str, namespace: str, target: Target, attempts: tuple[str, ...]) -> Manifest:
    """Privileged, the host's PID namespace and network, root; the host's paths when asked."""
    pod = probe_pod(name, "", image=target.image, hostPID=True, hostNetwork=True)
    pod["metadata"]["namespace"] = namespace
    container = pod["spec"]["containers"][0]
    container["command"] = [
        "python", "-c", SCRIPT, target.node_ip, target.device, target.socket, *attempts
    ]  # fmt: skip
    container["securityContext"] = {"privileged": True, "runAsUser": 0}
    volumes: dict[str, Manifest] = {"work": {"emptyDir": {}}}
    if attempts == THROUGH_HOST_PATHS:
        volumes["host"] = {"hostPath": {"path": str(target.secret_dir), "type": "Directory"}}
        volumes["containerd"] = {
            "hostPath": {"path": str(target.containerd_dir), "type": "Directory"}
        }
    pod["spec"]["volumes"] = [{"name": n, **source} for n, source in volumes.items()]
    container["volumeMounts"] = [{"name": n, "mountPath": f"/{n}"} for n in volumes]
    return pod


def seen(message: str) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(message)
    return parsed


def control(deployed: Tenant, namespace: str, pod: Manifest) -> dict[str, str]:
    """``pod`` under runc in the plain host namespace, on the real node: what it saw."""
    pod["spec"]["nodeSelector"] = {NODE_LABEL: "real"}
    deployed.host.apply([pod])
    name = pod["metadata"]["name"]
    try:
        phase, message = finished(deployed.host, name, namespace=namespace)
    finally:
        deployed.host("-n", namespace, "delete", "pod", name, "--ignore-not-found")
    assert phase == "Succeeded", message
    return seen(message)


def test_escapes_through_host_paths_are_refused_before_the_host(
    deployed: Tenant, plain_namespace: str, target: Target
) -> None:
    """A host-only file and the node's containerd socket, through hostPath volumes."""
    outside = control(
        deployed, plain_namespace, hostile("paths", plain_namespace, target, THROUGH_HOST_PATHS)
    )
    assert outside == {"host-file": f"ok {target.secret}", "containerd-socket": "ok connected"}

    deployed.tenant.apply([hostile("paths", NAMESPACE, target, THROUGH_HOST_PATHS)])
    try:
        events = wait_until(
            lambda: events_of(deployed.tenant, "paths").get("PodSecurity"),
            120,
            "the syncer's PodSecurity Event on the pod",
        )
        pod = deployed.tenant.json("-n", NAMESPACE, "get", "pod", "paths")
        twins = deployed.host_twins("paths")
    finally:
        deployed.tenant("-n", NAMESPACE, "delete", "pod", "paths", "--ignore-not-found")
    # Refused by the syncer, never sent to the host: the quickstart keeps the hostPath rewrite
    # off, so the tenant hears why and the pod waits, unscheduled.
    for i in (1, 2):  # volumes[0] is the emptyDir
        assert f"spec.volumes[{i}].hostPath: hostPath volumes are not allowed" in events, events
    assert "its sandbox rewrite is off (sandbox_rewrites.host_path)" in events, events
    assert twins == []
    assert pod["status"].get("phase") == "Pending", pod
    assert not pod["spec"].get("nodeName"), pod


def test_escapes_from_inside_a_privileged_pod_stay_in_the_sandbox(
    deployed: Tenant, plain_namespace: str, target: Target
) -> None:
    """The kubelet's port, host PID 1, a kernel module, the host's block device."""
    outside = control(deployed, plain_namespace, hostile("inside", plain_namespace, target,
                                                         FROM_INSIDE))  # fmt: skip
    host_init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()
    assert outside["kubelet-port"] == f"ok {HTTPS_ANSWER}.", outside
    assert outside["pid-1"] == f"ok {host_init}", outside
    # This machine's kernel has no module loader (no /proc/modules): the host kernel itself
    # answers ENOSYS, so here the control cannot get further. A modular kernel parses the
    # bogus module, past the capability check, and says ENOEXEC.
    loader = Path("/proc/modules").exists()
    assert outside["kernel-module"].startswith("OSError ENOEXEC" if loader else "OSError ENOSYS")
    host_root = {e for e in os.listdir("/") if not os.path.ismount(f"/{e}")}
    assert outside["block-device"].startswith("ok "), outside
    assert host_root <= set(outside["block-device"].split()[1:]), outside

    deployed.tenant.apply([hostile("inside", NAMESPACE, target, FROM_INSIDE)])
    try:
        phase, message = finished(deployed.tenant, "inside")
        events = events_of(deployed.tenant, "inside")
        (twin,) = deployed.host_twins("inside")
    finally:
        deployed.tenant("-n", NAMESPACE, "delete", "pod", "inside", "--ignore-not-found")
    inside = seen(message)
    # Synced under the sandbox: privileged and hostPID are the sandbox's to grant, the host's
    # network is swapped for the pod's own, and the tenant is told both.
    assert phase == "Succeeded", message
    assert twin["spec"]["runtimeClassName"] == deployed.outputs["runtime_class"]
    assert twin["spec"]["hostPID"] is True, twin["spec"]
    assert not twin["spec"].get("hostNetwork"), twin["spec"]
    assert "spec.hostNetwork" in events.get("SandboxRewrite", ""), events
    assert "privileged" in events.get("SandboxExemption", ""), events
    # The kubelet is on a private address: the tenant's egress policy refuses it.
    assert inside["kubelet-port"].startswith(("ConnectionRefusedError", "TimeoutError")), inside
    # PID 1 is the sandbox's own pause process, not the host's init.
    assert inside["pid-1"] == "ok /pause", inside
    # The Sentry has no module loader and no host devices.
    assert not inside["kernel-module"].startswith(("ok", "OSError ENOEXEC")), inside
    assert inside["block-device"] == "OSError ENODEV: No such device", inside
