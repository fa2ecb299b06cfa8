"""NetworkPolicies and PodDisruptionBudgets: virtual → host, selectors translated to the labels
of the host pods. A NetworkPolicy's namespace selectors are evaluated against the virtual
namespaces, so every policy is looked at again when a virtual namespace changes."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import networkpolicies, pdbs
from tenantry_syncer.syncers.base import KindSyncer

NAMESPACE = "Namespace"


class NetworkPolicySyncer(KindSyncer):
    kind = networkpolicies.KIND
    api_version = networkpolicies.API_VERSION

    def to_host(self, virtual: Manifest) -> Manifest:
        namespaces = {
            ns["metadata"]["name"]: ns["metadata"].get("labels") or {}
            for ns in self.s.virtual.informers[NAMESPACE].items()
        }
        return networkpolicies.to_host(
            virtual, self.s.config.vcluster, self.s.config.host_namespace, namespaces
        )

    def on_namespace(self, _key: str, _namespace: Manifest) -> None:
        for policy in self.s.virtual.informers[self.kind].items():
            meta = policy["metadata"]
            self.s.queue.add((self.kind, f"{meta['namespace']}/{meta['name']}"))


class PodDisruptionBudgetSyncer(KindSyncer):
    kind = pdbs.KIND
    api_version = pdbs.API_VERSION

    def to_host(self, virtual: Manifest) -> Manifest:
        return pdbs.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
