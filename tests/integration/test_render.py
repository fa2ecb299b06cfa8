"""`make render`: the quickstart stack rendered to a directory of plain manifests, which the real
API server of a local cluster accepts in a server-side dry run (kubectl is not built here, so
the dry run is sent through the API, as `kubectl apply --dry-run=server` sends it)."""

from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException
from tenantry_local.kube import Kube
from tenantry_local.quickstart import ENGINE_BINARIES
from tenantry_local.render import render

from tests.support.testbin import require


def test_quickstart_renders_to_plain_manifests_the_api_server_accepts(
    kube: Kube, tmp_path: Path
) -> None:
    require(*ENGINE_BINARIES)
    files = render("quickstart", tmp_path / "rendered")
    docs: list[dict[str, Any]] = []
    for path in files:
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    kinds = {doc["kind"] for doc in docs}
    assert {"Namespace", "StatefulSet", "DaemonSet", "RuntimeClass", "NetworkPolicy"} <= kinds
    for doc in docs:
        # Plain Kubernetes objects: no Pulumi wrapper, no state, no server-set fields.
        assert set(doc) <= {
            "apiVersion",
            "kind",
            "metadata",
            "spec",
            "data",
            "rules",
            "roleRef",
            "subjects",
            "handler",
            "scheduling",
            "overhead",
        }, doc
        assert "status" not in doc
        assert not any(k.startswith("pulumi") for k in doc["metadata"].get("annotations", {}))
    namespaces = [doc for doc in docs if doc["kind"] == "Namespace"]
    rest = [doc for doc in docs if doc["kind"] != "Namespace"]
    for doc in namespaces:
        kube.create(doc, dry_run=True)
    # A dry run of the namespaced objects needs their namespace to exist, as with kubectl.
    for doc in namespaces:
        kube.create(doc)
    rejected = []
    try:
        for doc in rest:
            try:
                kube.create(doc, dry_run=True)
            except ApiException as e:
                rejected.append(f"{doc['kind']} {doc['metadata']['name']}: {e.reason} {e.body}")
    finally:
        for doc in namespaces:
            kube.delete("v1", "Namespace", doc["metadata"]["name"])
    assert not rejected, "\n".join(rejected)
