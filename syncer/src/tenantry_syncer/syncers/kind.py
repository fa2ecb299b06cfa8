"""The generic virtual → host reconcile of one kind: translate, compare, create or replace,
status back; and the routing of both sides' changes to the keys they affect."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tenantry_api import keys
from tenantry_api.naming import cluster_host_name, virtual_ref
from tenantry_api.types import Manifest
from tenantry_syncer.controller.informer import key_of
from tenantry_syncer.syncers.base import Key, Shared, Watch


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

    @property
    def queue_kind(self) -> str:
        return self.kind

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

    def record_uses(self, key: str, uses: Mapping[str, Iterable[str]]) -> None:
        """Tells the references index which objects of its namespace virtual object ``key``
        uses, by kind; nothing, once it is gone."""
        namespace = key.split("/", 1)[0]
        gone = self.s.virtual.informers[self.kind].get(key) is None
        used = (
            []
            if gone
            else [(kind, f"{namespace}/{name}") for kind, names in uses.items() for name in names]
        )
        self.s.references.record((self.kind, key), used)

    def related(self, virtual: Manifest) -> Iterable[Key]:
        """Other keys to re-check when ``virtual`` changes (e.g. a Service's Endpoints)."""
        return ()

    def owner(self, host: Manifest) -> Key | None:
        """The queue key of the virtual object a host object mirrors, from its annotations."""
        meta = host["metadata"]
        ref = virtual_ref(meta.get("labels") or {}, meta.get("annotations") or {})
        if ref is None:
            return None
        return self.kind, ref.name if self.cluster_scoped else f"{ref.namespace}/{ref.name}"

    # --- watches and routing ---

    def watches(self) -> Iterable[Watch]:
        yield Watch(self.s.virtual, self.kind, self.api_version, handler=self.on_virtual)
        yield self.s.twins(
            self.kind, self.api_version, cluster_scoped=self.cluster_scoped, handler=self.on_host
        )

    def on_virtual(self, key: str, virtual: Manifest) -> None:
        self.observe(key, virtual)
        # A virtual object without a host twin is someone waiting: it goes first.
        self.s.queue.add((self.kind, key), urgent=self.host_twin(key) is None)
        for related in self.related(virtual):
            self.s.queue.add(related)

    def on_host(self, _key: str, host: Manifest) -> None:
        # Added, changed or deleted on the host: the virtual object it mirrors is re-checked.
        owner = self.owner(host)
        if owner is not None:
            self.s.queue.add(owner)
        else:  # it left our selector because someone stripped our labels: find its owner
            self.resync()

    def resync(self) -> None:
        """Every virtual object and every twin's owner, re-checked: adopts what is already
        right and deletes orphans."""
        for obj in self.s.virtual.informers[self.kind].items():
            self.s.queue.add((self.kind, key_of(obj)))
        for obj in self.s.host.informers[self.kind].items():
            owner = self.owner(obj)
            if owner is not None:
                self.s.queue.add(owner)

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
            # Only a twin this syncer wrote goes: the host's endpoints controller copies a
            # Service's labels (ours) onto Endpoints of the same name, and deleting those
            # starts a create/delete loop with it.
            if host is not None and self.owner(host) is not None:
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
