"""The cloud presets: which sandboxes each cloud offers, who provides them, and the compute
that cannot run one."""

from dataclasses import dataclass

from tenantry_api.runtimes import RuntimeBackend

from tenantry.common import Toleration
from tenantry.validation import FieldError
from tenantry.virtual_node.args import CloudPreset, Compute, VirtualNodeArgs

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
class Preset:
    backends: tuple[RuntimeBackend, ...]
    agent: bool
    handler: str | None = None
    """Built-in handler the cloud provides; None means the agent installs ours."""
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()


PRESETS: dict[CloudPreset, Preset] = {
    # GKE Sandbox: gVisor node pools carry this label and taint.
    CloudPreset.GKE: Preset(
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
    CloudPreset.AKS: Preset(backends=(RuntimeBackend.KATA,), agent=False, handler="kata"),
    CloudPreset.EKS: Preset(backends=tuple(RuntimeBackend), agent=True),
    CloudPreset.BARE: Preset(backends=tuple(RuntimeBackend), agent=True),
}

DEFAULT_OVERHEAD: dict[RuntimeBackend, dict[str, str]] = {
    # Figures from kata-deploy's and GKE Sandbox's RuntimeClasses.
    RuntimeBackend.KATA: {"cpu": "250m", "memory": "160Mi"},
    RuntimeBackend.GVISOR: {"cpu": "100m", "memory": "64Mi"},
    RuntimeBackend.SYSBOX: {},
    RuntimeBackend.RUNC_HARDENED: {},
}


def resolve_preset(args: VirtualNodeArgs) -> tuple[CloudPreset, Preset, RuntimeBackend]:
    """(the preset, what it provides, the backend): refused where the preset cannot give the
    sandbox asked for."""
    preset_name = args.get("preset", CloudPreset.BARE)
    preset = PRESETS[preset_name]
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
    return preset_name, preset, backend
