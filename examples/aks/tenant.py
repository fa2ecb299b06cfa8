"""The tenant part of the AKS example: a function of a kubernetes Provider."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import tenantry
from tenantry import CloudPreset, ExposureType, VirtualCluster, VirtualNode

# Azure Disk (Premium/Standard SSD, LRS) through the Azure Disk CSI driver: AKS's default class.
STORAGE_CLASS = "managed-csi"
KATA_POOL = "kata"


def lb_annotations(name: str) -> dict[str, str]:
    """A public Azure load balancer whose address gets the DNS name
    <name>.<region>.cloudapp.azure.com. For a VNet-internal endpoint add
    `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`."""
    return {"service.beta.kubernetes.io/azure-dns-label-name": name}


def tenant(
    name: str,
    provider: k8s.Provider | None,
    *,
    preset: CloudPreset = CloudPreset.AKS,
    kata_pool: str | None = KATA_POOL,
    exposure: ExposureType = ExposureType.LOAD_BALANCER,
    storage_class: str | None = STORAGE_CLASS,
    read_kubeconfig: bool = True,
) -> dict[str, pulumi.Output[Any]]:
    """A virtual cluster for tenant ``name`` whose pods all run in Kata VMs (AKS Pod
    Sandboxing)."""
    opts = pulumi.ResourceOptions(provider=provider)
    node_args: tenantry.VirtualNodeArgs = {"preset": preset}
    if kata_pool:
        # Only the KataVmIsolation pool has the kata handler: keep the tenant's pods there.
        node_args["node_selector"] = {"kubernetes.azure.com/agentpool": kata_pool}
    sandbox = VirtualNode(f"{name}-sandbox", node_args, opts)
    cluster_args: tenantry.VirtualClusterArgs = {
        "policy": {"quota": {"hard": {"count/pods": "50", "services.loadbalancers": "1"}}},
        "exposure": {"type": exposure},
        "read_kubeconfig": read_kubeconfig,
        "isolation": sandbox.isolation,
    }
    if exposure is ExposureType.LOAD_BALANCER:
        cluster_args["exposure"]["annotations"] = lb_annotations(name)
    if storage_class:
        cluster_args["store"] = {"storage_class": storage_class}
    vcluster = VirtualCluster(name, cluster_args, opts)
    return {
        "namespace": vcluster.namespace,
        "endpoint": vcluster.endpoint,
        "kubeconfig": vcluster.kubeconfig,
        "runtime_class": sandbox.runtime_class_name,
    }
