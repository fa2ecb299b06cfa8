"""Virtual nodes: one per host node that runs a synced pod (or, with ``mirror_nodes``, one per
host node). By default a virtual node only names its host node and reports Ready, so the
tenant learns nothing about the host's machines; mirrored, it copies the host node's labels
and status. Taints are never copied: the virtual taint-eviction controller would act on them."""

from tenantry_api import keys
from tenantry_api.types import Manifest

KIND = "Node"
FAKE_CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
_MIRRORED_STATUS = ("capacity", "allocatable", "conditions", "addresses", "nodeInfo")


def is_ours(virtual_node: Manifest) -> bool:
    labels = virtual_node["metadata"].get("labels") or {}
    return labels.get(keys.MANAGED_BY) == keys.MANAGED_BY_VALUE


def to_virtual(name: str, host_node: Manifest | None, now: str) -> Manifest:
    """The virtual node for host node ``name``; ``host_node`` is given when mirroring."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "tenantry-virtual-node",
    }
    if host_node is not None:
        labels = dict(host_node["metadata"].get("labels") or {})
        status = {k: v for k, v in (host_node.get("status") or {}).items() if k in _MIRRORED_STATUS}
    else:
        status = {
            "capacity": FAKE_CAPACITY,
            "allocatable": FAKE_CAPACITY,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "TenantryVirtualNode",
                    "message": "a host node runs this tenant's pods",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
        }
    labels[keys.MANAGED_BY] = keys.MANAGED_BY_VALUE
    return {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": {"name": name, "labels": labels},
        "status": status,
    }


def status_differs(current: Manifest, desired: Manifest) -> bool:
    """Heartbeat times aside, does the virtual node's status need writing?"""

    def stable(status: Manifest) -> Manifest:
        conditions = [
            {k: v for k, v in c.items() if not k.endswith("Time")}
            for c in status.get("conditions") or []
        ]
        return {**status, "conditions": conditions}

    current_status = {
        k: v for k, v in (current.get("status") or {}).items() if k in desired["status"]
    }
    return stable(current_status) != stable(desired["status"])
