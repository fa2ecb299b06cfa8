"""Secrets: virtual → host, by default only those a synced pod references."""

from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "Secret"
# Types the host would act on by itself (token controller, dockercfg checks): stored as Opaque
# so the host treats the data as just data, which is all the pod needs.
_PASSIVE_TYPES = {"kubernetes.io/service-account-token": "Opaque"}


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    secret_type = virtual.get("type", "Opaque")
    host: Manifest = {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "type": _PASSIVE_TYPES.get(secret_type, secret_type),
    }
    for key in ("data", "immutable"):
        if key in virtual:
            host[key] = virtual[key]
    return host
