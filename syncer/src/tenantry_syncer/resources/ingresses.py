"""Ingresses: virtual → host, backends and TLS Secrets renamed; load-balancer status back."""

import copy

from tenantry_api.naming import host_name
from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "Ingress"
API_VERSION = "networking.k8s.io/v1"
STATUS_FIELDS = ("loadBalancer",)


def _backend(backend: Manifest, namespace: str, vcluster: str) -> None:
    # A Service backend and a resource backend both name an object of the Ingress's namespace.
    for ref in (backend.get("service"), backend.get("resource")):
        if ref and ref.get("name"):
            ref["name"] = host_name(ref["name"], namespace, vcluster)


def tls_secrets(virtual: Manifest) -> set[str]:
    """The Secrets an Ingress serves TLS with: synced like a pod's Secrets."""
    tls = (virtual.get("spec") or {}).get("tls") or []
    return {t["secretName"] for t in tls if t.get("secretName")}


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    namespace = virtual["metadata"]["namespace"]
    spec: Manifest = copy.deepcopy(virtual.get("spec") or {})
    if spec.get("defaultBackend"):
        _backend(spec["defaultBackend"], namespace, vcluster)
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            _backend(path.get("backend") or {}, namespace, vcluster)
    for tls in spec.get("tls") or []:
        if tls.get("secretName"):
            tls["secretName"] = host_name(tls["secretName"], namespace, vcluster)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "spec": spec,
    }
