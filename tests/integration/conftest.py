"""Fixtures for the integration tier: real binaries, a real local cluster.

A missing binary fails the run when CI=true, and skips with the reason elsewhere.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_local.testbin import MissingBinaryError, binary
from tenantry_syncer.kube import api_client_from

CLUSTER_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


def require(*names: str) -> None:
    try:
        for name in names:
            binary(name)
    except MissingBinaryError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))


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
