"""VirtualNode's args: the TypedDicts Pulumi's analyzer reads for the schema and pydantic
validates against."""

from enum import StrEnum
from typing import NotRequired

from pydantic import with_config
from tenantry_api.runtimes import RuntimeBackend
from typing_extensions import TypedDict

from tenantry.common import Toleration
from tenantry.validation import STRICT


class CloudPreset(StrEnum):
    """Where the VirtualNode runs; decides who provides the sandbox."""

    EKS = "eks"
    GKE = "gke"
    AKS = "aks"
    BARE = "bare"


class Compute(StrEnum):
    """What runs the sandboxed pods. Serverless pod compute has no nodes to give a sandbox to."""

    NODES = "nodes"
    """Kubernetes nodes: node groups (EKS), node pools (GKE, AKS) or any node (bare)."""
    FARGATE = "fargate"
    """EKS Fargate profiles: no DaemonSets, no RuntimeClass of ours."""
    VIRTUAL_NODES = "virtual-nodes"
    """AKS virtual nodes on Azure Container Instances: no DaemonSets, no Kata RuntimeClass."""


@with_config(STRICT)
class IoLimits(TypedDict):
    """Per-tenant block-I/O limits (cgroup v2 io controller) applied by the agent."""

    weight: NotRequired[int]
    """io.weight, 1 to 10000."""
    read_bps: NotRequired[int]
    write_bps: NotRequired[int]
    read_iops: NotRequired[int]
    write_iops: NotRequired[int]


@with_config(STRICT)
class Agent(TypedDict):
    """The node agent DaemonSet."""

    namespace: NotRequired[str]
    """Namespace of the DaemonSet. Default kube-system."""
    image: NotRequired[str]
    """Agent image. Default ghcr.io/tenantry/node-agent:<package version>."""
    node_selector: NotRequired[dict[str, str]]
    """Nodes that get the agent (and so the sandbox). Default: every Linux node."""
    tolerations: NotRequired[list[Toleration]]
    """Tolerations of the agent, so it reaches tainted sandbox nodes."""
    restart_strategy: NotRequired[str]
    """How containerd is restarted after a config change: systemd (default), signal or none."""
    containerd_config: NotRequired[str]
    """Path of containerd's config on the node. Default /etc/containerd/config.toml."""
    containerd_socket: NotRequired[str]
    """containerd's socket on the node. Default /run/containerd/containerd.sock. Its
    directory is mounted, so a socket that containerd re-creates on restart is still seen."""
    containerd_pid_file: NotRequired[str]
    """containerd's pid file, read by the signal restart. Default
    /run/containerd/containerd.pid."""
    binary_dirs: NotRequired[list[str]]
    """Node directories searched for the sandbox's binaries; those outside /usr and /opt are
    mounted read-only for it. Default /usr/local/bin, /usr/bin, /usr/local/sbin, /usr/sbin,
    /opt/kata/bin."""


@with_config(STRICT)
class VirtualNodeArgs(TypedDict):
    """Arguments of VirtualNode."""

    preset: NotRequired[CloudPreset]
    """eks, gke, aks or bare (default). gke and aks use the cloud's sandbox and no agent."""
    compute: NotRequired[Compute]
    """What runs the tenant's pods: nodes (default), fargate (EKS) or virtual-nodes (AKS).
    Serverless compute cannot run the sandbox, so fargate and virtual-nodes fail at preview
    rather than deploy weaker isolation than asked for."""
    backend: NotRequired[RuntimeBackend]
    """Sandbox runtime: gvisor (default), kata, sysbox or runc-hardened."""
    runtime_class_name: NotRequired[str]
    """Name of the RuntimeClass. Default: the resource name."""
    overhead: NotRequired[dict[str, str]]
    """RuntimeClass podFixed overhead. Default per backend (kata 250m/160Mi, gvisor 100m/64Mi)."""
    node_selector: NotRequired[dict[str, str]]
    """Extra node labels the RuntimeClass schedules onto."""
    tolerations: NotRequired[list[Toleration]]
    """Extra tolerations the RuntimeClass adds to pods."""
    allow_privileged: NotRequired[bool]
    """Let through admission, under this RuntimeClass, the Pod Security checks the backend's
    sandbox contains: for gvisor privileged, capabilities, hostPID, seccomp, AppArmor, procMount
    and namespaced sysctls; for kata the same without hostPID; for sysbox capabilities only.
    Never host access (hostPath, hostNetwork, hostPort). It matters where the tenant's Pod
    Security level is privileged. Default true for gvisor, kata and sysbox; never for
    runc-hardened."""
    io_limits: NotRequired[IoLimits]
    tenant_namespaces: NotRequired[list[str]]
    """Host namespaces whose pods get io_limits, and on each node a directory under
    host_path_root (made by the agent, removed when the namespace leaves this list)."""
    host_path_root: NotRequired[str]
    """Where a sandboxed pod's hostPath volumes land on the node: a VirtualCluster's syncer
    gives them `<root>/<host namespace>/...`, never a path of the host. Default
    /var/lib/tenantry/tenants."""
    agent: NotRequired[Agent]
