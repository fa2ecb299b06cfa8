"""Snapshots to S3 and restore, against moto's S3 server on 127.0.0.1.

A VirtualCluster's control plane runs from its rendered flags; the snapshot CronJob's container
and the restore init container run as rendered too (paths and ports mapped, as for the control
plane). The tenant's objects must come back field by field in a new virtual cluster, in another
host namespace, and the syncer must put their pods back on the host.
"""

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tenantry import VirtualClusterArgs
from tenantry_api import keys
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster, wait_http
from tenantry_local.kube import Kube

from tests.support import s3
from tests.support.kube import deployment, namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import (
    ControlPlane,
    Local,
    api_service,
    connect,
    render,
    tenant_kubeconfig,
)

BUCKET = "tenantry-snapshots"
VC = "vc"
RETENTION = 3
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}
# What is compared after the restore: every object of these kinds in the tenant's namespaces.
KINDS = [
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "Pod"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("example.com/v1", "Widget"),
]
TENANT_NAMESPACES = ("shop", "billing")
# The restored controllers keep working on these after the restart, so only their status and
# bookkeeping may differ; everything else must be equal.
LIVE = {"Pod", "Deployment", "ReplicaSet", "PersistentVolumeClaim"}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with s3.moto_server(Path(tmp_path_factory.mktemp("moto")) / "moto.log") as url:
        s3.client(url).create_bucket(Bucket=BUCKET)
        yield url


def restore_args(uri: str, endpoint: str) -> VirtualClusterArgs:
    return {"restore_from": {"uri": uri, "region": s3.REGION, "endpoint_url": endpoint}}


def populate(tenant: Kube) -> None:
    tenant.create(CRD)
    for ns in TENANT_NAMESPACES:
        tenant.create(namespace(ns))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "site", "namespace": "shop", "labels": {"tier": "web"}},
            "data": {"index.html": "<h1>hi</h1>", "robots.txt": "User-agent: *"},
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "billing"},
            "type": "Opaque",
            "stringData": {"password": "s3cret"},
        }
    )
    tenant.create(deployment("web", "shop", replicas=2))
    tenant.create(deployment("ledger", "billing", replicas=1))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "books", "namespace": "billing"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "robot", "namespace": "shop"},
        }
    )
    tenant.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader", "namespace": "shop"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        }
    )
    tenant.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "robot-reads", "namespace": "shop"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "shop"}],
        }
    )
    gear = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "gear", "namespace": "shop"},
        "spec": {"teeth": 12, "finish": "matte"},
    }
    wait_for(lambda: _try_create(tenant, gear), what="a Widget created once its CRD is served")


def _try_create(tenant: Kube, obj: Manifest) -> bool:
    try:
        tenant.create(obj)
    except Exception:  # not served yet: discovery has not caught up
        return False
    return True


def dump(tenant: Kube) -> dict[tuple[str, str, str], Manifest]:
    """Every object of KINDS in the tenant's namespaces, plus those namespaces and the CRD."""
    found: dict[tuple[str, str, str], Manifest] = {}
    for ns in TENANT_NAMESPACES:
        found[("Namespace", "", ns)] = _comparable(tenant.get("v1", "Namespace", ns))
        for api_version, kind in KINDS:
            for obj in tenant.list(api_version, kind, ns):
                found[(kind, ns, obj["metadata"]["name"])] = _comparable(obj)
    found[("CustomResourceDefinition", "", "widgets.example.com")] = _comparable(
        tenant.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")
    )
    return found


def _comparable(obj: Manifest) -> Manifest:
    obj = json.loads(json.dumps(obj))
    meta = obj["metadata"]
    meta.pop("managedFields", None)
    if obj["kind"] in LIVE:
        meta.pop("resourceVersion", None)
        obj.pop("status", None)
    return obj


def _diff(before: dict[Any, Manifest], after: dict[Any, Manifest]) -> list[str]:
    lines = [f"missing after restore: {k}" for k in before.keys() - after.keys()]
    lines += [f"new after restore: {k}" for k in after.keys() - before.keys()]
    lines += [
        f"{k}: {json.dumps(before[k], sort_keys=True)} != {json.dumps(after[k], sort_keys=True)}"
        for k in before.keys() & after.keys()
        if before[k] != after[k]
    ]
    return lines


def _snapshot(plane: ControlPlane) -> str:
    done = plane.run(plane.rendered.jobs["snapshot"])
    assert done.returncode == 0, done.stderr
    # "tenantry-syncer snapshot: s3://bucket/folder: ..."
    return done.stdout.split(": ", 2)[1]


def _corrupted(client: Any, uri: str, name: str, damage: Any) -> str:
    """A copy of the snapshot at ``uri`` whose archive ``damage`` changed; its new URI."""
    folder = uri.removeprefix(f"s3://{BUCKET}/")
    target = f"{folder.rsplit('/', 1)[0]}-{name}/{folder.rsplit('/', 1)[1]}"
    manifest = client.get_object(Bucket=BUCKET, Key=f"{folder}/manifest.json")["Body"].read()
    archive = client.get_object(Bucket=BUCKET, Key=f"{folder}/snapshot.tar.gz")["Body"].read()
    client.put_object(Bucket=BUCKET, Key=f"{target}/manifest.json", Body=manifest)
    client.put_object(Bucket=BUCKET, Key=f"{target}/snapshot.tar.gz", Body=damage(archive))
    return f"s3://{BUCKET}/{target}"


def flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@dataclass
class Original:
    plane: ControlPlane
    uris: list[str]
    before: dict[tuple[str, str, str], Manifest]
    pki_before: dict[str, str]
    foreign: list[str]


@pytest.fixture(scope="module")
def original(
    cluster: LocalCluster, kube: Kube, endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Original]:
    """A virtual cluster with the tenant's objects, snapshotted RETENTION + 2 times by the
    rendered CronJob container."""
    require("kine", "kube-apiserver", "kube-controller-manager")
    client = s3.client(endpoint)
    snapshots: VirtualClusterArgs = {
        "snapshots": {
            "bucket": BUCKET,
            "region": s3.REGION,
            "endpoint_url": endpoint,
            "credentials": {"secret_name": "s3-credentials"},
            "retention": RETENTION,
        }
    }
    kube.create(namespace("snap-a"))
    kube.create(api_service(VC, "snap-a"))
    root = Path(tmp_path_factory.mktemp("a"))
    plane = ControlPlane(
        render(VC, "snap-a", extra=snapshots), Local(root), cluster.kubeconfig, s3.CREDENTIALS
    )
    try:
        plane.init()
        plane.start()
        tenant = connect(plane.local, tenant_kubeconfig(kube, plane.local, root, VC, "snap-a"))
        populate(tenant)
        wait_for(lambda: len(tenant.list("v1", "Pod", "shop")) == 2, what="2 pods in shop")
        wait_for(lambda: len(tenant.list("v1", "Pod", "billing")) == 1, what="1 pod in billing")
        # Things under the prefix that are not this cluster's snapshots: retention keeps them.
        base = f"tenantry/snap-a/{VC}"
        foreign = [
            f"{base}/notes.txt",
            f"{base}/20200101T000000000000Z/other.bin",
            f"{base}/20200101T000000000001Z/snapshot.tar.gz",  # unfinished: no manifest
            "tenantry/snap-a/other-vc/20200101T000000000000Z/manifest.json",
        ]
        for key in foreign:
            client.put_object(Bucket=BUCKET, Key=key, Body=b"not ours")
        uris = [_snapshot(plane) for _ in range(RETENTION + 2)]
        before = dump(tenant)
        pki_before = kube.get("v1", "Secret", f"vc-pki-{VC}", "snap-a")["data"]
        yield Original(plane, uris, before, pki_before, foreign)
    finally:
        plane.stop()


def _key(uri: str) -> str:
    return uri.removeprefix(f"s3://{BUCKET}/")


def test_retention_keeps_exactly_the_newest_snapshots_and_nothing_else_goes(
    original: Original, endpoint: str
) -> None:
    client = s3.client(endpoint)
    left = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="tenantry/")["Contents"]}
    complete = {
        k.rsplit("/", 1)[0]
        for k in left
        if k.endswith("/manifest.json") and f"{k.rsplit('/', 1)[0]}/snapshot.tar.gz" in left
    }
    assert complete == {_key(u) for u in original.uris[-RETENTION:]}
    assert set(original.foreign) <= left


def test_the_manifest_gives_version_size_checksum_and_objects_by_kind(
    original: Original, endpoint: str
) -> None:
    client = s3.client(endpoint)
    folder = _key(original.uris[-1])
    manifest = json.loads(
        client.get_object(Bucket=BUCKET, Key=f"{folder}/manifest.json")["Body"].read()
    )
    archive = client.get_object(Bucket=BUCKET, Key=f"{folder}/snapshot.tar.gz")["Body"].read()
    assert manifest["apiVersion"] == "tenantry.dev/v1alpha1"
    assert manifest["kind"] == "SnapshotManifest"
    assert manifest["size"] == len(archive)
    assert manifest["sha256"] == hashlib.sha256(archive).hexdigest()
    assert manifest["tenantry_version"]
    assert manifest["objects"]["deployments"] == 2
    assert manifest["objects"]["pods"] == 3
    assert manifest["objects"]["widgets.example.com"] == 1
    assert manifest["objects"]["customresourcedefinitions.apiextensions.k8s.io"] == 1


@dataclass
class Restored:
    plane: ControlPlane
    root: Path
    init_output: str


@pytest.fixture(scope="module")
def restored(
    original: Original,
    cluster: LocalCluster,
    kube: Kube,
    endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Restored]:
    """The original destroyed (processes, store volume, host Secrets), and a new virtual
    cluster in another host namespace restored from the newest snapshot."""
    original.plane.stop()
    shutil.rmtree(original.plane.local.root / "data")
    for secret in (f"vc-pki-{VC}", f"vc-{VC}"):
        kube.delete("v1", "Secret", secret, "snap-a")
    kube.create(namespace("snap-b"))
    kube.create(api_service(VC, "snap-b"))
    root = Path(tmp_path_factory.mktemp("b"))
    plane = ControlPlane(
        render(VC, "snap-b", extra=restore_args(original.uris[-1], endpoint)),
        Local(root),
        cluster.kubeconfig,
        s3.CREDENTIALS,
    )
    try:
        out = plane.init()
        plane.start()
        yield Restored(plane, root, out)
    finally:
        plane.stop()


def test_every_object_comes_back_field_by_field(
    original: Original, restored: Restored, kube: Kube
) -> None:
    assert f"restore: {original.uris[-1]}" in restored.init_output
    # The CAs and the service-account key came back; the serving certificate was re-issued for
    # the new namespace's names.
    pki = kube.get("v1", "Secret", f"vc-pki-{VC}", "snap-b")["data"]
    for key in ("ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.key"):
        assert pki[key] == original.pki_before[key], key
    assert pki["apiserver.crt"] != original.pki_before["apiserver.crt"]
    plane = restored.plane
    tenant = connect(plane.local, tenant_kubeconfig(kube, plane.local, restored.root, VC, "snap-b"))
    assert _diff(original.before, dump(tenant)) == []


def test_the_syncer_recreates_the_host_objects(restored: Restored, kube: Kube) -> None:
    restored.plane.start("syncer")
    wait_http(f"http://127.0.0.1:{restored.plane.local.syncer_port}/readyz", 120)

    def tenant_pods() -> list[Manifest]:
        return [
            p
            for p in kube.list("v1", "Pod", "snap-b", label_selector=f"{keys.VCLUSTER}={VC}")
            if p["metadata"]["annotations"][keys.OBJECT_NAMESPACE] in TENANT_NAMESPACES
        ]

    wait_for(lambda: len(tenant_pods()) == 3, timeout=120, what="the restored pods on the host")


def test_a_restarted_pod_keeps_its_restore_and_other_data_is_never_overwritten(
    original: Original, restored: Restored, kube: Kube, endpoint: str
) -> None:
    plane = restored.plane
    plane.stop()
    plane.restore_conf_ports()
    # The restore container runs again with the pod: it finds its own restore and stops.
    assert "already restored" in plane.init()
    # Another snapshot over the data that is there now: refused without overwrite.
    other = ControlPlane(
        render(VC, "snap-b", extra=restore_args(original.uris[-2], endpoint)),
        plane.local,
        plane.host_kubeconfig,
        s3.CREDENTIALS,
    )
    refused = other.run(other.rendered.init[0])
    assert refused.returncode == 1
    assert "refusing to restore" in refused.stderr
    assert "set overwrite" in refused.stderr


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "flipped": flip,
    "truncated": lambda b: b[: len(b) // 2],
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_a_corrupt_or_truncated_snapshot_is_refused_before_anything_is_written(
    original: Original, kube: Kube, endpoint: str, tmp_path: Path, name: str
) -> None:
    damage = DAMAGE[name]
    uri = _corrupted(s3.client(endpoint), original.uris[-1], name, damage)
    ns = f"snap-{name}"
    kube.create(namespace(ns))
    bad = ControlPlane(
        render(VC, ns, extra=restore_args(uri, endpoint)),
        Local(tmp_path),
        original.plane.host_kubeconfig,
        s3.CREDENTIALS,
    )
    done = bad.run(bad.rendered.init[0])
    assert done.returncode == 1
    assert "is corrupt or truncated" in done.stderr, done.stderr
    assert "refusing to restore it" in done.stderr
    assert list((tmp_path / "data").iterdir()) == []
    assert kube.get_or_none("v1", "Secret", f"vc-pki-{VC}", ns) is None
