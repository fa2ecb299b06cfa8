"""The TenantPolicy's CEL admission rules, evaluated on real pod specs with a CEL interpreter.

The API server is the final judge (the integration tier runs it); this catches a wrong
expression without one.
"""

from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from tenantry.tenant_policy import admission_policy_spec

_ENV = celpy.Environment()


def rejections(pod_spec: dict[str, Any], sandboxed: list[str] | None = None) -> list[str]:
    """Messages of every rule the pod breaks, evaluated as a ValidatingAdmissionPolicy does."""
    policy = admission_policy_spec(sandboxed or [])

    def evaluate(expression: str, variables: dict[str, Any]) -> Any:
        program = _ENV.program(_ENV.compile(expression))
        return program.evaluate(
            {
                "object": json_to_cel({"spec": pod_spec}),
                "variables": celpy.celtypes.MapType(variables),
            }
        )

    variables: dict[str, Any] = {}
    for variable in policy["variables"]:
        variables[variable["name"]] = evaluate(variable["expression"], variables)
    return [v["message"] for v in policy["validations"] if not evaluate(v["expression"], variables)]


PLAIN = {"containers": [{"name": "app", "image": "nginx"}]}


def test_a_plain_pod_is_admitted() -> None:
    assert rejections(PLAIN) == []
    assert (
        rejections({**PLAIN, "hostNetwork": False, "volumes": [{"name": "v", "emptyDir": {}}]})
        == []
    )


@pytest.mark.parametrize(
    ("pod_spec", "rule"),
    [
        ({**PLAIN, "hostNetwork": True}, "tenantry/host-namespaces: spec.hostNetwork"),
        ({**PLAIN, "hostPID": True}, "tenantry/host-namespaces: spec.hostPID"),
        ({**PLAIN, "hostIPC": True}, "tenantry/host-namespaces: spec.hostIPC"),
        (
            {**PLAIN, "volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
            "tenantry/host-path:",
        ),
        (
            {"containers": [{"name": "a", "securityContext": {"privileged": True}}]},
            "tenantry/privileged:",
        ),
        (
            {
                "containers": [{"name": "a"}],
                "initContainers": [{"name": "i", "securityContext": {"privileged": True}}],
            },
            "tenantry/privileged:",
        ),
        (
            {
                "containers": [
                    {"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}
                ]
            },
            "tenantry/capabilities:",
        ),
        (
            {
                "containers": [{"name": "a"}],
                "ephemeralContainers": [{"name": "e", "securityContext": {"privileged": True}}],
            },
            "tenantry/privileged:",
        ),
    ],
)
def test_host_access_is_rejected_with_the_rule_and_field(
    pod_spec: dict[str, Any], rule: str
) -> None:
    (message,) = rejections(pod_spec)
    assert message.startswith(rule), message


ESCAPE = {
    "hostPID": True,
    "containers": [{"name": "a", "securityContext": {"privileged": True}}],
    "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
}


def test_a_sandboxed_runtime_class_lets_host_access_through() -> None:
    assert rejections({**ESCAPE, "runtimeClassName": "sandbox"}, sandboxed=["sandbox"]) == []


def test_only_the_allowed_runtime_class_is_let_through() -> None:
    assert len(rejections({**ESCAPE, "runtimeClassName": "runc"}, sandboxed=["sandbox"])) == 3
    assert len(rejections({**ESCAPE, "runtimeClassName": "sandbox"})) == 3
