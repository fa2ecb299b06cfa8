"""Waiting on a cluster and the manifests the tests create; the client itself is
tenantry_local.kube.Kube."""

from collections.abc import Callable
from typing import TypeVar

from tenantry_api.types import Manifest
from tenantry_local.kubectl import wait_until

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 90, what: str = "condition") -> T:
    """Poll ``check`` every 0.5 s until it returns something truthy: unlike ``wait_until``, an
    empty list or 0 still means waiting. Raises TimeoutError naming ``what``."""
    return wait_until(lambda: check() or None, timeout, what, every=0.5)


def namespace(name: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(name: str, namespace: str, replicas: int = 1) -> Manifest:
    """A minimal Deployment; on kwok nodes its pods become ready without an image."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": "nginx"}]},
            },
        },
    }
