"""Tenantry: Kubernetes multi-tenancy as code.

Three Pulumi components that compose: a TenantPolicy fences a namespace, a VirtualCluster lives
inside it, and a VirtualNode makes the synced pods run under a sandboxed runtime.
"""

from tenantry._meta import VERSION
from tenantry.common import Isolation, PodSecurityLevel, Toleration
from tenantry.tenant_policy import (
    Admission,
    LimitRange,
    Network,
    PodSecurity,
    Quota,
    TenantPolicy,
    TenantPolicyArgs,
)
from tenantry.validation import TenantryInputError
from tenantry.virtual_cluster import (
    Exposure,
    ExposureType,
    Images,
    RestoreFrom,
    S3Credentials,
    SandboxRewrites,
    Sleep,
    Snapshots,
    Store,
    StoreType,
    Sync,
    VirtualCluster,
    VirtualClusterArgs,
)
from tenantry.virtual_node import (
    Agent,
    CloudPreset,
    Compute,
    IoLimits,
    RuntimeBackend,
    VirtualNode,
    VirtualNodeArgs,
)

COMPONENTS = [TenantPolicy, VirtualCluster, VirtualNode]
"""Every component the provider hosts."""

__version__ = VERSION

__all__ = [
    "COMPONENTS",
    "Admission",
    "Agent",
    "CloudPreset",
    "Compute",
    "Exposure",
    "ExposureType",
    "Images",
    "IoLimits",
    "Isolation",
    "LimitRange",
    "Network",
    "PodSecurity",
    "PodSecurityLevel",
    "Quota",
    "RestoreFrom",
    "RuntimeBackend",
    "S3Credentials",
    "SandboxRewrites",
    "Sleep",
    "Snapshots",
    "Store",
    "StoreType",
    "Sync",
    "TenantPolicy",
    "TenantPolicyArgs",
    "TenantryInputError",
    "Toleration",
    "VirtualCluster",
    "VirtualClusterArgs",
    "VirtualNode",
    "VirtualNodeArgs",
    "__version__",
]
