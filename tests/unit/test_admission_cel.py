"""The TenantPolicy's CEL admission rules, evaluated on real pod specs with a CEL interpreter.

The API server is the final judge (tests/integration/test_admission_matrix.py runs it); this
catches a wrong expression without one, for every backend.
"""

from functools import cache
from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from tenantry.admission import RULE_NAMES, Sandbox, exemption_notice_spec, policy_spec
from tenantry.pss_rules import BASELINE_RULES, RESTRICTED_RULES
from tenantry_api.config import PodSecurityLevel
from tenantry_api.runtimes import RuntimeBackend
from tenantry_api.sandbox import BASELINE, RESTRICTED, PssCheck, exemptions

from tests.support.pss_cases import (
    CASES,
    CLEAN,
    CONTAINER_CASES,
    HOST_ACCESS,
    NOT_NAMESPACED_SYSCTL,
    Case,
    moved,
)

_ENV = celpy.Environment()
_LEVELS = (PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED)


@cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression))


def rejections(
    pod: dict[str, Any],
    level: PodSecurityLevel = PodSecurityLevel.BASELINE,
    sandbox: Sandbox | None = None,
    policy: dict[str, Any] | None = None,
) -> list[str]:
    """Messages of every rule the pod breaks, evaluated as a ValidatingAdmissionPolicy does."""
    policy = policy or policy_spec(level, sandbox)
    obj = json_to_cel({"metadata": {}, **pod})

    def evaluate(expression: str, variables: dict[str, Any]) -> Any:
        return _program(expression).evaluate(
            {"object": obj, "variables": celpy.celtypes.MapType(variables)}
        )

    variables: dict[str, Any] = {}
    for variable in policy["variables"]:
        variables[variable["name"]] = evaluate(variable["expression"], variables)
    results = [(v["message"], evaluate(v["expression"], variables)) for v in policy["validations"]]
    for message, result in results:
        assert isinstance(result, celpy.celtypes.BoolType), (message, result)
    return [message for message, result in results if not result]


def sandbox(
    backend: RuntimeBackend = RuntimeBackend.GVISOR, *, exempt: bool = True, required: bool = False
) -> Sandbox:
    return Sandbox("sandbox", backend, exempt=exempt, required=required)


def with_class(pod: dict[str, Any], runtime_class: str | None) -> dict[str, Any]:
    if runtime_class is None:
        return pod
    return {**pod, "spec": {**pod["spec"], "runtimeClassName": runtime_class}}


def refused_checks(case: Case, level: PodSecurityLevel, exempted: set[PssCheck]) -> set[PssCheck]:
    """The checks whose rules must refuse ``case`` at ``level``, after the exemptions."""
    checks = set(BASELINE) if level is not PodSecurityLevel.RESTRICTED else set(PssCheck)
    return ({case.check, *case.also} & checks) - exempted


def rules_of(messages: list[str]) -> set[str]:
    return {m.split(":", 1)[0].removeprefix("tenantry/") for m in messages}


@pytest.mark.parametrize("level", _LEVELS)
@pytest.mark.parametrize("runtime_class", [None, "sandbox", "runc"])
def test_a_clean_pod_is_admitted_everywhere(
    level: PodSecurityLevel, runtime_class: str | None
) -> None:
    pod = with_class(CLEAN, runtime_class)
    assert rejections(pod, level) == []
    assert rejections(pod, level, sandbox()) == []


def test_the_clean_pod_is_not_trivially_clean() -> None:
    # The control: the same interpreter does refuse a pod, so "admitted" above means something.
    assert rejections({"spec": {"containers": [{"name": "c"}]}}, PodSecurityLevel.RESTRICTED)


@pytest.mark.parametrize("level", _LEVELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_field_is_refused_without_a_sandbox(case: Case, level: PodSecurityLevel) -> None:
    messages = rejections(case.pod, level)
    expected = refused_checks(case, level, set())
    assert rules_of(messages) == {RULE_NAMES[c] for c in expected}
    if case.check in expected:
        assert any(m.startswith(case.rule) for m in messages), messages


@pytest.mark.parametrize("backend", list(RuntimeBackend))
@pytest.mark.parametrize("level", _LEVELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_under_the_sandbox_only_the_table_exempts(
    case: Case, level: PodSecurityLevel, backend: RuntimeBackend
) -> None:
    table = exemptions(backend)
    messages = rejections(with_class(case.pod, "sandbox"), level, sandbox(backend))
    expected = refused_checks(case, level, set(table))
    assert rules_of(messages) == {RULE_NAMES[c] for c in expected}, messages
    if case.check in HOST_ACCESS:
        assert case.check in expected  # independent of the table: host access never passes
    if case.check in table and not expected:
        assert table[case.check].reason  # admitted: the table says why


@pytest.mark.parametrize("level", _LEVELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_another_runtime_class_gets_no_exemption(case: Case, level: PodSecurityLevel) -> None:
    messages = rejections(with_class(case.pod, "runc"), level, sandbox())
    assert rules_of(messages) == {RULE_NAMES[c] for c in refused_checks(case, level, set())}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_sandbox_that_allows_nothing_exempts_nothing(case: Case) -> None:
    messages = rejections(
        with_class(case.pod, "sandbox"), PodSecurityLevel.RESTRICTED, sandbox(exempt=False)
    )
    assert case.rule.split(":")[0].removeprefix("tenantry/") in rules_of(messages)


def test_only_namespaced_sysctls_are_exempted_under_the_sandbox() -> None:
    pod = with_class(NOT_NAMESPACED_SYSCTL.pod, "sandbox")
    (message,) = rejections(pod, PodSecurityLevel.PRIVILEGED, sandbox())
    assert message.startswith(NOT_NAMESPACED_SYSCTL.rule)


@pytest.mark.parametrize("kind", ["initContainers", "ephemeralContainers"])
@pytest.mark.parametrize("case", CONTAINER_CASES, ids=lambda c: c.id)
def test_every_kind_of_container_is_checked(case: Case, kind: str) -> None:
    messages = rejections(moved(case, kind), PodSecurityLevel.RESTRICTED)
    assert any(m.startswith(case.rule) for m in messages), messages


def test_messages_say_where_the_sandbox_helps_and_where_it_does_not() -> None:
    (hostpid,) = rejections(
        {"spec": {**CLEAN["spec"], "hostPID": True}}, sandbox=sandbox(RuntimeBackend.KATA)
    )
    assert hostpid == (
        "tenantry/host-namespaces: spec.hostPID must not be true, also under sandbox "
        "(kata does not contain it)"
    )
    (privileged,) = rejections(
        {"spec": {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}},
        sandbox=sandbox(),
    )
    assert privileged == (
        "tenantry/privileged: spec.containers[*].securityContext.privileged must not be true "
        "outside the sandbox RuntimeClass sandbox"
    )
    (host_path,) = rejections(
        {"spec": {**CLEAN["spec"], "volumes": [{"name": "r", "hostPath": {"path": "/"}}]}},
        sandbox=sandbox(),
    )
    assert host_path.endswith("also under sandbox (host access, which no sandbox contains)")


def test_require_sandbox_refuses_other_runtime_classes_naming_the_field() -> None:
    required = sandbox(required=True)
    assert rejections(with_class(CLEAN, "sandbox"), sandbox=required) == []
    for runtime_class in (None, "runc"):
        assert rejections(with_class(CLEAN, runtime_class), sandbox=required) == [
            "tenantry/require-sandbox: spec.runtimeClassName must be one of [sandbox] "
            "in this namespace"
        ]
    # The control: without the switch the same pods are admitted.
    assert rejections(with_class(CLEAN, "runc"), sandbox=sandbox()) == []


def test_a_virtual_clusters_own_pods_are_spared_but_never_a_synced_one() -> None:
    own = (("app.kubernetes.io/name", "tenantry-vcluster"), ("app.kubernetes.io/instance", "a"))
    required = Sandbox(
        "sandbox", RuntimeBackend.GVISOR, exempt=True, required=True, unsandboxed=(own,)
    )
    control_plane = {**CLEAN, "metadata": {"labels": dict(own)}}
    assert rejections(control_plane, sandbox=required) == []
    synced = {
        **CLEAN,
        "metadata": {"labels": {**dict(own), "app.kubernetes.io/managed-by": "tenantry"}},
    }
    assert rules_of(rejections(synced, sandbox=required)) == {"require-sandbox"}
    other = {**CLEAN, "metadata": {"labels": {"app.kubernetes.io/name": "tenantry-vcluster"}}}
    assert rules_of(rejections(other, sandbox=required)) == {"require-sandbox"}


def test_every_pss_check_has_a_rule_at_its_level() -> None:
    assert {r.check for r in BASELINE_RULES} == set(BASELINE)
    assert {r.check for r in RESTRICTED_RULES} == set(RESTRICTED)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_notice_names_exactly_the_exemption_that_admitted_the_pod(case: Case) -> None:
    notice = exemption_notice_spec(sandbox())
    assert notice is not None
    table = exemptions(RuntimeBackend.GVISOR)
    under = rejections(with_class(case.pod, "sandbox"), policy=notice)
    expected = {case.check, *case.also} & set(table)
    assert rules_of(under) == {RULE_NAMES[c] for c in expected}
    for check in expected:
        assert any(table[check].reason in m for m in under), under
    # Outside the sandbox nothing is exempted, so nothing is noticed.
    assert rejections(with_class(case.pod, "runc"), policy=notice) == []
    assert rejections(with_class(CLEAN, "sandbox"), policy=notice) == []


def test_no_notice_when_even_the_exemption_refuses() -> None:
    notice = exemption_notice_spec(sandbox())
    pod = with_class(NOT_NAMESPACED_SYSCTL.pod, "sandbox")
    assert rejections(pod, policy=notice) == []
    assert rejections(pod, PodSecurityLevel.PRIVILEGED, sandbox())  # the deny policy refuses it
