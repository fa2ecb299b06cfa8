"""A synced kind added through the registry alone, against the two real API servers.

LimitRanges are not synced today. This module adds them the way a real kind would be added
(its syncer, one `Registration`, one switch) and runs the syncer in-process with that
registry: create, update and delete reach the host with the switch on; with it off nothing
does, while the other kinds still sync. SyncerConfig refuses unknown fields, so the switch a
real kind would add to `FromVirtual` is added in a subclass of it.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client
from tenantry_api import keys
from tenantry_api.config import FromVirtual, SyncerConfig
from tenantry_api.naming import host_name
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from
from tenantry_syncer.registry import REGISTRY, Registration
from tenantry_syncer.resources.meta import host_metadata
from tenantry_syncer.sync import Syncer
from tenantry_syncer.syncers.kind import KindSyncer

from tests.support.kube import namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import render, synced

HOST_NS = "sync-registry"
VC = "vcr"
TENANT_NS = "apps"
KIND = "LimitRange"


# --- the throwaway kind: what a real one would put in resources/, syncers/ and config.py ---


class WithLimitRanges(FromVirtual):
    limit_ranges: bool = False
    """The switch a real kind adds to FromVirtual."""


def limit_ranges_on(config: SyncerConfig) -> bool:
    switches = config.from_virtual
    return isinstance(switches, WithLimitRanges) and switches.limit_ranges


class LimitRangeSyncer(KindSyncer):
    kind = KIND

    def to_host(self, virtual: Manifest) -> Manifest:
        config = self.s.config
        return {
            "apiVersion": "v1",
            "kind": KIND,
            "metadata": host_metadata(virtual, KIND, config.vcluster, config.host_namespace),
            "spec": virtual.get("spec") or {},
        }


WITH_LIMIT_RANGES = (*REGISTRY, Registration(LimitRangeSyncer, limit_ranges_on))


# --- the test ---


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    config: SyncerConfig
    virtual_api: client.ApiClient
    host_api: client.ApiClient

    def switched(self, on: bool) -> SyncerConfig:
        switches = WithLimitRanges(**self.config.from_virtual.model_dump(), limit_ranges=on)
        return self.config.model_copy(update={"from_virtual": switches})


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    root = Path(tmp_path_factory.mktemp("sync-registry"))
    rendered = render(VC, HOST_NS)
    with synced(
        kube, cluster.kubeconfig, root, rendered, name=VC, namespace_=HOST_NS, syncer=False
    ) as s:
        s.tenant.create(namespace(TENANT_NS))
        yield Setup(
            kube,
            s.tenant,
            SyncerConfig.model_validate_json(rendered.config_json),
            api_client_from(root / "pki" / "syncer.conf"),
            api_client_from(cluster.kubeconfig),
        )


@contextmanager
def running(setup: Setup, config: SyncerConfig) -> Iterator[Syncer]:
    """The syncer with the throwaway kind registered, in this process, until the block ends."""
    syncer = Syncer(config, setup.virtual_api, setup.host_api, registry=WITH_LIMIT_RANGES)
    stop = threading.Event()
    thread = threading.Thread(target=syncer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: syncer.ready, what="the syncer's informers")
        yield syncer
    finally:
        stop.set()
        thread.join(timeout=30)


def limit_range(name: str, max_storage: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": {"name": name, "namespace": TENANT_NS},
        # Claims only: the host's pods are not touched by it.
        "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": max_storage}}]},
    }


def host_twin(setup: Setup, kind: str, name: str) -> Manifest | None:
    return setup.host.get_or_none("v1", kind, host_name(name, TENANT_NS, VC), HOST_NS)


def max_storage(obj: Manifest | None) -> str | None:
    limits = ((obj or {}).get("spec") or {}).get("limits") or [{}]
    found = (limits[0].get("max") or {}).get("storage")
    return None if found is None else str(found)


def test_with_the_switch_off_the_kind_is_neither_watched_nor_synced(setup: Setup) -> None:
    setup.tenant.create(limit_range("claims", "10Gi"))
    with running(setup, setup.switched(False)) as syncer:
        assert KIND not in syncer.s.virtual.informers
        # The syncer is at work meanwhile: a Service created after the LimitRange gets there.
        setup.tenant.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": TENANT_NS},
                "spec": {"ports": [{"port": 80}]},
            }
        )
        wait_for(lambda: host_twin(setup, "Service", "web"), what="the host Service")
        assert host_twin(setup, KIND, "claims") is None


def test_with_the_switch_on_create_update_and_delete_reach_the_host(setup: Setup) -> None:
    with running(setup, setup.switched(True)):
        # Made while the kind was off: the start's resync finds it.
        twin = wait_for(lambda: host_twin(setup, KIND, "claims"), what="the host LimitRange")
        assert max_storage(twin) == "10Gi"
        assert twin["metadata"]["labels"][keys.VCLUSTER] == VC

        setup.tenant.create(limit_range("more", "1Gi"))
        wait_for(lambda: host_twin(setup, KIND, "more"), what="a new LimitRange's twin")

        setup.tenant.patch("v1", KIND, "claims", TENANT_NS, limit_range("claims", "20Gi"))
        wait_for(
            lambda: max_storage(host_twin(setup, KIND, "claims")) == "20Gi",
            what="the update on the host",
        )

        setup.tenant.delete("v1", KIND, "claims", TENANT_NS)
        wait_for(lambda: host_twin(setup, KIND, "claims") is None, what="the twin deleted")
        assert host_twin(setup, KIND, "more") is not None
