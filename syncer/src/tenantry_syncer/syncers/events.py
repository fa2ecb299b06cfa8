"""Events: host → virtual, for the host twins of virtual pods."""

from collections.abc import Iterable

from tenantry_api.naming import virtual_ref
from tenantry_api.types import Manifest
from tenantry_syncer.resources import events, pods
from tenantry_syncer.syncers.base import Shared, Watch, ignoring


class EventSyncer:
    queue_kind = "HostEvent"

    def __init__(self, shared: Shared) -> None:
        self.s = shared
        shared.virtual.resource(events.KIND)  # discovered now: a missing API fails the start

    def watches(self) -> Iterable[Watch]:
        # Host Events carry no labels of ours: watch the namespace, keep those about our pods.
        yield Watch(
            self.s.host,
            events.KIND,
            namespace=self.s.config.host_namespace,
            handler=self.s.enqueue(self.queue_kind),
        )
        yield Watch(self.s.virtual, pods.KIND)
        yield self.s.twins(pods.KIND)

    def reconcile(self, key: str) -> None:
        host_event = self.s.host.informers[events.KIND].get(key)
        involved = (host_event or {}).get("involvedObject") or {}
        if host_event is None or involved.get("kind") != pods.KIND:
            return
        host_pod = self.s.host.informers[pods.KIND].get(
            f"{self.s.config.host_namespace}/{involved['name']}"
        )
        if host_pod is None:
            return
        meta = host_pod["metadata"]
        ref = virtual_ref(meta.get("labels") or {}, meta.get("annotations") or {})
        virtual_pod = (
            self.s.virtual.informers[pods.KIND].get(f"{ref.namespace}/{ref.name}") if ref else None
        )
        if virtual_pod is None:
            return
        body = events.to_virtual(host_event, virtual_pod)
        resource = self.s.virtual.resources[events.KIND]
        namespace = body["metadata"]["namespace"]
        if ignoring(409, lambda: resource.create(body=body, namespace=namespace)) is None:
            update: Manifest = {
                k: body[k] for k in ("count", "lastTimestamp", "message") if k in body
            }
            resource.patch(
                body=update,
                name=body["metadata"]["name"],
                namespace=namespace,
                content_type="application/merge-patch+json",
            )
