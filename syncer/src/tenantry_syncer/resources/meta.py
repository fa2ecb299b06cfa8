"""Metadata translation shared by every kind: names, labels, annotations.

Host names come from `tenantry_api.naming` (the one place naming exists); this module only
decides which labels and annotations a host object carries.
"""

import hashlib
from collections.abc import Mapping

from tenantry_api import keys
from tenantry_api.naming import VirtualRef, host_annotations, host_labels, host_name
from tenantry_api.types import Manifest

NAMESPACE_LABEL = f"{keys.PREFIX}/object-namespace"
"""Host label with the virtual namespace, so host selectors stay inside one virtual namespace."""

_RESERVED_PREFIXES = (f"{keys.PREFIX}/", f"{keys.REWRITTEN_LABEL_PREFIX}/")
_RESERVED_KEYS = (keys.MANAGED_BY, NAMESPACE_LABEL)


def is_reserved_label(key: str) -> bool:
    """Keys the syncer itself sets on host objects; a tenant's own value must not clash."""
    return key in _RESERVED_KEYS or key.startswith(_RESERVED_PREFIXES)


def rewritten_label_key(key: str) -> str:
    """Where a clashing virtual label lives on the host (stable, valid, reversible by table)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in key.rsplit("/", 1)[-1])
    name = f"{safe[:52].strip('-_.') or 'label'}-{digest}"
    return f"{keys.REWRITTEN_LABEL_PREFIX}/{name}"


def translate_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Virtual labels as they appear on the host: clashing keys moved aside."""
    return {
        (rewritten_label_key(k) if is_reserved_label(k) else k): v
        for k, v in (labels or {}).items()
    }


def ref_of(virtual: Manifest, kind: str, vcluster: str) -> VirtualRef:
    meta = virtual["metadata"]
    return VirtualRef(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        vcluster=vcluster,
        kind=kind,
        uid=meta.get("uid", ""),
    )


def host_metadata(virtual: Manifest, kind: str, vcluster: str, host_namespace: str) -> Manifest:
    """Metadata of the host twin of a namespaced virtual object."""
    ref = ref_of(virtual, kind, vcluster)
    meta = virtual["metadata"]
    return {
        "name": host_name(ref.name, ref.namespace, vcluster),
        "namespace": host_namespace,
        "labels": {
            **translate_labels(meta.get("labels")),
            **host_labels(ref),
            NAMESPACE_LABEL: ref.namespace,
        },
        "annotations": {**(meta.get("annotations") or {}), **host_annotations(ref)},
    }
