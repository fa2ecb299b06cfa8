"""PodDisruptionBudgets: virtual → host, selector translated to the labels of the host pods."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import pdbs
from tenantry_syncer.syncers.kind import KindSyncer


class PodDisruptionBudgetSyncer(KindSyncer):
    kind = pdbs.KIND
    api_version = pdbs.API_VERSION

    def to_host(self, virtual: Manifest) -> Manifest:
        return pdbs.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
