"""Sandboxed runtime backends: the containerd handler names both the agent and the
VirtualNode component use for them."""

from enum import StrEnum


class RuntimeBackend(StrEnum):
    """A sandboxed OCI runtime the node agent can install as a containerd handler."""

    GVISOR = "gvisor"
    KATA = "kata"
    SYSBOX = "sysbox"
    RUNC_HARDENED = "runc-hardened"


HANDLER_PREFIX = "tenantry-"


def handler_name(backend: RuntimeBackend) -> str:
    """The containerd runtime handler the agent installs for ``backend``.

    Prefixed so it never collides with a handler the node image already ships.
    """
    return f"{HANDLER_PREFIX}{backend.value}"


def is_sandboxed(backend: RuntimeBackend) -> bool:
    """True when a process escaping its container lands in a sandbox, not on the host kernel.

    runc-hardened only narrows runc's defaults; it still shares the host kernel.
    """
    return backend is not RuntimeBackend.RUNC_HARDENED
