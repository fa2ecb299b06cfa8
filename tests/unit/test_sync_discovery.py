"""The syncer's discovery of a kind: an API server that has just started may not serve every
built-in group yet, so a missing kind is asked for again until a deadline."""

import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from tenantry_syncer.syncers import base
from tenantry_syncer.syncers.base import Side


class Discoverer:
    """Serves the kind after ``misses`` lookups; counts the cache invalidations."""

    def __init__(self, misses: int) -> None:
        self.misses = misses
        self.invalidated = 0

    def get(self, **_: Any) -> Any:
        if self.misses > 0:
            self.misses -= 1
            raise ResourceNotFoundError("No matches found")
        return type("Found", (), {"kind": "EndpointSlice", "group_version": "discovery.k8s.io/v1",
                                  "namespaced": True})()  # fmt: skip

    def invalidate_cache(self) -> None:
        self.invalidated += 1


def side_with(monkeypatch: pytest.MonkeyPatch, discoverer: Discoverer) -> Side:
    monkeypatch.setattr(time, "sleep", lambda _: None)
    monkeypatch.setattr(base, "DynamicClient", lambda _: type("C", (), {"resources": discoverer}))
    return Side(client.ApiClient(client.Configuration(host="https://virtual.test")))


def test_a_kind_not_served_yet_is_asked_for_again(monkeypatch: pytest.MonkeyPatch) -> None:
    discoverer = Discoverer(misses=3)
    rest = side_with(monkeypatch, discoverer).resource("EndpointSlice", "discovery.k8s.io/v1")
    assert rest.kind == "EndpointSlice"
    assert discoverer.invalidated == 3  # fresh discovery each time, not the cached miss


def test_a_kind_never_served_fails_after_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: a kind that stays missing still fails the start, naming kind and server.
    monkeypatch.setattr(base, "DISCOVERY_WAIT_SECONDS", 0.0)
    with pytest.raises(ResourceNotFoundError, match=r"discovery\.k8s\.io/v1 EndpointSlice"):
        side_with(monkeypatch, Discoverer(misses=10**6)).resource(
            "EndpointSlice", "discovery.k8s.io/v1"
        )
