"""The TenantPolicy's CEL ValidatingAdmissionPolicy: the whole Pod Security Standards baseline
(and the restricted checks when the tenant is restricted), enforced by the API server itself.

It stands alone: a tenant whose Pod Security level is `privileged` still gets every baseline
check here. Under a VirtualNode's RuntimeClass a check is waved through only when the sandbox
exemption table (`tenantry_api.sandbox`) exempts it for that backend; host access never is.
Every rejection starts `tenantry/<rule>: <field>`, so a tenant knows what to change.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantry_api import keys
from tenantry_api.config import PodSecurityLevel
from tenantry_api.runtimes import RuntimeBackend
from tenantry_api.sandbox import NEVER_EXEMPT, RESTRICTED, Exemption, PssCheck, exemptions

from tenantry.pss_rules import BASELINE_RULES, CONTAINERS, RESTRICTED_RULES, RULE_NAMES, Rule

__all__ = ["RULE_NAMES", "Sandbox", "exemption_notice_spec", "policy_spec", "sandbox_exemptions"]


@dataclass(frozen=True)
class Sandbox:
    """The VirtualNode a TenantPolicy is composed with."""

    runtime_class: str
    backend: RuntimeBackend | None
    """None when the isolation does not say; then nothing is exempted."""
    exempt: bool
    """The isolation's allow_privileged: apply the backend's exemptions."""
    required: bool
    """admission.require_sandbox: every pod must run under runtime_class."""
    unsandboxed: tuple[tuple[tuple[str, str], ...], ...] = ()
    """Pod label sets spared the requirement: a VirtualCluster's own control plane. A pod the
    syncer created (managed-by tenantry, which no tenant can remove) is never spared."""


def sandbox_exemptions(sandbox: Sandbox | None) -> Mapping[PssCheck, Exemption]:
    """What the policy waves through under ``sandbox``'s RuntimeClass."""
    if sandbox is None or not sandbox.exempt or sandbox.backend is None:
        return {}
    return exemptions(sandbox.backend)


def _validation(rule: Rule, sandbox: Sandbox | None, exempted: bool) -> dict[str, str]:
    expression = rule.expression
    suffix = ""
    if sandbox is not None and exempted:
        expression = f"(variables.sandboxed && {rule.relaxed}) || ({expression})"
        suffix = f" outside the sandbox RuntimeClass {sandbox.runtime_class}"
    elif sandbox is not None and sandbox.exempt:
        # Say why the sandbox does not help, so nobody retries under another class.
        if rule.check in NEVER_EXEMPT or rule.check is PssCheck.HOST_PROBES:
            why = "host access, which no sandbox contains"
        elif rule.check in RESTRICTED:
            why = "the restricted level is never exempted"
        else:
            why = (
                f"{sandbox.backend.value if sandbox.backend else 'the sandbox'} does not contain it"
            )
        suffix = f", also under {sandbox.runtime_class} ({why})"
    return {
        "expression": expression,
        "message": f"tenantry/{rule.rule}: {rule.field} {rule.message}{suffix}",
        "reason": "Forbidden",
    }


def _label_is(key: str, value: str) -> str:
    labels = "object.metadata.labels"
    return f"(has({labels}) && '{key}' in {labels} && {labels}['{key}'] == '{value}')"


def _require_sandbox(sandbox: Sandbox) -> dict[str, str]:
    expression = "variables.sandboxed"
    if sandbox.unsandboxed:
        spared = " || ".join(
            "(" + " && ".join(_label_is(k, v) for k, v in labels) + ")"
            for labels in sandbox.unsandboxed
        )
        synced = _label_is(keys.MANAGED_BY, keys.MANAGED_BY_VALUE)
        expression += f" || (!{synced} && ({spared}))"
    return {
        "expression": expression,
        "message": (
            "tenantry/require-sandbox: spec.runtimeClassName must be one of "
            f"[{sandbox.runtime_class}] in this namespace"
        ),
        "reason": "Forbidden",
    }


def _variables(sandbox: Sandbox | None) -> list[dict[str, str]]:
    variables = [{"name": "containers", "expression": CONTAINERS}]
    if sandbox is not None:
        sandboxed = (
            "has(object.spec.runtimeClassName)"
            f" && object.spec.runtimeClassName == '{sandbox.runtime_class}'"
        )
        variables.insert(0, {"name": "sandboxed", "expression": sandboxed})
    return variables


def _match_pods() -> dict[str, Any]:
    # Ephemeral containers arrive through their subresource: match it too.
    return {
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers"],
            }
        ]
    }


def policy_spec(level: PodSecurityLevel, sandbox: Sandbox | None) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy's spec for a tenant at Pod Security ``level``."""
    rules = BASELINE_RULES
    if level is PodSecurityLevel.RESTRICTED:
        rules += RESTRICTED_RULES
    exempted = sandbox_exemptions(sandbox)
    validations = []
    if sandbox is not None and sandbox.required:
        validations.append(_require_sandbox(sandbox))
    validations += [_validation(r, sandbox, r.check in exempted) for r in rules]
    return {
        "failurePolicy": "Fail",
        "matchConstraints": _match_pods(),
        "variables": _variables(sandbox),
        "validations": validations,
    }


def exemption_notice_spec(sandbox: Sandbox | None) -> dict[str, Any] | None:
    """A second policy, bound with Warn and Audit, whose rules fail exactly when a pod is
    admitted only by a sandbox exemption: the API server then tells the tenant, and the audit
    log records, which exemption let it through and why. None when nothing is exempted."""
    exempted = sandbox_exemptions(sandbox)
    if sandbox is None or not exempted:
        return None
    notices = [
        {
            # Fails when the exemption, and only it, lets the pod through.
            "expression": f"!variables.sandboxed || !({rule.relaxed}) || ({rule.expression})",
            "message": (
                f"tenantry/{rule.rule}: {rule.field} admitted under the sandbox RuntimeClass "
                f"{sandbox.runtime_class}: {exempted[rule.check].reason}"
            ),
        }
        for rule in BASELINE_RULES
        if rule.check in exempted
    ]
    return {
        "failurePolicy": "Ignore",
        "matchConstraints": _match_pods(),
        "variables": _variables(sandbox),
        "validations": notices,
    }
