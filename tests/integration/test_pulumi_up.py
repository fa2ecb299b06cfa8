"""`pulumi up` of the quickstart stack (Pulumi.yaml) for real, through the Automation API.

Everything is local and built here: the engine (`.testbin/pulumi`), Tenantry's stand-in Python
language host and the pulumi-kubernetes provider (`make testbin`), a file backend, and a local
cluster of its own (so that no other test's objects count), whose kwok nodes report pods ready.
"""

import json
import subprocess
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from tenantry_api import keys, naming
from tenantry_api.config import CONFIG_KEY
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_local.quickstart import (
    ENGINE_BINARIES,
    engine_env,
    object_name,
    readiness,
    tenantry_objects,
)
from tenantry_local.testbin import REPO, binary, versions
from tenantry_syncer.kube import api_client_from

from tests.integration.conftest import CLUSTER_BINARIES
from tests.support.kube import wait_for
from tests.support.stacks import stack_in
from tests.support.testbin import require

TENANT = "acme"
VC_POD = "app.kubernetes.io/name=tenantry-vcluster"


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require(*CLUSTER_BINARIES, *ENGINE_BINARIES)
    local = LocalCluster(tmp_path_factory.mktemp("pulumi-up") / "host", nodes=2).start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def kube(own_cluster: LocalCluster) -> Kube:
    return Kube(api_client_from(own_cluster.kubeconfig))


@pytest.fixture(scope="module")
def stack(own_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> auto.Stack:
    tmp = tmp_path_factory.mktemp("quickstart")
    # kwok nodes run no containers, so the tenant kubeconfig Secret is never written.
    return stack_in(
        tmp, own_cluster.kubeconfig, "it", {"tenant": TENANT, "readKubeconfig": "false"}
    )


@pytest.fixture(scope="module")
def first_up(stack: auto.Stack) -> auto.UpResult:
    return stack.up(on_output=print, color="never")


def ops(summary: Mapping[auto.OpType, int] | None) -> dict[str, int]:
    """Counts per operation; the keys arrive as plain strings, whatever the annotation says."""
    return {str(getattr(op, "value", op)): n for op, n in (summary or {}).items()}


def deployed_objects(stack: auto.Stack) -> list[dict[str, Any]]:
    """The kubernetes objects the engine recorded in the stack's state."""
    deployment = stack.export_stack().deployment or {}
    resources = deployment.get("resources") or []
    found = []
    for resource in resources:
        if resource["type"].startswith("kubernetes:") and resource.get("custom"):
            if resource["type"] == "pulumi:providers:kubernetes":
                continue
            outputs = resource.get("outputs") or {}
            if "apiVersion" in outputs and "kind" in outputs:
                found.append(outputs)
    return found


def test_up_succeeds_and_creates_every_object(
    first_up: auto.UpResult, stack: auto.Stack, kube: Kube
) -> None:
    assert first_up.summary.result == "succeeded"
    changes = ops(first_up.summary.resource_changes)
    assert changes.get("create", 0) > 10, changes
    recorded = deployed_objects(stack)
    kinds = {o["kind"] for o in recorded}
    assert {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "StatefulSet",
        "Service",
        "DaemonSet",
        "RuntimeClass",
    } <= kinds, kinds
    on_server = {(o["kind"], object_name(o)) for o in tenantry_objects(kube)}
    for obj in recorded:
        key = (obj["kind"], object_name(obj))
        assert key in on_server, f"{key} is in the stack's state but not on the API server"
    assert first_up.outputs["namespace"].value == TENANT


def test_statefulset_and_daemonset_report_ready(first_up: auto.UpResult, kube: Kube) -> None:
    workloads = [o for o in tenantry_objects(kube) if o["kind"] in ("StatefulSet", "DaemonSet")]
    assert {o["kind"] for o in workloads} == {"StatefulSet", "DaemonSet"}
    for obj in workloads:
        # pulumi-kubernetes only reports a workload created once it is ready; check the
        # API server agrees.
        state = readiness(obj)
        assert state.ready, f"{obj['kind']} {object_name(obj)}: {state.detail}"


def test_second_preview_and_up_change_nothing(first_up: auto.UpResult, stack: auto.Stack) -> None:
    preview = stack.preview(color="never")
    planned = ops(preview.change_summary)
    assert set(planned) == {"same"}, planned
    again = stack.up(color="never")
    changes = ops(again.summary.resource_changes)
    assert set(changes) == {"same"}, changes


def pod_template_hash(kube: Kube) -> str:
    (statefulset,) = kube.list("apps/v1", "StatefulSet", namespace=TENANT)
    annotations = statefulset["spec"]["template"]["metadata"].get("annotations") or {}
    return str(annotations.get(keys.CONFIG_HASH, ""))


def test_a_changed_sync_setting_rolls_the_virtual_cluster_pod(
    first_up: auto.UpResult, stack: auto.Stack, kube: Kube
) -> None:
    # The syncer reads its config once, at start: a changed document must roll its pod.
    before = pod_template_hash(kube)
    assert before, "the StatefulSet's pod template carries no config hash"
    (pod,) = kube.list("v1", "Pod", namespace=TENANT, label_selector=VC_POD)
    stack.set_config("syncIngresses", auto.ConfigValue("true"))
    try:
        result = stack.up(color="never")
        # The ConfigMap and the StatefulSet.
        assert ops(result.summary.resource_changes).get("update", 0) >= 2
        after = pod_template_hash(kube)
        assert after
        assert after != before
        config = kube.get("v1", "ConfigMap", naming.config_map_name(TENANT), namespace=TENANT)
        assert json.loads(config["data"][CONFIG_KEY])["from_virtual"]["ingresses"] is True

        def rolled() -> Manifest | None:
            pods = kube.list("v1", "Pod", namespace=TENANT, label_selector=VC_POD)
            fresh = [p for p in pods if p["metadata"]["uid"] != pod["metadata"]["uid"]]
            return fresh[0] if fresh else None

        new_pod = wait_for(rolled, timeout=120, what="the VirtualCluster pod re-created")
        assert new_pod["metadata"]["annotations"][keys.CONFIG_HASH] == after
    finally:
        stack.set_config("syncIngresses", auto.ConfigValue("false"))
    # The control: an up with nothing changed leaves the hash as it is.
    stack.up(color="never")
    settled = pod_template_hash(kube)
    assert stack.up(color="never").summary.result == "succeeded"
    assert pod_template_hash(kube) == settled == before


def test_destroy_leaves_no_tenantry_object(
    first_up: auto.UpResult, stack: auto.Stack, kube: Kube
) -> None:
    assert tenantry_objects(kube), "nothing to destroy: the up made no Tenantry object"
    result = stack.destroy(color="never")
    assert result.summary.result == "succeeded"

    def gone() -> bool | None:
        left = tenantry_objects(kube)
        return True if not left else None

    wait_for(gone, timeout=120, what="every Tenantry object deleted")


def test_render_mode_writes_the_tenants_manifests(tmp_path: Path) -> None:
    # The kubernetes provider's renderYamlToDirectory: manifests are written, nothing is
    # applied, and no cluster is needed (the provider refuses a kubeconfig in this mode).
    require(*ENGINE_BINARIES)
    out = tmp_path / "rendered"
    stack = stack_in(tmp_path, None, "render", {"tenant": "beta", "renderYamlTo": str(out)})
    result = stack.up(color="never")
    assert result.summary.result == "succeeded"
    manifests: list[Manifest] = []
    for path in sorted(out.rglob("*.yaml")):
        manifests += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    by_kind: dict[str, list[Manifest]] = {}
    for doc in manifests:
        by_kind.setdefault(doc["kind"], []).append(doc)
    assert {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ValidatingAdmissionPolicy",
        "StatefulSet",
        "Service",
        "DaemonSet",
        "RuntimeClass",
    } <= set(by_kind), sorted(by_kind)
    assert [n["metadata"]["name"] for n in by_kind["Namespace"]] == ["beta"]
    (statefulset,) = by_kind["StatefulSet"]
    assert statefulset["metadata"]["namespace"] == "beta"
    (daemonset,) = by_kind["DaemonSet"]
    assert daemonset["metadata"]["namespace"] == "kube-system"
    for doc in manifests:
        labels = doc["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/managed-by") == "tenantry", doc["metadata"]
    # A second up of the same stack renders the same objects and changes nothing.
    again = stack.up(color="never")
    assert set(ops(again.summary.resource_changes)) == {"same"}


def test_kubernetes_provider_is_the_pinned_build_and_matches_the_python_sdk(
    tmp_path: Path,
) -> None:
    require(*ENGINE_BINARIES)
    env = engine_env(tmp_path / "home", tmp_path / "no-kubeconfig", f"file://{tmp_path}")
    done = subprocess.run(
        [str(binary("pulumi")), "package", "get-schema", str(binary("pulumi-resource-kubernetes"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    pinned = versions()["PULUMI_KUBERNETES_PLUGIN_VERSION"].removeprefix("v")
    assert schema["name"] == "kubernetes"
    assert schema["version"] == pinned
    # The SDK is the release the provider commit belongs to (docs/testing.md).
    assert version("pulumi-kubernetes") == pinned.split("-")[0]


def test_engine_runs_the_plugin_directory_through_the_language_host(tmp_path: Path) -> None:
    # provider/ as a directory: the engine reads PulumiPlugin.yaml (runtime python) and asks
    # the language host to RunPlugin it, unlike provider/pulumi-resource-tenantry, which it
    # executes itself (tests/integration/test_pulumi_engine.py).
    require(*ENGINE_BINARIES)
    env = engine_env(tmp_path / "home", None, f"file://{tmp_path}")
    done = subprocess.run(
        [str(binary("pulumi")), "package", "get-schema", str(REPO / "provider")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout)
    committed = json.loads((REPO / "provider" / "schema.json").read_text())
    assert served["name"] == committed["name"] == "tenantry"
    assert set(served["resources"]) == set(committed["resources"])
    for token, resource in committed["resources"].items():
        assert set(served["resources"][token]["inputProperties"]) == set(
            resource["inputProperties"]
        ), token
