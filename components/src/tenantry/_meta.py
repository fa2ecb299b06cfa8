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


# Upstream images.
KUBERNETES_VERSION = "v1.34.10"
"""Default Kubernetes version of the virtual control plane (upstream images)."""
KINE_IMAGE = "docker.io/rancher/kine:v0.14.9"
ETCD_IMAGE = "registry.k8s.io/etcd:3.6.4-0"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1"
"""The CoreDNS release Kubernetes v1.34 ships with (kubeadm's default)."""
