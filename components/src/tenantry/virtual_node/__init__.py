"""VirtualNode: node-level isolation through a sandboxed RuntimeClass.

On `eks` and `bare` clusters the Tenantry node agent (a DaemonSet) installs the runtime handler
into containerd, verifies it and labels the node ready; the RuntimeClass only schedules onto
ready nodes. On `gke` and `aks` the cloud ships the sandbox, so no agent is deployed.

What a sandbox contains is in `tenantry_api.sandbox`: a TenantPolicy composed with this
VirtualNode waves through, under its RuntimeClass, only the Pod Security checks the backend
contains, and never host access (hostPath, hostNetwork, hostPort).
"""

from typing import Any

import pulumi
from tenantry_api import keys
from tenantry_api.config import DEFAULT_HOST_PATH_ROOT
from tenantry_api.runtimes import handler_name
from tenantry_api.sandbox import exemptions

from tenantry import _k8s, _meta, validation
from tenantry._component import Component, Options
from tenantry._k8s import Child
from tenantry.common import Isolation, check_tolerations
from tenantry.validation import FieldError
from tenantry.virtual_node.agent import agent_children, resolve_agent
from tenantry.virtual_node.args import VirtualNodeArgs
from tenantry.virtual_node.presets import DEFAULT_OVERHEAD, resolve_preset
from tenantry.virtual_node.spec import COMPONENT, VirtualNodeSpec

__all__ = ["VirtualNode", "VirtualNodeArgs", "VirtualNodeSpec", "render", "resolve"]


def resolve(resource_name: str, args: VirtualNodeArgs) -> VirtualNodeSpec:
    preset_name, preset, backend = resolve_preset(args)
    runtime_class_name = validation.dns_label(
        "runtime_class_name", args.get("runtime_class_name", resource_name)
    )
    overhead = args.get("overhead", DEFAULT_OVERHEAD[backend])
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

    agent_config = resolve_agent(
        args,
        preset=preset_name,
        runs_agent=preset.agent,
        backend=backend,
        handler=handler,
        host_path_root=host_path_root,
    )
    agent_args = args.get("agent", {})

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
    if spec.agent_config is not None:
        children += agent_children(spec)
    return children


class VirtualNode(Component):
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

    def __init__(self, name: str, args: VirtualNodeArgs, opts: Options = None) -> None:
        spec = self._validate(name, VirtualNodeArgs, args, resolve, opts)
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
            spec.agent_name if spec.agent_config else ""
        )
        self._finish()
