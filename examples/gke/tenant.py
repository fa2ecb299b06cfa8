"""The tenant part of the GKE example: a function of a kubernetes Provider."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import tenantry
from tenantry import CloudPreset, ExposureType, VirtualCluster, VirtualNode

# A backend-service-based external passthrough Network Load Balancer: TCP straight to the
# virtual API server, which terminates TLS itself. For a VPC-internal endpoint use
# `networking.gke.io/load-balancer-type: Internal` instead.
LB_ANNOTATIONS = {"cloud.google.com/l4-rbs": "enabled"}
# Persistent Disk (pd-balanced) through the Compute Engine PD CSI driver, GKE's default class.
STORAGE_CLASS = "standard-rwo"


def tenant(
    name: str,
    provider: k8s.Provider | None,
    *,
    preset: CloudPreset = CloudPreset.GKE,
    exposure: ExposureType = ExposureType.LOAD_BALANCER,
    storage_class: str | None = STORAGE_CLASS,
    read_kubeconfig: bool = True,
) -> dict[str, pulumi.Output[Any]]:
    """A virtual cluster for tenant ``name`` whose pods all run in GKE Sandbox (gVisor)."""
    opts = pulumi.ResourceOptions(provider=provider)
    # The gke preset uses GKE's own gvisor handler and schedules onto the sandbox node pool
    # (label and taint sandbox.gke.io/runtime=gvisor); GKE runs no Tenantry agent.
    sandbox = VirtualNode(f"{name}-sandbox", {"preset": preset}, opts)
    cluster_args: tenantry.VirtualClusterArgs = {
        "policy": {"quota": {"hard": {"count/pods": "50", "services.loadbalancers": "1"}}},
        "exposure": {"type": exposure},
        "read_kubeconfig": read_kubeconfig,
        "isolation": sandbox.isolation,
    }
    if exposure is ExposureType.LOAD_BALANCER:
        cluster_args["exposure"]["annotations"] = LB_ANNOTATIONS
    if storage_class:
        cluster_args["store"] = {"storage_class": storage_class}
    vcluster = VirtualCluster(name, cluster_args, opts)
    return {
        "namespace": vcluster.namespace,
        "endpoint": vcluster.endpoint,
        "kubeconfig": vcluster.kubeconfig,
        "runtime_class": sandbox.runtime_class_name,
    }
