"""Snapshots of the control plane's store and PKI to S3, and the restore that seeds a new
virtual cluster from one: their checks, the snapshot CronJob and both containers."""

import re
from typing import Any

from tenantry_api.config import (
    CONFIG_KEY,
    SNAPSHOT_CONFIG_KEY,
    S3Endpoint,
    SnapshotConfig,
    SnapshotSettings,
)

from tenantry import validation
from tenantry._k8s import Child, pod_metadata
from tenantry.control_plane import CONFIG_DIR, DATA_DIR, RESTRICTED, ControlPlane
from tenantry.validation import FieldError
from tenantry.virtual_cluster.args import RestoreFrom, Snapshots, StoreType
from tenantry.virtual_cluster.spec import (
    POD_SECURITY,
    SNAPSHOT_APP,
    Restore,
    VirtualClusterSpec,
    app_labels,
    workload_labels,
)
from tenantry.virtual_cluster.spec import Snapshots as SnapshotTarget

SCRATCH_DIR = "/scratch"
"""An emptyDir where snapshots are packed and unpacked (the root filesystem is read-only)."""

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?-]+$")


def resolve_snapshots(
    args: Snapshots | None, store: StoreType, name: str, namespace: str
) -> tuple[SnapshotTarget | None, str, dict[str, str] | None]:
    """(the snapshot job's document and credentials, its schedule, the snapshot
    ServiceAccount's annotations); tenantry_api checks the bucket, prefix, retention and S3."""
    if args is None:
        return None, "", None
    if store is not StoreType.SQLITE:
        raise FieldError(
            "snapshots", "needs store.type sqlite (snapshots of etcd are not supported yet)"
        )
    settings = validation.api_model(
        "snapshots",
        SnapshotSettings,
        {key: value for key, value in args.items() if key in SnapshotSettings.model_fields},
    )
    schedule = args.get("schedule", "0 3 * * *")
    fields = schedule.split()
    if not (schedule.startswith("@") or (len(fields) == 5 and all(map(_CRON_FIELD.match, fields)))):
        raise FieldError("snapshots.schedule", f"{schedule!r} is not a cron schedule")
    credentials = args.get("credentials", {})
    secret = credentials.get("secret_name")
    if secret is not None:
        validation.dns_label("snapshots.credentials", secret)
    document = SnapshotConfig(vcluster=name, host_namespace=namespace, snapshots=settings)
    annotations = dict(credentials.get("service_account_annotations", {}))
    return SnapshotTarget(document, secret), schedule, annotations


def resolve_restore(args: RestoreFrom | None, store: StoreType) -> Restore | None:
    if args is None:
        return None
    if store is not StoreType.SQLITE:
        raise FieldError("restore_from", "needs store.type sqlite")
    uri = args["uri"]
    if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+", uri):
        raise FieldError("restore_from.uri", f"{uri!r} is not s3://<bucket>/<snapshot folder>")
    endpoint = validation.api_model(
        "restore_from",
        S3Endpoint,
        {key: value for key, value in args.items() if key in S3Endpoint.model_fields},
    )
    secret = args.get("credentials_secret")
    if secret is not None:
        validation.dns_label("restore_from.credentials", secret)
    return Restore(uri, args.get("overwrite", False), endpoint, secret)


def _store_job(
    cp: ControlPlane, command: list[str], *, config: str, flags: list[str], secret: str | None
) -> dict[str, Any]:
    """A syncer container that moves the store between S3 and the store volume, packing in
    the scratch directory; it reads the document ``config`` of the config volume, and
    ``flags`` follow the two directories."""
    env = {"envFrom": [{"secretRef": {"name": secret}}]}
    return {
        "name": command[0],
        "image": cp.syncer_image,
        "command": ["tenantry-syncer", *command],
        "args": [
            "--config",
            f"{CONFIG_DIR}/{config}",
            f"--data-dir={DATA_DIR}",
            f"--work-dir={SCRATCH_DIR}",
            *flags,
        ],
        **(env if secret is not None else {}),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "scratch", "mountPath": SCRATCH_DIR},
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        ],
        "securityContext": RESTRICTED,
    }


def restore_container(cp: ControlPlane, restore: Restore) -> dict[str, Any]:
    """The init container that seeds the store volume and the PKI Secret from a snapshot; it
    runs before `init`, which then finds the restored CAs."""
    endpoint = restore.endpoint
    flags = [
        *([f"--region={endpoint.region}"] if endpoint.region else []),
        *([f"--endpoint-url={endpoint.endpoint_url}"] if endpoint.endpoint_url else []),
        *(["--overwrite"] if restore.overwrite else []),
    ]
    return _store_job(
        cp,
        ["restore", restore.uri],
        config=CONFIG_KEY,
        flags=flags,
        secret=restore.credentials_secret,
    )


def snapshot_container(cp: ControlPlane, snapshots: SnapshotTarget) -> dict[str, Any]:
    """The snapshot CronJob's container: it mounts the control plane's store volume (its pod
    runs on the same node) and backs SQLite up online."""
    return _store_job(
        cp,
        ["snapshot"],
        config=SNAPSHOT_CONFIG_KEY,
        flags=[],
        secret=snapshots.credentials_secret,
    )


def snapshot_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return workload_labels(SNAPSHOT_APP, spec.name)


def data_claim_name(spec: VirtualClusterSpec) -> str:
    """The store's PVC: the StatefulSet's `data` claim template for pod 0."""
    return f"data-{spec.name}-0"


def snapshot_children(spec: VirtualClusterSpec, config_name: str) -> list[Child]:
    assert spec.snapshots is not None
    name = f"vc-{spec.name}-snapshot"
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "securityContext": POD_SECURITY,
        # The store volume is ReadWriteOnce: the job runs on the control plane's node, where
        # the volume is already attached, and reads the live SQLite database beside kine.
        "affinity": {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": app_labels(spec)},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        },
        "containers": [snapshot_container(spec.control_plane, spec.snapshots)],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": data_claim_name(spec)}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "config", "configMap": {"name": config_name}},
        ],
    }
    identity = spec.identity(
        name,
        # Only the PKI Secret, only read.
        rules=[
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [spec.syncer.pki_secret],
                "verbs": ["get"],
            }
        ],
        annotations=spec.snapshot_sa_annotations or None,
    )
    return [
        *identity.children("snapshot-"),
        Child(
            "snapshot-netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": spec.meta(name),
                # S3 and the host API, whatever the tenant's default-deny says.
                "spec": {
                    "podSelector": {"matchLabels": snapshot_labels(spec)},
                    "policyTypes": ["Egress"],
                    "egress": [{}],
                },
            },
        ),
        Child(
            "snapshot",
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": spec.meta(name),
                "spec": {
                    "schedule": spec.snapshot_schedule,
                    "concurrencyPolicy": "Forbid",
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 2,
                            "template": {
                                "metadata": pod_metadata(
                                    snapshot_labels(spec), spec.snapshots.document.to_json()
                                ),
                                "spec": pod_spec,
                            },
                        }
                    },
                },
            },
            depends_on=(*identity.bindings("snapshot-"), "config"),
        ),
    ]
