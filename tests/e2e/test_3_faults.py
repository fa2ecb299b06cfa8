"""A bad day: a 100-pod burst in the tenant, then twenty rounds of injected faults, each while
the burst changes by twenty pods. After each round nothing of the tenant's is lost, every
virtual pod has its host twin and no host pod is left without one, the tenant's running pods
were not restarted, and both sides agreed within 30 s of the faulty part being back (a killed
container comes back after the kubelet's crash-loop back-off, which is the kubelet's and
counted apart). Prints the table of rounds."""

import dataclasses
import json
import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from tenantry_api import keys
from tenantry_api.types import Manifest
from tenantry_local import containerd
from tenantry_local.demo_workload import IMAGE, NAMESPACE
from tenantry_local.kubectl import wait_until

from tests.conftest import FIGURE
from tests.e2e.conftest import Tenant, events_of
from tests.support.kube import deployment

BURST = "burst"
SIZES = (100, 80)  # the burst alternates: twenty pods go, or come back, during each fault
ROUNDS = 20
CONVERGED_WITHIN = 30.0
# Room for the burst: each pod asks for 1m CPU and 4Mi, plus the sandbox's 100m and 64Mi, and
# for next to no disk (the LimitRange's default, 3Gi, would fill the quota's 60Gi at twenty).
DISK = {"ephemeral-storage": "1Mi"}
QUOTA = {"count/pods": "150", "requests.cpu": "20", "limits.cpu": "40"}
TENANT_KINDS = "deployments,services,configmaps,serviceaccounts"
WAIT = "--request-timeout=5s"


def burst(replicas: int) -> Manifest:
    manifest = deployment(BURST, NAMESPACE, replicas)
    manifest["spec"]["template"]["spec"] = {
        # Synced, never scheduled: the node's two CPUs run the tenant, not the burst.
        "nodeSelector": {"tenantry.test/nowhere": "true"},
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "sleep",
                "image": IMAGE,
                "command": ["sleep", "3600"],
                "resources": {
                    "requests": {"cpu": "1m", "memory": "4Mi", **DISK},
                    "limits": {"cpu": "10m", "memory": "16Mi", **DISK},
                },
            }
        ],
    }
    return manifest


@dataclass(frozen=True)
class Seen:
    """One look at both sides."""

    virtual: dict[str, str]
    """Virtual pods (namespace/name → uid), none terminating."""
    terminating: int
    twins: dict[str, str]
    """Host pods of the tenant: the virtual namespace/name → uid they mirror."""
    objects: set[tuple[str, str, str]]
    """The tenant's other objects: (kind, namespace/name, uid)."""
    running: dict[str, tuple[str, int]]
    """Virtual pods that run on the node: name → (host twin's uid, restarts)."""
    control_plane_ready: bool
    """The VirtualCluster pod is there, not going away, and Ready."""

    @property
    def missing(self) -> set[str]:
        return {k for k, uid in self.virtual.items() if self.twins.get(k) != uid}

    @property
    def orphaned(self) -> set[str]:
        return {k for k, uid in self.twins.items() if self.virtual.get(k) != uid}


def look(deployed: Tenant) -> Seen | None:
    """Both sides, or None while either API does not answer."""
    try:
        # A server that is restarting may take the connection and not answer.
        pods = deployed.tenant.json("get", "pods", "-A", WAIT)["items"]
        objects = deployed.tenant.json("get", TENANT_KINDS, "-A", WAIT)["items"]
        host = deployed.host.json("-n", deployed.namespace, "get", "pods", WAIT)["items"]
    except RuntimeError:
        return None
    twins, host_by_key = {}, {}
    for p in host:
        notes = p["metadata"].get("annotations") or {}
        if keys.OBJECT_NAME in notes:
            key = f"{notes[keys.OBJECT_NAMESPACE]}/{notes[keys.OBJECT_NAME]}"
            twins[key], host_by_key[key] = notes.get(keys.OBJECT_UID, ""), p
    virtual, terminating, running = {}, 0, {}
    for p in pods:
        meta = p["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        if meta.get("deletionTimestamp"):
            terminating += 1
            twins.pop(key, None)  # going with it: neither missing nor orphaned
            continue
        virtual[key] = meta["uid"]
        twin = host_by_key.get(key)
        if twin is not None and twin["status"].get("phase") == "Running":
            restarts = sum(c["restartCount"] for c in twin["status"]["containerStatuses"])
            running[key] = (twin["metadata"]["uid"], restarts)
    return Seen(
        virtual,
        terminating,
        twins,
        {(o["kind"], f"{o['metadata'].get('namespace')}/{o['metadata']['name']}",
          o["metadata"]["uid"]) for o in objects},
        running,
        any(is_ready(p) for p in host if p["metadata"]["name"] == control_plane_name(deployed)),
    )  # fmt: skip


def control_plane_name(deployed: Tenant) -> str:
    return f"{deployed.namespace}-0"  # the StatefulSet's only pod, named after the tenant


def is_ready(pod: Manifest) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return ready and not pod["metadata"].get("deletionTimestamp")


def is_converged(seen: Seen, replicas: int) -> bool:
    """The control plane is back, both sides agree, and the burst has its size."""
    if not seen.control_plane_ready or seen.terminating or seen.missing or seen.orphaned:
        return False
    return len([k for k in seen.virtual if k.startswith(f"{NAMESPACE}/{BURST}-")]) == replicas


def converged(deployed: Tenant, replicas: int) -> Seen | None:
    seen = look(deployed)
    return seen if seen is not None and is_converged(seen, replicas) else None


# --- the faults ---


def control_plane_pod(deployed: Tenant) -> Manifest:
    return deployed.host.json("-n", deployed.namespace, "get", "pod", control_plane_name(deployed))


def container_status(deployed: Tenant, name: str) -> Manifest:
    statuses = control_plane_pod(deployed)["status"]["containerStatuses"]
    (found,) = [c for c in statuses if c["name"] == name]
    status: Manifest = found
    return status


def kill_container(deployed: Tenant, name: str) -> None:
    """SIGKILL to one container of the VirtualCluster pod, through the node's containerd; back
    once the kubelet runs it again (after its crash-loop back-off: 10 s, doubling)."""
    before = container_status(deployed, name)
    task = before["containerID"].split("//")[1]
    containerd.ctr(deployed.node.socket, "tasks", "kill", "-s", "SIGKILL", task)

    def again() -> bool:
        now = container_status(deployed, name)
        return now["restartCount"] > before["restartCount"] and "running" in now["state"]

    wait_until(again, 400, f"{name} running again")


def restart_containerd(deployed: Tenant) -> None:
    """SIGTERM to containerd, as the node agent's signal strategy sends it; its supervisor
    starts it again."""
    starts = int(deployed.node.starts_file.read_text())
    os.kill(int(deployed.node.pid_file.read_text()), signal.SIGTERM)
    wait_until(
        lambda: (
            int(deployed.node.starts_file.read_text()) > starts
            and containerd.ctr(deployed.node.socket, "version", check=False).returncode == 0
        ),
        60,
        "containerd back under its supervisor",
    )


def delete_control_plane_pod(deployed: Tenant) -> None:
    """Deleted as a node drain would: back once the old pod is gone."""
    deployed.host("-n", deployed.namespace, "delete", "pod", control_plane_name(deployed))


FAULTS: dict[str, Callable[[Tenant], None]] = {
    "syncer killed": lambda d: kill_container(d, "syncer"),
    "virtual API server restarted": lambda d: kill_container(d, "kube-apiserver"),
    "containerd restarted": restart_containerd,
    "VirtualCluster pod deleted": delete_control_plane_pod,
}
# Not in the rotation yet: "host API server restarted" (`d.cluster.restart_api_server()`).
# Its fourth round left 12 pods of a scale-up without host twins for over 90 s in two whole runs
# out of three (docs/testing.md, open).
RESTARTS_PODS = {"containerd restarted"}
"""The one fault allowed to restart the tenant's running pods."""
KEEPS_THE_APIS = {"syncer killed", "containerd restarted"}
"""Faults through which both APIs must answer at every look."""


@pytest.fixture
def room_for_the_burst(deployed: Tenant) -> Iterator[None]:
    """The tenant's quota raised for the burst, as a platform engineer raises it (config,
    `pulumi up`), and put back after."""
    deployed.stack.select({"quota": json.dumps(QUOTA)})
    deployed.stack.up()
    try:
        yield
    finally:
        deployed.tenant("-n", NAMESPACE, "delete", "deployment", BURST, "--ignore-not-found")
        wait_until(lambda: converged(deployed, 0), 120, "the burst gone on both sides")
        deployed.stack.pulumi("config", "rm", "quota", quiet=True)
        deployed.stack.up()


@dataclass
class Round:
    fault: str
    down: float
    """Seconds from the fault to the faulty part back (the kubelet's back-off included)."""
    took: float
    """Seconds from the part back to convergence; infinite when it did not come."""
    lost: int
    missing: int
    orphaned: int
    restarted: dict[str, object]
    """The tenant's running pods whose host twin was replaced or restarted: before, after."""
    unanswered: int
    """Looks at which the tenant's or the host's API did not answer."""
    why: str
    """When pods stayed without twins: the Events of one of them."""


def one_round(deployed: Tenant, fault: str, replicas: int, before: Seen) -> tuple[Round, Seen]:
    """Scale the burst and inject ``fault``, looking at both sides all along; then wait (three
    times the target at most) for them to agree. What the last look saw."""
    deployed.tenant("-n", NAMESPACE, "scale", "deployment", BURST, f"--replicas={replicas}")
    injected = time.monotonic()
    pool = ThreadPoolExecutor(1)
    injecting = pool.submit(FAULTS[fault], deployed)
    back = took = float("inf")
    last, unanswered = before, 0
    while time.monotonic() - min(back, injected + 600) < 3 * CONVERGED_WITHIN:
        if back == float("inf") and injecting.done():
            back = time.monotonic()
        seen = look(deployed)
        unanswered += seen is None
        if seen is not None:
            last = seen
            if back < float("inf") and is_converged(seen, replicas):
                took = time.monotonic() - back
                break
        time.sleep(0.5)
    injecting.result()  # the fault's own failure, if it had one
    pool.shutdown()
    restarted: dict[str, object] = {
        k: (v, last.running.get(k)) for k, v in before.running.items() if last.running.get(k) != v
    }
    if fault in RESTARTS_PODS:
        restarted = {}
    why = ""
    if took == float("inf") and last.missing:  # what the tenant was told about one of them
        namespace, name = sorted(last.missing)[0].split("/", 1)
        why = f"{name}: {events_of(deployed.tenant, name, namespace)}"
    counts = (len(before.objects - last.objects), len(last.missing), len(last.orphaned))
    return Round(fault, back - injected, took, *counts, restarted, unanswered, why), last


def table(rounds: list[Round]) -> str:
    by_fault: dict[str, list[Round]] = defaultdict(list)
    for r in rounds:
        by_fault[r.fault].append(r)
    lines = [f"{'fault':30} rounds  worst down  worst convergence  lost  orphaned"]
    for fault, rs in by_fault.items():
        down, took = max(r.down for r in rs), max(r.took for r in rs)
        lost, orphaned = sum(r.lost for r in rs), sum(r.orphaned for r in rs)
        lines.append(
            f"{fault:30} {len(rs):6}  {down:8.1f} s  {took:15.1f} s  {lost:4}  {orphaned:8}"
        )
    return "\n".join(lines)


def test_a_burst_rides_out_twenty_rounds_of_faults(
    deployed: Tenant, room_for_the_burst: None, record_property: Callable[[str, object], None]
) -> None:
    start = time.monotonic()
    deployed.tenant.apply([burst(SIZES[0])])
    first = wait_until(lambda: converged(deployed, SIZES[0]), 180, "the first burst synced")
    burst_time = time.monotonic() - start
    assert len(first.running) >= 3, first.running  # the web pods and CoreDNS
    rounds: list[Round] = []
    seen = first
    for n in range(ROUNDS):
        fault = list(FAULTS)[n % len(FAULTS)]
        result, after = one_round(deployed, fault, SIZES[(n + 1) % 2], seen)
        rounds.append(result)
        # Objects are compared with the start; running pods with the round before.
        seen = dataclasses.replace(after, objects=first.objects)
        if result.took == float("inf"):
            break
    record_property(
        FIGURE, f"burst of {SIZES[0]} pods synced in {burst_time:.1f} s\n{table(rounds)}"
    )
    for i, r in enumerate(rounds, 1):
        assert (r.lost, r.missing, r.orphaned, r.restarted) == (0, 0, 0, {}), (i, r)
        assert r.took <= CONVERGED_WITHIN, (i, r)
        if r.fault in KEEPS_THE_APIS:
            assert r.unanswered == 0, (i, r)
    assert len(rounds) == ROUNDS
    assert set(first.running) == set(seen.running), (first.running, seen.running)
