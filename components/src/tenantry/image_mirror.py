"""Every default image of the components, as a registry mirror serves it.

A pull-through mirror (Harbor, Artifactory, ECR pull-through, a containerd `hosts.toml` mirror)
keeps the image's path and tag and changes only the host: `ghcr.io/tenantry/syncer:1.0`
becomes `mirror.example:5000/tenantry/syncer:1.0`. An optional path prefix on the mirror
(`mirror.example/cache`) goes in front of the path.
"""

import re

from tenantry import _meta
from tenantry.virtual_cluster import default_images
from tenantry.virtual_cluster.args import Images

# host[:port][/prefix...], lower case as image references require; no scheme, no tag.
_REGISTRY = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
)


def mirrored(image: str, registry: str) -> str:
    """``image`` with ``registry`` in place of its registry host; ValueError on a registry that
    is not `host[:port][/prefix]`."""
    if not _REGISTRY.fullmatch(registry):
        raise ValueError(
            f"{registry!r} is not a registry: give host[:port][/prefix], without a scheme "
            "or a tag, e.g. mirror.example:5000"
        )
    host, path = split_registry(image)
    if host is None:  # Docker Hub, implied: `busybox` is docker.io/library/busybox
        path = image if "/" in image else f"library/{image}"
    return f"{registry}/{path}"


def split_registry(image: str) -> tuple[str | None, str]:
    """(registry host, the rest) of an image reference; the host is None when the reference
    names none (Docker Hub's rule: a first component with a dot or a port, or localhost)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, image


def mirrored_images(registry: str) -> tuple[Images, str]:
    """The VirtualCluster's default images and the VirtualNode agent's, all from ``registry``."""
    defaults = default_images()
    images: Images = {
        "api_server": mirrored(defaults["api_server"], registry),
        "controller_manager": mirrored(defaults["controller_manager"], registry),
        "kine": mirrored(defaults["kine"], registry),
        "etcd": mirrored(defaults["etcd"], registry),
        "syncer": mirrored(defaults["syncer"], registry),
        "coredns": mirrored(defaults["coredns"], registry),
    }
    return images, mirrored(_meta.tenantry_image("node-agent"), registry)
