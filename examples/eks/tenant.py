"""The tenant part of the EKS example: a function of a kubernetes Provider, so the same tenant
can be deployed onto the EKS cluster this program creates or onto any other cluster."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import tenantry
from tenantry import CloudPreset, Compute, ExposureType, VirtualCluster, VirtualNode

# NLB in front of the virtual API server: it passes TLS through to the API server, which serves
# its own certificate. With the AWS Load Balancer Controller installed, use
# `aws-load-balancer-type: external` and `aws-load-balancer-nlb-target-type: ip` instead.
NLB_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
# EBS through the EBS CSI driver; every EKS cluster has the gp2 class, but since EKS 1.30 it is
# no longer the default StorageClass, so the control plane's store names it explicitly.
STORAGE_CLASS = "gp2"


def tenant(
    name: str,
    provider: k8s.Provider | None,
    *,
    registry: str | None = None,
    preset: CloudPreset = CloudPreset.EKS,
    compute: Compute = Compute.NODES,
    exposure: ExposureType = ExposureType.LOAD_BALANCER,
    storage_class: str | None = STORAGE_CLASS,
    read_kubeconfig: bool = True,
) -> dict[str, pulumi.Output[Any]]:
    """A sandboxed virtual cluster for tenant ``name`` on the cluster behind ``provider``.
    ``registry`` is where Tenantry's images are mirrored (default: ghcr.io)."""
    opts = pulumi.ResourceOptions(provider=provider)
    version = tenantry.__version__
    node_args: tenantry.VirtualNodeArgs = {"preset": preset, "compute": compute}
    cluster_args: tenantry.VirtualClusterArgs = {
        "policy": {"quota": {"hard": {"count/pods": "50", "services.loadbalancers": "1"}}},
        "exposure": {"type": exposure},
        "read_kubeconfig": read_kubeconfig,
    }
    if exposure is ExposureType.LOAD_BALANCER:
        cluster_args["exposure"]["annotations"] = NLB_ANNOTATIONS
    if storage_class:
        cluster_args["store"] = {"storage_class": storage_class}
    if registry:
        node_args["agent"] = {"image": f"{registry}/tenantry/node-agent:{version}"}
        cluster_args["images"] = {"syncer": f"{registry}/tenantry/syncer:{version}"}
    sandbox = VirtualNode(f"{name}-sandbox", node_args, opts)
    cluster_args["isolation"] = sandbox.isolation
    vcluster = VirtualCluster(name, cluster_args, opts)
    return {
        "namespace": vcluster.namespace,
        "endpoint": vcluster.endpoint,
        "kubeconfig": vcluster.kubeconfig,
        "runtime_class": sandbox.runtime_class_name,
    }
