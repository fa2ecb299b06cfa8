"""NetworkPolicies: virtual → host, selectors translated to the host pods' labels.

All of a virtual cluster's pods share one host namespace, so a host policy tells them apart by
the labels the syncer stamps on them (as vcluster's networkpolicies syncer does):

- ``podSelector`` (the pods the policy applies to, and a peer's) becomes a selector of the host
  pods of the policy's virtual namespace, its keys translated as the pod labels are;
- a peer's ``namespaceSelector`` is evaluated against the virtual namespaces' labels and pinned
  as the set of virtual namespace names (``{}`` means every virtual namespace of this virtual
  cluster, never the host's namespaces), so it is re-translated when namespaces change;
- ``ipBlock`` peers and ports are kept as written.
"""

import copy
from collections.abc import Iterable, Mapping

from tenantry_api.types import Manifest

from tenantry_syncer.resources import selectors
from tenantry_syncer.resources.meta import host_metadata

KIND = "NetworkPolicy"
API_VERSION = "networking.k8s.io/v1"

Namespaces = Mapping[str, Mapping[str, str]]
"""Virtual namespace name → its labels."""


def _namespaces(selector: selectors.Selector, namespaces: Namespaces) -> Iterable[str] | None:
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return None  # every virtual namespace
    return [name for name, labels in namespaces.items() if selectors.matches(selector, labels)]


def _peer(peer: Manifest, namespace: str, vcluster: str, namespaces: Namespaces) -> Manifest:
    if "ipBlock" in peer:
        return copy.deepcopy(peer)
    selected: Iterable[str] | None = [namespace]
    if peer.get("namespaceSelector") is not None:
        selected = _namespaces(peer["namespaceSelector"], namespaces)
    return {"podSelector": selectors.host_pods(peer.get("podSelector"), vcluster, selected)}


def _rules(
    rules: list[Manifest], peers: str, namespace: str, vcluster: str, namespaces: Namespaces
) -> list[Manifest]:
    host = []
    for rule in rules:
        translated = copy.deepcopy(rule)
        if rule.get(peers):  # absent or empty: every source or destination, kept as written
            translated[peers] = [_peer(p, namespace, vcluster, namespaces) for p in rule[peers]]
        host.append(translated)
    return host


def to_host(
    virtual: Manifest, vcluster: str, host_namespace: str, namespaces: Namespaces
) -> Manifest:
    spec: Manifest = virtual.get("spec") or {}
    namespace = virtual["metadata"]["namespace"]
    host_spec: Manifest = {
        "podSelector": selectors.host_pods(spec.get("podSelector"), vcluster, [namespace]),
    }
    if "policyTypes" in spec:
        host_spec["policyTypes"] = list(spec["policyTypes"])
    if spec.get("ingress") is not None:
        host_spec["ingress"] = _rules(spec["ingress"], "from", namespace, vcluster, namespaces)
    if spec.get("egress") is not None:
        host_spec["egress"] = _rules(spec["egress"], "to", namespace, vcluster, namespaces)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "spec": host_spec,
    }
