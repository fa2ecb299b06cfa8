"""ConfigMaps and Secrets: virtual → host, only those something synced references unless
``all_configmaps`` / ``all_secrets`` is set."""

from collections.abc import Callable
from typing import ClassVar

from tenantry_api.types import Manifest
from tenantry_syncer.resources import configmaps, secrets
from tenantry_syncer.syncers.base import KindSyncer, Shared

Referrers = Callable[[str, str, str], bool]
"""(kind, namespace, name) → whether any synced object in the namespace uses it."""


class _Referenced(KindSyncer):
    sync_all: ClassVar[str]
    """The FromVirtual flag that syncs every object of the kind."""

    def __init__(self, shared: Shared, referenced: Referrers) -> None:
        super().__init__(shared)
        self._referenced = referenced

    def wanted(self, virtual: Manifest) -> bool:
        meta = virtual["metadata"]
        return bool(getattr(self.s.config.from_virtual, self.sync_all)) or self._referenced(
            self.kind, meta["namespace"], meta["name"]
        )


class ConfigMapSyncer(_Referenced):
    kind = configmaps.KIND
    sync_all = "all_configmaps"

    def to_host(self, virtual: Manifest) -> Manifest:
        return configmaps.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)


class SecretSyncer(_Referenced):
    kind = secrets.KIND
    sync_all = "all_secrets"

    def to_host(self, virtual: Manifest) -> Manifest:
        return secrets.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
