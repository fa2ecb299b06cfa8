"""TenantPolicy: the guard rails around one tenant namespace.

Pod Security Standards labels, a ResourceQuota and a LimitRange with vcluster's isolated-mode
numbers, default-deny NetworkPolicies with the holes a tenant needs, and a CEL
ValidatingAdmissionPolicy that the API server enforces itself (no webhook to keep up); its
rules are in `tenantry.admission`.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
from tenantry_api.config import PodSecurityLevel

from tenantry import _k8s, admission, validation
from tenantry._component import Component, Options
from tenantry._k8s import Child
from tenantry.admission import Sandbox
from tenantry.common import Isolation
from tenantry.tenant_policy.args import Admission, TenantPolicyArgs
from tenantry.tenant_policy.network import NetworkSpec, network_policies, resolve_network
from tenantry.tenant_policy.quota import resolve_limits, resolve_quota
from tenantry.validation import FieldError

__all__ = ["TenantPolicy", "TenantPolicyArgs", "TenantPolicySpec", "render", "resolve"]

COMPONENT = "TenantPolicy"


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

    quota = resolve_quota(args, prefix)
    limits, requests = resolve_limits(args, prefix)
    network = resolve_network(args, prefix)

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
        for suffix, name, policy in network_policies(spec.network):
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


class TenantPolicy(Component):
    """Guard rails around one tenant namespace: Pod Security Standards labels, a ResourceQuota
    and LimitRange (vcluster isolated-mode defaults), default-deny NetworkPolicies, and a CEL
    ValidatingAdmissionPolicy enforced by the API server itself."""

    namespace: pulumi.Output[str]
    """The tenant namespace."""
    quota_name: pulumi.Output[str]
    """Name of the ResourceQuota, empty when disabled."""
    admission_policy_name: pulumi.Output[str]
    """Name of the ValidatingAdmissionPolicy, empty when disabled."""

    def __init__(self, name: str, args: TenantPolicyArgs, opts: Options = None) -> None:
        self._build(name, self._validate(name, TenantPolicyArgs, args, resolve, opts))

    @classmethod
    def from_spec(cls, name: str, spec: TenantPolicySpec, opts: Options = None) -> "TenantPolicy":
        """A TenantPolicy from an already validated spec (used when a VirtualCluster embeds one)."""
        policy = cls.__new__(cls)
        policy._start(name, opts)
        policy._build(name, spec)
        return policy

    def _build(self, name: str, spec: TenantPolicySpec) -> None:
        self.spec = spec
        """The validated spec (Python only)."""
        created = _k8s.register(name, render(spec), pulumi.ResourceOptions(parent=self))
        # Derived from the namespace object, so dependents wait until it exists.
        self.namespace = created["namespace"].id.apply(lambda _: spec.namespace)
        self.quota_name = pulumi.Output.from_input("tenantry-quota" if spec.quota else "")
        self.admission_policy_name = pulumi.Output.from_input(
            f"tenantry-{spec.namespace}" if spec.admission else ""
        )
        self._finish()
