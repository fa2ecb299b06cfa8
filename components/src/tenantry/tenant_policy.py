"""TenantPolicy: the guard rails around one tenant namespace.

Pod Security Standards labels, a ResourceQuota and a LimitRange with vcluster's isolated-mode
numbers, default-deny NetworkPolicies with the holes a tenant needs, and a CEL
ValidatingAdmissionPolicy that the API server enforces itself (no webhook to keep up); its
rules are in `tenantry.admission`.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NotRequired

import pulumi
from pydantic import with_config
from tenantry_api.config import PodSecurityLevel
from typing_extensions import TypedDict

from tenantry import _k8s, admission, validation
from tenantry._k8s import Child
from tenantry.admission import Sandbox
from tenantry.common import Isolation
from tenantry.validation import STRICT, FieldError

COMPONENT = "TenantPolicy"
TYPE_TOKEN = "tenantry:index:TenantPolicy"

DEFAULT_QUOTA: dict[str, str] = {
    "requests.cpu": "10",
    "requests.memory": "20Gi",
    "requests.storage": "100Gi",
    "requests.ephemeral-storage": "60Gi",
    "limits.cpu": "20",
    "limits.memory": "40Gi",
    "limits.ephemeral-storage": "160Gi",
    "services.nodeports": "0",
    "services.loadbalancers": "1",
    "count/endpoints": "40",
    "count/pods": "20",
    "count/services": "20",
    "count/secrets": "100",
    "count/configmaps": "100",
    "count/persistentvolumeclaims": "20",
}
"""vcluster isolated mode's ResourceQuota."""

DEFAULT_LIMITS: dict[str, str] = {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"}
DEFAULT_REQUESTS: dict[str, str] = {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "3Gi"}
"""vcluster isolated mode's LimitRange defaults for containers."""

DEFAULT_EGRESS_EXCEPT: list[str] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
]
"""Private, carrier-grade NAT and loopback ranges: public egress never reaches them."""


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


@dataclass(frozen=True)
class NetworkSpec:
    public_egress: bool
    egress_cidr: str
    egress_except: list[str]
    ingress_from_namespaces: list[str]
    dns_namespace: str
    dns_pod_labels: dict[str, str]


@dataclass(frozen=True)
class TenantPolicySpec:
    """Validated TenantPolicy args with every default applied."""

    tenant: str
    namespace: str
    create_namespace: bool
    namespace_labels: dict[str, str]
    pss_enforce: PodSecurityLevel
    pss_warn: PodSecurityLevel
    pss_audit: PodSecurityLevel
    pss_version: str
    quota: dict[str, str] | None
    limits: dict[str, str] | None
    requests: dict[str, str] | None
    network: NetworkSpec | None
    admission: bool
    sandbox: Sandbox | None = None

    @property
    def load_balancer_quota(self) -> Decimal | None:
        """How many LoadBalancer Services the quota allows, or None when unlimited."""
        return self._quota_value("services.loadbalancers")

    @property
    def node_port_quota(self) -> Decimal | None:
        return self._quota_value("services.nodeports")

    def _quota_value(self, key: str) -> Decimal | None:
        if self.quota is None or key not in self.quota:
            return None
        return validation.quantity(key, self.quota[key])


def resolve(resource_name: str, args: TenantPolicyArgs, prefix: str = "") -> TenantPolicySpec:
    """Apply defaults and semantic checks; ``prefix`` names the field when embedded."""
    namespace = validation.dns_label(f"{prefix}namespace", args.get("namespace", resource_name))
    labels = dict(validation.labels(f"{prefix}namespace_labels", args.get("namespace_labels", {})))

    pss = args.get("pod_security", {})
    enforce = pss.get("level", PodSecurityLevel.BASELINE)
    version = pss.get("version", "latest")
    if version != "latest" and not _is_k8s_minor(version):
        raise FieldError(f"{prefix}pod_security.version", f"{version!r} is not 'latest' or vX.Y")

    quota_args = args.get("quota", {})
    quota: dict[str, str] | None = None
    if quota_args.get("enabled", True):
        quota = {**DEFAULT_QUOTA, **quota_args.get("hard", {})}
        validation.quantities(f"{prefix}quota.hard", quota)

    lr_args = args.get("limit_range", {})
    limits = requests = None
    if lr_args.get("enabled", True):
        limits = {**DEFAULT_LIMITS, **lr_args.get("default", {})}
        requests = {**DEFAULT_REQUESTS, **lr_args.get("default_request", {})}
        parsed_limits = validation.quantities(f"{prefix}limit_range.default", limits)
        parsed_requests = validation.quantities(f"{prefix}limit_range.default_request", requests)
        for resource, request in parsed_requests.items():
            limit = parsed_limits.get(resource)
            if limit is not None and request > limit:
                raise FieldError(
                    f"{prefix}limit_range.default_request.{resource}",
                    f"{requests[resource]} is above the default limit {limits[resource]}",
                )

    net_args = args.get("network", {})
    network = None
    if net_args.get("enabled", True):
        egress_cidr = net_args.get("egress_cidr", "0.0.0.0/0")
        egress_except = net_args.get("egress_except", DEFAULT_EGRESS_EXCEPT)
        outer = validation.cidr(f"{prefix}network.egress_cidr", egress_cidr)
        for i, inner in enumerate(
            validation.cidrs(f"{prefix}network.egress_except", egress_except)
        ):
            if inner.version != outer.version or not inner.subnet_of(outer):  # type: ignore[arg-type]
                raise FieldError(
                    f"{prefix}network.egress_except[{i}]",
                    f"{inner} is not inside egress_cidr {outer}",
                )
        ingress_from = net_args.get("ingress_from_namespaces", [])
        for i, ns in enumerate(ingress_from):
            validation.dns_label(f"{prefix}network.ingress_from_namespaces[{i}]", ns)
        network = NetworkSpec(
            public_egress=net_args.get("public_egress", True),
            egress_cidr=egress_cidr,
            egress_except=list(egress_except),
            ingress_from_namespaces=list(ingress_from),
            dns_namespace=validation.dns_label(
                f"{prefix}network.dns_namespace", net_args.get("dns_namespace", "kube-system")
            ),
            dns_pod_labels=dict(
                validation.labels(
                    f"{prefix}network.dns_pod_labels",
                    net_args.get("dns_pod_labels", {"k8s-app": "kube-dns"}),
                )
            ),
        )

    admission_args = args.get("admission", {})
    sandbox = _sandbox(args.get("isolation"), admission_args, prefix)

    return TenantPolicySpec(
        tenant=namespace,
        namespace=namespace,
        create_namespace=args.get("create_namespace", True),
        namespace_labels=labels,
        pss_enforce=enforce,
        pss_warn=pss.get("warn", enforce),
        pss_audit=pss.get("audit", enforce),
        pss_version=version,
        quota=quota,
        limits=limits,
        requests=requests,
        network=network,
        admission=admission_args.get("enabled", True),
        sandbox=sandbox,
    )


def _sandbox(isolation: Isolation | None, args: Admission, prefix: str) -> Sandbox | None:
    required = args.get("require_sandbox")
    if isolation is None:
        if required:
            raise FieldError(
                f"{prefix}admission.require_sandbox",
                "needs isolation: the RuntimeClass pods must run under",
            )
        return None
    name = validation.dns_label(
        f"{prefix}isolation.runtime_class_name", isolation["runtime_class_name"]
    )
    backend = isolation.get("backend")
    exempt = isolation.get("allow_privileged", False)
    if exempt and backend is None:
        raise FieldError(
            f"{prefix}isolation.backend",
            "is required with allow_privileged: which Pod Security checks the sandbox "
            "contains depends on it (pass VirtualNode.isolation, or its backend output)",
        )
    return Sandbox(
        runtime_class=name,
        backend=backend,
        exempt=exempt,
        required=True if required is None else required,
    )


def _is_k8s_minor(version: str) -> bool:
    major, _, minor = version.removeprefix("v").partition(".")
    return version.startswith("v") and major.isdigit() and minor.isdigit()


# --- rendering: pure functions from spec to manifests ---


def render(spec: TenantPolicySpec) -> list[Child]:
    """Every object of the policy, in the order they are applied."""

    def meta(name: str, namespaced: bool = True, **extra: Any) -> dict[str, Any]:
        return _k8s.metadata(
            name,
            tenant=spec.tenant,
            component=COMPONENT,
            namespace=spec.namespace if namespaced else None,
            **extra,
        )

    ns_labels = {
        **spec.namespace_labels,
        "pod-security.kubernetes.io/enforce": spec.pss_enforce.value,
        "pod-security.kubernetes.io/enforce-version": spec.pss_version,
        "pod-security.kubernetes.io/warn": spec.pss_warn.value,
        "pod-security.kubernetes.io/warn-version": spec.pss_version,
        "pod-security.kubernetes.io/audit": spec.pss_audit.value,
        "pod-security.kubernetes.io/audit-version": spec.pss_version,
    }
    children = [
        Child(
            "namespace",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": meta(spec.namespace, False, labels=ns_labels),
            },
            patch=not spec.create_namespace,
        )
    ]
    after_ns = ("namespace",)
    if spec.quota is not None:
        children.append(
            Child(
                "quota",
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": meta("tenantry-quota"),
                    "spec": {"hard": dict(spec.quota)},
                },
                depends_on=after_ns,
            )
        )
    if spec.limits is not None and spec.requests is not None:
        children.append(
            Child(
                "limits",
                {
                    "apiVersion": "v1",
                    "kind": "LimitRange",
                    "metadata": meta("tenantry-limits"),
                    "spec": {
                        "limits": [
                            {
                                "type": "Container",
                                "default": dict(spec.limits),
                                "defaultRequest": dict(spec.requests),
                            }
                        ]
                    },
                },
                depends_on=after_ns,
            )
        )
    if spec.network is not None:
        for suffix, name, policy in _network_policies(spec.network):
            children.append(
                Child(
                    suffix,
                    {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "NetworkPolicy",
                        "metadata": meta(name),
                        "spec": policy,
                    },
                    depends_on=after_ns,
                )
            )
    if spec.admission:
        deny = admission.policy_spec(spec.pss_enforce, spec.sandbox)
        policies = [("admission", f"tenantry-{spec.namespace}", ["Deny"], deny)]
        notice = admission.exemption_notice_spec(spec.sandbox)
        if notice is not None:
            name = f"tenantry-{spec.namespace}-exempted"
            policies.append(("admission-exempted", name, ["Warn", "Audit"], notice))
        for suffix, policy_name, actions, body in policies:
            children.append(
                Child(
                    f"{suffix}-policy",
                    {
                        "apiVersion": "admissionregistration.k8s.io/v1",
                        "kind": "ValidatingAdmissionPolicy",
                        "metadata": meta(policy_name, False),
                        "spec": body,
                    },
                )
            )
            children.append(
                Child(
                    f"{suffix}-binding",
                    {
                        "apiVersion": "admissionregistration.k8s.io/v1",
                        "kind": "ValidatingAdmissionPolicyBinding",
                        "metadata": meta(policy_name, False),
                        "spec": {
                            "policyName": policy_name,
                            "validationActions": actions,
                            "matchResources": {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": spec.namespace}
                                }
                            },
                        },
                    },
                    depends_on=(f"{suffix}-policy",),
                )
            )
    return children


def _network_policies(net: NetworkSpec) -> list[tuple[str, str, dict[str, Any]]]:
    everything: dict[str, Any] = {}
    policies: list[tuple[str, str, dict[str, Any]]] = [
        (
            "netpol-deny",
            "tenantry-default-deny",
            {"podSelector": everything, "policyTypes": ["Ingress", "Egress"]},
        ),
        (
            "netpol-dns",
            "tenantry-allow-dns",
            {
                "podSelector": everything,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": net.dns_namespace
                                    }
                                },
                                "podSelector": {"matchLabels": dict(net.dns_pod_labels)},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        (
            "netpol-intra",
            "tenantry-allow-intra-tenant",
            {
                "podSelector": everything,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": everything}]}],
                "egress": [{"to": [{"podSelector": everything}]}],
            },
        ),
    ]
    if net.public_egress:
        policies.append(
            (
                "netpol-egress",
                "tenantry-allow-public-egress",
                {
                    "podSelector": everything,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": net.egress_cidr,
                                        "except": list(net.egress_except),
                                    }
                                }
                            ]
                        }
                    ],
                },
            )
        )
    if net.ingress_from_namespaces:
        policies.append(
            (
                "netpol-ingress",
                "tenantry-allow-ingress-namespaces",
                {
                    "podSelector": everything,
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchExpressions": [
                                            {
                                                "key": "kubernetes.io/metadata.name",
                                                "operator": "In",
                                                "values": list(net.ingress_from_namespaces),
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    ],
                },
            )
        )
    return policies


class TenantPolicy(pulumi.ComponentResource):
    """Guard rails around one tenant namespace: Pod Security Standards labels, a ResourceQuota
    and LimitRange (vcluster isolated-mode defaults), default-deny NetworkPolicies, and a CEL
    ValidatingAdmissionPolicy enforced by the API server itself."""

    namespace: pulumi.Output[str]
    """The tenant namespace."""
    quota_name: pulumi.Output[str]
    """Name of the ResourceQuota, empty when disabled."""
    admission_policy_name: pulumi.Output[str]
    """Name of the ValidatingAdmissionPolicy, empty when disabled."""

    def __init__(
        self,
        name: str,
        args: TenantPolicyArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        spec = validation.validate(
            COMPONENT, name, TenantPolicyArgs, args, lambda a: resolve(name, a)
        )
        self._build(name, spec, opts)

    @classmethod
    def from_spec(
        cls, name: str, spec: TenantPolicySpec, opts: pulumi.ResourceOptions | None = None
    ) -> "TenantPolicy":
        """A TenantPolicy from an already validated spec (used when a VirtualCluster embeds one)."""
        policy = cls.__new__(cls)
        policy._build(name, spec, opts)
        return policy

    def _build(
        self, name: str, spec: TenantPolicySpec, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.spec = spec
        """The validated spec (Python only)."""
        created = _k8s.register(name, render(spec), pulumi.ResourceOptions(parent=self))
        # Derived from the namespace object, so dependents wait until it exists.
        self.namespace = created["namespace"].id.apply(lambda _: spec.namespace)
        self.quota_name = pulumi.Output.from_input("tenantry-quota" if spec.quota else "")
        self.admission_policy_name = pulumi.Output.from_input(
            f"tenantry-{spec.namespace}" if spec.admission else ""
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "quota_name": self.quota_name,
                "admission_policy_name": self.admission_policy_name,
            }
        )
