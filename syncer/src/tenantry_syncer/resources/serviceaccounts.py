"""ServiceAccounts: virtual → host. The twin only gives host pods an identity of their own
(for host-side policy and audit); it never mounts a host token, and carries no Secrets or pull
secrets (the virtual admission already put those on the pod, renamed by the pod rewrite)."""

from tenantry_api.types import Manifest

from tenantry_syncer.resources.meta import host_metadata

KIND = "ServiceAccount"


def to_host(virtual: Manifest, vcluster: str, host_namespace: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": KIND,
        "metadata": host_metadata(virtual, KIND, vcluster, host_namespace),
        "automountServiceAccountToken": False,
    }
