"""ServiceAccounts: virtual → host, so host pods run as the twin of their virtual one."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import serviceaccounts
from tenantry_syncer.syncers.kind import KindSyncer


class ServiceAccountSyncer(KindSyncer):
    kind = serviceaccounts.KIND

    def to_host(self, virtual: Manifest) -> Manifest:
        return serviceaccounts.to_host(
            virtual, self.s.config.vcluster, self.s.config.host_namespace
        )
