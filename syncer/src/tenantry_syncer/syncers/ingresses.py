"""Ingresses: virtual → host, backends and TLS Secrets renamed; load-balancer status back.
The TLS Secrets of a synced Ingress count as used, so the Secret syncer copies them."""

from tenantry_api.types import Manifest
from tenantry_syncer.resources import ingresses, secrets
from tenantry_syncer.syncers.kind import KindSyncer


class IngressSyncer(KindSyncer):
    kind = ingresses.KIND
    api_version = ingresses.API_VERSION
    status_fields = ingresses.STATUS_FIELDS

    def observe(self, key: str, virtual: Manifest) -> None:
        self.record_uses(key, {secrets.KIND: ingresses.tls_secrets(virtual)})

    def to_host(self, virtual: Manifest) -> Manifest:
        return ingresses.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)
