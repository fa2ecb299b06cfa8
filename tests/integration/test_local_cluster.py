"""The local cluster itself: real control plane, kwok nodes that run workloads."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.kube import Kube
from tests.support.localcluster import LocalCluster, is_ready

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 90, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_nodes_are_ready(kube: Kube) -> None:
    nodes = kube.list("v1", "Node")
    assert len(nodes) >= 3
    assert all(is_ready(node) for node in nodes)


def test_a_deployment_becomes_ready(kube: Kube) -> None:
    kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
            },
        }
    )
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
