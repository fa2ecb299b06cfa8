"""Virtual nodes: created for the host nodes synced pods run on, removed when none does."""

import datetime
from collections.abc import Iterable

from tenantry_api.types import Manifest
from tenantry_syncer.resources import nodes, pods
from tenantry_syncer.syncers.base import Shared, Watch, ignoring


class NodeSyncer:
    queue_kind = nodes.KIND

    def __init__(self, shared: Shared) -> None:
        self.s = shared

    def watches(self) -> Iterable[Watch]:
        yield Watch(self.s.virtual, nodes.KIND, handler=self.s.enqueue(self.queue_kind))
        if self.s.config.from_host.mirror_nodes:
            yield Watch(self.s.host, nodes.KIND, handler=self.s.enqueue(self.queue_kind))
        # A pod on either side keeps its node, so a pod's change re-checks it.
        yield Watch(self.s.virtual, pods.KIND, handler=self._on_pod)
        yield self.s.twins(pods.KIND, handler=self._on_pod)

    def resync(self) -> None:
        for node in self.s.virtual.informers[nodes.KIND].items():
            self.s.queue.add((self.queue_kind, node["metadata"]["name"]))

    def _on_pod(self, _key: str, pod: Manifest) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self.s.queue.add((self.queue_kind, node))

    def reconcile(self, name: str) -> None:
        host_node = None
        if self.s.config.from_host.mirror_nodes:
            host_node = self.s.host.informers[nodes.KIND].get(name)
        virtual = self.s.virtual.informers[nodes.KIND].get(name)
        resource = self.s.virtual.resources[nodes.KIND]
        if not self._needed(name, host_node is not None):
            if virtual is not None and nodes.is_ours(virtual):
                ignoring(404, lambda: resource.delete(name=name))
            return
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        desired = nodes.to_virtual(name, host_node, now)
        if virtual is None:
            created = ignoring(409, lambda: resource.create(body=desired))
            if created is None:
                return  # made by a concurrent reconcile; its status follows from there
            virtual = created
        elif (
            not (virtual["metadata"].get("labels") or {}).items()
            >= desired["metadata"]["labels"].items()
        ):
            resource.patch(
                body={"metadata": {"labels": desired["metadata"]["labels"]}},
                name=name,
                content_type="application/merge-patch+json",
            )
        if nodes.status_differs(virtual, desired):
            resource.patch_status({"status": desired["status"]}, name)

    def _needed(self, name: str, mirrored: bool) -> bool:
        """A virtual node stays while a host pod of ours or a virtual pod is bound to it."""
        if mirrored:
            return True
        return any(
            (p.get("spec") or {}).get("nodeName") == name
            for side in (self.s.host, self.s.virtual)
            for p in side.informers[pods.KIND].items()
        )
