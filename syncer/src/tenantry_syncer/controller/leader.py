"""Leader election on a coordination.k8s.io Lease, so two replicas never both write."""

import datetime as dt
import logging
import threading
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.resource import Resource

log = logging.getLogger(__name__)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


class LeaderElector:
    def __init__(
        self, leases: Resource, namespace: str, name: str, identity: str, duration: int = 15
    ) -> None:
        self._leases = leases
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._duration = duration
        self.leading = threading.Event()

    def try_acquire_or_renew(self) -> bool:
        """One round of the protocol; optimistic concurrency through resourceVersion."""
        try:
            lease: dict[str, Any] = self._leases.get(
                name=self._name, namespace=self._namespace
            ).to_dict()
        except ApiException as e:
            if e.status != 404:
                raise
            return self._create()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = spec.get("renewTime")
        expired = renewed is None or (
            dt.datetime.now(dt.UTC) - _parse(renewed)
        ).total_seconds() > spec.get("leaseDurationSeconds", self._duration)
        if holder != self.identity and not expired:
            return False
        if holder != self.identity:
            spec["leaseTransitions"] = spec.get("leaseTransitions", 0) + 1
            spec["acquireTime"] = _now()
        spec.update(
            holderIdentity=self.identity, leaseDurationSeconds=self._duration, renewTime=_now()
        )
        lease["spec"] = spec
        try:
            self._leases.replace(body=lease, namespace=self._namespace)
        except ApiException as e:
            if e.status == 409:  # someone else wrote first
                return False
            raise
        return True

    def _create(self) -> bool:
        now = _now()
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self._duration,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            self._leases.create(body=body, namespace=self._namespace)
        except ApiException as e:
            if e.status == 409:
                return False
            raise
        return True

    def run(self, stop: threading.Event) -> None:
        """Acquire, then renew every third of the lease; clear ``leading`` the moment a renewal
        fails, so the caller stops writing before another replica can take over."""
        while not stop.is_set():
            try:
                ok = self.try_acquire_or_renew()
            except Exception:
                log.exception("lease %s: renewal failed", self._name)
                ok = False
            if ok and not self.leading.is_set():
                log.info("lease %s: %s is the leader", self._name, self.identity)
                self.leading.set()
            elif not ok and self.leading.is_set():
                log.warning("lease %s: leadership lost", self._name)
                self.leading.clear()
            stop.wait(self._duration / 3)
