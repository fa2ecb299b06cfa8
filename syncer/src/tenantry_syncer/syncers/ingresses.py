"""Ingresses: virtual → host, backends and TLS Secrets renamed; load-balancer status back.
The TLS Secrets of a synced Ingress count as referenced, so the Secret syncer copies them."""

from collections.abc import Iterable

from tenantry_api.types import Manifest
from tenantry_syncer.resources import ingresses, secrets
from tenantry_syncer.syncers.base import Key, KindSyncer


class IngressSyncer(KindSyncer):
    kind = ingresses.KIND
    api_version = ingresses.API_VERSION
    status_fields = ingresses.STATUS_FIELDS

    def related(self, virtual: Manifest) -> Iterable[Key]:
        namespace = virtual["metadata"]["namespace"]
        for name in ingresses.tls_secrets(virtual):
            yield secrets.KIND, f"{namespace}/{name}"

    def to_host(self, virtual: Manifest) -> Manifest:
        return ingresses.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
