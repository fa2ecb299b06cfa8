"""Events: host → virtual, for the host twins of virtual pods, so `kubectl describe` in the
virtual cluster shows scheduling, pulls and probes as if the pod ran there."""

import hashlib

from tenantry_api.types import Manifest

KIND = "Event"
_COPIED = (
    "reason",
    "message",
    "type",
    "count",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "action",
    "reportingComponent",
    "reportingInstance",
    "source",
)


def virtual_name(virtual_pod: str, host_event: str) -> str:
    """Stable, so each host Event has exactly one virtual copy, updated in place."""
    return f"{virtual_pod}.{hashlib.sha256(host_event.encode()).hexdigest()[:16]}"


def to_virtual(host_event: Manifest, virtual_pod: Manifest) -> Manifest:
    meta = virtual_pod["metadata"]
    event: Manifest = {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": {
            "name": virtual_name(meta["name"], host_event["metadata"]["name"]),
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
        },
    }
    for key in _COPIED:
        if host_event.get(key) is not None:
            event[key] = host_event[key]
    field = (host_event.get("involvedObject") or {}).get("fieldPath")
    if field:
        event["involvedObject"]["fieldPath"] = field
    return event
