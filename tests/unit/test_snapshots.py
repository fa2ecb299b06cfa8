"""Snapshots and restore: what the component renders, and the syncer's pure parts."""

from typing import Any

import pytest
from tenantry_api import keys
from tenantry_api.config import (
    SNAPSHOT_CONFIG_KEY,
    SnapshotConfig,
    SnapshotSettings,
    config_hash,
    load,
)
from tenantry_syncer import snapshot

from tests.unit.test_virtual_cluster import STS, cluster

CRONJOB = "kubernetes:batch/v1:CronJob"
SA = "kubernetes:core/v1:ServiceAccount"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CM = "kubernetes:core/v1:ConfigMap"


def pod_of_cronjob(d: Any) -> dict[str, Any]:
    spec: dict[str, Any] = d.one(CRONJOB).inputs["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    return spec["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_no_snapshot_objects_by_default() -> None:
    d = cluster({})
    assert d.of_type(CRONJOB) == []
    names = [c["name"] for c in d.one(STS).inputs["spec"]["template"]["spec"]["initContainers"]]
    assert names == ["init"]


def test_snapshots_render_a_cronjob_beside_the_store() -> None:
    d = cluster(
        {
            "snapshots": {
                "bucket": "backups",
                "prefix": "team/a",
                "region": "eu-west-1",
                "endpoint_url": "https://minio.example:9000",
                "credentials": {
                    "secret_name": "s3",
                    "service_account_annotations": {"eks.amazonaws.com/role-arn": "arn:x"},
                },
                "schedule": "*/30 * * * *",
                "retention": 5,
            }
        }
    )
    assert d.one(CRONJOB).inputs["spec"]["schedule"] == "*/30 * * * *"
    pod = pod_of_cronjob(d)
    (container,) = pod["containers"]
    assert container["command"] == ["tenantry-syncer", "snapshot"]
    assert container["args"] == [
        "--config",
        f"/etc/tenantry/{SNAPSHOT_CONFIG_KEY}",
        "--data-dir=/data",
        "--work-dir=/scratch",
    ]
    # The settings travel in the snapshot job's document, validated once by tenantry_api.
    document = load(SnapshotConfig, d.one(CM).inputs["data"][SNAPSHOT_CONFIG_KEY])
    assert document.snapshots == SnapshotSettings(
        bucket="backups",
        prefix="team/a",
        retention=5,
        region="eu-west-1",
        endpoint_url="https://minio.example:9000",
    )
    template = d.one(CRONJOB).inputs["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
    assert template["annotations"] == {keys.CONFIG_HASH: config_hash(document.to_json())}
    assert container["envFrom"] == [{"secretRef": {"name": "s3"}}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The store's own claim, on the control plane's node.
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "data-acme-0"
    term = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    sa = d.one(SA, "acme-snapshot-sa").inputs["metadata"]
    assert sa["annotations"] == {"eks.amazonaws.com/role-arn": "arn:x"}
    assert pod["serviceAccountName"] == sa["name"]
    (rule,) = d.one(ROLE, "acme-snapshot-role").inputs["rules"]
    assert rule == {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": ["vc-pki-acme"],
        "verbs": ["get"],
    }


@pytest.mark.parametrize("overwrite", [False, True])
def test_restore_from_runs_before_init(overwrite: bool) -> None:
    d = cluster({"restore_from": {"uri": "s3://backups/t/acme/x", "overwrite": overwrite}})
    pod = d.one(STS).inputs["spec"]["template"]["spec"]
    restore, init = pod["initContainers"]
    assert init["name"] == "init"
    assert restore["command"] == ["tenantry-syncer", "restore", "s3://backups/t/acme/x"]
    assert ("--overwrite" in restore["args"]) is overwrite
    assert "scratch" in {v["name"] for v in pod["volumes"]}


def test_kine_keys_are_counted_by_resource() -> None:
    assert snapshot.resource_of("/registry/deployments/shop/web") == "deployments"
    assert snapshot.resource_of("/registry/example.com/widgets/shop/gear") == "widgets.example.com"
    assert snapshot.resource_of("/registry/namespaces/shop") == "namespaces"
    assert snapshot.resource_of("compact_rev_key") is None
    assert snapshot.resource_of("/registry/health") is None


def test_locations_parse_a_folder_or_its_files() -> None:
    for uri in ("s3://b/p/ns/vc/1", "s3://b/p/ns/vc/1/", "s3://b/p/ns/vc/1/snapshot.tar.gz"):
        assert snapshot.Location.parse(uri) == snapshot.Location("b", "p/ns/vc/1")
    with pytest.raises(snapshot.SnapshotError, match="not an s3://"):
        snapshot.Location.parse("https://b/p")
