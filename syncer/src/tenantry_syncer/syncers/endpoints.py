"""Endpoints and EndpointSlices of selector-less Services: virtual → host.

Taking the host ClusterIP means re-creating the virtual Service, and the virtual endpoints
controller then deletes the Endpoints named like the Service it saw go. Those are the tenant's
own data, so while the Service is held (re-created by the syncer a moment ago), Endpoints that
vanish are put back as they were last seen. Last seen, not saved at the re-creation: a tenant
may write its Endpoints just before or just after the syncer re-creates the Service, before
the informer has caught up, and the controller deletes those too.
"""

import threading
from collections.abc import Iterable

from tenantry_api.types import Manifest
from tenantry_syncer.resources import endpoints, services
from tenantry_syncer.syncers.base import Shared, Watch
from tenantry_syncer.syncers.kind import KindSyncer

_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def _service(syncer: KindSyncer, namespace: str, name: str) -> Manifest | None:
    return syncer.s.virtual.informers[services.KIND].get(f"{namespace}/{name}")


def _service_settling(syncer: KindSyncer, namespace: str, name: str) -> bool:
    """The Service is gone only because the syncer re-creates it: leave its endpoints be."""
    return _service(syncer, namespace, name) is None and syncer.s.settling(f"{namespace}/{name}")


class _OfServices(KindSyncer):
    """Endpoints follow their Service: the virtual Services' cache is read."""

    def watches(self) -> Iterable[Watch]:
        yield from super().watches()
        yield Watch(self.s.virtual, services.KIND)


class EndpointsSyncer(_OfServices):
    kind = endpoints.KIND

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._seen: dict[str, Manifest] = {}
        """Last seen Endpoints of selector-less (or momentarily absent) Services, by key."""
        self._lock = threading.Lock()

    def observe(self, key: str, virtual: Manifest) -> None:
        namespace, name = key.split("/", 1)
        service = _service(self, namespace, name)
        if service is not None and not endpoints.is_selectorless(service):
            return  # the controller's own Endpoints: nothing of the tenant's to keep
        meta = {k: v for k, v in virtual["metadata"].items() if k not in _SERVER_FIELDS}
        with self._lock:
            self._seen[key] = {**virtual, "metadata": meta}

    def wanted(self, virtual: Manifest) -> bool:
        meta = virtual["metadata"]
        return endpoints.is_selectorless(_service(self, meta["namespace"], meta["name"]))

    def settling(self, key: str, virtual: Manifest | None) -> bool:
        namespace, name = key.split("/", 1)
        return _service_settling(self, namespace, name)

    def to_host(self, virtual: Manifest) -> Manifest:
        return endpoints.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)

    def reconcile(self, key: str) -> None:
        if self.s.virtual.informers[self.kind].get(key) is None:
            with self._lock:
                last = self._seen.pop(key, None)
            if last is not None and self.s.settling(key):
                # Deleted by the endpoints controller for the Service the syncer re-created;
                # the re-created object comes back through the informer.
                self.s.virtual.resources[self.kind].create(
                    body=last, namespace=last["metadata"]["namespace"]
                )
                return
        super().reconcile(key)


class EndpointSliceSyncer(_OfServices):
    kind = endpoints.SLICE_KIND
    api_version = "discovery.k8s.io/v1"

    def wanted(self, virtual: Manifest) -> bool:
        if not endpoints.is_tenant_slice(virtual):
            return False
        service = virtual["metadata"]["labels"][endpoints.SERVICE_NAME_LABEL]
        return endpoints.is_selectorless(_service(self, virtual["metadata"]["namespace"], service))

    def settling(self, key: str, virtual: Manifest | None) -> bool:
        labels = (virtual or {}).get("metadata", {}).get("labels") or {}
        service = labels.get(endpoints.SERVICE_NAME_LABEL)
        return service is not None and _service_settling(self, key.split("/", 1)[0], service)

    def to_host(self, virtual: Manifest) -> Manifest:
        return endpoints.slice_to_host(
            virtual, self.s.config.vcluster, self.s.config.host_namespace
        )
