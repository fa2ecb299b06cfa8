"""Label selectors of virtual objects, as selectors of the host pods the syncer made.

A host pod carries the virtual pod's labels (clashing keys moved aside), the virtual cluster's
label and the virtual namespace label, so a virtual selector becomes a host selector by
translating its keys the way the pod labels were translated and pinning the namespace and the
virtual cluster. A virtual namespace selector is evaluated against the virtual namespaces, and
the result pinned as the set of virtual namespace names. Pure: no I/O.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from tenantry_api import keys
from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import (
    NAMESPACE_LABEL,
    is_reserved_label,
    rewritten_label_key,
    translate_labels,
)

Selector = Mapping[str, Any]
NOTHING: Manifest = {
    "matchExpressions": [{"key": keys.MANAGED_BY, "operator": "DoesNotExist"}],
}
"""Matches no host pod of ours: every one carries the managed-by label."""


def _key(key: str) -> str:
    return rewritten_label_key(key) if is_reserved_label(key) else key


def translate(selector: Selector | None) -> Manifest:
    """A virtual label selector with its keys as they are on the host pods."""
    selector = selector or {}
    host: Manifest = {}
    if selector.get("matchLabels"):
        host["matchLabels"] = translate_labels(selector["matchLabels"])
    if selector.get("matchExpressions"):
        host["matchExpressions"] = [
            {**e, "key": _key(e["key"])} for e in selector["matchExpressions"]
        ]
    return host


def host_pods(
    selector: Selector | None, vcluster: str, namespaces: Iterable[str] | None
) -> Manifest:
    """The host selector of the pods ``selector`` picks among the virtual pods of
    ``namespaces`` (None: of every virtual namespace). No namespace at all matches nothing."""
    host = translate(selector)
    labels = {**host.get("matchLabels", {}), keys.VCLUSTER: vcluster}
    expressions = list(host.get("matchExpressions", []))
    if namespaces is not None:
        names = sorted(set(namespaces))
        if not names:
            return {"matchLabels": labels, **NOTHING}
        if len(names) == 1:
            labels[NAMESPACE_LABEL] = names[0]
        else:
            expressions.append({"key": NAMESPACE_LABEL, "operator": "In", "values": names})
    result: Manifest = {"matchLabels": labels}
    if expressions:
        result["matchExpressions"] = expressions
    return result


def matches(selector: Selector | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a label selector (an empty selector matches everything)."""
    selector = selector or {}
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
