"""Endpoints and EndpointSlices of selector-less Services: virtual → host.

Taking the host ClusterIP means re-creating the virtual Service, and the virtual endpoints
controller then deletes the Endpoints of the Service it saw go. Those are the tenant's own
data, so they are saved just before and put back if they disappear within a short window.
"""

import threading
import time

from tenantry_syncer.controller.informer import Manifest
from tenantry_syncer.resources import endpoints
from tenantry_syncer.syncers.base import KindSyncer, Shared

RESTORE_WINDOW = 30.0
"""Seconds after a Service re-creation during which vanished Endpoints are put back."""
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def _service(syncer: KindSyncer, namespace: str, name: str) -> Manifest | None:
    return syncer.s.virtual.informers["Service"].get(f"{namespace}/{name}")


def _service_settling(syncer: KindSyncer, namespace: str, name: str) -> bool:
    """The Service is gone only because the syncer re-creates it: leave its endpoints be."""
    return _service(syncer, namespace, name) is None and syncer.s.settling(f"{namespace}/{name}")


class EndpointsSyncer(KindSyncer):
    kind = endpoints.KIND

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._saved: dict[str, tuple[float, Manifest]] = {}
        self._lock = threading.Lock()

    def wanted(self, virtual: Manifest) -> bool:
        meta = virtual["metadata"]
        return endpoints.is_selectorless(_service(self, meta["namespace"], meta["name"]))

    def settling(self, key: str, virtual: Manifest | None) -> bool:
        namespace, name = key.split("/", 1)
        return _service_settling(self, namespace, name)

    def to_host(self, virtual: Manifest) -> Manifest:
        return endpoints.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)

    def save(self, service: Manifest) -> None:
        """Remember the Endpoints of ``service`` before it is re-created."""
        key = f"{service['metadata']['namespace']}/{service['metadata']['name']}"
        current = self.s.virtual.informers[self.kind].get(key)
        if current is None or not endpoints.is_selectorless(service):
            return
        meta = {k: v for k, v in current["metadata"].items() if k not in _SERVER_FIELDS}
        with self._lock:
            self._saved[key] = (time.monotonic() + RESTORE_WINDOW, {**current, "metadata": meta})

    def reconcile(self, key: str) -> None:
        if self.s.virtual.informers[self.kind].get(key) is None and self._restore(key):
            return  # the re-created object comes back through the informer
        super().reconcile(key)

    def _restore(self, key: str) -> bool:
        with self._lock:
            now = time.monotonic()
            self._saved = {k: v for k, v in self._saved.items() if v[0] > now}
            saved = self._saved.get(key)
        if saved is None:
            return False
        body = saved[1]
        self.s.virtual.resources[self.kind].create(
            body=body, namespace=body["metadata"]["namespace"]
        )
        return True


class EndpointSliceSyncer(KindSyncer):
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
