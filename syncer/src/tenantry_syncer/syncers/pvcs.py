"""PersistentVolumeClaims: virtual → host, status back."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import pvcs
from tenantry_syncer.syncers.kind import KindSyncer


class PersistentVolumeClaimSyncer(KindSyncer):
    kind = pvcs.KIND
    status_fields = pvcs.STATUS_FIELDS

    def to_host(self, virtual: Manifest) -> Manifest:
        return pvcs.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
