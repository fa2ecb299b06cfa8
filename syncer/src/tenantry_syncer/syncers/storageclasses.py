"""StorageClasses: host → virtual, read-only copies; a copy whose host class is gone goes,
one the tenant edited is put back, and a class the tenant made itself is left alone."""

from collections.abc import Iterable

from tenantry_api import keys
from tenantry_syncer.resources import storageclasses
from tenantry_syncer.syncers.base import Shared, Watch, ignoring
from tenantry_syncer.syncers.kind import stamped

KIND = storageclasses.KIND
API_VERSION = storageclasses.API_VERSION


class StorageClassSyncer:
    queue_kind = "HostStorageClass"

    def __init__(self, shared: Shared) -> None:
        self.s = shared

    def watches(self) -> Iterable[Watch]:
        queue = self.s.enqueue(self.queue_kind)
        yield Watch(self.s.host, KIND, API_VERSION, handler=queue)
        ours = f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE}"
        yield Watch(self.s.virtual, KIND, API_VERSION, label_selector=ours, handler=queue)

    def reconcile(self, name: str) -> None:
        host = self.s.host.informers[KIND].get(name)
        virtual = self.s.virtual.informers[KIND].get(name)
        resource = self.s.virtual.resources[KIND]
        if virtual is not None and not storageclasses.is_ours(virtual):
            return  # the tenant's own
        if host is None:
            if virtual is not None:
                ignoring(404, lambda: resource.delete(name=name))
            return
        desired = stamped(storageclasses.to_virtual(host))
        if virtual is None:
            ignoring(409, lambda: resource.create(body=desired))
        elif storageclasses.needs_recreate(virtual, desired):
            ignoring(404, lambda: resource.delete(name=name))
            ignoring(409, lambda: resource.create(body=desired))
        elif storageclasses.differs(virtual, desired):
            resource.replace(body=storageclasses.replacement(virtual, desired))

    def resync(self) -> None:
        names = {sc["metadata"]["name"] for sc in self.s.host.informers[KIND].items()}
        names |= {
            sc["metadata"]["name"]
            for sc in self.s.virtual.informers[KIND].items()
            if storageclasses.is_ours(sc)
        }
        for name in names:
            self.s.queue.add((self.queue_kind, name))
