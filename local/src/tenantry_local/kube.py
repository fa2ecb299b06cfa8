"""Typed, dict-in dict-out access to any Kubernetes kind, for the local tools and the tests.

The official client's typed API wants model objects; the tools and tests speak manifests. The
dynamic client takes manifests for every kind, including CRDs, through discovery.
"""

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.resource import Resource
from tenantry_api.types import Manifest


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self._dynamic = DynamicClient(api)  # type: ignore[no-untyped-call]

    def _resource(self, api_version: str, kind: str) -> Resource:
        return self._dynamic.resources.get(api_version=api_version, kind=kind)  # type: ignore[no-any-return]

    def create(self, manifest: Manifest, *, dry_run: bool = False) -> Manifest:
        resource = self._resource(manifest["apiVersion"], manifest["kind"])
        created = resource.create(
            body=manifest,
            namespace=manifest["metadata"].get("namespace"),
            query_params=[("dryRun", "All")] if dry_run else [],
        )
        return dict(created.to_dict())

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        return dict(self._resource(api_version, kind).get(name=name, namespace=namespace).to_dict())

    def patch_status(
        self, api_version: str, kind: str, name: str, namespace: str | None, status: Manifest
    ) -> None:
        self._resource(api_version, kind).status.patch(
            body={"status": status},
            name=name,
            namespace=namespace,
            content_type="application/merge-patch+json",
        )

    def get_or_none(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        self._resource(api_version, kind).delete(name=name, namespace=namespace)

    def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, body: Manifest
    ) -> None:
        self._resource(api_version, kind).patch(
            body=body, name=name, namespace=namespace, content_type="application/merge-patch+json"
        )

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str = ""
    ) -> list[Manifest]:
        found = self._resource(api_version, kind).get(
            namespace=namespace, label_selector=label_selector
        )
        return [dict(item) for item in found.to_dict()["items"]]
