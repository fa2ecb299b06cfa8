"""What every kind's syncer shares: both sides' clients and informers, the work queue, and
the generic virtual → host reconcile (translate, compare, create or replace, status back)."""

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from tenantry_api import keys
from tenantry_api.config import SyncerConfig
from tenantry_api.naming import cluster_host_name, host_name, virtual_ref
from tenantry_api.types import Manifest
from tenantry_syncer.controller.informer import Informer
from tenantry_syncer.controller.queue import WorkQueue
from tenantry_syncer.controller.rest import Rest

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
            found = self._discovery.resources.get(api_version=api_version, kind=kind)
            self.resources[kind] = Rest(self.api, found)
        return self.resources[kind]


@dataclass
class Shared:
    """The state every kind's syncer works with."""

    config: SyncerConfig
    virtual: Side
    host: Side
    queue: WorkQueue[Key]
    _settling: dict[str, float] = field(default_factory=dict)

    def hold(self, service_key: str) -> None:
        """The virtual Service ``service_key`` is being re-created by the syncer itself: its
        brief absence must not take its host twin or its endpoints away."""
        self._settling[service_key] = time.monotonic() + SETTLE_SECONDS

    def settling(self, service_key: str) -> bool:
        return self._settling.get(service_key, 0.0) > time.monotonic()

    @property
    def host_selector(self) -> str:
        return f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE},{keys.VCLUSTER}={self.config.vcluster}"

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


class KindSyncer:
    """Virtual → host for one kind: the subclass gives the translation and, where the kind has
    one, the status fields that flow back. Namespaced kinds land in the host namespace; a
    cluster-scoped kind's twins are cluster-scoped too, named by ``cluster_host_name``."""

    kind: ClassVar[str]
    api_version: ClassVar[str] = "v1"
    cluster_scoped: ClassVar[bool] = False
    status_fields: ClassVar[tuple[str, ...]] = ()
    """Host status fields copied onto the virtual object."""

    def __init__(self, shared: Shared) -> None:
        self.s = shared

    # --- hooks ---

    def to_host(self, virtual: Manifest) -> Manifest:
        raise NotImplementedError

    def wanted(self, virtual: Manifest) -> bool:
        return True

    def settling(self, key: str, virtual: Manifest | None) -> bool:
        """True while the object is briefly gone because the syncer itself re-creates it."""
        return virtual is None and self.s.settling(key)

    def observe(self, key: str, virtual: Manifest) -> None:
        """Sees every virtual event of the kind, with the object as last seen (on deletion
        too), before its key is queued."""

    def related(self, virtual: Manifest) -> Iterable[Key]:
        """Other keys to re-check when ``virtual`` changes (e.g. the ConfigMaps a pod uses)."""
        return ()

    # --- reconcile ---

    @property
    def host_namespace(self) -> str | None:
        return None if self.cluster_scoped else self.s.config.host_namespace

    def host_twin(self, key: str) -> Manifest | None:
        """The host twin of virtual object ``key``, as the host informer last saw it."""
        if self.cluster_scoped:
            hname = cluster_host_name(key, self.s.config.vcluster, self.s.config.host_namespace)
            return self.s.host.informers[self.kind].get(hname)
        namespace, name = key.split("/", 1)
        return self.s.host_object(self.kind, name, namespace)

    def reconcile(self, key: str) -> None:
        virtual = self.s.virtual.informers[self.kind].get(key)
        host = self.host_twin(key)
        if self.settling(key, virtual):
            # Re-created by us a moment ago: look again once the informer has caught up.
            self.s.queue.add_after((self.kind, key), 1.0)
            return
        if virtual is None or not self.wanted(virtual):
            if host is not None:
                self.s.delete_host(
                    self.kind, host["metadata"]["name"], cluster_scoped=self.cluster_scoped
                )
            return
        self.sync(virtual, host)

    def sync(self, virtual: Manifest, host: Manifest | None) -> None:
        desired = stamped(self.to_host(virtual))
        resource = self.s.host.resources[self.kind]
        namespace = self.host_namespace
        if host is None:
            host = resource.create(body=desired, namespace=namespace)
        elif not covers(host, desired):
            host = resource.replace(body=merged(host, desired), namespace=namespace)
        self.status_back(virtual, host)

    def status_back(self, virtual: Manifest, host: Manifest) -> None:
        if not self.status_fields:
            return
        current, source = virtual.get("status") or {}, host.get("status") or {}
        status = {k: source[k] for k in self.status_fields if k in source}
        if status and any(current.get(k) != v for k, v in status.items()):
            meta = virtual["metadata"]
            self.s.virtual.resources[self.kind].patch_status(
                {"status": status}, meta["name"], meta.get("namespace")
            )

    def owner_key(self, host: Manifest) -> str | None:
        """Key of the virtual object a host object mirrors, from its annotations."""
        meta = host["metadata"]
        ref = virtual_ref(meta.get("labels") or {}, meta.get("annotations") or {})
        if ref is None:
            return None
        return ref.name if self.cluster_scoped else f"{ref.namespace}/{ref.name}"


def stamped(desired: Manifest) -> Manifest:
    """``desired`` with the hash of itself in an annotation: a field the tenant removes changes
    the hash, so it is removed on the host too."""
    digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()[:16]
    desired["metadata"].setdefault("annotations", {})[keys.APPLIED_HASH] = digest
    return desired


def covers(current: Any, desired: Any) -> bool:
    """True when ``current`` holds everything ``desired`` asks for. Fields only ``current`` has
    (server defaults, resourceVersion, status) do not count."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            covers(current.get(k), v) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(current) == len(desired)
            and all(covers(c, d) for c, d in zip(current, desired, strict=True))
        )
    return bool(current == desired)


def same_metadata(current: Manifest, desired: Manifest) -> bool:
    """The labels and annotations ``desired`` sets are all on ``current``."""
    return all(
        (current.get(part) or {}).items() >= (desired.get(part) or {}).items()
        for part in ("labels", "annotations")
    )


def merged(host: Manifest, desired: Manifest) -> Manifest:
    """The replace body: ``desired``, keeping the host's identity and whatever it owns."""
    meta = {
        **host["metadata"],
        **{k: desired["metadata"].get(k, {}) for k in ("labels", "annotations")},
    }
    return {**host, **desired, "metadata": meta}


def ignoring(status: int, call: Callable[[], T]) -> T | None:
    """``call()``, treating an API error with ``status`` (404 on delete, 409 on create) as
    already done."""
    try:
        return call()
    except ApiException as e:
        if e.status != status:
            raise
        return None
