"""Tenantry: Kubernetes multi-tenancy as code.

Three Pulumi components that compose: a TenantPolicy fences a namespace, a VirtualCluster lives
inside it, and a VirtualNode makes the synced pods run under a sandboxed runtime.
"""

from tenantry_api.runtimes import RuntimeBackend

from tenantry._meta import VERSION
from tenantry.common import Isolation, PodSecurityLevel, Toleration
from tenantry.image_mirror import mirrored, mirrored_images
from tenantry.tenant_policy import TenantPolicy
from tenantry.tenant_policy.args import (
    Admission,
    LimitRange,
    Network,
    PodSecurity,
    Quota,
    TenantPolicyArgs,
)
from tenantry.validation import TenantryInputError
from tenantry.virtual_cluster import VirtualCluster
from tenantry.virtual_cluster.args import (
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
    VirtualClusterArgs,
)
from tenantry.virtual_node import VirtualNode
from tenantry.virtual_node.args import Agent, CloudPreset, Compute, IoLimits, VirtualNodeArgs

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
    "mirrored",
    "mirrored_images",
]
