"""The local cluster itself: real control plane, kwok nodes that run workloads."""

from pathlib import Path

import pytest
from tenantry_local.cluster import LocalCluster, is_ready
from tenantry_local.kube import Kube

from tests.support.kube import deployment, wait_for


def test_nodes_are_ready(kube: Kube) -> None:
    nodes = kube.list("v1", "Node")
    assert len(nodes) >= 3
    assert all(is_ready(node) for node in nodes)


def test_a_deployment_becomes_ready(kube: Kube) -> None:
    kube.create(deployment("web", "default", replicas=2))
    wait_for(
        lambda: (
            kube.get("apps/v1", "Deployment", "web", "default")["status"].get("readyReplicas") == 2
        ),
        what="deployment web ready",
    )


def test_two_clusters_run_side_by_side(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    second = LocalCluster(Path(tmp_path_factory.mktemp("second")) / "c", nodes=1).start()
    try:
        assert second.server != cluster.server
    finally:
        second.stop()
    assert not second.root.exists()
