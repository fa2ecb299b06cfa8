"""`tenantry-syncer sleep`: the always-on part of a VirtualCluster with `sleep`.

It stands in front of the virtual API server: the VirtualCluster's Service (and so its
exposure, and the `kubernetes` alias of the tenant's pods) points at it, and it passes every
TCP connection through to the control plane unchanged (TLS stays end to end). That is how it
sees the tenant's requests, and how a request that arrives while the tenant sleeps wakes it.

- Sleep: after ``idle`` with no bytes from any client, outside the awake hours, it records the
  synced host pods in the ConfigMap ``vc-<name>-sleep``, scales the control plane's
  StatefulSet to zero, waits until the control plane is gone (so no syncer re-creates
  anything), and deletes those host pods. The virtual cluster's own state is in its store
  volume, which stays: nothing is lost.
- Wake: a connection, or the ``tenantry.dev/wake`` annotation on the StatefulSet, scales it
  back to one and holds the waiting connections until the API server answers; the syncer's
  start-up resync puts every synced pod back on the host.
"""

import contextlib
import datetime as dt
import json
import logging
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenantry_api import keys
from tenantry_api.config import DAYS, SleeperConfig, SleepSettings

from tenantry_syncer.kube import replace_or_create

log = logging.getLogger(__name__)

RECORD_KEY = "state.json"
AWAKE, SLEEPING, ASLEEP, WAKING = "awake", "sleeping", "asleep", "waking"


def record_name(vcluster: str) -> str:
    """The host ConfigMap holding the sleep state and the record of the removed workloads."""
    return f"vc-{vcluster}-sleep"


@dataclass(frozen=True)
class AwakeHours:
    """Hours in which the tenant never sleeps, e.g. 08:00-18:00 on weekdays, in a time zone.
    A range whose end is before its start runs over midnight (and belongs to its start day)."""

    start: dt.time
    end: dt.time
    days: frozenset[int]
    zone: ZoneInfo

    @classmethod
    def of(cls, settings: SleepSettings) -> "AwakeHours | None":
        """The awake hours of validated settings (tenantry_api.config), or None without any."""
        if not settings.awake_hours:
            return None
        start, end = settings.awake_hours.split("-")
        days = settings.awake_days or list(DAYS)
        return cls(
            dt.time.fromisoformat(start),
            dt.time.fromisoformat(end),
            frozenset(DAYS.index(d) for d in days),
            ZoneInfo(settings.time_zone or "UTC"),
        )

    def contains(self, when: dt.datetime) -> bool:
        local = when.astimezone(self.zone)
        t, day = local.time(), local.weekday()
        if self.start < self.end:
            return self.start <= t < self.end and day in self.days
        if t >= self.start:
            return day in self.days
        return t < self.end and (day - 1) % 7 in self.days


class Sleeper:
    def __init__(
        self,
        config: SleeperConfig,
        host: client.ApiClient,
        upstream: tuple[str, int],
        *,
        statefulset: str | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.namespace = config.host_namespace
        self.statefulset = statefulset or config.vcluster
        self.apps = client.AppsV1Api(host)
        self.core = client.CoreV1Api(host)
        self.upstream = upstream
        self.idle_seconds = config.sleep.idle_seconds
        self.awake_hours = AwakeHours.of(config.sleep)
        self.now = now
        self.state = AWAKE
        self.last_activity = time.monotonic()
        self.wake_requested = False
        self._cond = threading.Condition()

    # --- activity and the proxy ---

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def wait_awake(self, timeout: float) -> bool:
        """Called by a connection: wake the tenant if it sleeps, and wait until it answers."""
        with self._cond:
            if self.state != AWAKE:
                self.wake_requested = True
                self._cond.notify_all()
            return self._cond.wait_for(lambda: self.state == AWAKE, timeout)

    def serve(self, listener: socket.socket, stop: threading.Event) -> None:
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        self.touch()
        with conn:
            if not self.wait_awake(timeout=300):
                log.warning("a connection waited 300s for the control plane; closing it")
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError as e:
                log.warning("cannot reach the control plane at %s: %s", self.upstream, e)
                return
            with upstream:
                upstream.settimeout(None)
                conn.settimeout(None)
                back = threading.Thread(target=_pipe, args=(upstream, conn, None), daemon=True)
                back.start()
                _pipe(conn, upstream, self.touch)
                back.join()

    # --- the control loop ---

    def run(self, stop: threading.Event, tick: float = 1.0) -> None:
        resumed = False
        while not stop.is_set():
            try:
                if not resumed:  # the StatefulSet may not exist yet on a first deploy
                    self._resume()
                    resumed = True
                self.step()
            except Exception as e:  # the host API may blink; try again next tick
                log.warning("sleep control step failed: %s", e)
            with self._cond:
                self._cond.wait_for(lambda: self.wake_requested or stop.is_set(), tick)

    def _resume(self) -> None:
        """After a restart: a control plane scaled to zero is asleep (its sleep is finished)."""
        if (self._statefulset().spec.replicas or 0) == 0:
            self._set_state(ASLEEP)
            self._finish_sleep(self._read_record().get("workloads", []))

    def step(self) -> None:
        annotations = self._statefulset().metadata.annotations or {}
        if keys.WAKE in annotations:
            self.wake_requested = True
        if self.wake_requested:
            if self.state != AWAKE:
                self.wake(reason="request" if keys.WAKE not in annotations else "annotation")
            self.wake_requested = False
            if keys.WAKE in annotations:
                self._patch_statefulset({"metadata": {"annotations": {keys.WAKE: None}}})
            return
        idle = time.monotonic() - self.last_activity
        if (
            self.state == AWAKE
            and idle >= self.idle_seconds
            and not (self.awake_hours and self.awake_hours.contains(self.now()))
        ):
            self.sleep(reason=f"no API requests for {int(idle)}s")

    def sleep(self, reason: str) -> None:
        workloads = [self._describe(p) for p in self._host_pods()]
        self._set_state(SLEEPING)
        self._write_record(SLEEPING, reason, workloads)
        self._patch_statefulset({"spec": {"replicas": 0}})
        self._wait(self._control_plane_gone, 300, "the control plane to stop")
        # Anything the syncer created before it stopped is recorded too.
        seen = {w["host_name"] for w in workloads}
        workloads += [
            d for p in self._host_pods() if (d := self._describe(p))["host_name"] not in seen
        ]
        self._write_record(SLEEPING, reason, workloads)
        self._finish_sleep(workloads)
        log.info("asleep (%s): %d workloads removed from the host", reason, len(workloads))

    def _finish_sleep(self, workloads: list[dict[str, str]]) -> None:
        for pod in self._host_pods():
            self._delete_pod(pod.metadata.name)
        record = self._read_record()
        self._write_record(ASLEEP, record.get("reason", ""), workloads)
        self._set_state(ASLEEP)

    def wake(self, reason: str) -> None:
        record = self._read_record()
        self._set_state(WAKING)
        self._write_record(WAKING, reason, record.get("workloads", []))
        self._patch_statefulset({"spec": {"replicas": 1}})
        self._wait(self._control_plane_answers, 600, "the control plane to answer")
        self._write_record(AWAKE, reason, record.get("workloads", []))
        self.touch()
        self._set_state(AWAKE)
        log.info("awake (%s)", reason)

    # --- helpers ---

    def _set_state(self, state: str) -> None:
        with self._cond:
            self.state = state
            self._cond.notify_all()

    def _statefulset(self) -> Any:
        return self.apps.read_namespaced_stateful_set(self.statefulset, self.namespace)

    def _patch_statefulset(self, body: dict[str, Any]) -> None:
        self.apps.patch_namespaced_stateful_set(self.statefulset, self.namespace, body)

    def _host_pods(self) -> list[Any]:  # V1Pod, whose fields the client types as optional
        selector = (
            f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE},{keys.VCLUSTER}={self.config.vcluster}"
        )
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        return [
            p for p in pods if keys.OBJECT_NAME in ((p.metadata and p.metadata.annotations) or {})
        ]

    @staticmethod
    def _describe(pod: Any) -> dict[str, str]:
        annotations = pod.metadata.annotations or {}
        return {
            "host_name": pod.metadata.name,
            "namespace": annotations.get(keys.OBJECT_NAMESPACE, ""),
            "name": annotations.get(keys.OBJECT_NAME, ""),
            "uid": annotations.get(keys.OBJECT_UID, ""),
        }

    def _delete_pod(self, name: str) -> None:
        try:
            self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0)
        except ApiException as e:
            if e.status != 404:
                raise

    def _control_plane_gone(self) -> bool:
        status = self._statefulset().status
        return (status.replicas or 0) == 0 and not _reachable(self.upstream)

    def _control_plane_answers(self) -> bool:
        return _ready(self.upstream)

    @staticmethod
    def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.5)

    def _read_record(self) -> dict[str, Any]:
        try:
            cm = self.core.read_namespaced_config_map(
                record_name(self.config.vcluster), self.namespace
            )
        except ApiException as e:
            if e.status == 404:
                return {}
            raise
        value = json.loads((cm.data or {}).get(RECORD_KEY, "{}"))
        return value if isinstance(value, dict) else {}

    def _write_record(self, state: str, reason: str, workloads: list[dict[str, str]]) -> None:
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name=record_name(self.config.vcluster),
                labels={
                    keys.MANAGED_BY: keys.MANAGED_BY_VALUE,
                    keys.VCLUSTER: self.config.vcluster,
                },
            ),
            data={
                RECORD_KEY: json.dumps(
                    {
                        "state": state,
                        "since": self.now().isoformat(),
                        "reason": reason,
                        "workloads": sorted(workloads, key=lambda w: (w["namespace"], w["name"])),
                    },
                    indent=1,
                )
            },
        )
        name = record_name(self.config.vcluster)
        replace_or_create(
            lambda: self.core.replace_namespaced_config_map(name, self.namespace, body),
            lambda: self.core.create_namespaced_config_map(self.namespace, body),
        )


def _pipe(src: socket.socket, dst: socket.socket, on_data: Callable[[], None] | None) -> None:
    try:
        while data := src.recv(65536):
            if on_data is not None:
                on_data()
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _reachable(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError:
        return False
    return True


def _ready(address: tuple[str, int]) -> bool:
    """The API server answers /readyz (anonymous access to it is the default)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only asks whether it is up; no credential is sent
    try:
        with urllib.request.urlopen(
            f"https://{address[0]}:{address[1]}/readyz", timeout=5, context=context
        ) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def listen(port: int, host: str = "0.0.0.0") -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    return listener
