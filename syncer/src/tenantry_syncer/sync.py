"""The syncer: keeps the host namespace in step with the virtual cluster.

It builds the reconcilers the registry (`registry.py`) switches on, starts the informers they
ask for on both API servers, queues their start-up work, and runs the workers. It knows no
kind by name: every kind is a registry entry.
"""

import logging
import threading
import time
from collections.abc import Iterable

import urllib3
from kubernetes import client
from tenantry_api.config import SyncerConfig
from tenantry_api.types import Manifest

from tenantry_syncer.controller.informer import Handler, Informer
from tenantry_syncer.controller.metrics import QUEUE_DEPTH, SYNC_ERRORS, SYNC_LATENCY
from tenantry_syncer.controller.queue import WorkQueue
from tenantry_syncer.registry import REGISTRY, Registration
from tenantry_syncer.syncers.base import Key, Reconciler, Resyncing, Shared, Side, Watch

log = logging.getLogger(__name__)

UNREACHABLE_RETRY_CAP = 2.0
UNAVAILABLE = frozenset({0, 429, 500, 502, 503, 504})
"""Statuses of an API server that is starting, stopping or overloaded, not refusing the key."""


def unreachable(error: Exception) -> bool:
    """The API server did not answer the request (or answered that it cannot yet)."""
    if isinstance(error, client.exceptions.ApiException):
        return error.status in UNAVAILABLE
    return isinstance(error, (urllib3.exceptions.HTTPError, OSError))


class Syncer:
    def __init__(
        self,
        config: SyncerConfig,
        virtual: client.ApiClient,
        host: client.ApiClient,
        workers: int = 4,
        registry: Iterable[Registration] = REGISTRY,
    ) -> None:
        self.config = config
        self._workers = workers
        self.queue: WorkQueue[Key] = WorkQueue()
        self.s = Shared(config, Side(virtual), Side(host), self.queue)
        self.reconcilers: dict[str, Reconciler] = {}
        for registration in registry:
            if registration.enabled(config):
                reconciler = registration.build(self.s)
                if reconciler.queue_kind in self.reconcilers:
                    raise ValueError(f"{reconciler.queue_kind} is registered twice")
                self.reconcilers[reconciler.queue_kind] = reconciler
        self._start_informers([w for r in self.reconcilers.values() for w in r.watches()])

    def _start_informers(self, watches: list[Watch]) -> None:
        """One informer per kind and side, shared by every reconciler that watches it."""
        handlers: dict[tuple[int, str], list[Handler]] = {}
        scopes: dict[tuple[int, str], Watch] = {}
        for watch in watches:
            at = (id(watch.side), watch.kind)
            first = scopes.setdefault(at, watch)
            if first.scope != watch.scope:
                raise ValueError(
                    f"{watch.kind} watched in two scopes: {first.scope}, {watch.scope}"
                )
            handlers.setdefault(at, [])
            if watch.handler is not None:
                handlers[at].append(watch.handler)
        for at, watch in scopes.items():
            watch.side.informers[watch.kind] = Informer(
                watch.side.resource(watch.kind, watch.api_version),
                _fan_out(handlers[at]),
                namespace=watch.namespace,
                label_selector=watch.label_selector,
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
        # Full resync on start: adopt what is already right, delete orphans.
        for reconciler in self.reconcilers.values():
            if isinstance(reconciler, Resyncing):
                reconciler.resync()
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
                # An API that does not answer is no fault of the key's: retried at a short,
                # fixed cap, so work resumes within seconds of the API's return.
                cap = UNREACHABLE_RETRY_CAP if unreachable(e) else None
                delay = self.queue.retry(key, cap)
                log.warning("sync %s %s failed (%s); retry in %.2fs", kind, key[1], e, delay)
            finally:
                self.queue.done(key)

    def reconcile(self, kind: str, key: str) -> None:
        self.reconcilers[kind].reconcile(key)


def _fan_out(handlers: list[Handler]) -> Handler:
    def on_change(key: str, obj: Manifest) -> None:
        for handler in handlers:
            handler(key, obj)

    return on_change
