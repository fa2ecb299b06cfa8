"""Endpoints and EndpointSlices of selector-less Services: virtual → host.

A Service with a selector gets its endpoints from the host's own controllers (the host
Service selects the host pods); one without a selector has endpoints the tenant writes, and
only those are copied, pod references renamed to the host twins.
"""

import copy

from tenantry_api.naming import host_name
from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "Endpoints"
SLICE_KIND = "EndpointSlice"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SYNCER_MANAGER = "syncer.tenantry.dev"
CONTROLLER_MANAGERS = frozenset(
    {"endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io"}
)
"""Slices the virtual cluster's own controllers write: the host's controllers write theirs."""


def is_selectorless(service: Manifest | None) -> bool:
    spec = (service or {}).get("spec") or {}
    return service is not None and not spec.get("selector") and spec.get("type") != "ExternalName"


def is_tenant_slice(virtual_slice: Manifest) -> bool:
    labels = virtual_slice["metadata"].get("labels") or {}
    return SERVICE_NAME_LABEL in labels and labels.get(MANAGED_BY_LABEL) not in CONTROLLER_MANAGERS


def _rename_pod_refs(
    addresses: list[Manifest], namespace: str, vcluster: str, host_namespace: str
) -> None:
    """Points the pod ``targetRef`` of each address (or endpoint) at the pod's host twin."""
    for address in addresses:
        ref = address.get("targetRef") or {}
        if ref.get("kind") == "Pod" and ref.get("name"):
            name = host_name(ref["name"], ref.get("namespace") or namespace, vcluster)
            address["targetRef"] = {"kind": "Pod", "name": name, "namespace": host_namespace}


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    """Host Endpoints, named after the host Service (as Endpoints must be)."""
    namespace = virtual["metadata"]["namespace"]
    subsets = copy.deepcopy(virtual.get("subsets") or [])
    for subset in subsets:
        for list_name in ("addresses", "notReadyAddresses"):
            _rename_pod_refs(subset.get(list_name) or [], namespace, vcluster, host_namespace)
    host: Manifest = {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
    }
    if subsets:
        host["subsets"] = subsets
    return host


def slice_to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    """Host EndpointSlice, labelled with the host Service's name."""
    namespace = virtual["metadata"]["namespace"]
    metadata = host_metadata(virtual, SLICE_KIND, vcluster, host_namespace)
    service = (virtual["metadata"].get("labels") or {})[SERVICE_NAME_LABEL]
    metadata["labels"][SERVICE_NAME_LABEL] = host_name(service, namespace, vcluster)
    metadata["labels"][MANAGED_BY_LABEL] = SYNCER_MANAGER
    found = copy.deepcopy(virtual.get("endpoints") or [])
    for endpoint in found:
        endpoint.pop("nodeName", None)  # virtual node names mean nothing to the host
    _rename_pod_refs(found, namespace, vcluster, host_namespace)
    host: Manifest = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": SLICE_KIND,
        "metadata": metadata,
        "addressType": virtual["addressType"],
        "endpoints": found,
    }
    if "ports" in virtual:
        host["ports"] = virtual["ports"]
    return host
