"""What a new local cluster is seeded with: kwok's simulated nodes, a default StorageClass and a
pool of volumes to bind."""

from collections.abc import Iterator
from pathlib import Path

from tenantry_api.types import Manifest

STORAGE_CLASS = "standard"
NODE_CAPACITY = {"cpu": "1k", "memory": "1Ti", "pods": "1M", "ephemeral-storage": "1Ti"}
# On the kwok nodes of a cluster with a real node: only pods that tolerate it are simulated.
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}


VOLUMES = 20


def volume_dirs(root: Path) -> list[Path]:
    """The volumes' directories, one per PersistentVolume, under the cluster's directory."""
    return [root / f"pv-{i}" for i in range(VOLUMES)]


def seed_objects(nodes: int, *, tainted: bool, volumes: Path) -> Iterator[Manifest]:
    for i in range(nodes):
        name = f"kwok-node-{i}"
        yield (
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                },
                "spec": {"taints": [KWOK_TAINT]} if tainted else {},
                # Nodes may be created with their status (as a kubelet registers). kwok's
                # stage keeps what is given; its own default has no ephemeral-storage, so
                # no pod that requests some (a tenant's LimitRange default does) would fit.
                "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY},
            }
        )
    yield (
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
        }
    )
    for i, path in enumerate(volume_dirs(volumes)):
        yield (
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"local-pv-{i}"},
                "spec": {
                    "capacity": {"storage": "100Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": STORAGE_CLASS,
                    "hostPath": {"path": str(path)},
                },
            }
        )
