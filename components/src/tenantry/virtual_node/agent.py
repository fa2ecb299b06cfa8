"""The node agent: its settings, its host identity and the DaemonSet that installs the
runtime handler on every selected node."""

import posixpath
from collections.abc import Mapping
from typing import Any

from tenantry_api.config import CONFIG_KEY, NodeAgentConfig
from tenantry_api.config import IoLimits as AgentIoLimits
from tenantry_api.runtimes import RuntimeBackend

from tenantry import _k8s, validation
from tenantry._identity import Identity
from tenantry._k8s import Child
from tenantry.validation import FieldError
from tenantry.virtual_node.args import CloudPreset, VirtualNodeArgs
from tenantry.virtual_node.spec import COMPONENT, VirtualNodeSpec

AGENT_CONFIG_DIR = "/etc/tenantry"
HOST_ROOT = "/host"
"""Where the agent sees the host's binary directories (read-only), to find the runtime's."""
# (volume, host path, hostPath type, read-only): the host paths every agent sees; the
# containerd and restart ones follow from its settings (_host_mounts).
HOST_MOUNTS: list[tuple[str, str, str, bool]] = [
    # Tenant io.max/io.weight are written to pod cgroups.
    ("cgroup", "/sys/fs/cgroup", "Directory", False),
    # Preflight looks for the runtime's binaries (runsc, kata, sysbox) here; read-only.
    ("host-usr", "/usr", "Directory", True),
    ("host-opt", "/opt", "Directory", True),
]
SEEN_ROOTS = ("/usr/", "/opt/")
"""The host directories every agent sees under HOST_ROOT (HOST_MOUNTS)."""
CONTAINERD_PATHS = ("containerd_config", "containerd_socket", "containerd_pid_file")


def resolve_agent(
    args: VirtualNodeArgs,
    *,
    preset: CloudPreset,
    runs_agent: bool,
    backend: RuntimeBackend,
    handler: str,
    host_path_root: str,
) -> NodeAgentConfig | None:
    """The agent's settings, or None where the cloud provides the sandbox."""
    agent_args = args.get("agent", {})
    if runs_agent:
        restart = agent_args.get("restart_strategy", "systemd")
        if restart not in ("systemd", "signal", "none"):
            raise FieldError("agent.restart_strategy", "must be one of systemd, signal, none")
        tenant_namespaces = args.get("tenant_namespaces", [])
        for i, ns in enumerate(tenant_namespaces):
            validation.dns_label(f"tenant_namespaces[{i}]", ns)
        io_limits = validation.api_model("io_limits", AgentIoLimits, args.get("io_limits", {}))
        given: Mapping[str, Any] = agent_args
        paths: dict[str, Any] = {
            key: validation.host_path_root(f"agent.{key}", given[key])
            for key in CONTAINERD_PATHS
            if key in given
        }
        if "binary_dirs" in agent_args:
            paths["binary_dirs"] = _binary_dirs(agent_args["binary_dirs"])
        return NodeAgentConfig(
            backend=backend,
            handler=handler,
            **paths,
            restart_strategy=restart,
            io_limits=io_limits,
            tenant_namespaces=tenant_namespaces,
            host_path_root=host_path_root,
        )
    if "agent" in args or "io_limits" in args:
        field = "agent" if "agent" in args else "io_limits"
        raise FieldError(field, f"preset {preset.value} uses the cloud's sandbox and runs no agent")
    return None


def _binary_dirs(dirs: list[str]) -> list[str]:
    return [validation.host_path_root(f"agent.binary_dirs[{i}]", d) for i, d in enumerate(dirs)]


def agent_children(spec: VirtualNodeSpec) -> list[Child]:
    assert spec.agent_config is not None
    agent = spec.agent_name
    ns = spec.agent_namespace
    selector = {
        "app.kubernetes.io/name": "tenantry-node-agent",
        "app.kubernetes.io/instance": spec.name,
    }
    identity = Identity(
        agent,
        ns,
        tenant=spec.name,
        component=COMPONENT,
        cluster_role=agent,
        cluster_rules=[
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
            # On SIGTERM: does its DaemonSet still select this node? Only if not,
            # the agent uninstalls.
            {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
        ],
    )

    def meta(name: str) -> dict[str, Any]:
        return _k8s.metadata(name, tenant=spec.name, component=COMPONENT, namespace=ns)

    return [
        *identity.children("agent-"),
        Child(
            "agent-config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(agent),
                "data": {CONFIG_KEY: spec.agent_config.to_json()},
            },
        ),
        Child(
            "agent-daemonset",
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": meta(agent),
                "spec": _daemonset_spec(spec, spec.agent_config, agent, selector),
            },
            depends_on=(*identity.bindings("agent-"), "agent-config"),
        ),
    ]


def _host_mounts(config: NodeAgentConfig) -> list[tuple[str, str, str, bool]]:
    # Directories, not files: containerd re-creates its socket and pid file when it
    # restarts, and a file mount would keep showing the old one.
    socket_dir = posixpath.dirname(config.containerd_socket)
    mounts = [
        # The runtime handler is installed here, as a drop-in or a marked edit.
        ("containerd-config", posixpath.dirname(config.containerd_config), "Directory", False),
        # The handler is confirmed through CRI before the node is labelled ready.
        ("containerd-run", socket_dir, "Directory", True),
        *HOST_MOUNTS,
    ]
    if config.restart_strategy == "systemd":
        # containerd is restarted through host systemd's private D-Bus socket.
        mounts.append(("systemd-private", "/run/systemd/private", "Socket", False))
    if config.restart_strategy == "signal":
        # Without systemd the agent signals containerd by the pid in this file.
        pid_dir = posixpath.dirname(config.containerd_pid_file)
        mounts.append(("containerd-pid", pid_dir, "Directory", True))
    if config.host_path_root:
        # The tenants' hostPath directories are made and removed here.
        mounts.append(("tenant-dirs", config.host_path_root, "DirectoryOrCreate", False))
    # Binary directories outside /usr and /opt are shown to preflight one by one, read-only.
    outside = [d for d in config.binary_dirs if not d.startswith(SEEN_ROOTS)]
    mounts += [(f"host-bin-{i}", d, "Directory", True) for i, d in enumerate(outside)]
    return _one_per_path(mounts)


def _one_per_path(
    mounts: list[tuple[str, str, str, bool]],
) -> list[tuple[str, str, str, bool]]:
    # containerd's config, socket and pid file may share a directory (k3s, the local
    # cluster's node): one mount of it, writable when any of them needs it to be.
    kept: dict[str, tuple[str, str, str, bool]] = {}
    for volume, path, path_type, read_only in mounts:
        if path in kept:
            first = kept[path]
            kept[path] = (first[0], path, first[2], first[3] and read_only)
        else:
            kept[path] = (volume, path, path_type, read_only)
    return list(kept.values())


def _daemonset_spec(
    spec: VirtualNodeSpec, config: NodeAgentConfig, agent: str, selector: dict[str, str]
) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": AGENT_CONFIG_DIR, "readOnly": True}
    ]
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": agent}}]
    for volume, path, path_type, read_only in _host_mounts(config):
        at = f"{HOST_ROOT}{path}" if volume.startswith("host-") else path
        mounts.append(
            {"name": volume, "mountPath": at, **({"readOnly": True} if read_only else {})}
        )
        volumes.append({"name": volume, "hostPath": {"path": path, "type": path_type}})
    return {
        "selector": {"matchLabels": selector},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": _k8s.pod_metadata(selector, config.to_json()),
            "spec": {
                "serviceAccountName": agent,
                # Only the signal restart needs to see host processes (containerd's pid).
                **({"hostPID": True} if config.restart_strategy == "signal" else {}),
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
