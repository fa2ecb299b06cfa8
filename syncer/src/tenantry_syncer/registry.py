"""The one list of synced kinds. Each entry builds a kind's reconciler (which declares its own
informers) and says when it runs; `sync.py` only wires what this list gives it.

Where to add a synced kind: its translator in `resources/<kind>.py`, its reconciler in
`syncers/<kind>.py`, a `Registration` here, and, when optional, its switch in
`tenantry_api.config.FromVirtual` or `FromHost`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from tenantry_api.config import SyncerConfig

from tenantry_syncer.syncers.base import Reconciler, Shared
from tenantry_syncer.syncers.configmaps import ConfigMapSyncer
from tenantry_syncer.syncers.coredns import CoreDNSSyncer
from tenantry_syncer.syncers.endpoints import EndpointSliceSyncer, EndpointsSyncer
from tenantry_syncer.syncers.events import EventSyncer
from tenantry_syncer.syncers.ingresses import IngressSyncer
from tenantry_syncer.syncers.networkpolicies import NetworkPolicySyncer
from tenantry_syncer.syncers.nodes import NodeSyncer
from tenantry_syncer.syncers.pdbs import PodDisruptionBudgetSyncer
from tenantry_syncer.syncers.pods import PodSyncer
from tenantry_syncer.syncers.priorityclasses import PriorityClassSyncer
from tenantry_syncer.syncers.pvcs import PersistentVolumeClaimSyncer
from tenantry_syncer.syncers.secrets import SecretSyncer
from tenantry_syncer.syncers.serviceaccounts import ServiceAccountSyncer
from tenantry_syncer.syncers.services import ServiceSyncer
from tenantry_syncer.syncers.storageclasses import StorageClassSyncer


def always(_: SyncerConfig) -> bool:
    return True


@dataclass(frozen=True)
class Registration:
    build: Callable[[Shared], Reconciler]
    enabled: Callable[[SyncerConfig], bool] = always
    """The kind's switch: off, it is neither watched nor written."""


# In order: watches of one informer are called in this order, and the start resyncs in it.
REGISTRY: tuple[Registration, ...] = (
    Registration(CoreDNSSyncer, lambda c: bool(c.coredns_image)),
    Registration(PodSyncer),
    Registration(ServiceSyncer),
    Registration(ConfigMapSyncer),
    Registration(SecretSyncer),
    Registration(EndpointsSyncer),
    Registration(EndpointSliceSyncer),
    Registration(PersistentVolumeClaimSyncer),
    Registration(IngressSyncer, lambda c: c.from_virtual.ingresses),
    Registration(ServiceAccountSyncer, lambda c: c.from_virtual.service_accounts),
    Registration(NetworkPolicySyncer, lambda c: c.from_virtual.network_policies),
    Registration(PodDisruptionBudgetSyncer, lambda c: c.from_virtual.pod_disruption_budgets),
    Registration(PriorityClassSyncer, lambda c: c.from_virtual.priority_classes),
    Registration(StorageClassSyncer, lambda c: c.from_host.storage_classes),
    Registration(NodeSyncer),
    Registration(EventSyncer),
)
