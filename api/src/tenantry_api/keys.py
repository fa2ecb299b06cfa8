"""Label and annotation keys shared by the components, the syncer and the node agent.

Every key Tenantry owns lives under the ``tenantry.dev/`` prefix and is defined here once.
"""

from typing import Final

PREFIX: Final = "tenantry.dev"

# Standard recommended label, set on every object Tenantry creates.
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "tenantry"

# Labels put on host objects by the components.
TENANT: Final = f"{PREFIX}/tenant"
COMPONENT: Final = f"{PREFIX}/component"
CONFIG_HASH: Final = f"{PREFIX}/config-hash"
"""Annotation on a pod template: hash of the config documents its pod reads (config_hash), so
a changed document rolls the pod."""

# Labels and annotations put on host objects by the syncer.
VCLUSTER: Final = f"{PREFIX}/vcluster"
"""Label: the virtual cluster that owns a synced host object."""
HOST_NAMESPACE: Final = f"{PREFIX}/host-namespace"
"""Label on the host twin of a cluster-scoped virtual object: the virtual cluster's host
namespace (a virtual cluster's name is only unique within it)."""
OBJECT_NAME: Final = f"{PREFIX}/object-name"
"""Annotation: the virtual object's name (the host name may be cut and hashed)."""
OBJECT_NAMESPACE: Final = f"{PREFIX}/object-namespace"
"""Annotation: the virtual object's namespace."""
OBJECT_UID: Final = f"{PREFIX}/object-uid"
"""Annotation: the virtual object's uid, so a re-created twin is told apart from the old one."""
OBJECT_KIND: Final = f"{PREFIX}/object-kind"
"""Annotation: the virtual object's kind."""
POD_TOKEN: Final = f"{PREFIX}/pod-token"
"""Label on a host Secret holding a synced pod's virtual token; its object annotations name
that pod."""
APPLIED_HASH: Final = f"{PREFIX}/applied-hash"
"""Annotation: hash of what the syncer last wrote, so a field the tenant removed is removed on
the host too, while fields the host API server defaults never look like drift."""
WAKE: Final = f"{PREFIX}/wake"
"""Annotation on a sleeping VirtualCluster's StatefulSet: wake it up (the sleeper removes it)."""
REWRITTEN_LABEL_PREFIX: Final = f"vcluster.{PREFIX}"
"""Labels whose keys would clash on the host are moved under this prefix by the syncer."""


def runtime_ready_label(handler: str) -> str:
    """Node label the agent sets once ``handler`` is installed and confirmed through CRI.

    The VirtualNode's RuntimeClass selects nodes on this label, so pods are only ever
    scheduled where the sandbox really works.
    """
    return f"runtime.{PREFIX}/{handler}"


RUNTIME_READY_VALUE: Final = "ready"

# Node labels, annotations and conditions written by the node agent.
NODE_PREFLIGHT: Final = f"{PREFIX}/preflight"
"""Label: ``passed`` or ``failed``; a failed node says why in NODE_PREFLIGHT_REASON."""
NODE_CGROUP_VERSION: Final = f"{PREFIX}/cgroup-version"
"""Label: ``v1`` or ``v2``."""
NODE_KERNEL_VERSION: Final = f"{PREFIX}/kernel-version"
"""Annotation: the kernel release."""
NODE_CONTAINERD_VERSION: Final = f"{PREFIX}/containerd-version"
"""Annotation: containerd's version as CRI reports it."""
NODE_CONTAINERD_CONFIG_VERSION: Final = f"{PREFIX}/containerd-config-version"
"""Annotation: ``version`` of containerd's config.toml (0: no config file)."""
NODE_RUNTIME_BINARIES: Final = f"{PREFIX}/runtime-binaries"
"""Annotation: JSON object, each required runtime binary and where it was found ('' = missing)."""
NODE_PREFLIGHT_REASON: Final = f"{PREFIX}/preflight-reason"
"""Annotation: why preflight failed."""
CONDITION_RUNTIME_READY: Final = "TenantryRuntimeReady"
"""Node condition: the sandboxed handler is installed and confirmed through CRI."""
CONDITION_IO_LIMITS: Final = "TenantryIOLimits"
"""Node condition: whether tenant io.max/io.weight limits are applied, and if not, why."""
