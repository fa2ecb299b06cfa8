"""Input types, and their checks, shared by more than one component.

These TypedDicts are part of the package schema: Pulumi's analyzer reads their annotations and
docstrings, and pydantic validates against them.
"""

from typing import NotRequired

from pydantic import with_config
from tenantry_api.config import PodSecurityLevel
from tenantry_api.runtimes import RuntimeBackend
from typing_extensions import TypedDict

from tenantry.validation import STRICT, FieldError

__all__ = ["Isolation", "PodSecurityLevel", "Toleration", "check_tolerations"]


@with_config(STRICT)
class Toleration(TypedDict):
    """A pod toleration, as in the Kubernetes Pod spec."""

    key: NotRequired[str]
    """Taint key; empty with operator Exists matches every taint."""
    operator: NotRequired[str]
    """Equal (default) or Exists."""
    value: NotRequired[str]
    """Taint value, for operator Equal."""
    effect: NotRequired[str]
    """NoSchedule, PreferNoSchedule or NoExecute; empty matches every effect."""


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


@with_config(STRICT)
class Isolation(TypedDict):
    """How a VirtualNode isolates pods. Take it from `VirtualNode.isolation` in Python, or write
    it out from the VirtualNode's outputs in other languages."""

    runtime_class_name: str
    """The RuntimeClass every synced pod is forced onto."""
    node_selector: NotRequired[dict[str, str]]
    """Node labels forced onto every synced pod."""
    tolerations: NotRequired[list[Toleration]]
    """Tolerations forced onto every synced pod."""
    backend: NotRequired[RuntimeBackend]
    """The VirtualNode's sandbox backend: it decides which Pod Security checks the sandbox
    contains. Required when allow_privileged is true."""
    allow_privileged: NotRequired[bool]
    """Whether admission waves through, under this RuntimeClass, the Pod Security checks the
    backend's sandbox contains (privileged, capabilities, seccomp, AppArmor, procMount and
    namespaced sysctls for gvisor and kata; see docs/admission.md). Host access (hostPath,
    hostNetwork, hostPort) is never waved through. Default false."""
    host_path_root: NotRequired[str]
    """Where on the VirtualNode's nodes the syncer puts a sandboxed pod's hostPath volumes:
    `<root>/<host namespace>/`, never a path of the host. Default /var/lib/tenantry/tenants."""
