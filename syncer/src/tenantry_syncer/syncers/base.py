"""What every kind's reconciler shares: both sides' clients and informers, the work queue,
the references index, and the protocol the registry builds on."""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.dynamic.resource import Resource
from tenantry_api import keys
from tenantry_api.config import SyncerConfig
from tenantry_api.naming import host_name
from tenantry_api.types import Manifest
from tenantry_syncer.controller.informer import Handler, Informer, key_of
from tenantry_syncer.controller.queue import WorkQueue
from tenantry_syncer.controller.rest import Rest

log = logging.getLogger(__name__)

DISCOVERY_WAIT_SECONDS = 60.0
"""How long a kind may be missing from discovery before the syncer gives up: an API server that
has just started answers before it serves every built-in group."""
SETTLE_SECONDS = 30.0
"""How long a Service the syncer re-creates in the virtual cluster is treated as present."""

Key = tuple[str, str]
"""(queue kind, object key): "<virtual namespace>/<name>" for namespaced kinds."""

T = TypeVar("T")


@dataclass
class Side:
    """One API server: the kinds used (found through discovery), and their informers."""

    api: client.ApiClient
    resources: dict[str, Rest] = field(default_factory=dict)
    informers: dict[str, Informer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._discovery = DynamicClient(self.api)  # type: ignore[no-untyped-call]

    def resource(self, kind: str, api_version: str = "v1") -> Rest:
        if kind not in self.resources:
            self.resources[kind] = Rest(self.api, self._discover(kind, api_version))
        return self.resources[kind]

    def _discover(self, kind: str, api_version: str) -> Resource:
        deadline = time.monotonic() + DISCOVERY_WAIT_SECONDS
        while True:
            try:
                found: Resource = self._discovery.resources.get(api_version=api_version, kind=kind)
                return found
            except ResourceNotFoundError:
                if time.monotonic() >= deadline:
                    raise ResourceNotFoundError(
                        f"{api_version} {kind} is not served by {self.api.configuration.host} "
                        f"after {DISCOVERY_WAIT_SECONDS:.0f}s"
                    ) from None
                log.info("%s %s is not served yet; asking discovery again", api_version, kind)
                time.sleep(1)
                self._discovery.resources.invalidate_cache()


@dataclass(frozen=True)
class Watch:
    """An informer a reconciler needs: one kind on one side, in one scope. ``handler`` sees
    every change; without one the reconciler only reads the informer's cache. Reconcilers
    that watch the same kind on the same side must ask for the same scope: they share it."""

    side: Side
    kind: str
    api_version: str = "v1"
    namespace: str | None = None
    label_selector: str = ""
    handler: Handler | None = None

    @property
    def scope(self) -> tuple[str, str | None, str]:
        return (self.api_version, self.namespace, self.label_selector)


class Reconciler(Protocol):
    """What the registry builds for each kind: the informers it needs, and the reconcile of
    one key. Its queue keys are ``(queue_kind, key)``."""

    @property
    def queue_kind(self) -> str: ...

    def watches(self) -> Iterable[Watch]: ...

    def reconcile(self, key: str) -> None: ...


@runtime_checkable
class Resyncing(Protocol):
    """A reconciler with work to queue once every informer has synced (the start)."""

    def resync(self) -> None: ...


class References:
    """Which ConfigMaps and Secrets the synced objects use, by default the only ones synced.
    A referrer's syncer (pods, Ingresses) records what each object uses as it sees it change;
    whatever it starts or stops using is queued, so its syncer looks at it again."""

    def __init__(self, queue: WorkQueue[Key]) -> None:
        self._queue = queue
        self._lock = threading.Lock()
        self._uses: dict[Key, frozenset[Key]] = {}
        self._users: defaultdict[Key, set[Key]] = defaultdict(set)

    def record(self, referrer: Key, uses: Iterable[Key]) -> None:
        """``referrer`` now uses ``uses`` (nothing, once it is gone)."""
        new = frozenset(uses)
        with self._lock:
            old = self._uses.pop(referrer, frozenset())
            if new:
                self._uses[referrer] = new
            for key in old - new:
                self._users[key].discard(referrer)
                if not self._users[key]:
                    del self._users[key]
            for key in new:
                self._users[key].add(referrer)
        for key in old | new:
            self._queue.add(key)

    def used(self, kind: str, virtual: Manifest) -> bool:
        with self._lock:
            return (kind, key_of(virtual)) in self._users


@dataclass
class Shared:
    """The state every kind's syncer works with."""

    config: SyncerConfig
    virtual: Side
    host: Side
    queue: WorkQueue[Key]
    references: References = field(init=False)
    """Which ConfigMaps and Secrets synced objects use; filled by their syncers."""
    _settling: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.references = References(self.queue)

    def enqueue(self, queue_kind: str) -> Handler:
        """A handler queueing every changed key as ``(queue_kind, key)``."""
        return lambda key, _obj: self.queue.add((queue_kind, key))

    def hold(self, service_key: str) -> None:
        """The virtual Service ``service_key`` is being re-created by the syncer itself: its
        brief absence must not take its host twin or its endpoints away."""
        self._settling[service_key] = time.monotonic() + SETTLE_SECONDS

    def settling(self, service_key: str) -> bool:
        return self._settling.get(service_key, 0.0) > time.monotonic()

    @property
    def host_selector(self) -> str:
        return f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE},{keys.VCLUSTER}={self.config.vcluster}"

    def twins(
        self,
        kind: str,
        api_version: str = "v1",
        *,
        cluster_scoped: bool = False,
        handler: Handler | None = None,
    ) -> Watch:
        """The host watch of a kind's twins: our labels, in the host namespace. Cluster-scoped
        twins are told apart by the host namespace label, since a vcluster's name is only
        unique within its host namespace."""
        if cluster_scoped:
            selector = f"{self.host_selector},{keys.HOST_NAMESPACE}={self.config.host_namespace}"
            return Watch(self.host, kind, api_version, None, selector, handler)
        namespace = self.config.host_namespace
        return Watch(self.host, kind, api_version, namespace, self.host_selector, handler)

    def host_name(self, name: str, namespace: str) -> str:
        return host_name(name, namespace, self.config.vcluster)

    def host_object(self, kind: str, name: str, namespace: str) -> Manifest | None:
        """The host twin of a virtual object, as the host informer last saw it."""
        hname = self.host_name(name, namespace)
        return self.host.informers[kind].get(f"{self.config.host_namespace}/{hname}")

    def delete_host(self, kind: str, hname: str, *, cluster_scoped: bool = False) -> None:
        resource = self.host.resources[kind]
        namespace = None if cluster_scoped else self.config.host_namespace
        ignoring(404, lambda: resource.delete(name=hname, namespace=namespace))

    def event(
        self, virtual: Manifest, reason: str, message: str, *, type_: str = "Warning"
    ) -> None:
        """An Event from the syncer on a virtual object (a Warning unless told)."""
        meta = virtual["metadata"]
        self.virtual.resource("Event").create(
            namespace=meta["namespace"],
            body={
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
                "involvedObject": {
                    "apiVersion": virtual.get("apiVersion", "v1"),
                    "kind": virtual.get("kind", ""),
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta.get("uid"),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "source": {"component": "tenantry-syncer"},
            },
        )


def ignoring(status: int, call: Callable[[], T]) -> T | None:
    """``call()``, treating an API error with ``status`` (404 on delete, 409 on create) as
    already done."""
    try:
        return call()
    except ApiException as e:
        if e.status != status:
            raise
        return None
