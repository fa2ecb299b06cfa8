"""TenantPolicy's object graph under Pulumi mocks."""

from typing import Any

import pytest
from tenantry import PodSecurityLevel, TenantPolicy, TenantPolicyArgs
from tenantry_api import keys

from tests.support.mocks import Deployment, deploy

TP = "tenantry:index:TenantPolicy"
NS = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAPB = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


def policy(args: TenantPolicyArgs, name: str = "acme") -> Deployment:
    def program() -> dict[str, Any]:
        tp = TenantPolicy(name, args)
        return {"namespace": tp.namespace, "quota": tp.quota_name, "vap": tp.admission_policy_name}

    return deploy(program)


def test_default_graph_and_parents() -> None:
    d = policy({})
    component = d.component(TP)
    assert d.kinds(component) == sorted([NS, QUOTA, LIMITS, VAP, VAPB] + [NETPOL] * 4)
    # Every child is parented to the component, and only the component sits at the top.
    assert {r.urn for r in d.resources if r.parent != component.urn} == {component.urn}
    assert d.outputs == {"namespace": "acme", "quota": "tenantry-quota", "vap": "tenantry-acme"}
    for child in d.children_of(component):
        labels = child.inputs["metadata"]["labels"]
        assert labels[keys.MANAGED_BY] == "tenantry"
        assert labels[keys.TENANT] == "acme"
        assert labels[keys.COMPONENT] == "TenantPolicy"


def test_namespace_pod_security_labels_default_to_baseline() -> None:
    labels = policy({}).one(NS).inputs["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "baseline"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_pod_security_levels_are_set_per_mode() -> None:
    labels = (
        policy(
            {
                "pod_security": {
                    "level": PodSecurityLevel.RESTRICTED,
                    "warn": PodSecurityLevel.RESTRICTED,
                    "audit": PodSecurityLevel.PRIVILEGED,
                    "version": "v1.34",
                }
            }
        )
        .one(NS)
        .inputs["metadata"]["labels"]
    )
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "privileged"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.34"


def test_quota_has_vcluster_isolated_mode_numbers() -> None:
    quota = policy({}).one(QUOTA)
    assert quota.inputs["metadata"]["namespace"] == "acme"
    assert quota.inputs["spec"]["hard"] == {
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


def test_limit_range_has_vcluster_isolated_mode_defaults() -> None:
    (limit,) = policy({}).one(LIMITS).inputs["spec"]["limits"]
    assert limit == {
        "type": "Container",
        "default": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "3Gi"},
    }


def test_every_value_can_be_overridden() -> None:
    d = policy(
        {
            "quota": {"hard": {"count/pods": "50", "requests.cpu": "4"}},
            "limit_range": {"default": {"cpu": "2"}, "default_request": {"memory": "256Mi"}},
        }
    )
    hard = d.one(QUOTA).inputs["spec"]["hard"]
    assert hard["count/pods"] == "50"
    assert hard["requests.cpu"] == "4"
    assert hard["limits.cpu"] == "20"  # untouched defaults stay
    (limit,) = d.one(LIMITS).inputs["spec"]["limits"]
    assert limit["default"]["cpu"] == "2"
    assert limit["defaultRequest"]["memory"] == "256Mi"


@pytest.mark.parametrize(
    ("switch", "gone"),
    [
        ({"quota": {"enabled": False}}, [QUOTA]),
        ({"limit_range": {"enabled": False}}, [LIMITS]),
        ({"network": {"enabled": False}}, [NETPOL]),
        ({"admission": {"enabled": False}}, [VAP, VAPB]),
    ],
)
def test_each_object_can_be_switched_off(switch: TenantPolicyArgs, gone: list[str]) -> None:
    d = policy(switch)
    for type_ in gone:
        assert d.of_type(type_) == []
    assert len(d.of_type(NS)) == 1


def test_adopting_a_namespace_patches_it_instead() -> None:
    d = policy({"create_namespace": False})
    assert d.of_type(NS) == []
    patch = d.one("kubernetes:core/v1:NamespacePatch")
    assert patch.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def _netpols(d: Deployment) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in d.of_type(NETPOL)}


def test_network_policies_deny_by_default_then_open_what_a_tenant_needs() -> None:
    pols = _netpols(policy({}))
    assert pols["tenantry-default-deny"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    (dns,) = pols["tenantry-allow-dns"]["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    intra = pols["tenantry-allow-intra-tenant"]
    assert intra["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert intra["egress"] == [{"to": [{"podSelector": {}}]}]
    (egress,) = pols["tenantry-allow-public-egress"]["egress"]
    assert egress["to"] == [
        {
            "ipBlock": {
                "cidr": "0.0.0.0/0",
                "except": [
                    "10.0.0.0/8",
                    "172.16.0.0/12",
                    "192.168.0.0/16",
                    "100.64.0.0/10",
                    "127.0.0.0/8",
                ],
            }
        }
    ]
    assert "tenantry-allow-ingress-namespaces" not in pols


def test_network_policy_options() -> None:
    pols = _netpols(
        policy(
            {
                "network": {
                    "egress_except": ["10.0.0.0/8"],
                    "ingress_from_namespaces": ["ingress-nginx"],
                }
            }
        )
    )
    assert pols["tenantry-allow-public-egress"]["egress"][0]["to"][0]["ipBlock"]["except"] == [
        "10.0.0.0/8"
    ]
    (rule,) = pols["tenantry-allow-ingress-namespaces"]["ingress"]
    assert rule["from"][0]["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ingress-nginx"]}
    ]
    no_egress = _netpols(policy({"network": {"public_egress": False}}))
    assert "tenantry-allow-public-egress" not in no_egress


def test_admission_policy_is_scoped_to_the_tenant_namespace() -> None:
    d = policy({})
    vap = d.one(VAP).inputs
    binding = d.one(VAPB).inputs
    assert vap["metadata"]["name"] == binding["spec"]["policyName"] == "tenantry-acme"
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "acme"
    }
    messages = [v["message"] for v in vap["spec"]["validations"]]
    for rule, field in [
        ("host-namespaces", "spec.hostNetwork"),
        ("host-namespaces", "spec.hostPID"),
        ("host-namespaces", "spec.hostIPC"),
        ("host-path", "spec.volumes[*].hostPath"),
        ("privileged", "spec.containers[*].securityContext.privileged"),
        ("capabilities", "spec.containers[*].securityContext.capabilities.add"),
    ]:
        assert any(m.startswith(f"tenantry/{rule}: {field} ") for m in messages), (rule, field)
    # No isolation: no sandbox variable, so nothing can be waved through.
    assert [v["name"] for v in vap["spec"]["variables"]] == ["containers"]
    assert not any("variables.sandboxed" in v["expression"] for v in vap["spec"]["validations"])


def _validations(d: Deployment) -> dict[str, str]:
    deny = d.one(VAP, "acme-admission-policy").inputs
    return {v["message"]: v["expression"] for v in deny["spec"]["validations"]}


def test_isolation_waves_through_only_what_its_backend_contains() -> None:
    isolation = {"runtime_class_name": "sandbox", "backend": "gvisor", "allow_privileged": True}
    d = policy({"isolation": isolation})  # type: ignore[typeddict-item]
    deny = d.one(VAP, "acme-admission-policy").inputs
    sandboxed = next(v for v in deny["spec"]["variables"] if v["name"] == "sandboxed")
    assert sandboxed["expression"].endswith("object.spec.runtimeClassName == 'sandbox'")
    validations = _validations(d)
    bypassed = {m.split(":")[1].split()[0] for m, e in validations.items() if "sandboxed" in e}
    assert bypassed == {
        "spec.runtimeClassName",  # require-sandbox, on by default
        "spec.hostPID",
        "spec.containers[*].securityContext.privileged",
        "spec.containers[*].securityContext.capabilities.add",
        "spec.securityContext.appArmorProfile.type",
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/*]",
        "spec.containers[*].securityContext.procMount",
        "spec.securityContext.seccompProfile.type",
        "spec.securityContext.sysctls[*].name",
    }
    strict = _validations(policy({"isolation": {**isolation, "allow_privileged": False}}))  # type: ignore[typeddict-item]
    assert [m for m, e in strict.items() if "sandboxed" in e] == [
        "tenantry/require-sandbox: spec.runtimeClassName must be one of [sandbox] in this namespace"
    ]


def test_require_sandbox_can_be_switched_off() -> None:
    isolation = {"runtime_class_name": "sandbox"}
    on = _validations(policy({"isolation": isolation}))  # type: ignore[typeddict-item]
    off = _validations(
        policy({"isolation": isolation, "admission": {"require_sandbox": False}})  # type: ignore[typeddict-item]
    )
    assert any(m.startswith("tenantry/require-sandbox:") for m in on)
    assert not any(m.startswith("tenantry/require-sandbox:") for m in off)


def test_the_restricted_level_adds_the_restricted_checks() -> None:
    baseline = _validations(policy({}))
    restricted = _validations(policy({"pod_security": {"level": PodSecurityLevel.RESTRICTED}}))
    added = {m.split(":")[0] for m in restricted.keys() - baseline.keys()}
    assert added == {
        "tenantry/volume-types",
        "tenantry/privilege-escalation",
        "tenantry/run-as-non-root",
        "tenantry/run-as-user",
        "tenantry/seccomp-required",
        "tenantry/capabilities-drop-all",
    }
    privileged = _validations(policy({"pod_security": {"level": PodSecurityLevel.PRIVILEGED}}))
    assert privileged == baseline  # the policy stands alone: the whole baseline either way


def test_a_pod_admitted_by_an_exemption_is_told_why() -> None:
    isolation = {"runtime_class_name": "sandbox", "backend": "gvisor", "allow_privileged": True}
    d = policy({"isolation": isolation})  # type: ignore[typeddict-item]
    notice = d.one(VAP, "acme-admission-exempted-policy").inputs
    binding = d.one(VAPB, "acme-admission-exempted-binding").inputs
    assert binding["spec"]["validationActions"] == ["Warn", "Audit"]
    assert binding["spec"]["policyName"] == notice["metadata"]["name"] == "tenantry-acme-exempted"
    messages = [v["message"] for v in notice["spec"]["validations"]]
    assert any(
        m.startswith("tenantry/privileged: spec.containers[*].securityContext.privileged admitted")
        and "the Sentry" in m
        for m in messages
    ), messages
    assert not any("hostPath" in m or "hostNetwork" in m for m in messages)
    # Nothing exempted, no notice: the control.
    strict = policy({"isolation": {**isolation, "allow_privileged": False}})  # type: ignore[typeddict-item]
    assert len(strict.of_type(VAP)) == 1
