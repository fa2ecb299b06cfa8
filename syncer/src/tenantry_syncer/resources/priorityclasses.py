"""PriorityClasses: virtual → host. Cluster-scoped on both sides, so the twin's name is unique
per virtual cluster on the whole host (``tenantry_api.naming.cluster_host_name``); its value
is capped, so a tenant cannot outrank the host's own classes; it is never the host's global
default. The virtual API server's built-in ``system-`` classes are not copied: a virtual pod
naming one runs without a host class, as if it named none."""

from tenantry_api.naming import cluster_host_labels, cluster_host_name, host_annotations
from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import ref_of, translate_labels

KIND = "PriorityClass"
API_VERSION = "scheduling.k8s.io/v1"
SYSTEM_PREFIX = "system-"


def synced(name: str) -> bool:
    return not name.startswith(SYSTEM_PREFIX)


def pod_class(name: str | None, vcluster: str, host_namespace: str) -> str | None:
    """The host PriorityClass of a pod whose virtual one is ``name``."""
    if not name or not synced(name):
        return None
    return cluster_host_name(name, vcluster, host_namespace)


def to_host(virtual: Manifest, vcluster: str, host_namespace: str, max_value: int) -> Manifest:
    ref = ref_of(virtual, KIND, vcluster)
    meta = virtual["metadata"]
    host: Manifest = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": cluster_host_name(ref.name, vcluster, host_namespace),
            "labels": {
                **translate_labels(meta.get("labels")),
                **cluster_host_labels(ref, host_namespace),
            },
            "annotations": {**(meta.get("annotations") or {}), **host_annotations(ref)},
        },
        # Never the host's global default: the field is left out (false), as the API server
        # leaves it out of what it returns, so the compare sees no drift.
        "value": min(int(virtual.get("value", 0)), max_value),
    }
    for key in ("description", "preemptionPolicy"):
        if key in virtual:
            host[key] = virtual[key]
    return host


def needs_recreate(host: Manifest, desired: Manifest) -> bool:
    """A field the API server will not update differs (the host defaults the preemption
    policy, so it only counts when the virtual class sets one)."""
    return host.get("value") != desired.get("value") or (
        "preemptionPolicy" in desired
        and host.get("preemptionPolicy") != desired["preemptionPolicy"]
    )
