"""VirtualCluster: a virtual Kubernetes control plane in one host namespace, plus the syncer
that runs the tenant's workloads on the host."""

import base64
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, NotRequired

import pulumi
import pulumi_kubernetes as k8s
from pydantic import with_config
from tenantry_api import naming
from tenantry_api.config import (
    CONFIG_KEY,
    DEFAULT_HOST_PATH_ROOT,
    MAX_USER_PRIORITY,
    MIN_PRIORITY,
    FromHost,
    FromVirtual,
    PodSecurityLevel,
    SyncerConfig,
)
from tenantry_api.config import (
    Isolation as SyncerIsolation,
)
from tenantry_api.config import (
    SandboxRewrites as SyncerSandboxRewrites,
)
from typing_extensions import TypedDict

from tenantry import _k8s, _meta, control_plane, tenant_policy, validation
from tenantry._k8s import Child
from tenantry.common import Isolation
from tenantry.control_plane import Sleep as SleepTarget
from tenantry.control_plane import Snapshots as SnapshotTarget
from tenantry.tenant_policy import TenantPolicy, TenantPolicyArgs
from tenantry.validation import STRICT, FieldError
from tenantry.virtual_node import check_tolerations

COMPONENT = "VirtualCluster"
TYPE_TOKEN = "tenantry:index:VirtualCluster"


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
    """Host name (Ingress, required) or address tenants use; added to the serving cert."""
    annotations: NotRequired[dict[str, str]]
    """Annotations for the Service (LoadBalancer) or the Ingress."""
    node_port: NotRequired[int]
    """Fixed node port for NodePort, 30000-32767. Default: chosen by the cluster."""
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


@dataclass(frozen=True)
class VirtualClusterSpec:
    name: str
    namespace: str
    control_plane: control_plane.ControlPlane
    store_size: str
    storage_class: str | None
    exposure: ExposureType
    exposure_host: str | None
    exposure_annotations: dict[str, str]
    node_port: int | None
    ingress_class_name: str | None
    syncer: SyncerConfig
    policy: tenant_policy.TenantPolicySpec | None
    read_kubeconfig: bool
    snapshots: SnapshotTarget | None = None
    snapshot_schedule: str = ""
    snapshot_sa_annotations: dict[str, str] | None = None
    sleep: SleepTarget | None = None

    @property
    def endpoint(self) -> str:
        return self.syncer.endpoint


def resolve(resource_name: str, args: VirtualClusterArgs) -> VirtualClusterSpec:
    namespace = validation.dns_label("namespace", args.get("namespace", resource_name))
    name = validation.dns_label("cluster_name", args.get("cluster_name", resource_name))
    version = args.get("kubernetes_version", _meta.KUBERNETES_VERSION)
    parts = version.removeprefix("v").split(".")
    if not version.startswith("v") or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise FieldError("kubernetes_version", f"{version!r} is not a version like v1.34.4")
    service_cidr = args.get("service_cidr", "10.96.0.0/12")
    validation.cidr("service_cidr", service_cidr)

    store = args.get("store", {})
    store_size = store.get("size", "5Gi")
    validation.quantity("store.size", store_size)
    storage_class = store.get("storage_class")
    if storage_class is not None:
        validation.dns_label("store.storage_class", storage_class)

    isolation_args = args.get("isolation")
    policy = None
    if "policy" in args:
        policy_args = args["policy"].copy()
        if policy_args.setdefault("namespace", namespace) != namespace:
            raise FieldError(
                "policy.namespace",
                f"{policy_args['namespace']!r} differs from namespace {namespace!r}; "
                "the policy fences the virtual cluster's own namespace",
            )
        if isolation_args is not None:
            policy_args.setdefault("isolation", isolation_args)
        policy = tenant_policy.resolve(resource_name, policy_args, prefix="policy.")
        if policy.sandbox is not None:
            # The control plane, snapshots and sleeper are ours, not the tenant's: they run
            # outside the sandbox. Synced pods never match (the syncer marks them managed-by).
            own = tuple(tuple(_workload_labels(app, name).items()) for app in _WORKLOADS)
            policy = replace(policy, sandbox=replace(policy.sandbox, unsandboxed=own))

    exposure = args.get("exposure", {})
    exposure_type = exposure.get("type", ExposureType.CLUSTER_IP)
    host = exposure.get("host")
    node_port = exposure.get("node_port")
    _check_exposure(exposure_type, host, node_port, exposure, policy)

    isolation = None
    if isolation_args is not None:
        validation.dns_label("isolation.runtime_class_name", isolation_args["runtime_class_name"])
        isolation = SyncerIsolation(
            runtime_class_name=isolation_args["runtime_class_name"],
            backend=isolation_args.get("backend"),
            host_path_root=validation.host_path_root(
                "isolation.host_path_root",
                isolation_args.get("host_path_root", DEFAULT_HOST_PATH_ROOT),
            ),
            node_selector=validation.labels(
                "isolation.node_selector", isolation_args.get("node_selector", {})
            ),
            tolerations=check_tolerations(
                "isolation.tolerations", isolation_args.get("tolerations", [])
            ),
        )

    sync = args.get("sync", {})
    max_priority = sync.get("max_priority", MAX_USER_PRIORITY)
    if not MIN_PRIORITY <= max_priority <= MAX_USER_PRIORITY:
        raise FieldError(
            "sync.max_priority",
            f"{max_priority} is outside {MIN_PRIORITY}..{MAX_USER_PRIORITY} "
            "(the range of a non-system PriorityClass)",
        )
    level = args.get(
        "pod_security_level", policy.pss_enforce if policy else PodSecurityLevel.BASELINE
    )
    images = args.get("images", {})
    store_type = store.get("type", StoreType.SQLITE)
    snapshots, schedule, sa_annotations = _snapshots(args.get("snapshots"), store_type)
    restore = _restore(args.get("restore_from"), store_type)
    syncer = SyncerConfig(
        vcluster=name,
        host_namespace=namespace,
        service_name=name,
        kubeconfig_secret=naming.kubeconfig_secret_name(name),
        endpoint=f"https://{host}" if host else "",
        extra_sans=[host] if host else [],
        pod_security_level=level,
        from_virtual=FromVirtual(
            all_configmaps=sync.get("all_configmaps", False),
            all_secrets=sync.get("all_secrets", False),
            ingresses=sync.get("ingresses", False),
            service_accounts=sync.get("service_accounts", False),
            network_policies=sync.get("network_policies", False),
            pod_disruption_budgets=sync.get("pod_disruption_budgets", False),
            priority_classes=sync.get("priority_classes", False),
            max_priority=max_priority,
        ),
        from_host=FromHost(
            storage_classes=sync.get("storage_classes", False),
            mirror_nodes=sync.get("mirror_nodes", False),
        ),
        isolation=isolation,
        sandbox_rewrites=_sandbox_rewrites(args.get("sandbox_rewrites", {}), policy),
        coredns_image=images.get("coredns", _meta.COREDNS_IMAGE),
    )

    return VirtualClusterSpec(
        name=name,
        namespace=namespace,
        control_plane=control_plane.ControlPlane(
            name=name,
            kubernetes_version=version,
            service_cidr=service_cidr,
            store=store_type.value,
            api_server_image=images.get("api_server", f"registry.k8s.io/kube-apiserver:{version}"),
            controller_manager_image=images.get(
                "controller_manager", f"registry.k8s.io/kube-controller-manager:{version}"
            ),
            kine_image=images.get("kine", _meta.KINE_IMAGE),
            etcd_image=images.get("etcd", _meta.ETCD_IMAGE),
            syncer_image=images.get("syncer", _meta.tenantry_image("syncer")),
            restore=restore,
        ),
        store_size=store_size,
        storage_class=storage_class,
        exposure=exposure_type,
        exposure_host=host,
        exposure_annotations=dict(exposure.get("annotations", {})),
        node_port=node_port,
        ingress_class_name=exposure.get("ingress_class_name"),
        syncer=syncer,
        policy=policy,
        read_kubeconfig=args.get("read_kubeconfig", True),
        snapshots=snapshots,
        snapshot_schedule=schedule,
        snapshot_sa_annotations=sa_annotations,
        sleep=_sleep(args.get("sleep")),
    )


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")


def _sleep(args: Sleep | None) -> control_plane.Sleep | None:
    if args is None:
        return None
    minutes = args.get("after_minutes", 30)
    if minutes < 1:
        raise FieldError("sleep.after_minutes", f"{minutes} must be at least 1")
    hours = args.get("awake_hours", "")
    if hours and (not _HOURS.fullmatch(hours) or hours[:5] == hours[6:]):
        raise FieldError("sleep.awake_hours", f"{hours!r} is not a range HH:MM-HH:MM")
    days = tuple(args.get("awake_days", []))
    for i, day in enumerate(days):
        if day not in DAYS:
            raise FieldError(f"sleep.awake_days[{i}]", f"{day!r} is not one of {', '.join(DAYS)}")
    if days and not hours:
        raise FieldError("sleep.awake_days", "needs awake_hours")
    zone = args.get("time_zone", "")
    if zone:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise FieldError("sleep.time_zone", f"{zone!r} is not an IANA time zone") from e
    return control_plane.Sleep(minutes * 60, hours, days, zone)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?-]+$")


def _s3(field: str, region: str, endpoint_url: str, secret: str | None) -> control_plane.S3:
    if region and not _REGION.fullmatch(region):
        raise FieldError(f"{field}.region", f"{region!r} is not a region name")
    if endpoint_url and not re.fullmatch(r"https?://[^/\s]+/?", endpoint_url):
        raise FieldError(f"{field}.endpoint_url", f"{endpoint_url!r} is not http(s)://host[:port]")
    if secret is not None:
        validation.dns_label(f"{field}.credentials", secret)
    return control_plane.S3(region, endpoint_url.rstrip("/"), secret)


def _snapshots(
    args: Snapshots | None, store: StoreType
) -> tuple[control_plane.Snapshots | None, str, dict[str, str] | None]:
    if args is None:
        return None, "", None
    if store is not StoreType.SQLITE:
        raise FieldError(
            "snapshots", "needs store.type sqlite (snapshots of etcd are not supported yet)"
        )
    bucket = args["bucket"]
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise FieldError("snapshots.bucket", f"{bucket!r} is not an S3 bucket name")
    prefix = args.get("prefix", "tenantry")
    if prefix != prefix.strip("/") or "//" in prefix:
        raise FieldError("snapshots.prefix", f"{prefix!r} must not start or end with '/'")
    schedule = args.get("schedule", "0 3 * * *")
    fields = schedule.split()
    if not (schedule.startswith("@") or (len(fields) == 5 and all(map(_CRON_FIELD.match, fields)))):
        raise FieldError("snapshots.schedule", f"{schedule!r} is not a cron schedule")
    retention = args.get("retention", 7)
    if retention < 1:
        raise FieldError("snapshots.retention", f"{retention} must keep at least one snapshot")
    credentials = args.get("credentials", {})
    s3 = _s3(
        "snapshots",
        args.get("region", ""),
        args.get("endpoint_url", ""),
        credentials.get("secret_name"),
    )
    annotations = dict(credentials.get("service_account_annotations", {}))
    return control_plane.Snapshots(bucket, prefix, retention, s3), schedule, annotations


def _restore(args: RestoreFrom | None, store: StoreType) -> control_plane.Restore | None:
    if args is None:
        return None
    if store is not StoreType.SQLITE:
        raise FieldError("restore_from", "needs store.type sqlite")
    uri = args["uri"]
    if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+", uri):
        raise FieldError("restore_from.uri", f"{uri!r} is not s3://<bucket>/<snapshot folder>")
    s3 = _s3(
        "restore_from",
        args.get("region", ""),
        args.get("endpoint_url", ""),
        args.get("credentials_secret"),
    )
    return control_plane.Restore(uri, args.get("overwrite", False), s3)


def _check_exposure(
    exposure_type: ExposureType,
    host: str | None,
    node_port: int | None,
    exposure: Exposure,
    policy: tenant_policy.TenantPolicySpec | None,
) -> None:
    if host is not None and not (validation.is_hostname(host) or validation.is_ip(host)):
        raise FieldError("exposure.host", f"{host!r} is not a DNS name or an IP address")
    if exposure_type is ExposureType.INGRESS and host is None:
        raise FieldError("exposure.host", "is required for Ingress exposure")
    if node_port is not None:
        if exposure_type is not ExposureType.NODE_PORT:
            raise FieldError("exposure.node_port", "is only used with NodePort exposure")
        if not 30000 <= node_port <= 32767:
            raise FieldError("exposure.node_port", f"{node_port} is outside 30000-32767")
    if "ingress_class_name" in exposure and exposure_type is not ExposureType.INGRESS:
        raise FieldError("exposure.ingress_class_name", "is only used with Ingress exposure")
    if policy is None:
        return
    if exposure_type is ExposureType.LOAD_BALANCER and policy.load_balancer_quota == 0:
        raise FieldError(
            "exposure.type",
            "LoadBalancer exposure needs a LoadBalancer Service, but policy.quota.hard "
            "services.loadbalancers is 0",
        )
    if exposure_type is ExposureType.NODE_PORT and policy.node_port_quota == 0:
        raise FieldError(
            "exposure.type",
            "NodePort exposure needs a NodePort Service, but policy.quota.hard "
            "services.nodeports is 0 (the default); raise it or choose another exposure",
        )


def _sandbox_rewrites(
    args: SandboxRewrites, policy: tenant_policy.TenantPolicySpec | None
) -> SyncerSandboxRewrites:
    # The policy's admission refuses every hostPath on the host, the tenant's too: rewriting
    # one would only trade the syncer's Event for a host refusal.
    fenced = policy is not None and policy.admission
    if fenced and args.get("host_path", False):
        raise FieldError(
            "sandbox_rewrites.host_path",
            "the TenantPolicy's admission refuses every hostPath volume, so a rewritten one "
            "would be refused on the host; leave it off or set policy.admission.enabled false",
        )
    return SyncerSandboxRewrites(
        host_path=args.get("host_path", not fenced),
        host_network=args.get("host_network", True),
        host_port=args.get("host_port", True),
    )


# --- rendering ---


_WORKLOADS = ("tenantry-vcluster", "tenantry-snapshot", "tenantry-sleeper")
"""app.kubernetes.io/name of the control plane's, the snapshot job's and the sleeper's pods."""


def _workload_labels(app: str, name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name}


def app_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return _workload_labels(_WORKLOADS[0], spec.name)


def host_rbac_rules(syncer: SyncerConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(namespaced rules, cluster rules) the syncer needs on the host: no more."""
    rw = ["get", "list", "watch", "create", "update", "patch", "delete"]
    ro = ["get", "list", "watch"]
    core = [
        "pods",
        "pods/status",
        "pods/ephemeralcontainers",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "events",
    ]
    if syncer.from_virtual.service_accounts:
        core.append("serviceaccounts")
    rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": core, "verbs": rw},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": rw},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": rw},
    ]
    networking = [
        r
        for r, enabled in (
            ("ingresses", syncer.from_virtual.ingresses),
            ("networkpolicies", syncer.from_virtual.network_policies),
        )
        if enabled
    ]
    if networking:
        rules.append({"apiGroups": ["networking.k8s.io"], "resources": networking, "verbs": rw})
    if syncer.from_virtual.pod_disruption_budgets:
        rules.append({"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw})
    cluster: list[dict[str, Any]] = []
    if syncer.from_host.mirror_nodes:
        cluster.append({"apiGroups": [""], "resources": ["nodes"], "verbs": ro})
    if syncer.from_host.storage_classes:
        cluster.append(
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ro}
        )
    if syncer.from_virtual.priority_classes:
        cluster.append(
            {"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": rw}
        )
    return rules, cluster


def _identity(
    prefix: str,
    name: str,
    namespace: str,
    meta: Any,
    rules: list[dict[str, Any]],
    *,
    sa_annotations: dict[str, str] | None = None,
) -> list[Child]:
    """One workload's host identity: ServiceAccount ``name`` with a Role of ``rules`` bound
    to it; ``prefix`` keeps the children's Pulumi names apart."""
    return [
        Child(
            f"{prefix}sa",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": meta(name, annotations=sa_annotations),
            },
        ),
        Child(
            f"{prefix}role",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta(name),
                "rules": rules,
            },
        ),
        Child(
            f"{prefix}rolebinding",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta(name),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            },
            depends_on=(f"{prefix}sa", f"{prefix}role"),
        ),
    ]


def render(spec: VirtualClusterSpec) -> list[Child]:
    ns = spec.namespace
    sa = f"vc-{spec.name}"

    def meta(name: str, namespaced: bool = True, **extra: Any) -> dict[str, Any]:
        return _k8s.metadata(
            name, tenant=ns, component=COMPONENT, namespace=ns if namespaced else None, **extra
        )

    rules, cluster_rules = host_rbac_rules(spec.syncer)
    children = _identity("", sa, ns, meta, rules)
    binding_deps: tuple[str, ...] = ("rolebinding",)
    if cluster_rules:
        cluster_name = f"tenantry-vc-{ns}-{spec.name}"
        children += [
            Child(
                "clusterrole",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": meta(cluster_name, False),
                    "rules": cluster_rules,
                },
            ),
            Child(
                "clusterrolebinding",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": meta(cluster_name, False),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": cluster_name,
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
                },
                depends_on=("sa", "clusterrole"),
            ),
        ]
        binding_deps += ("clusterrolebinding",)

    config_name = naming.config_map_name(spec.name)
    children.append(
        Child(
            "config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(config_name),
                "data": {CONFIG_KEY: spec.syncer.to_json()},
            },
        )
    )
    children += _services(spec, meta)
    children.append(
        Child(
            "netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta(f"vc-{spec.name}-control-plane"),
                # The control plane talks to the host API and is reached by tenants, whatever
                # the tenant's default-deny says.
                "spec": {
                    "podSelector": {"matchLabels": app_labels(spec)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"ports": [{"protocol": "TCP", "port": control_plane.API_PORT}]}],
                    "egress": [{}],
                },
            },
        )
    )
    if spec.snapshots is not None:
        children += _snapshot_children(spec, meta, config_name)
    if spec.sleep is not None:
        children += _sleeper_children(spec, meta, config_name)
    children.append(
        Child(
            "statefulset",
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": meta(spec.name),
                "spec": statefulset_spec(spec, sa, config_name),
            },
            depends_on=(*binding_deps, "config", "service-headless"),
        )
    )
    return children


def snapshot_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return _workload_labels(_WORKLOADS[1], spec.name)


def data_claim_name(spec: VirtualClusterSpec) -> str:
    """The store's PVC: the StatefulSet's `data` claim template for pod 0."""
    return f"data-{spec.name}-0"


def _snapshot_children(spec: VirtualClusterSpec, meta: Any, config_name: str) -> list[Child]:
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
        "containers": [control_plane.snapshot_container(spec.control_plane, spec.snapshots)],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": data_claim_name(spec)}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "config", "configMap": {"name": config_name}},
        ],
    }
    # Only the PKI Secret, only read.
    rules = [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [spec.syncer.pki_secret],
            "verbs": ["get"],
        }
    ]
    return [
        *_identity(
            "snapshot-",
            name,
            spec.namespace,
            meta,
            rules,
            sa_annotations=spec.snapshot_sa_annotations or None,
        ),
        Child(
            "snapshot-netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta(name),
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
                "metadata": meta(name),
                "spec": {
                    "schedule": spec.snapshot_schedule,
                    "concurrencyPolicy": "Forbid",
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 2,
                            "template": {
                                "metadata": {"labels": snapshot_labels(spec)},
                                "spec": pod_spec,
                            },
                        }
                    },
                },
            },
            depends_on=("snapshot-rolebinding", "config"),
        ),
    ]


def sleeper_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return _workload_labels(_WORKLOADS[2], spec.name)


def _sleeper_children(spec: VirtualClusterSpec, meta: Any, config_name: str) -> list[Child]:
    assert spec.sleep is not None
    name = f"vc-{spec.name}-sleeper"
    upstream = (
        f"{naming.headless_service_name(spec.name)}.{spec.namespace}.svc:{control_plane.API_PORT}"
    )
    container = control_plane.sleeper_container(spec.control_plane, spec.sleep, upstream)
    rules = [
        {
            "apiGroups": ["apps"],
            "resources": ["statefulsets"],
            "resourceNames": [spec.name],
            "verbs": ["get", "patch"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [f"vc-{spec.name}-sleep"],
            "verbs": ["get", "update"],
        },
    ]
    return [
        *_identity("sleeper-", name, spec.namespace, meta, rules),
        Child(
            "sleeper-netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta(name),
                "spec": {
                    "podSelector": {"matchLabels": sleeper_labels(spec)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        {"ports": [{"protocol": "TCP", "port": control_plane.SLEEPER_PORT}]}
                    ],
                    "egress": [{}],
                },
            },
        ),
        Child(
            "sleeper",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta(name),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": sleeper_labels(spec)},
                    "template": {
                        "metadata": {"labels": sleeper_labels(spec)},
                        "spec": {
                            "serviceAccountName": name,
                            "securityContext": POD_SECURITY,
                            "containers": [container],
                            "volumes": [{"name": "config", "configMap": {"name": config_name}}],
                        },
                    },
                },
            },
            depends_on=("sleeper-rolebinding", "config"),
        ),
    ]


def _services(spec: VirtualClusterSpec, meta: Any) -> list[Child]:
    # With sleep, tenants reach the API server through the always-on sleeper.
    selector = app_labels(spec) if spec.sleep is None else sleeper_labels(spec)
    port: dict[str, Any] = {
        "name": "https",
        "port": 443,
        "targetPort": control_plane.API_PORT if spec.sleep is None else control_plane.SLEEPER_PORT,
        "protocol": "TCP",
    }
    service_type = "ClusterIP"
    annotations: dict[str, str] = {}
    if spec.exposure is ExposureType.LOAD_BALANCER:
        service_type, annotations = "LoadBalancer", spec.exposure_annotations
    elif spec.exposure is ExposureType.NODE_PORT:
        service_type = "NodePort"
        if spec.node_port is not None:
            port["nodePort"] = spec.node_port
    children = [
        Child(
            "service",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta(spec.name, annotations=annotations or None),
                "spec": {"type": service_type, "selector": selector, "ports": [port]},
            },
        ),
        Child(
            "service-headless",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta(naming.headless_service_name(spec.name)),
                "spec": {
                    "clusterIP": "None",
                    "selector": app_labels(spec),
                    "publishNotReadyAddresses": True,
                    "ports": [{"name": "https", "port": 443, "targetPort": control_plane.API_PORT}],
                },
            },
        ),
    ]
    if spec.exposure is ExposureType.INGRESS:
        ingress_spec: dict[str, Any] = {
            "rules": [
                {
                    "host": spec.exposure_host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": spec.name, "port": {"number": 443}}
                                },
                            }
                        ]
                    },
                }
            ]
        }
        if spec.ingress_class_name:
            ingress_spec["ingressClassName"] = spec.ingress_class_name
        children.append(
            Child(
                "ingress",
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": meta(spec.name, annotations=spec.exposure_annotations or None),
                    "spec": ingress_spec,
                },
                depends_on=("service",),
            )
        )
    return children


POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def statefulset_spec(
    spec: VirtualClusterSpec, service_account: str, config_name: str
) -> dict[str, Any]:
    init, main = control_plane.containers(spec.control_plane)
    claim: dict[str, Any] = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.store_size}},
        },
    }
    if spec.storage_class:
        claim["spec"]["storageClassName"] = spec.storage_class
    return {
        "serviceName": naming.headless_service_name(spec.name),
        # With sleep, the sleeper owns the replica count (0 asleep, 1 awake); a create
        # without it starts one.
        **({"replicas": 1} if spec.sleep is None else {}),
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": app_labels(spec)},
        "template": {
            "metadata": {"labels": app_labels(spec)},
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": True,
                "terminationGracePeriodSeconds": 10,
                "securityContext": POD_SECURITY,
                "initContainers": init,
                "containers": main,
                "volumes": [
                    {"name": "pki", "emptyDir": {"medium": "Memory"}},
                    {"name": "config", "configMap": {"name": config_name}},
                    *([{"name": "scratch", "emptyDir": {}}] if spec.control_plane.restore else []),
                ],
            },
        },
        "volumeClaimTemplates": [claim],
    }


class VirtualCluster(pulumi.ComponentResource):
    """A virtual Kubernetes control plane (upstream kube-apiserver and kube-controller-manager
    on a kine/SQLite or etcd store) in one host namespace, plus the Tenantry syncer that runs the
    tenant's workloads on the host."""

    namespace: pulumi.Output[str]
    """Host namespace of the virtual cluster."""
    service_name: pulumi.Output[str]
    """Host Service in front of the virtual API server."""
    kubeconfig_secret_name: pulumi.Output[str]
    """Host Secret (vc-<name>) that receives the tenant kubeconfig."""
    endpoint: pulumi.Output[str]
    """URL of the virtual API server for tenants."""
    kubeconfig: pulumi.Output[str]
    """The tenant kubeconfig (a secret), read from vc-<name> once the control plane is ready;
    empty when read_kubeconfig is false."""

    def __init__(
        self,
        name: str,
        args: VirtualClusterArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        spec = validation.validate(
            COMPONENT, name, VirtualClusterArgs, args, lambda a: resolve(name, a)
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.spec = spec
        child_opts = pulumi.ResourceOptions(parent=self)
        if spec.policy is not None:
            self.policy: TenantPolicy | None = TenantPolicy.from_spec(
                f"{name}-policy", spec.policy, child_opts
            )
            child_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.policy])
        else:
            self.policy = None
        created = _k8s.register(name, render(spec), child_opts)
        self.namespace = pulumi.Output.from_input(spec.namespace)
        self.service_name = created["service"].id.apply(lambda _: spec.name)
        self.kubeconfig_secret_name = pulumi.Output.from_input(spec.syncer.kubeconfig_secret)
        self.endpoint = pulumi.Output.from_input(spec.endpoint)
        self.kubeconfig = pulumi.Output.secret("")
        self.provider: k8s.Provider | None = None
        """A kubernetes provider for the tenant cluster (Python only), when read_kubeconfig."""
        if spec.read_kubeconfig:
            self.kubeconfig = _read_kubeconfig(name, spec, created["statefulset"], self)
            self.provider = k8s.Provider(
                f"{name}-tenant",
                kubeconfig=self.kubeconfig,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_name": self.service_name,
                "kubeconfig_secret_name": self.kubeconfig_secret_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
            }
        )


def _read_kubeconfig(
    name: str, spec: VirtualClusterSpec, statefulset: pulumi.CustomResource, parent: pulumi.Resource
) -> pulumi.Output[str]:
    # The read's id waits on the StatefulSet, which pulumi-kubernetes only reports created
    # once it is ready: by then the init container has written the Secret. In a preview of a
    # new cluster the id is unknown, so nothing is read too early.
    secret_id = statefulset.id.apply(lambda _: f"{spec.namespace}/{spec.syncer.kubeconfig_secret}")
    secret = k8s.core.v1.Secret.get(
        f"{name}-kubeconfig", secret_id, opts=pulumi.ResourceOptions(parent=parent)
    )

    def decode(data: Mapping[str, str]) -> str:
        if not data or "config" not in data:
            raise pulumi.RunError(
                f"VirtualCluster '{name}': secret {spec.syncer.kubeconfig_secret} has no config key"
            )
        return base64.b64decode(data["config"]).decode()

    return pulumi.Output.secret(secret.data.apply(decode))
