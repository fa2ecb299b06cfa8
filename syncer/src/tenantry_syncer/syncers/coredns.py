"""Keeps the tenant's CoreDNS applied in the virtual cluster (server-side apply, so a re-run
changes nothing and a tenant's edits to fields we own are put back on the next start)."""

from collections.abc import Iterable

from tenantry_syncer.resources import coredns
from tenantry_syncer.syncers.base import Shared, Watch

FIELD_MANAGER = "tenantry-syncer"


class CoreDNSSyncer:
    queue_kind = "CoreDNS"

    def __init__(self, shared: Shared) -> None:
        self.s = shared

    def watches(self) -> Iterable[Watch]:
        return ()  # nothing watched: applied on each start

    def resync(self) -> None:
        self.s.queue.add((self.queue_kind, ""))

    def reconcile(self, _: str) -> None:
        for manifest in coredns.manifests(self.s.config.coredns_image):
            resource = self.s.virtual.resource(manifest["kind"], manifest["apiVersion"])
            resource.apply(manifest, FIELD_MANAGER)
