"""Services: virtual → host; the host ClusterIP and load-balancer status flow back."""

from collections.abc import Iterable
from typing import Any

from tenantry_api.types import Manifest
from tenantry_syncer.resources import endpoints, services
from tenantry_syncer.syncers.base import Key
from tenantry_syncer.syncers.kind import KindSyncer

API_SERVICE = ("default", "kubernetes")


class ServiceSyncer(KindSyncer):
    kind = services.KIND
    status_fields = ("loadBalancer",)

    def wanted(self, virtual: Manifest) -> bool:
        # The virtual API server's own Service is served by the VirtualCluster's host Service;
        # a host copy would point at nothing.
        meta = virtual["metadata"]
        return (meta["namespace"], meta["name"]) != API_SERVICE

    def related(self, virtual: Manifest) -> Iterable[Key]:
        key = f"{virtual['metadata']['namespace']}/{virtual['metadata']['name']}"
        yield endpoints.KIND, key  # a Service gaining or losing its selector

    def to_host(self, virtual: Manifest) -> Manifest:
        return services.to_host(virtual, self.s.config.vcluster, self.s.config.host_namespace)

    def sync(self, virtual: Manifest, host: Manifest | None) -> None:
        if host is not None and (wanted_ip := services.needs_cluster_ip(virtual, host)):
            self._take_cluster_ip(virtual, wanted_ip)
            return
        super().sync(virtual, host)

    def _take_cluster_ip(self, virtual: Manifest, ip: str) -> None:
        """ClusterIP is immutable: the virtual Service is re-created with the host's."""
        meta = virtual["metadata"]
        self.s.hold(f"{meta['namespace']}/{meta['name']}")
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": self.kind,
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta
            },
            "spec": {
                **{
                    k: v
                    for k, v in (virtual.get("spec") or {}).items()
                    if k not in ("clusterIP", "clusterIPs")
                },
                "clusterIP": ip,
                "clusterIPs": [ip],
            },
        }
        resource = self.s.virtual.resources[self.kind]
        resource.delete(name=meta["name"], namespace=meta["namespace"])
        resource.create(body=body, namespace=meta["namespace"])
