"""VirtualCluster's args: the TypedDicts Pulumi's analyzer reads for the schema and pydantic
validates against."""

from enum import StrEnum
from typing import NotRequired

from pydantic import with_config
from tenantry_api.config import PodSecurityLevel
from typing_extensions import TypedDict

from tenantry.common import Isolation
from tenantry.tenant_policy.args import TenantPolicyArgs
from tenantry.validation import STRICT


class StoreType(StrEnum):
    """Backing store of the virtual API server."""

    SQLITE = "sqlite"
    ETCD = "etcd"


class ExposureType(StrEnum):
    """How the virtual API server is reached from outside the host cluster."""

    CLUSTER_IP = "ClusterIP"
    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    INGRESS = "Ingress"


@with_config(STRICT)
class Store(TypedDict):
    """The control plane's store."""

    type: NotRequired[StoreType]
    """sqlite through a kine sidecar (default) or etcd."""
    size: NotRequired[str]
    """Size of the store's volume. Default 5Gi."""
    storage_class: NotRequired[str]
    """StorageClass of the store's volume. Default: the cluster default."""


@with_config(STRICT)
class Exposure(TypedDict):
    """Exposure of the virtual API server beyond the in-cluster Service."""

    type: NotRequired[ExposureType]
    """ClusterIP (default), LoadBalancer, NodePort or Ingress."""
    host: NotRequired[str]
    """Host name (Ingress, required) or address tenants use; added to the serving cert and
    made the tenant kubeconfig's server (with node_port for NodePort: a node's address)."""
    annotations: NotRequired[dict[str, str]]
    """Annotations for the Service (LoadBalancer) or the Ingress."""
    node_port: NotRequired[int]
    """Fixed node port for NodePort, 30000-32767; required with host. Default: chosen by the
    cluster."""
    ingress_class_name: NotRequired[str]
    """IngressClass for Ingress exposure; it must pass TLS through to the API server."""


@with_config(STRICT)
class Sync(TypedDict):
    """Optional kinds the syncer copies. Pods, Services, Endpoints, referenced ConfigMaps and
    Secrets, PVCs and Events are always synced."""

    all_configmaps: NotRequired[bool]
    """Sync every ConfigMap, not only those pods reference."""
    all_secrets: NotRequired[bool]
    """Sync every Secret, not only those pods reference."""
    ingresses: NotRequired[bool]
    """Virtual Ingresses onto the host, backend Services and TLS Secrets renamed to their host
    twins (those Secrets are synced); the host's load-balancer status flows back."""
    service_accounts: NotRequired[bool]
    """Virtual ServiceAccounts onto the host; host pods run as the twin of their virtual one
    (still without a host token)."""
    network_policies: NotRequired[bool]
    """Virtual NetworkPolicies onto the host, pod and namespace selectors translated to the
    labels the syncer puts on host pods."""
    pod_disruption_budgets: NotRequired[bool]
    """Virtual PodDisruptionBudgets onto the host, selector translated."""
    priority_classes: NotRequired[bool]
    """Virtual PriorityClasses onto the host as `tenantry-` twins, never the global default,
    their value capped at `max_priority`; pods use the twins (needs a ClusterRole)."""
    max_priority: NotRequired[int]
    """Highest value a synced PriorityClass gets on the host (default 1000000000, the highest a
    non-system class may have). Lower it to keep tenants below the host's own classes."""
    storage_classes: NotRequired[bool]
    """Host StorageClasses into the virtual cluster (needs a ClusterRole)."""
    mirror_nodes: NotRequired[bool]
    """Mirror every host node instead of only those running synced pods (needs a ClusterRole)."""


@with_config(STRICT)
class SandboxRewrites(TypedDict):
    """Host access a pod under the VirtualNode's sandbox asks for, given the tenant's own
    instead (docs/syncer.md); each raises a virtual Event naming the field. Switched off, such
    pods are refused with an Event."""

    host_path: NotRequired[bool]
    """hostPath: a directory of the tenant's under the VirtualNode's host_path_root, at
    pod_security_level privileged only. Default true; false when a TenantPolicy is composed,
    whose admission refuses every hostPath."""
    host_network: NotRequired[bool]
    """hostNetwork: the pod's own network. Default true."""
    host_port: NotRequired[bool]
    """hostPort: a plain container port. Default true."""


@with_config(STRICT)
class Images(TypedDict):
    """Image overrides, e.g. for a private registry."""

    api_server: NotRequired[str]
    controller_manager: NotRequired[str]
    kine: NotRequired[str]
    etcd: NotRequired[str]
    syncer: NotRequired[str]
    """Default ghcr.io/tenantry/syncer:<package version>."""
    coredns: NotRequired[str]
    """The tenant's CoreDNS, run inside the virtual cluster. Default upstream CoreDNS."""


@with_config(STRICT)
class S3Credentials(TypedDict):
    """How the syncer image authenticates to S3. Leave both out to use the default credential
    chain (EKS Pod Identity, the node's role)."""

    secret_name: NotRequired[str]
    """Secret in the host namespace whose keys become environment variables:
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, optionally, AWS_SESSION_TOKEN."""
    service_account_annotations: NotRequired[dict[str, str]]
    """Annotations of the snapshot ServiceAccount for IRSA or workload identity, e.g.
    `eks.amazonaws.com/role-arn`."""


@with_config(STRICT)
class Snapshots(TypedDict):
    """Scheduled snapshots of the control plane's store and PKI to S3 (or an S3-compatible
    store), by a CronJob running `tenantry-syncer snapshot`. Needs the sqlite store."""

    bucket: str
    """Bucket the snapshots go to; it must exist."""
    prefix: NotRequired[str]
    """Key prefix. Default `tenantry`; snapshots go under `<prefix>/<namespace>/<cluster_name>/`."""
    region: NotRequired[str]
    """Region of the bucket. Default: the SDK's (AWS_REGION, or the instance's)."""
    endpoint_url: NotRequired[str]
    """Endpoint of an S3-compatible store (MinIO, R2, ...), http(s)://host[:port]."""
    credentials: NotRequired[S3Credentials]
    schedule: NotRequired[str]
    """Cron schedule of the snapshots, in the host's time zone. Default `0 3 * * *`."""
    retention: NotRequired[int]
    """How many of this virtual cluster's snapshots are kept; older ones are deleted after
    each snapshot (only Tenantry snapshots of this virtual cluster). Default 7."""


@with_config(STRICT)
class RestoreFrom(TypedDict):
    """Seed a new virtual cluster from a snapshot before its control plane first starts."""

    uri: str
    """`s3://<bucket>/<snapshot folder>`, as `tenantry-syncer snapshot` prints it (the folder's
    `snapshot.tar.gz` or `manifest.json` may be named too)."""
    overwrite: NotRequired[bool]
    """Replace a store or a PKI Secret that already exists. Default false: restore refuses."""
    region: NotRequired[str]
    endpoint_url: NotRequired[str]
    credentials_secret: NotRequired[str]
    """Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Default: the credential chain
    of the control plane's ServiceAccount."""


@with_config(STRICT)
class Sleep(TypedDict):
    """Scale the control plane to zero and remove the synced pods from the host after a time
    without API requests from the tenant; a request through the endpoint, or the
    `tenantry.dev/wake` annotation on the StatefulSet, wakes it and the pods come back. An
    always-on sleeper Deployment takes the tenant's connections to do this."""

    after_minutes: NotRequired[int]
    """Minutes without a tenant request before it sleeps. Default 30."""
    awake_hours: NotRequired[str]
    """HH:MM-HH:MM: never sleep in these hours (a range past midnight belongs to its start
    day). Default: none, sleep whenever idle."""
    awake_days: NotRequired[list[str]]
    """Days of awake_hours: Mon, Tue, Wed, Thu, Fri, Sat, Sun. Default every day."""
    time_zone: NotRequired[str]
    """IANA time zone of awake_hours. Default UTC."""


@with_config(STRICT)
class VirtualClusterArgs(TypedDict):
    """Arguments of VirtualCluster."""

    namespace: NotRequired[str]
    """Host namespace of the virtual cluster. Default: the resource name. It must exist, or be
    created by `policy`."""
    cluster_name: NotRequired[str]
    """Name of the virtual cluster, part of every host name. Default: the resource name."""
    kubernetes_version: NotRequired[str]
    """Version of the upstream control-plane images, vX.Y.Z."""
    service_cidr: NotRequired[str]
    """The host's Service CIDR: virtual Services take host ClusterIPs. Default 10.96.0.0/12."""
    store: NotRequired[Store]
    exposure: NotRequired[Exposure]
    sync: NotRequired[Sync]
    pod_security_level: NotRequired[PodSecurityLevel]
    """Pods above this level are not synced. Default: the policy's level, else baseline. The
    baseline is the floor: privileged only lets a pod under the isolation's sandbox use the
    exemptions its backend earns (docs/syncer.md)."""
    policy: NotRequired[TenantPolicyArgs]
    """Fence the host namespace with a TenantPolicy created as a child (its namespace defaults
    to this one)."""
    isolation: NotRequired[Isolation]
    """A VirtualNode's isolation, forced on every synced pod (and allowed by the policy)."""
    sandbox_rewrites: NotRequired[SandboxRewrites]
    images: NotRequired[Images]
    snapshots: NotRequired[Snapshots]
    restore_from: NotRequired[RestoreFrom]
    sleep: NotRequired[Sleep]
    read_kubeconfig: NotRequired[bool]
    """Read the tenant kubeconfig back from vc-<name> once the control plane is ready, as the
    secret `kubeconfig` output and a ready `provider` (default true). Turn it off where the
    control plane's pods only pretend to run, such as clusters of simulated nodes."""
