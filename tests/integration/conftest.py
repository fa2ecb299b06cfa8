"""Fixtures for the integration tier: real binaries, a real local cluster.

A missing binary fails the run when CI=true, and skips with the reason elsewhere
(tests/support/testbin.py).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from

from tests.support.testbin import require

CLUSTER_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require(*CLUSTER_BINARIES)
    local = LocalCluster(Path(tmp_path_factory.mktemp("cluster")) / "host").start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def kube(cluster: LocalCluster) -> Kube:
    return Kube(api_client_from(cluster.kubeconfig))
