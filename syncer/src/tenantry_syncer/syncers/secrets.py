"""Secrets: virtual → host, only those a synced object uses unless ``all_secrets``. The host
token Secrets of pods carry our labels too: a change to one is its pod's business."""

from tenantry_api import keys
from tenantry_api.types import Manifest
from tenantry_syncer.resources import pods, secrets
from tenantry_syncer.syncers.base import Key
from tenantry_syncer.syncers.kind import KindSyncer


class SecretSyncer(KindSyncer):
    kind = secrets.KIND

    def wanted(self, virtual: Manifest) -> bool:
        return self.s.config.from_virtual.all_secrets or self.s.references.used(self.kind, virtual)

    def to_host(self, virtual: Manifest) -> Manifest:
        return secrets.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)

    def owner(self, host: Manifest) -> Key | None:
        owner = super().owner(host)
        if owner is not None and keys.POD_TOKEN in (host["metadata"].get("labels") or {}):
            return pods.KIND, owner[1]
        return owner
