"""List+watch informer with resourceVersion, relisting on 410 Gone, over the dynamic client
(so every kind, built-in or not, is watched the same way)."""

import logging
import threading
import time
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException
from tenantry_api.types import Manifest

from tenantry_syncer.controller.rest import Rest

log = logging.getLogger(__name__)

Handler = Callable[[str, Manifest], None]
"""Called with the key and the object; for a deletion, the object as last seen."""


def key_of(obj: Manifest) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


class Informer:
    """Keeps ``store`` in step with the API server and calls ``on_change(key, obj)`` for every
    add, update or delete, including those found by a relist."""

    def __init__(
        self,
        resource: Rest,
        on_change: Handler,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        watch_timeout: int = 300,
    ) -> None:
        self._resource = resource
        self._on_change = on_change
        self._namespace = namespace
        self._label_selector = label_selector
        self._watch_timeout = watch_timeout
        self._lock = threading.Lock()
        self._store: dict[str, Manifest] = {}
        self.synced = threading.Event()

    def get(self, key: str) -> Manifest | None:
        with self._lock:
            return self._store.get(key)

    def items(self) -> list[Manifest]:
        with self._lock:
            return list(self._store.values())

    def run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                version = self._relist()
                failures = 0
                while not stop.is_set():  # a watch that times out resumes where it ended
                    version = self._watch(version, stop)
            except ApiException as e:
                if e.status != 410:
                    failures += 1
                    log.warning("%s watch failed (%s); relisting", self._resource.kind, e.status)
                    stop.wait(min(30.0, 0.2 * 2**failures))
            except Exception:
                failures += 1
                log.exception("%s informer error; relisting", self._resource.kind)
                stop.wait(min(30.0, 0.2 * 2**failures))

    def _relist(self) -> str:
        listed = self._resource.list(self._namespace, self._label_selector)
        fresh = {key_of(obj): self._trim(obj) for obj in listed["items"]}
        with self._lock:
            changed = [
                (k, obj)
                for k, obj in fresh.items()
                if self._store.get(k, {}).get("metadata", {}).get("resourceVersion")
                != obj["metadata"].get("resourceVersion")
            ]
            gone = [(k, obj) for k, obj in self._store.items() if k not in fresh]
            self._store = fresh
        for key, obj in changed + gone:
            self._on_change(key, obj)
        self.synced.set()
        return str(listed["metadata"]["resourceVersion"])

    def _trim(self, obj: Manifest) -> Manifest:
        """List items carry no kind; managedFields are never read and are a third of a pod."""
        obj.setdefault("kind", self._resource.kind)
        obj.setdefault("apiVersion", self._resource.api_version)
        obj["metadata"].pop("managedFields", None)
        return obj

    def _watch(self, version: str, stop: threading.Event) -> str:
        """Watch from ``version``; returns the last version seen when the watch ends."""
        start = time.monotonic()
        for event in self._resource.watch(
            namespace=self._namespace,
            label_selector=self._label_selector,
            resource_version=version,
            timeout=self._watch_timeout,
        ):
            if stop.is_set():
                return version
            obj: Manifest = event["object"]
            if event["type"] == "BOOKMARK":
                version = obj["metadata"]["resourceVersion"]
                continue
            if event["type"] == "ERROR":
                if obj.get("code") == 410:
                    raise ApiException(status=410, reason="Gone")
                raise ApiException(status=obj.get("code", 500), reason=obj.get("message", ""))
            key = key_of(self._trim(obj))
            version = obj["metadata"].get("resourceVersion", version)
            with self._lock:
                if event["type"] == "DELETED":
                    self._store.pop(key, None)
                else:
                    self._store[key] = obj
            self._on_change(key, obj)
        log.debug("%s watch ended after %.0fs", self._resource.kind, time.monotonic() - start)
        return version
