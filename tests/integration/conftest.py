"""Fixtures for the integration tier: real binaries, a real local cluster.

A missing binary fails the run when CI=true, and skips with the reason elsewhere
(tests/support/testbin.py).
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenantry_local import node
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from

from tests.support.localnode import import_busybox
from tests.support.testbin import require, unavailable

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


def require_node_cluster() -> None:
    """Fails when CI=true and skips elsewhere unless a real node can run here."""
    require(*CLUSTER_BINARIES, "kube-proxy", "coredns")
    reason = node.missing()
    if reason:
        unavailable(reason)


def start_node_cluster(nodes: int = 1) -> LocalCluster:
    """A cluster with a real node (kubelet, containerd, kube-proxy, CoreDNS) beside ``nodes``
    kwok nodes; under /tmp, since containerd's sockets live in it and must stay short."""
    require_node_cluster()
    root = Path(tempfile.mkdtemp(prefix="tlc-", dir="/tmp")) / "c"
    local = LocalCluster(root, nodes=nodes, real_node=True).start(timeout=180)
    try:
        import_busybox(local)
    except BaseException:
        local.stop()
        raise
    return local


@pytest.fixture(scope="session")
def node_cluster() -> Iterator[LocalCluster]:
    """The one session cluster whose pods really run: tests that need execution share it."""
    local = start_node_cluster()
    try:
        yield local
    finally:
        local.stop()
        local.root.parent.rmdir()


@pytest.fixture(scope="session")
def node_kube(node_cluster: LocalCluster) -> Kube:
    return Kube(api_client_from(node_cluster.kubeconfig))
