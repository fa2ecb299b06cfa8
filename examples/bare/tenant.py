"""The tenant part of the bare example: a function of a kubernetes Provider."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import tenantry
from tenantry import ExposureType, RuntimeBackend, VirtualCluster, VirtualNode


def tenant(
    name: str,
    provider: k8s.Provider | None,
    *,
    backend: RuntimeBackend = RuntimeBackend.GVISOR,
    storage_class: str | None = None,
    read_kubeconfig: bool = True,
) -> dict[str, pulumi.Output[Any]]:
    """A sandboxed virtual cluster for tenant ``name``. The bare preset deploys the Tenantry node
    agent, which installs ``backend`` into containerd on every Linux node and labels the node
    ready; the RuntimeClass schedules only onto ready nodes. ``read_kubeconfig`` false suits
    clusters whose pods only pretend to run (kwok)."""
    opts = pulumi.ResourceOptions(provider=provider)
    sandbox = VirtualNode(
        f"{name}-sandbox", {"preset": tenantry.CloudPreset.BARE, "backend": backend}, opts
    )
    cluster_args: tenantry.VirtualClusterArgs = {
        "policy": {"quota": {"hard": {"count/pods": "50"}}},
        # ClusterIP: reach it with `kubectl port-forward`, or pick NodePort/Ingress exposure.
        "exposure": {"type": ExposureType.CLUSTER_IP},
        "isolation": sandbox.isolation,
        "read_kubeconfig": read_kubeconfig,
    }
    if storage_class:
        cluster_args["store"] = {"storage_class": storage_class}
    vcluster = VirtualCluster(name, cluster_args, opts)
    return {
        "namespace": vcluster.namespace,
        "endpoint": vcluster.endpoint,
        "kubeconfig": vcluster.kubeconfig,
        "kubeconfig_secret": vcluster.kubeconfig_secret_name,
        "runtime_class": sandbox.runtime_class_name,
    }
