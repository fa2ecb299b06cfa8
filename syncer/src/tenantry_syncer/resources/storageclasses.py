"""StorageClasses: host → virtual, read-only copies under the same name, so tenants see which
classes their claims can use (a host claim keeps the virtual claim's class name). The copies
are marked as ours; a class the tenant made itself is never touched."""

from tenantry_api import keys
from tenantry_api.types import Manifest

KIND = "StorageClass"
API_VERSION = "storage.k8s.io/v1"
_FIELDS = (
    "provisioner",
    "parameters",
    "reclaimPolicy",
    "volumeBindingMode",
    "allowVolumeExpansion",
    "mountOptions",
    "allowedTopologies",
)
IMMUTABLE = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def is_ours(virtual: Manifest) -> bool:
    labels = virtual["metadata"].get("labels") or {}
    return labels.get(keys.MANAGED_BY) == keys.MANAGED_BY_VALUE


def to_virtual(host: Manifest) -> Manifest:
    meta = host["metadata"]
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k in (DEFAULT_CLASS, "description")
    }
    body: Manifest = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": meta["name"],
            "labels": {**(meta.get("labels") or {}), keys.MANAGED_BY: keys.MANAGED_BY_VALUE},
            "annotations": annotations,
        },
    }
    body.update({k: host[k] for k in _FIELDS if host.get(k) is not None})
    return body


def needs_recreate(current: Manifest, desired: Manifest) -> bool:
    """Fields the API server will not update changed: the copy is made again."""
    return any(current.get(k) != desired.get(k) for k in IMMUTABLE)


def differs(current: Manifest, desired: Manifest) -> bool:
    """The copy no longer says what the host class says: a field changed, was added by the
    tenant, or a label or annotation of ours is missing."""
    meta, wanted = current["metadata"], desired["metadata"]
    return any(current.get(k) != desired.get(k) for k in _FIELDS) or not all(
        (meta.get(part) or {}).items() >= (wanted.get(part) or {}).items()
        for part in ("labels", "annotations")
    )


def replacement(current: Manifest, desired: Manifest) -> Manifest:
    """The replace body: ``desired`` under the copy's identity, without fields it dropped."""
    kept = {k: v for k, v in current.items() if k not in _FIELDS and k != "metadata"}
    meta = {**current["metadata"], **{k: desired["metadata"][k] for k in ("labels", "annotations")}}
    return {**kept, **desired, "metadata": meta}
