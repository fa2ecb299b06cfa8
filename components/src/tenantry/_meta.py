"""Package version and default image references."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("tenantry")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"

IMAGE_REGISTRY = "ghcr.io/tenantry"


def tenantry_image(name: str) -> str:
    """Default reference of one of Tenantry's own images, tagged with the package version."""
    return f"{IMAGE_REGISTRY}/{name}:{VERSION}"


# Upstream images. Each version is the one hack/testbin/versions.env pins and the tests run
# (tests/unit/test_image_defaults.py holds them equal); `make images` builds these references.
KUBERNETES_VERSION = "v1.34.10"
"""Default Kubernetes version of the virtual control plane (upstream images)."""
KINE_VERSION = "v0.17.5"
ETCD_VERSION = "v3.6.16"
COREDNS_VERSION = "v1.12.1"
"""The CoreDNS release Kubernetes v1.34 ships with (kubeadm's default)."""


def kubernetes_image(component: str, version: str = KUBERNETES_VERSION) -> str:
    """registry.k8s.io's image of a Kubernetes component, tagged with its version."""
    return f"registry.k8s.io/{component}:{version}"


KINE_IMAGE = f"docker.io/rancher/kine:{KINE_VERSION}"
# registry.k8s.io's etcd tags are the etcd release plus a revision of its image.
ETCD_IMAGE = f"registry.k8s.io/etcd:{ETCD_VERSION.removeprefix('v')}-0"
COREDNS_IMAGE = f"registry.k8s.io/coredns/coredns:{COREDNS_VERSION}"
