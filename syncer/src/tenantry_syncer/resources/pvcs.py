"""PersistentVolumeClaims: virtual → host; the host's binding status flows back.

The host provisions and binds the volume; the virtual cluster only ever sees the claim (its
persistent-volume binder is off), so a claim's status is the host claim's.
"""

from tenantry_api.naming import host_name
from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "PersistentVolumeClaim"
STATUS_FIELDS = ("phase", "accessModes", "capacity", "conditions", "allocatedResources")
_SPEC_FIELDS = (
    "accessModes",
    "resources",
    "storageClassName",
    "volumeMode",
    "volumeAttributesClassName",
)
# `volumeName` and `selector` name host PersistentVolumes, which a tenant must not pick.


def _data_source(source: Manifest, namespace: str, vcluster: str) -> Manifest:
    if source.get("kind") == KIND and not source.get("apiGroup"):
        return {**source, "name": host_name(source["name"], namespace, vcluster)}
    return source


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    spec: Manifest = virtual.get("spec") or {}
    namespace = virtual["metadata"]["namespace"]
    host_spec = {key: spec[key] for key in _SPEC_FIELDS if spec.get(key) is not None}
    for key in ("dataSource", "dataSourceRef"):
        if spec.get(key):
            host_spec[key] = _data_source(spec[key], namespace, vcluster)
    return {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "spec": host_spec,
    }
