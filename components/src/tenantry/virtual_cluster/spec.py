"""VirtualCluster's resolved spec: every arg checked and defaulted, as the renderers take it.

The feature modules beside this one render from it; only the package's `resolve` builds it.
"""

from dataclasses import dataclass
from typing import Any

from tenantry_api.config import S3Endpoint, SleeperConfig, SnapshotConfig, SyncerConfig

from tenantry import _k8s
from tenantry._identity import Identity, Rule
from tenantry.control_plane import ControlPlane
from tenantry.tenant_policy import TenantPolicySpec
from tenantry.virtual_cluster.args import ExposureType

COMPONENT = "VirtualCluster"


@dataclass(frozen=True)
class Restore:
    uri: str
    overwrite: bool
    endpoint: S3Endpoint
    credentials_secret: str | None = None
    """Secret whose keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) become environment."""


@dataclass(frozen=True)
class Snapshots:
    document: SnapshotConfig
    """What the snapshot job reads: where snapshots go and how many are kept."""
    credentials_secret: str | None = None
    """As Restore's."""


@dataclass(frozen=True)
class VirtualClusterSpec:
    name: str
    namespace: str
    control_plane: ControlPlane
    store_size: str
    storage_class: str | None
    exposure: ExposureType
    exposure_host: str | None
    exposure_annotations: dict[str, str]
    node_port: int | None
    ingress_class_name: str | None
    syncer: SyncerConfig
    policy: TenantPolicySpec | None
    read_kubeconfig: bool
    restore: Restore | None = None
    """Seed the store and the PKI from a snapshot before the first start."""
    snapshots: Snapshots | None = None
    snapshot_schedule: str = ""
    snapshot_sa_annotations: dict[str, str] | None = None
    sleep: SleeperConfig | None = None

    @property
    def endpoint(self) -> str:
        return self.syncer.endpoint

    def identity(self, account: str, rules: list[Rule], **extra: Any) -> Identity:
        """The host identity of one of the cluster's workloads, in its namespace."""
        return Identity(
            account,
            self.namespace,
            tenant=self.namespace,
            component=COMPONENT,
            rules=rules,
            **extra,
        )

    def meta(self, name: str, namespaced: bool = True, **extra: Any) -> dict[str, Any]:
        """Metadata of one of the cluster's host objects, in its namespace unless cluster-wide."""
        return _k8s.metadata(
            name,
            tenant=self.namespace,
            component=COMPONENT,
            namespace=self.namespace if namespaced else None,
            **extra,
        )


CONTROL_PLANE_APP = "tenantry-vcluster"
SNAPSHOT_APP = "tenantry-snapshot"
SLEEPER_APP = "tenantry-sleeper"
WORKLOADS = (CONTROL_PLANE_APP, SNAPSHOT_APP, SLEEPER_APP)
"""app.kubernetes.io/name of the control plane's, the snapshot job's and the sleeper's pods."""


def workload_labels(app: str, name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name}


def app_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return workload_labels(CONTROL_PLANE_APP, spec.name)


POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The pod securityContext of every workload of ours."""
