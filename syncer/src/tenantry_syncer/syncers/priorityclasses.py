"""PriorityClasses: virtual → host, as cluster-scoped twins with capped values."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import priorityclasses
from tenantry_syncer.syncers.kind import KindSyncer


class PriorityClassSyncer(KindSyncer):
    kind = priorityclasses.KIND
    api_version = priorityclasses.API_VERSION
    cluster_scoped = True

    def wanted(self, virtual: Manifest) -> bool:
        return priorityclasses.synced(virtual["metadata"]["name"])

    def to_host(self, virtual: Manifest) -> Manifest:
        config = self.s.config
        return priorityclasses.to_host(
            virtual, config.vcluster, config.host_namespace, config.from_virtual.max_priority
        )

    def sync(self, virtual: Manifest, host: Manifest | None) -> None:
        if host is not None and priorityclasses.needs_recreate(host, self.to_host(virtual)):
            # Value and preemption policy are immutable (a new cap, say): the twin is made
            # again; pods already running keep the priority they were admitted with.
            self.s.delete_host(self.kind, host["metadata"]["name"], cluster_scoped=True)
            host = None
        super().sync(virtual, host)
