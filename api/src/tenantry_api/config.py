"""Configuration documents the components write and the agents read.

Each document is versioned (``apiVersion``/``kind``) and rejects unknown fields, so a syncer
or agent older than its config fails loudly instead of ignoring a setting.
"""

import hashlib
import posixpath
from enum import StrEnum
from typing import Annotated, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tenantry_api.checks import (
    DAYS,
    AwakeHours,
    Bucket,
    Day,
    EndpointUrl,
    Prefix,
    Region,
    Retention,
    TimeZone,
)
from tenantry_api.naming import DNS1123_LABEL_PATTERN, pki_secret_name
from tenantry_api.runtimes import RuntimeBackend, handler_name

API_VERSION: Literal["tenantry.dev/v1alpha1"] = "tenantry.dev/v1alpha1"
CONFIG_KEY = "config.json"
"""Key of the document inside its ConfigMap."""

MAX_USER_PRIORITY = 1_000_000_000
"""Highest PriorityClass value Kubernetes allows outside the built-in ``system-`` classes."""
MIN_PRIORITY = -2_147_483_648

DnsLabel = Annotated[str, Field(max_length=63, pattern=DNS1123_LABEL_PATTERN)]


class PodSecurityLevel(StrEnum):
    """A Pod Security Standards level."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Document(_Strict):
    """A versioned config document: ``apiVersion``, ``kind`` and its fields."""

    api_version: str = Field(alias="apiVersion")
    kind: str

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


class Toleration(_Strict):
    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""


DEFAULT_HOST_PATH_ROOT = "/var/lib/tenantry/tenants"
"""Where a sandboxed tenant's hostPath volumes land on the node: `<root>/<host namespace>/`."""


def check_host_path_root(value: str) -> str:
    """A root for tenants' directories: absolute, normalised, and not `/` itself."""
    if not value.startswith("/") or posixpath.normpath(value) != value or value == "/":
        raise ValueError(f"{value!r} is not a normalised absolute path below /")
    return value


HostPathRoot = Annotated[str, AfterValidator(check_host_path_root)]
NodePath = HostPathRoot
DEFAULT_BINARY_DIRS = (
    "/usr/local/bin",
    "/usr/bin",
    "/usr/local/sbin",
    "/usr/sbin",
    "/opt/kata/bin",
)
"""A file or directory on the node: absolute, normalised, not `/`."""


class Isolation(_Strict):
    """What the syncer forces on every synced pod when a VirtualNode is attached."""

    runtime_class_name: DnsLabel
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    backend: RuntimeBackend | None = None
    """The VirtualNode's sandbox. Its exemptions and the sandbox rewrites apply only when it is
    known and sandboxed; None (unknown) counts as no sandbox."""
    host_path_root: HostPathRoot = DEFAULT_HOST_PATH_ROOT
    """Root of the tenants' directories on the VirtualNode's nodes (hostPath rewrite)."""


class SandboxRewrites(_Strict):
    """Host access a sandboxed pod asks for, given the tenant's own instead (docs/syncer.md).
    A rewrite switched off refuses such pods, with a virtual Event."""

    host_path: bool = True
    """hostPath: a directory of the tenant's under the VirtualNode's host_path_root."""
    host_network: bool = True
    """hostNetwork: the pod's own network."""
    host_port: bool = True
    """hostPort: a plain container port."""


class FromVirtual(_Strict):
    """Kinds copied from the virtual cluster to the host."""

    all_configmaps: bool = False
    """Sync every ConfigMap, not only those a pod references."""
    all_secrets: bool = False
    """Sync every Secret, not only those a pod references."""
    ingresses: bool = False
    """Ingresses, backends and TLS Secrets renamed; load-balancer status back."""
    service_accounts: bool = False
    """ServiceAccounts; host pods then run as the host twin of their virtual one."""
    network_policies: bool = False
    """NetworkPolicies, selectors translated to the labels of the host pods."""
    pod_disruption_budgets: bool = False
    """PodDisruptionBudgets, selector translated to the labels of the host pods."""
    priority_classes: bool = False
    """PriorityClasses, as cluster-scoped host twins with capped values."""
    max_priority: int = Field(default=MAX_USER_PRIORITY, ge=MIN_PRIORITY, le=MAX_USER_PRIORITY)
    """Highest value a PriorityClass twin gets on the host."""


class FromHost(_Strict):
    """Kinds copied from the host into the virtual cluster."""

    storage_classes: bool = False
    """Read-only copies of the host's StorageClasses, so tenants see what they can use."""
    mirror_nodes: bool = False
    """Mirror every host node, instead of only those that run a synced pod."""


class SyncerConfig(Document):
    api_version: Literal["tenantry.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["SyncerConfig"] = "SyncerConfig"
    vcluster: DnsLabel
    """Name of the virtual cluster; part of every host name."""
    host_namespace: DnsLabel
    """Host namespace the virtual cluster and its synced objects live in."""
    service_name: DnsLabel
    """Host Service in front of the virtual API server."""
    kubeconfig_secret: DnsLabel
    """Host Secret that receives the tenant kubeconfig (``vc-<name>``)."""
    pki_secret: DnsLabel = ""
    """Host Secret that keeps the control plane's CAs, keys and certificates across restarts.
    Default ``vc-pki-<vcluster>``."""
    endpoint: str = ""
    """Server URL written into the tenant kubeconfig. Default: the in-cluster Service."""
    extra_sans: list[str] = Field(default_factory=list)
    """Extra host names and IPs for the API server's serving certificate (exposure)."""
    pod_security_level: PodSecurityLevel = PodSecurityLevel.BASELINE
    """Pods above this Pod Security level are not synced; a virtual Event says why. The
    baseline is the floor: `privileged` only lets a sandboxed pod use the exemptions its
    backend earns (`tenantry_api.sandbox`)."""
    sandbox_rewrites: SandboxRewrites = Field(default_factory=SandboxRewrites)
    from_virtual: FromVirtual = Field(default_factory=FromVirtual)
    from_host: FromHost = Field(default_factory=FromHost)
    isolation: Isolation | None = None
    coredns_image: str = ""
    """Image of the tenant's CoreDNS, which the syncer keeps in the virtual kube-system. Empty:
    no tenant DNS, and pods keep the host's resolver."""

    @model_validator(mode="after")
    def _defaults(self) -> Self:
        # Derived defaults are filled in here so every reader sees the same value.
        if not self.pki_secret:
            object.__setattr__(self, "pki_secret", pki_secret_name(self.vcluster))
        if not self.endpoint:
            object.__setattr__(
                self, "endpoint", f"https://{self.service_name}.{self.host_namespace}.svc:443"
            )
        return self


class IoLimits(_Strict):
    """Per-tenant block-I/O limits, applied through cgroup v2's ``io`` controller."""

    weight: int | None = Field(default=None, ge=1, le=10000)
    read_bps: int | None = Field(default=None, ge=1)
    write_bps: int | None = Field(default=None, ge=1)
    read_iops: int | None = Field(default=None, ge=1)
    write_iops: int | None = Field(default=None, ge=1)


class NodeAgentConfig(Document):
    api_version: Literal["tenantry.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["NodeAgentConfig"] = "NodeAgentConfig"
    backend: RuntimeBackend
    handler: DnsLabel
    """containerd runtime handler name; must match the RuntimeClass's handler."""
    containerd_config: NodePath = "/etc/containerd/config.toml"
    containerd_socket: NodePath = "/run/containerd/containerd.sock"
    """containerd's CRI socket: the agent reads its version and confirms the handler there."""
    restart_strategy: Literal["systemd", "signal", "none"] = "systemd"
    """How containerd is restarted after a config change: host systemd over D-Bus; SIGTERM
    to the pid in ``containerd_pid_file`` for hosts without systemd whose init supervisor
    starts it again (containerd reloads nothing on SIGHUP); or not at all."""
    containerd_pid_file: NodePath = "/run/containerd/containerd.pid"
    binary_dirs: list[NodePath] = Field(default_factory=lambda: list(DEFAULT_BINARY_DIRS))
    """Host directories searched for the runtime's binaries, seen under the agent's
    ``--host-root``."""
    io_limits: IoLimits = Field(default_factory=IoLimits)
    tenant_namespaces: list[DnsLabel] = Field(default_factory=list)
    """Host namespaces whose pods get ``io_limits``, and each a directory under
    ``host_path_root``."""
    host_path_root: HostPathRoot | None = None
    """Where the agent keeps one directory per tenant namespace, for the syncer's hostPath
    rewrite; directories of tenants no longer listed are removed. None: none kept."""

    @model_validator(mode="after")
    def _handler_matches_backend(self) -> Self:
        if self.handler != handler_name(self.backend):
            raise ValueError(
                f"handler {self.handler!r} does not match backend {self.backend.value!r} "
                f"(expected {handler_name(self.backend)!r})"
            )
        return self


class SleepSettings(_Strict):
    """When the sleeper puts a virtual cluster to sleep (docs/snapshots-and-sleep.md)."""

    idle_seconds: float = Field(gt=0)
    """Seconds without API traffic before the control plane sleeps."""
    awake_hours: AwakeHours = ""
    """HH:MM-HH:MM in which the tenant never sleeps; empty: no such hours."""
    awake_days: list[Day] = Field(default_factory=list)
    """Days of ``awake_hours``; empty: every day."""
    time_zone: TimeZone = ""
    """IANA time zone of ``awake_hours``; empty: UTC."""

    @field_validator("awake_days")
    @classmethod
    def _days_need_hours(cls, days: list[str], info: ValidationInfo) -> list[str]:
        if days and not info.data.get("awake_hours"):
            raise ValueError("needs awake_hours")
        return days


class S3Endpoint(_Strict):
    """How an S3 (or S3-compatible) store is reached."""

    region: Region = ""
    endpoint_url: EndpointUrl = ""
    """For S3-compatible stores."""


class SnapshotSettings(S3Endpoint):
    """Where snapshots go and how many are kept (docs/snapshots-and-sleep.md)."""

    bucket: Bucket
    prefix: Prefix = "tenantry"
    retention: Retention = 7
    """Complete snapshots kept; older ones are deleted after each new one."""


class _VirtualClusterDocument(Document):
    vcluster: DnsLabel
    host_namespace: DnsLabel


class SleeperConfig(_VirtualClusterDocument):
    """What `tenantry-syncer sleep` reads."""

    api_version: Literal["tenantry.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["SleeperConfig"] = "SleeperConfig"
    sleep: SleepSettings


class SnapshotConfig(_VirtualClusterDocument):
    """What `tenantry-syncer snapshot` reads."""

    api_version: Literal["tenantry.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["SnapshotConfig"] = "SnapshotConfig"
    pki_secret: DnsLabel = ""
    """The PKI Secret saved with the store. Default ``vc-pki-<vcluster>``, as SyncerConfig's."""
    snapshots: SnapshotSettings

    @model_validator(mode="after")
    def _defaults(self) -> Self:
        if not self.pki_secret:
            object.__setattr__(self, "pki_secret", pki_secret_name(self.vcluster))
        return self


SLEEPER_CONFIG_KEY = "sleeper.json"
"""Key of the SleeperConfig beside the SyncerConfig in the virtual cluster's ConfigMap."""
SNAPSHOT_CONFIG_KEY = "snapshot.json"
"""Key of the SnapshotConfig beside the SyncerConfig in the virtual cluster's ConfigMap."""

DocumentT = TypeVar("DocumentT", bound=Document)


def config_hash(*documents: str) -> str:
    """The value of keys.CONFIG_HASH on a pod template that reads ``documents``: a change of
    any of them changes the template, so the pod is rolled."""
    digest = hashlib.sha256()
    for text in documents:
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()[:16]


def load(document_type: type[DocumentT], text: str) -> DocumentT:
    """Parse and validate a config document; raises pydantic.ValidationError on bad input."""
    return document_type.model_validate_json(text)


__all__ = [
    "API_VERSION",
    "CONFIG_KEY",
    "DAYS",
    "DEFAULT_HOST_PATH_ROOT",
    "MAX_USER_PRIORITY",
    "MIN_PRIORITY",
    "SLEEPER_CONFIG_KEY",
    "SNAPSHOT_CONFIG_KEY",
    "Document",
    "FromHost",
    "FromVirtual",
    "IoLimits",
    "Isolation",
    "NodeAgentConfig",
    "PodSecurityLevel",
    "S3Endpoint",
    "SandboxRewrites",
    "SleepSettings",
    "SleeperConfig",
    "SnapshotConfig",
    "SnapshotSettings",
    "SyncerConfig",
    "Toleration",
    "check_host_path_root",
    "config_hash",
    "load",
]
