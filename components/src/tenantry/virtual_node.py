"""VirtualNode: node-level isolation through a sandboxed RuntimeClass.

On `eks` and `bare` clusters the Tenantry node agent (a DaemonSet) installs the runtime handler
into containerd, verifies it and labels the node ready; the RuntimeClass only schedules onto
ready nodes. On `gke` and `aks` the cloud ships the sandbox, so no agent is deployed.

What a sandbox contains is in `tenantry_api.sandbox`: a TenantPolicy composed with this
VirtualNode waves through, under its RuntimeClass, only the Pod Security checks the backend
contains, and never host access (hostPath, hostNetwork, hostPort).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired

import pulumi
from pydantic import ValidationError, with_config
from tenantry_api import keys
from tenantry_api.config import CONFIG_KEY, DEFAULT_HOST_PATH_ROOT, NodeAgentConfig
from tenantry_api.config import IoLimits as AgentIoLimits
from tenantry_api.runtimes import RuntimeBackend, handler_name
from tenantry_api.sandbox import exemptions
from typing_extensions import TypedDict

__all__ = [
    "Agent",
    "CloudPreset",
    "Compute",
    "IoLimits",
    "RuntimeBackend",
    "VirtualNode",
    "VirtualNodeArgs",
    "VirtualNodeSpec",
]

from tenantry import _k8s, _meta, validation
from tenantry._k8s import Child
from tenantry.common import Isolation, Toleration
from tenantry.validation import STRICT, FieldError

COMPONENT = "VirtualNode"
TYPE_TOKEN = "tenantry:index:VirtualNode"


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


_SERVERLESS: dict[Compute, tuple[CloudPreset, str, str]] = {
    # compute: (the only preset it belongs to, why the sandbox cannot be had, what to do instead)
    Compute.FARGATE: (
        CloudPreset.EKS,
        "EKS Fargate runs no DaemonSets, so the node agent cannot install the {backend} runtime "
        "handler, and Fargate offers no RuntimeClass to select one",
        "run the tenant's pods on EC2 nodes (a managed node group) with compute: nodes",
    ),
    Compute.VIRTUAL_NODES: (
        CloudPreset.AKS,
        "AKS virtual nodes (Azure Container Instances) have no Kata runtime handler and run no "
        "DaemonSets",
        "run the tenant's pods on a node pool with the KataVmIsolation workload runtime with "
        "compute: nodes",
    ),
}


@dataclass(frozen=True)
class _Preset:
    backends: tuple[RuntimeBackend, ...]
    agent: bool
    handler: str | None = None
    """Built-in handler the cloud provides; None means the agent installs ours."""
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()


_PRESETS: dict[CloudPreset, _Preset] = {
    # GKE Sandbox: gVisor node pools carry this label and taint.
    CloudPreset.GKE: _Preset(
        backends=(RuntimeBackend.GVISOR,),
        agent=False,
        handler="gvisor",
        node_selector=(("sandbox.gke.io/runtime", "gvisor"),),
        tolerations=(
            {
                "key": "sandbox.gke.io/runtime",
                "operator": "Equal",
                "value": "gvisor",
                "effect": "NoSchedule",
            },
        ),
    ),
    # AKS Pod Sandboxing: Kata VM isolation node pools register the `kata` handler.
    CloudPreset.AKS: _Preset(backends=(RuntimeBackend.KATA,), agent=False, handler="kata"),
    CloudPreset.EKS: _Preset(backends=tuple(RuntimeBackend), agent=True),
    CloudPreset.BARE: _Preset(backends=tuple(RuntimeBackend), agent=True),
}

_DEFAULT_OVERHEAD: dict[RuntimeBackend, dict[str, str]] = {
    # Figures from kata-deploy's and GKE Sandbox's RuntimeClasses.
    RuntimeBackend.KATA: {"cpu": "250m", "memory": "160Mi"},
    RuntimeBackend.GVISOR: {"cpu": "100m", "memory": "64Mi"},
    RuntimeBackend.SYSBOX: {},
    RuntimeBackend.RUNC_HARDENED: {},
}


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


@dataclass(frozen=True)
class VirtualNodeSpec:
    name: str
    preset: CloudPreset
    backend: RuntimeBackend
    handler: str
    runtime_class_name: str
    overhead: dict[str, str]
    node_selector: dict[str, str]
    tolerations: list[Toleration]
    allow_privileged: bool
    host_path_root: str
    agent: bool
    agent_namespace: str
    agent_image: str
    agent_node_selector: dict[str, str]
    agent_tolerations: list[Toleration]
    agent_config: NodeAgentConfig | None

    @property
    def isolation(self) -> Isolation:
        return {
            "runtime_class_name": self.runtime_class_name,
            "backend": self.backend,
            "node_selector": dict(self.node_selector),
            "tolerations": list(self.tolerations),
            "allow_privileged": self.allow_privileged,
            "host_path_root": self.host_path_root,
        }


_OPERATORS = ("Equal", "Exists")
_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")


def check_tolerations(field: str, tolerations: list[Toleration]) -> list[Toleration]:
    for i, toleration in enumerate(tolerations):
        if toleration.get("operator", "Equal") not in _OPERATORS:
            raise FieldError(f"{field}[{i}].operator", f"must be one of {', '.join(_OPERATORS)}")
        if toleration.get("effect", "") not in _EFFECTS:
            raise FieldError(
                f"{field}[{i}].effect", f"must be one of {', '.join(filter(None, _EFFECTS))}"
            )
    return tolerations


def resolve(resource_name: str, args: VirtualNodeArgs) -> VirtualNodeSpec:
    preset_name = args.get("preset", CloudPreset.BARE)
    preset = _PRESETS[preset_name]
    backend = args.get("backend", preset.backends[0])
    compute = args.get("compute", Compute.NODES)
    if compute in _SERVERLESS:
        cloud, why, instead = _SERVERLESS[compute]
        if preset_name is not cloud:
            raise FieldError(
                "compute", f"{compute.value} is {cloud.value}'s, not preset {preset_name.value}'s"
            )
        raise FieldError(
            "compute",
            f"{why.format(backend=backend.value)}; Tenantry will not deploy weaker isolation "
            f"than asked for: {instead}",
        )
    if backend not in preset.backends:
        raise FieldError(
            "backend",
            f"preset {preset_name.value} provides only "
            f"{', '.join(b.value for b in preset.backends)}, not {backend.value}; "
            "Tenantry will not deploy another sandbox than the one asked for",
        )
    runtime_class_name = validation.dns_label(
        "runtime_class_name", args.get("runtime_class_name", resource_name)
    )
    overhead = args.get("overhead", _DEFAULT_OVERHEAD[backend])
    validation.quantities("overhead", overhead)
    allow_privileged = args.get("allow_privileged", bool(exemptions(backend)))
    if allow_privileged and not exemptions(backend):
        raise FieldError(
            "allow_privileged",
            f"{backend.value} shares the host kernel unsandboxed, so it contains no Pod Security "
            "check: privileged pods would not be contained",
        )
    handler = preset.handler or handler_name(backend)
    host_path_root = validation.host_path_root(
        "host_path_root", args.get("host_path_root", DEFAULT_HOST_PATH_ROOT)
    )
    node_selector = {
        **dict(preset.node_selector),
        **({keys.runtime_ready_label(handler): keys.RUNTIME_READY_VALUE} if preset.agent else {}),
        **validation.labels("node_selector", args.get("node_selector", {})),
    }
    tolerations = [
        *preset.tolerations,
        *check_tolerations("tolerations", args.get("tolerations", [])),
    ]

    agent_args = args.get("agent", {})
    agent_config = None
    if preset.agent:
        restart = agent_args.get("restart_strategy", "systemd")
        if restart not in ("systemd", "signal", "none"):
            raise FieldError("agent.restart_strategy", "must be one of systemd, signal, none")
        tenant_namespaces = args.get("tenant_namespaces", [])
        for i, ns in enumerate(tenant_namespaces):
            validation.dns_label(f"tenant_namespaces[{i}]", ns)
        try:
            io_limits = AgentIoLimits.model_validate(args.get("io_limits", {}))
        except ValidationError as e:
            first = e.errors()[0]
            raise FieldError(f"io_limits.{first['loc'][0]}", first["msg"]) from None
        agent_config = NodeAgentConfig(
            backend=backend,
            handler=handler,
            containerd_config=agent_args.get("containerd_config", "/etc/containerd/config.toml"),
            restart_strategy=restart,
            io_limits=io_limits,
            tenant_namespaces=tenant_namespaces,
            host_path_root=host_path_root,
        )
    elif "agent" in args or "io_limits" in args:
        field = "agent" if "agent" in args else "io_limits"
        raise FieldError(
            field, f"preset {preset_name.value} uses the cloud's sandbox and runs no agent"
        )

    return VirtualNodeSpec(
        name=runtime_class_name,
        preset=preset_name,
        backend=backend,
        handler=handler,
        runtime_class_name=runtime_class_name,
        overhead=dict(overhead),
        node_selector=node_selector,
        tolerations=tolerations,
        allow_privileged=allow_privileged,
        host_path_root=host_path_root,
        agent=preset.agent,
        agent_namespace=validation.dns_label(
            "agent.namespace", agent_args.get("namespace", "kube-system")
        ),
        agent_image=agent_args.get("image", _meta.tenantry_image("node-agent")),
        agent_node_selector={
            "kubernetes.io/os": "linux",
            **validation.labels("agent.node_selector", agent_args.get("node_selector", {})),
        },
        agent_tolerations=check_tolerations("agent.tolerations", agent_args.get("tolerations", [])),
        agent_config=agent_config,
    )


# --- rendering ---

AGENT_CONFIG_DIR = "/etc/tenantry"
HOST_ROOT = "/host"
"""Where the agent sees the host's binary directories (read-only), to find the runtime's."""
# (volume, host path, hostPath type, read-only): the only host paths the agent sees.
HOST_MOUNTS: list[tuple[str, str, str, bool]] = [
    # The runtime handler is installed here, as a drop-in or a marked edit.
    ("containerd-config", "/etc/containerd", "Directory", False),
    # containerd is restarted through host systemd's private D-Bus socket.
    ("systemd-private", "/run/systemd/private", "Socket", False),
    # The handler is confirmed through CRI before the node is labelled ready.
    ("containerd-socket", "/run/containerd/containerd.sock", "Socket", False),
    # Tenant io.max/io.weight are written to pod cgroups.
    ("cgroup", "/sys/fs/cgroup", "Directory", False),
    # Preflight looks for the runtime's binaries (runsc, kata, sysbox) here; read-only.
    ("host-usr", "/usr", "Directory", True),
    ("host-opt", "/opt", "Directory", True),
]
DEFAULT_PID_FILE = "/run/containerd/containerd.pid"


def render(spec: VirtualNodeSpec) -> list[Child]:
    def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
        return _k8s.metadata(
            name, tenant=spec.name, component=COMPONENT, namespace=namespace, **extra
        )

    runtime_class: dict[str, Any] = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": meta(spec.runtime_class_name),
        "handler": spec.handler,
        "scheduling": {
            "nodeSelector": dict(spec.node_selector),
            "tolerations": list(spec.tolerations),
        },
    }
    if spec.overhead:
        runtime_class["overhead"] = {"podFixed": dict(spec.overhead)}
    children = [Child("runtimeclass", runtime_class)]
    if spec.agent_config is None:
        return children

    agent = f"tenantry-node-agent-{spec.name}"
    ns = spec.agent_namespace
    selector = {
        "app.kubernetes.io/name": "tenantry-node-agent",
        "app.kubernetes.io/instance": spec.name,
    }
    children += [
        Child(
            "agent-sa", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(agent, ns)}
        ),
        Child(
            "agent-clusterrole",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": meta(agent),
                "rules": [
                    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
                    {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                    # On SIGTERM: does its DaemonSet still select this node? Only if not,
                    # the agent uninstalls.
                    {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
                ],
            },
        ),
        Child(
            "agent-clusterrolebinding",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": meta(agent),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": agent,
                },
                "subjects": [{"kind": "ServiceAccount", "name": agent, "namespace": ns}],
            },
            depends_on=("agent-sa", "agent-clusterrole"),
        ),
        Child(
            "agent-config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(agent, ns),
                "data": {CONFIG_KEY: spec.agent_config.to_json()},
            },
        ),
        Child(
            "agent-daemonset",
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": meta(agent, ns),
                "spec": _daemonset_spec(spec, agent, selector),
            },
            depends_on=("agent-clusterrolebinding", "agent-config"),
        ),
    ]
    return children


def _daemonset_spec(spec: VirtualNodeSpec, agent: str, selector: dict[str, str]) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": AGENT_CONFIG_DIR, "readOnly": True}
    ]
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": agent}}]
    host_mounts = list(HOST_MOUNTS)
    signal_restart = spec.agent_config is not None and (
        spec.agent_config.restart_strategy == "signal"
    )
    if signal_restart:
        # Without systemd the agent signals containerd by the pid in this file.
        host_mounts.append(("containerd-pid", DEFAULT_PID_FILE, "File", True))
    if spec.agent_config is not None and spec.agent_config.host_path_root:
        # The tenants' hostPath directories are made and removed here.
        host_mounts.append(
            ("tenant-dirs", spec.agent_config.host_path_root, "DirectoryOrCreate", False)
        )
    for volume, path, path_type, read_only in host_mounts:
        at = f"{HOST_ROOT}{path}" if volume.startswith("host-") else path
        mounts.append(
            {"name": volume, "mountPath": at, **({"readOnly": True} if read_only else {})}
        )
        volumes.append({"name": volume, "hostPath": {"path": path, "type": path_type}})
    return {
        "selector": {"matchLabels": selector},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": selector},
            "spec": {
                "serviceAccountName": agent,
                # Only the signal restart needs to see host processes (containerd's pid).
                **({"hostPID": True} if signal_restart else {}),
                "nodeSelector": dict(spec.agent_node_selector),
                "tolerations": list(spec.agent_tolerations),
                "priorityClassName": "system-node-critical",
                # Uninstall runs on SIGTERM and may restart containerd: give it time.
                "terminationGracePeriodSeconds": 120,
                "containers": [
                    {
                        "name": "agent",
                        "image": spec.agent_image,
                        "args": [
                            "run",
                            "--config",
                            f"{AGENT_CONFIG_DIR}/{CONFIG_KEY}",
                            f"--host-root={HOST_ROOT}",
                        ],
                        "env": [
                            {
                                "name": "NODE_NAME",
                                "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                            },
                            {
                                "name": "TENANTRY_DAEMONSET",
                                "value": f"{spec.agent_namespace}/{agent}",
                            },
                        ],
                        "volumeMounts": mounts,
                        "resources": {
                            "requests": {"cpu": "10m", "memory": "32Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                        # Root is needed for host files and systemd's socket; nothing more.
                        "securityContext": {
                            "runAsUser": 0,
                            "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
                "volumes": volumes,
            },
        },
    }


class VirtualNode(pulumi.ComponentResource):
    """Node-level isolation: a RuntimeClass backed by a sandboxed containerd runtime handler,
    installed and health-checked on every selected node by the Tenantry node agent. Composed
    with a TenantPolicy, pods must run under it, and admission waves through only what the
    backend's sandbox contains, never hostPath, hostNetwork or hostPort."""

    runtime_class_name: pulumi.Output[str]
    """Name of the RuntimeClass pods run under."""
    handler: pulumi.Output[str]
    """containerd runtime handler behind the RuntimeClass."""
    backend: pulumi.Output[str]
    """The sandbox backend; pass it as isolation.backend."""
    node_selector: pulumi.Output[dict[str, str]]
    """Node labels the RuntimeClass schedules onto."""
    allow_privileged: pulumi.Output[bool]
    """Whether admission waves through, under this RuntimeClass, what the sandbox contains."""
    host_path_root: pulumi.Output[str]
    """Root of the tenants' hostPath directories; pass it as isolation.host_path_root."""
    agent_daemonset_name: pulumi.Output[str]
    """Name of the node agent DaemonSet; empty when the cloud provides the sandbox."""

    def __init__(
        self,
        name: str,
        args: VirtualNodeArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        spec = validation.validate(
            COMPONENT, name, VirtualNodeArgs, args, lambda a: resolve(name, a)
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.spec = spec
        self.isolation: Isolation = spec.isolation
        """Pass to VirtualCluster or TenantPolicy `isolation` (Python only; plain value)."""
        created = _k8s.register(name, render(spec), pulumi.ResourceOptions(parent=self))
        self.runtime_class_name = created["runtimeclass"].id.apply(
            lambda _: spec.runtime_class_name
        )
        self.handler = pulumi.Output.from_input(spec.handler)
        self.backend = pulumi.Output.from_input(spec.backend.value)
        self.node_selector = pulumi.Output.from_input(spec.node_selector)
        self.allow_privileged = pulumi.Output.from_input(spec.allow_privileged)
        self.host_path_root = pulumi.Output.from_input(spec.host_path_root)
        self.agent_daemonset_name = pulumi.Output.from_input(
            f"tenantry-node-agent-{spec.name}" if spec.agent_config else ""
        )
        self.register_outputs(
            {
                "runtime_class_name": self.runtime_class_name,
                "handler": self.handler,
                "backend": self.backend,
                "node_selector": self.node_selector,
                "allow_privileged": self.allow_privileged,
                "host_path_root": self.host_path_root,
                "agent_daemonset_name": self.agent_daemonset_name,
            }
        )
