"""PodDisruptionBudgets: virtual → host, selector translated to the host pods' labels.

Status stays the virtual disruption controller's: it counts the virtual pods, whose status is
the host pods'."""

from tenantry_api.types import Manifest

from tenantry_syncer.resources import selectors
from tenantry_syncer.resources.meta import host_metadata

KIND = "PodDisruptionBudget"
API_VERSION = "policy/v1"
_SPEC_FIELDS = ("minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy")


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    spec: Manifest = virtual.get("spec") or {}
    namespace = virtual["metadata"]["namespace"]
    host_spec = {k: spec[k] for k in _SPEC_FIELDS if spec.get(k) is not None}
    if spec.get("selector") is not None:
        # A null selector selects nothing and stays null; {} selects the namespace's pods.
        host_spec["selector"] = selectors.host_pods(spec["selector"], vcluster, [namespace])
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "spec": host_spec,
    }
