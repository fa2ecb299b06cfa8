"""Host-name translation of virtual objects, and its inverse.

A virtual object ``name`` in virtual namespace ``namespace`` of virtual cluster ``vcluster``
lives on the host as ``<name>-x-<namespace>-x-<vcluster>`` (vcluster's convention). The plain
form is used only when it is a valid RFC 1123 label and cannot be confused with another triple;
otherwise the name is cut and given a stable hash suffix. Either way the virtual identity is
recorded in annotations, which is how the host object is mapped back.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tenantry_api import keys

SEPARATOR = "-x-"
MAX_LENGTH = 63
HASH_LENGTH = 10
CLUSTER_PREFIX = "tenantry-"
"""Prefix of the host twins of cluster-scoped virtual objects."""

DNS1123_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS1123_LABEL = re.compile(DNS1123_LABEL_PATTERN)
_INVALID_RUNS = re.compile(r"[^a-z0-9]+")


def is_dns1123_label(value: str) -> bool:
    """True when ``value`` is an RFC 1123 label: lower-case alphanumerics and '-', at most 63."""
    return len(value) <= MAX_LENGTH and _DNS1123_LABEL.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class VirtualRef:
    """Identity of a virtual object as the host sees it."""

    name: str
    namespace: str
    vcluster: str
    kind: str = ""
    uid: str = ""


def host_name(name: str, namespace: str, vcluster: str) -> str:
    """The host name of virtual object ``name`` in ``namespace`` of ``vcluster``.

    Deterministic, at most 63 characters, RFC 1123 valid, and injective over triples: the
    plain form is only used when no part contains the separator, so it splits back uniquely,
    and every other triple is hashed in full.
    """
    return _joined((name, namespace, vcluster), MAX_LENGTH)


def cluster_host_name(name: str, vcluster: str, host_namespace: str) -> str:
    """The host name of cluster-scoped virtual object ``name`` (a PriorityClass, say).

    Cluster-scoped on both sides, so the name must be unique per virtual cluster across the
    whole host: ``tenantry-<name>-x-<vcluster>-x-<host namespace>`` (a virtual cluster's name
    is only unique within its host namespace), under the same rules as ``host_name``: plain
    when valid and unambiguous, otherwise cut and hashed. The ``tenantry-`` prefix keeps it
    clear of the host's own classes, and of the reserved ``system-`` prefix.
    """
    return CLUSTER_PREFIX + _joined(
        (name, vcluster, host_namespace), MAX_LENGTH - len(CLUSTER_PREFIX)
    )


def _joined(parts: tuple[str, ...], max_length: int) -> str:
    plain = SEPARATOR.join(parts)
    if (
        len(plain) <= max_length
        and is_dns1123_label(plain)
        and not any(SEPARATOR in part for part in parts)
    ):
        return plain
    # NUL cannot occur in Kubernetes names, so this joins the parts without ambiguity.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:HASH_LENGTH]
    prefix = _INVALID_RUNS.sub("-", plain.lower())[: max_length - HASH_LENGTH - 1].strip("-")
    return f"{prefix}-{digest}" if prefix else digest


def host_annotations(ref: VirtualRef) -> dict[str, str]:
    """Annotations that record ``ref`` on its host object."""
    annotations = {
        keys.OBJECT_NAME: ref.name,
        keys.OBJECT_NAMESPACE: ref.namespace,
    }
    if ref.kind:
        annotations[keys.OBJECT_KIND] = ref.kind
    if ref.uid:
        annotations[keys.OBJECT_UID] = ref.uid
    return annotations


def host_labels(ref: VirtualRef) -> dict[str, str]:
    """Labels that mark a host object as synced by Tenantry for ``ref.vcluster``."""
    return {keys.MANAGED_BY: keys.MANAGED_BY_VALUE, keys.VCLUSTER: ref.vcluster}


def cluster_host_labels(ref: VirtualRef, host_namespace: str) -> dict[str, str]:
    """Labels of the host twin of a cluster-scoped virtual object: a virtual cluster's name is
    only unique within its host namespace, so that is recorded too."""
    return {**host_labels(ref), keys.HOST_NAMESPACE: host_namespace}


def virtual_ref(labels: Mapping[str, str], annotations: Mapping[str, str]) -> VirtualRef | None:
    """The virtual identity of a host object, or None when Tenantry did not sync it."""
    if labels.get(keys.MANAGED_BY) != keys.MANAGED_BY_VALUE:
        return None
    try:
        return VirtualRef(
            name=annotations[keys.OBJECT_NAME],
            namespace=annotations[keys.OBJECT_NAMESPACE],
            vcluster=labels[keys.VCLUSTER],
            kind=annotations.get(keys.OBJECT_KIND, ""),
            uid=annotations.get(keys.OBJECT_UID, ""),
        )
    except KeyError:
        return None


# Names of a virtual cluster's own host objects. The components create them and the syncer
# reads or writes them, so they are spelled here once.
def kubeconfig_secret_name(vcluster: str) -> str:
    """Host Secret holding the tenant kubeconfig (vcluster's ``vc-<name>``)."""
    return f"vc-{vcluster}"


def pki_secret_name(vcluster: str) -> str:
    """Host Secret holding the virtual control plane's CAs, keys and certificates."""
    return f"vc-pki-{vcluster}"


def config_map_name(vcluster: str) -> str:
    """Host ConfigMap holding the SyncerConfig document."""
    return f"vc-config-{vcluster}"


def headless_service_name(vcluster: str) -> str:
    return f"{vcluster}-headless"
