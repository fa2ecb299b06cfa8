"""Plain-dict access to one kind of one API server, over the official client's transport.

The dynamic client wraps every object it returns, and every watch event, in a
``ResourceInstance`` tree that is then turned back into a dict; in the sync benchmark that
round trip was the syncer's largest CPU cost. This keeps the official client for
configuration, authentication, discovery (the ``Resource`` and its paths) and errors
(``ApiException``), and only skips the wrapping.
"""

import json
from collections.abc import Iterator
from typing import Any

from kubernetes import client
from kubernetes.dynamic.resource import Resource
from kubernetes.watch.watch import iter_resp_lines
from tenantry_api.types import Manifest

Query = list[tuple[str, Any]]
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
REQUEST_TIMEOUT = 30.0
"""Seconds any single call may take; a hung connection must not hold a worker forever."""


class Rest:
    def __init__(self, api: client.ApiClient, resource: Resource) -> None:
        self.api = api
        self.resource = resource
        self.kind: str = resource.kind
        self.api_version: str = resource.group_version
        self.namespaced: bool = resource.namespaced

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Query | None = None,
        content_type: str = "application/json",
        stream: bool = False,
        timeout: float | None = REQUEST_TIMEOUT,
    ) -> Any:
        request = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(*request, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            response.read()  # type: ignore[no-untyped-call]
            self.api.response_deserialize(response, {})  # raises the ApiException
        if stream:
            return response.response
        return json.loads(response.read())  # type: ignore[no-untyped-call]

    def _path(self, name: str | None = None, namespace: str | None = None) -> str:
        scope = namespace if self.namespaced else None
        return str(self.resource.path(name=name, namespace=scope))  # type: ignore[no-untyped-call]

    def get(self, name: str, namespace: str | None = None) -> Manifest:
        found: Manifest = self._call("GET", self._path(name, namespace))
        return found

    def list(self, namespace: str | None = None, label_selector: str = "") -> Manifest:
        query = [("labelSelector", label_selector)] if label_selector else []
        found: Manifest = self._call("GET", self._path(None, namespace), query=query)
        return found

    def create(self, body: Manifest, namespace: str | None = None) -> Manifest:
        created: Manifest = self._call("POST", self._path(None, namespace), body=body)
        return created

    def replace(self, body: Manifest, namespace: str | None = None) -> Manifest:
        path = self._path(body["metadata"]["name"], namespace)
        replaced: Manifest = self._call("PUT", path, body=body)
        return replaced

    def patch(
        self,
        body: Manifest,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str = "",
        content_type: str = MERGE_PATCH,
        query: Query | None = None,
    ) -> Manifest:
        path = self._path(name, namespace) + (f"/{subresource}" if subresource else "")
        patched: Manifest = self._call(
            "PATCH", path, body=body, content_type=content_type, query=query
        )
        return patched

    def create_subresource(
        self, name: str, namespace: str | None, subresource: str, body: Manifest
    ) -> Manifest:
        """POST to a subresource: a TokenRequest, a Binding."""
        created: Manifest = self._call(
            "POST", f"{self._path(name, namespace)}/{subresource}", body=body
        )
        return created

    def patch_status(self, body: Manifest, name: str, namespace: str | None = None) -> Manifest:
        return self.patch(body, name, namespace, subresource="status")

    def apply(self, body: Manifest, field_manager: str) -> Manifest:
        """Server-side apply, taking over fields others set (we own what we apply)."""
        meta = body["metadata"]
        return self.patch(
            body,
            meta["name"],
            meta.get("namespace"),
            content_type=APPLY_PATCH,
            query=[("fieldManager", field_manager), ("force", True)],
        )

    def delete(
        self, name: str, namespace: str | None = None, grace_period_seconds: int | None = None
    ) -> None:
        query = (
            [] if grace_period_seconds is None else [("gracePeriodSeconds", grace_period_seconds)]
        )
        self._call("DELETE", self._path(name, namespace), query=query)

    def watch(
        self,
        namespace: str | None = None,
        label_selector: str = "",
        resource_version: str = "",
        timeout: int = 300,
    ) -> Iterator[Manifest]:
        """Watch events as dicts: {"type": ..., "object": {...}}."""
        query: Query = [
            ("watch", True),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout),
            ("allowWatchBookmarks", True),
        ]
        if label_selector:
            query.append(("labelSelector", label_selector))
        response = self._call(
            "GET", self._path(None, namespace), query=query, stream=True, timeout=timeout + 30
        )
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                event: Manifest = json.loads(line)
                yield event
        finally:
            response.release_conn()
