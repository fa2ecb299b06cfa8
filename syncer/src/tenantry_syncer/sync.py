"""The syncer: keeps the host namespace in step with the virtual cluster.

Each kind has its own syncer (`syncers/`) over a pure translator (`resources/`); this module
wires them to informers on both API servers, routes every change to the keys it affects, and
runs the workers.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable

from kubernetes import client
from tenantry_api import keys
from tenantry_api.config import SyncerConfig
from tenantry_api.types import Manifest

from tenantry_syncer.controller.informer import Informer, key_of
from tenantry_syncer.controller.metrics import QUEUE_DEPTH, SYNC_ERRORS, SYNC_LATENCY
from tenantry_syncer.controller.queue import WorkQueue
from tenantry_syncer.resources import ingresses, pods, secrets
from tenantry_syncer.syncers import coredns, events, nodes, storageclasses
from tenantry_syncer.syncers.base import Key, KindSyncer, Shared, Side
from tenantry_syncer.syncers.configs import ConfigMapSyncer, SecretSyncer
from tenantry_syncer.syncers.endpoints import EndpointSliceSyncer, EndpointsSyncer
from tenantry_syncer.syncers.ingresses import IngressSyncer
from tenantry_syncer.syncers.pods import PodSyncer
from tenantry_syncer.syncers.policies import (
    NAMESPACE,
    NetworkPolicySyncer,
    PodDisruptionBudgetSyncer,
)
from tenantry_syncer.syncers.priorityclasses import PriorityClassSyncer
from tenantry_syncer.syncers.pvcs import PersistentVolumeClaimSyncer
from tenantry_syncer.syncers.serviceaccounts import ServiceAccountSyncer
from tenantry_syncer.syncers.services import ServiceSyncer

log = logging.getLogger(__name__)


class Syncer:
    def __init__(
        self,
        config: SyncerConfig,
        virtual: client.ApiClient,
        host: client.ApiClient,
        workers: int = 4,
    ) -> None:
        self.config = config
        self._workers = workers
        self.queue: WorkQueue[Key] = WorkQueue()
        self.s = Shared(config, Side(virtual), Side(host), self.queue)
        self.nodes = nodes.NodeSyncer(self.s)
        self.events = events.EventSyncer(self.s)
        self.kinds = self._kind_syncers()
        for syncer in self.kinds.values():
            self._watch_kind(syncer)
        self._watch(self.s.virtual, "Node", lambda key, _: self.queue.add((nodes.QUEUE_KIND, key)))
        if config.from_host.mirror_nodes:
            self._watch(self.s.host, "Node", lambda key, _: self.queue.add((nodes.QUEUE_KIND, key)))
        # Host Events carry no labels of ours: watch the namespace, keep those about our pods.
        self._watch(
            self.s.host,
            "Event",
            lambda key, _: self.queue.add((events.QUEUE_KIND, key)),
            namespace=config.host_namespace,
        )
        self.s.virtual.resource("Event")
        self._reconcilers: dict[str, Callable[[str], None]] = {
            **{kind: syncer.reconcile for kind, syncer in self.kinds.items()},
            nodes.QUEUE_KIND: self.nodes.reconcile,
            events.QUEUE_KIND: self.events.reconcile,
        }
        if config.coredns_image:
            dns = coredns.CoreDNSSyncer(self.s, config.coredns_image)
            self._reconcilers[coredns.QUEUE_KIND] = dns.reconcile
        self.storage_classes: storageclasses.StorageClassSyncer | None = None
        if config.from_host.storage_classes:
            self.storage_classes = storageclasses.StorageClassSyncer(self.s)
            self._reconcilers[storageclasses.QUEUE_KIND] = self.storage_classes.reconcile
            for side, selector in (
                (self.s.host, ""),
                (self.s.virtual, f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE}"),
            ):
                self._watch(
                    side,
                    storageclasses.KIND,
                    lambda key, _: self.queue.add((storageclasses.QUEUE_KIND, key)),
                    api_version=storageclasses.API_VERSION,
                    label_selector=selector,
                )

    def _kind_syncers(self) -> dict[str, KindSyncer]:
        flags = self.config.from_virtual
        found: list[KindSyncer] = [
            # Pods need Services (environment, DNS) and ConfigMaps (the CA) watched.
            PodSyncer(self.s, on_node=self.nodes.reconcile),
            ServiceSyncer(self.s),
            ConfigMapSyncer(self.s, self._referenced),
            SecretSyncer(self.s, self._referenced),
            EndpointsSyncer(self.s),
            EndpointSliceSyncer(self.s),
            PersistentVolumeClaimSyncer(self.s),
        ]
        # The optional kinds, each off unless switched on.
        if flags.ingresses:
            found.append(IngressSyncer(self.s))
        if flags.service_accounts:
            found.append(ServiceAccountSyncer(self.s))
        if flags.network_policies:
            policies = NetworkPolicySyncer(self.s)
            found.append(policies)
            # Namespace selectors are evaluated against the virtual namespaces' labels.
            self._watch(self.s.virtual, NAMESPACE, policies.on_namespace)
        if flags.pod_disruption_budgets:
            found.append(PodDisruptionBudgetSyncer(self.s))
        if flags.priority_classes:
            found.append(PriorityClassSyncer(self.s))
        return {syncer.kind: syncer for syncer in found}

    # --- informers and event routing ---

    def _watch(
        self,
        side: Side,
        kind: str,
        handler: Callable[[str, Manifest], None],
        *,
        api_version: str = "v1",
        namespace: str | None = None,
        label_selector: str = "",
    ) -> None:
        side.informers[kind] = Informer(
            side.resource(kind, api_version),
            handler,
            namespace=namespace,
            label_selector=label_selector,
        )

    def _watch_kind(self, syncer: KindSyncer) -> None:
        kind = syncer.kind

        def on_virtual(key: str, obj: Manifest) -> None:
            syncer.observe(key, obj)
            # A virtual object without a host twin is someone waiting: it goes first.
            missing = syncer.host_twin(key) is None
            self.queue.add((kind, key), urgent=missing)
            for related in syncer.related(obj):
                self.queue.add(related)
            if kind == pods.KIND:
                self._node_of(obj)

        def on_host(key: str, obj: Manifest) -> None:
            # Added, changed or deleted on the host: the virtual object it mirrors is re-checked.
            if kind == pods.KIND:
                self._node_of(obj)
            owner = self._owner(syncer, obj)
            if owner is not None:
                self.queue.add(owner)
            else:  # it left our selector because someone stripped our labels: find its owner
                self._resync(syncer)

        self._watch(self.s.virtual, kind, on_virtual, api_version=syncer.api_version)
        self._watch(
            self.s.host,
            kind,
            on_host,
            api_version=syncer.api_version,
            namespace=syncer.host_namespace,
            label_selector=(
                f"{self.s.host_selector},{keys.HOST_NAMESPACE}={self.config.host_namespace}"
                if syncer.cluster_scoped
                else self.s.host_selector
            ),
        )

    @staticmethod
    def _owner(syncer: KindSyncer, host: Manifest) -> Key | None:
        owner = syncer.owner_key(host)
        if owner is None:
            return None
        # A pod's token Secret is the pod's business.
        token = keys.POD_TOKEN in (host["metadata"].get("labels") or {})
        return (pods.KIND if token else syncer.kind, owner)

    def _node_of(self, pod: Manifest) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self.queue.add((nodes.QUEUE_KIND, node))

    def _resync(self, syncer: KindSyncer) -> None:
        for obj in self.s.virtual.informers[syncer.kind].items():
            self.queue.add((syncer.kind, key_of(obj)))
        for obj in self.s.host.informers[syncer.kind].items():
            owner = self._owner(syncer, obj)
            if owner is not None:
                self.queue.add(owner)

    def _referenced(self, kind: str, namespace: str, name: str) -> bool:
        """Whether a virtual pod in ``namespace`` uses ConfigMap or Secret ``name``, or, with
        Ingresses synced, an Ingress serves TLS with Secret ``name``."""
        if any(
            name in pods.references(p.get("spec") or {})[kind]
            for p in self._in_namespace(pods.KIND, namespace)
        ):
            return True
        return (
            kind == secrets.KIND
            and ingresses.KIND in self.kinds
            and any(
                name in ingresses.tls_secrets(i)
                for i in self._in_namespace(ingresses.KIND, namespace)
            )
        )

    def _in_namespace(self, kind: str, namespace: str) -> Iterable[Manifest]:
        return (
            o
            for o in self.s.virtual.informers[kind].items()
            if o["metadata"]["namespace"] == namespace
        )

    # --- running ---

    def _informers(self) -> list[Informer]:
        return [*self.s.virtual.informers.values(), *self.s.host.informers.values()]

    def run(self, stop: threading.Event, leading: threading.Event | None = None) -> None:
        for side_name, side in (("v", self.s.virtual), ("h", self.s.host)):
            for kind, informer in side.informers.items():
                threading.Thread(
                    target=informer.run, args=(stop,), daemon=True, name=f"inf-{side_name}-{kind}"
                ).start()
        for informer in self._informers():
            while not informer.synced.wait(0.2):
                if stop.is_set():
                    return
        if coredns.QUEUE_KIND in self._reconcilers:
            self.queue.add((coredns.QUEUE_KIND, ""))
        # Full resync on start: adopt what is already right, delete orphans.
        for syncer in self.kinds.values():
            self._resync(syncer)
        if self.storage_classes is not None:
            self.storage_classes.resync()
        for node in self.s.virtual.informers["Node"].items():
            self.queue.add((nodes.QUEUE_KIND, node["metadata"]["name"]))
        workers = [
            threading.Thread(
                target=self._work, args=(stop, leading), daemon=True, name=f"worker-{i}"
            )
            for i in range(self._workers)
        ]
        for w in workers:
            w.start()
        stop.wait()
        self.queue.shutdown()
        for w in workers:
            w.join(timeout=5)

    @property
    def ready(self) -> bool:
        return all(i.synced.is_set() for i in self._informers())

    def _work(self, stop: threading.Event, leading: threading.Event | None) -> None:
        while not stop.is_set():
            # Not ours to write yet: keys wait in the queue, untouched, until we lead.
            if leading is not None and not leading.wait(0.5):
                continue
            key = self.queue.get(timeout=0.5)
            if key is None:
                continue
            kind = key[0]
            QUEUE_DEPTH.labels(kind).set(len(self.queue))
            try:
                started = time.monotonic()
                self.reconcile(*key)
                SYNC_LATENCY.labels(kind).observe(time.monotonic() - started)
                self.queue.forget(key)
            except Exception as e:
                SYNC_ERRORS.labels(kind).inc()
                delay = self.queue.retry(key)
                log.warning("sync %s %s failed (%s); retry in %.2fs", kind, key[1], e, delay)
            finally:
                self.queue.done(key)

    def reconcile(self, kind: str, key: str) -> None:
        self._reconcilers[kind](key)
