"""What the agent writes on its Node: preflight labels and annotations, the ready label the
RuntimeClass selects on, and conditions. Patches are built by pure functions."""

import json
from datetime import UTC, datetime
from typing import Any

from tenantry_api import keys

from tenantry_node_agent.preflight import Facts, Verdict

Patch = dict[str, Any]

PREFLIGHT_ANNOTATIONS = (
    keys.NODE_KERNEL_VERSION,
    keys.NODE_CONTAINERD_VERSION,
    keys.NODE_CONTAINERD_CONFIG_VERSION,
    keys.NODE_RUNTIME_BINARIES,
    keys.NODE_PREFLIGHT_REASON,
)


def preflight_patch(facts: Facts, verdict: Verdict, handler: str) -> Patch:
    """Labels and annotations for a preflight result. A failed node loses its ready label."""
    labels: dict[str, str | None] = {
        keys.NODE_PREFLIGHT: "passed" if verdict.passed else "failed",
        keys.NODE_CGROUP_VERSION: f"v{facts.cgroup_version}" if facts.cgroup_version else None,
    }
    if not verdict.passed:
        labels[keys.runtime_ready_label(handler)] = None
    annotations: dict[str, str | None] = {
        keys.NODE_KERNEL_VERSION: facts.kernel,
        keys.NODE_CONTAINERD_VERSION: facts.containerd_version,
        keys.NODE_CONTAINERD_CONFIG_VERSION: str(facts.config_version),
        keys.NODE_RUNTIME_BINARIES: json.dumps(facts.binaries, sort_keys=True),
        keys.NODE_PREFLIGHT_REASON: verdict.reason or None,
    }
    return {"metadata": {"labels": labels, "annotations": annotations}}


def ready_patch(handler: str, ready: bool) -> Patch:
    value = keys.RUNTIME_READY_VALUE if ready else None
    return {"metadata": {"labels": {keys.runtime_ready_label(handler): value}}}


def cleanup_patch(handler: str) -> Patch:
    """Everything the agent put on the node, removed (merge patch: null deletes)."""
    return {
        "metadata": {
            "labels": {
                keys.runtime_ready_label(handler): None,
                keys.NODE_PREFLIGHT: None,
                keys.NODE_CGROUP_VERSION: None,
            },
            "annotations": dict.fromkeys(PREFLIGHT_ANNOTATIONS),
        }
    }


def condition(kind: str, ok: bool, reason: str, message: str, now: datetime | None = None) -> Patch:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "status": {
            "conditions": [
                {
                    "type": kind,
                    "status": "True" if ok else "False",
                    "reason": reason,
                    "message": message,
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ]
        }
    }


def remove_conditions(kinds: list[str]) -> Patch:
    # Strategic merge patch directive: delete list entries by their merge key.
    return {"status": {"conditions": [{"type": k, "$patch": "delete"} for k in kinds]}}
