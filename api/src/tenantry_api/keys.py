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
REWRITTEN_LABEL_PREFIX: Final = f"vcluster.{PREFIX}"
"""Labels whose keys would clash on the host are moved under this prefix by the syncer."""


def runtime_ready_label(handler: str) -> str:
    """Node label the agent sets once ``handler`` is installed and confirmed through CRI.

    The VirtualNode's RuntimeClass selects nodes on this label, so pods are only ever
    scheduled where the sandbox really works.
    """
    return f"runtime.{PREFIX}/{handler}"


RUNTIME_READY_VALUE: Final = "ready"
