"""Services: virtual → host; the host's ClusterIP and load-balancer status flow back."""

from typing import Any

from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import (
    NAMESPACE_LABEL,
    host_metadata,
    translate_labels,
)

KIND = "Service"
_SPEC_FIELDS = (
    "type",
    "ports",
    "sessionAffinity",
    "sessionAffinityConfig",
    "externalTrafficPolicy",
    "internalTrafficPolicy",
    "ipFamilies",
    "ipFamilyPolicy",
    "publishNotReadyAddresses",
    "loadBalancerSourceRanges",
    "allocateLoadBalancerNodePorts",
    "loadBalancerClass",
)


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    """The host Service. Its selector keeps to the virtual namespace's pods; its ClusterIP is
    left to the host, and the virtual Service then takes it."""
    spec: dict[str, Any] = virtual.get("spec") or {}
    host_spec = {key: spec[key] for key in _SPEC_FIELDS if key in spec}
    namespace = virtual["metadata"]["namespace"]
    if spec.get("clusterIP") == "None":
        host_spec["clusterIP"] = "None"  # headless stays headless
    if spec.get("selector"):
        host_spec["selector"] = {**translate_labels(spec["selector"]), NAMESPACE_LABEL: namespace}
    if host_spec.get("type") == "ExternalName" or "externalName" in spec:
        host_spec["externalName"] = spec.get("externalName", "")
    return {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "spec": host_spec,
    }


def needs_cluster_ip(virtual: Manifest, host: Manifest) -> str | None:
    """The host ClusterIP the virtual Service must take, or None when it already has it.
    ClusterIP is immutable, so a mismatch means re-creating the virtual Service."""
    wanted = (host.get("spec") or {}).get("clusterIP")
    current = (virtual.get("spec") or {}).get("clusterIP")
    if not wanted or wanted in ("None", current):
        return None
    return str(wanted)
