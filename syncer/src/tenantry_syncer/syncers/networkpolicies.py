"""NetworkPolicies: virtual → host, selectors translated to the labels of the host pods. A
policy's namespace selectors are evaluated against the virtual namespaces, so every policy is
looked at again when a virtual namespace changes."""

from collections.abc import Iterable

from tenantry_api.types import Manifest
from tenantry_syncer.resources import networkpolicies
from tenantry_syncer.syncers.base import Watch
from tenantry_syncer.syncers.kind import KindSyncer

NAMESPACE = "Namespace"


class NetworkPolicySyncer(KindSyncer):
    kind = networkpolicies.KIND
    api_version = networkpolicies.API_VERSION

    def watches(self) -> Iterable[Watch]:
        yield from super().watches()
        yield Watch(self.s.virtual, NAMESPACE, handler=self.on_namespace)

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
