"""TenantPolicy's args: the TypedDicts Pulumi's analyzer reads for the schema and pydantic
validates against."""

from typing import NotRequired

from pydantic import with_config
from tenantry_api.config import PodSecurityLevel
from typing_extensions import TypedDict

from tenantry.common import Isolation
from tenantry.validation import STRICT


@with_config(STRICT)
class PodSecurity(TypedDict):
    """Pod Security Standards labels on the tenant namespace."""

    level: NotRequired[PodSecurityLevel]
    """Enforced level. Default baseline."""
    warn: NotRequired[PodSecurityLevel]
    """Level that produces warnings. Default: the enforced level."""
    audit: NotRequired[PodSecurityLevel]
    """Level recorded in audit annotations. Default: the enforced level."""
    version: NotRequired[str]
    """Policy version, e.g. v1.34. Default latest."""


@with_config(STRICT)
class Quota(TypedDict):
    """The tenant ResourceQuota. Defaults are vcluster's isolated-mode numbers."""

    enabled: NotRequired[bool]
    """Create the ResourceQuota. Default true."""
    hard: NotRequired[dict[str, str]]
    """Limits merged over the defaults, keyed as in ResourceQuota.spec.hard
    (e.g. "requests.cpu": "4", "count/pods": "50")."""


@with_config(STRICT)
class LimitRange(TypedDict):
    """The tenant LimitRange for containers."""

    enabled: NotRequired[bool]
    """Create the LimitRange. Default true."""
    default: NotRequired[dict[str, str]]
    """Default limits, merged over cpu 1, memory 512Mi, ephemeral-storage 8Gi."""
    default_request: NotRequired[dict[str, str]]
    """Default requests, merged over cpu 100m, memory 128Mi, ephemeral-storage 3Gi."""


@with_config(STRICT)
class Network(TypedDict):
    """NetworkPolicies: deny by default, then allow DNS, intra-tenant traffic, public egress and
    ingress from chosen namespaces."""

    enabled: NotRequired[bool]
    """Create the NetworkPolicies. Default true."""
    public_egress: NotRequired[bool]
    """Allow egress to egress_cidr minus egress_except. Default true."""
    egress_cidr: NotRequired[str]
    """Destination range for public egress. Default 0.0.0.0/0."""
    egress_except: NotRequired[list[str]]
    """Ranges carved out of public egress. Default: 10.0.0.0/8, 172.16.0.0/12,
    192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8."""
    ingress_from_namespaces: NotRequired[list[str]]
    """Namespaces allowed to reach the tenant, e.g. an ingress controller's."""
    dns_namespace: NotRequired[str]
    """Namespace of the cluster DNS. Default kube-system."""
    dns_pod_labels: NotRequired[dict[str, str]]
    """Labels of the cluster DNS pods. Default k8s-app: kube-dns."""


@with_config(STRICT)
class Admission(TypedDict):
    """The CEL ValidatingAdmissionPolicy scoped to the tenant namespace."""

    enabled: NotRequired[bool]
    """Create the policy and its binding. Default true."""
    require_sandbox: NotRequired[bool]
    """Refuse every pod of the namespace that does not set spec.runtimeClassName to the
    isolation's RuntimeClass. Default true when isolation is set; needs isolation."""


@with_config(STRICT)
class TenantPolicyArgs(TypedDict):
    """Arguments of TenantPolicy."""

    namespace: NotRequired[str]
    """The tenant namespace. Default: the resource name."""
    create_namespace: NotRequired[bool]
    """Create the namespace (true, default) or adopt an existing one by patching its labels."""
    namespace_labels: NotRequired[dict[str, str]]
    """Extra labels for the namespace."""
    pod_security: NotRequired[PodSecurity]
    quota: NotRequired[Quota]
    limit_range: NotRequired[LimitRange]
    network: NotRequired[Network]
    admission: NotRequired[Admission]
    isolation: NotRequired[Isolation]
    """A VirtualNode: its pods must run under its RuntimeClass (admission.require_sandbox),
    and when it allows privileged pods the admission policy waves through, under that
    RuntimeClass, the Pod Security checks its backend's sandbox contains (never host access;
    see docs/admission.md)."""
