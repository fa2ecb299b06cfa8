"""Keeps the tenant's CoreDNS applied in the virtual cluster (server-side apply, so a re-run
changes nothing and a tenant's edits to fields we own are put back on the next start)."""

from tenantry_syncer.resources import coredns
from tenantry_syncer.syncers.base import Shared

QUEUE_KIND = "CoreDNS"
FIELD_MANAGER = "tenantry-syncer"


class CoreDNSSyncer:
    def __init__(self, shared: Shared, image: str) -> None:
        self.s = shared
        self._image = image

    def reconcile(self, _: str) -> None:
        for manifest in coredns.manifests(self._image):
            resource = self.s.virtual.resource(manifest["kind"], manifest["apiVersion"])
            resource.apply(manifest, FIELD_MANAGER)
