"""ConfigMaps: virtual → host, only those a synced object uses unless ``all_configmaps``."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import configmaps
from tenantry_syncer.syncers.kind import KindSyncer


class ConfigMapSyncer(KindSyncer):
    kind = configmaps.KIND

    def wanted(self, virtual: Manifest) -> bool:
        return self.s.config.from_virtual.all_configmaps or self.s.references.used(
            self.kind, virtual
        )

    def to_host(self, virtual: Manifest) -> Manifest:
        return configmaps.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
