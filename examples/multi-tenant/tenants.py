"""Many tenants from one list: the platform team's whole tenancy as data."""

from typing import Any, NotRequired

import pulumi
import pulumi_kubernetes as k8s
import tenantry
from tenantry import ExposureType, VirtualCluster, VirtualNode
from typing_extensions import TypedDict


class Tenant(TypedDict):
    """One entry of the `tenants` stack config."""

    name: str
    pods: NotRequired[int]
    cpu: NotRequired[str]
    memory: NotRequired[str]
    loadBalancer: NotRequired[bool]


def tenants(
    entries: list[Tenant], provider: k8s.Provider | None, *, read_kubeconfig: bool = True
) -> dict[str, pulumi.Output[Any]]:
    """One VirtualCluster per entry, each fenced by its own TenantPolicy, all sharing one
    sandbox (VirtualNode). Returns each tenant's endpoint output, keyed by name."""
    opts = pulumi.ResourceOptions(provider=provider)
    names = [entry["name"] for entry in entries]
    if len(set(names)) != len(names):
        raise pulumi.RunError(f"tenants: names must be unique, got {names}")
    sandbox = VirtualNode("sandbox", {}, opts)
    outputs: dict[str, pulumi.Output[Any]] = {}
    for entry in entries:
        hard = {"count/pods": str(entry.get("pods", 20))}
        if "cpu" in entry:
            hard["requests.cpu"] = entry["cpu"]
        if "memory" in entry:
            hard["requests.memory"] = entry["memory"]
        load_balancer = entry.get("loadBalancer", False)
        hard["services.loadbalancers"] = "1" if load_balancer else "0"
        args: tenantry.VirtualClusterArgs = {
            "policy": {"quota": {"hard": hard}},
            "isolation": sandbox.isolation,
            "exposure": {
                "type": ExposureType.LOAD_BALANCER if load_balancer else ExposureType.CLUSTER_IP
            },
            "read_kubeconfig": read_kubeconfig,
        }
        outputs[entry["name"]] = VirtualCluster(entry["name"], args, opts).endpoint
    return outputs
