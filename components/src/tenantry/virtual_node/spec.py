"""VirtualNode's resolved spec: every arg checked and defaulted, as the renderers take it."""

from dataclasses import dataclass

from tenantry_api.config import NodeAgentConfig
from tenantry_api.runtimes import RuntimeBackend

from tenantry.common import Isolation, Toleration
from tenantry.virtual_node.args import CloudPreset

COMPONENT = "VirtualNode"


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

    @property
    def agent_name(self) -> str:
        """Name of the node agent's DaemonSet, ServiceAccount, ClusterRole and ConfigMap."""
        return f"tenantry-node-agent-{self.name}"
