"""ConfigMaps: virtual → host, by default only those a synced pod references."""

from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "ConfigMap"


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    host: Manifest = {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
    }
    for key in ("data", "binaryData", "immutable"):
        if key in virtual:
            host[key] = virtual[key]
    return host
