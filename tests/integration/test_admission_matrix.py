"""Every Pod Security field against the TenantPolicy on a real API server.

Rows: one pod per PSS baseline and restricted field (tests/support/pss_cases.py), each
breaking exactly that field where the API's validation allows it. Columns:

- none: a TenantPolicy without isolation, the pod without a RuntimeClass;
- sandbox: the policy composed with a gVisor VirtualNode, the pod under its RuntimeClass;
- runc: the same policy, the pod under `runtimeClassName: runc` (require_sandbox on);
- runc-open: the same with require_sandbox off, so each field's own rule answers;

each with the namespace's Pod Security level at privileged and baseline (and restricted for
the restricted rows). A cell is refused, naming the rule and the field (Tenantry's or Pod
Security's), or admitted, with the reason in the sandbox exemption table. Host access is
refused everywhere, whatever the table says. Pods are only dry-run: the API server just needs
the RuntimeClasses to exist. The syncer's column is in the syncer's tests.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenantry.admission import RULE_NAMES
from tenantry.tenant_policy import TenantPolicyArgs, render, resolve
from tenantry_api.config import PodSecurityLevel
from tenantry_api.runtimes import RuntimeBackend
from tenantry_api.sandbox import BASELINE, PssCheck, exemptions
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from

from tests.support.kube import wait_for
from tests.support.pss_cases import CASES, CLEAN, HOST_ACCESS, NOT_NAMESPACED_SYSCTL, Case

SANDBOX = "mx-sandbox"
BACKEND = RuntimeBackend.GVISOR
TABLE = exemptions(BACKEND)
LEVELS = (PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED)

# How Pod Security admission names each check when it refuses first (its ForbiddenReason).
PSA_REASONS: dict[PssCheck, str] = {
    PssCheck.HOST_NETWORK: "host namespaces",
    PssCheck.HOST_PID: "host namespaces",
    PssCheck.HOST_IPC: "host namespaces",
    PssCheck.HOST_PROCESS: "hostProcess",
    PssCheck.PRIVILEGED: "privileged",
    PssCheck.CAPABILITIES: "non-default capabilities",
    PssCheck.HOST_PATH: "hostPath volumes",
    PssCheck.HOST_PORT: "hostPort",
    PssCheck.APPARMOR: "AppArmor profile",
    PssCheck.SELINUX: "seLinuxOptions",
    PssCheck.PROC_MOUNT: "procMount",
    PssCheck.SECCOMP: "seccompProfile",
    PssCheck.SYSCTLS: "forbidden sysctls",
    PssCheck.HOST_PROBES: "probe or lifecycle host",
    PssCheck.VOLUME_TYPES: "restricted volume types",
    PssCheck.PRIVILEGE_ESCALATION: "allowPrivilegeEscalation != false",
    PssCheck.RUN_AS_NON_ROOT: "runAsNonRoot != true",
    PssCheck.RUN_AS_USER: "runAsUser=0",
    PssCheck.SECCOMP_REQUIRED: "seccompProfile",
    PssCheck.CAPABILITIES_DROP_ALL: "unrestricted capabilities",
}


@dataclass(frozen=True)
class Column:
    name: str
    composed: bool
    runtime_class: str | None
    require_sandbox: bool = True


COLUMNS = (
    Column("none", composed=False, runtime_class=None),
    Column("sandbox", composed=True, runtime_class=SANDBOX),
    Column("runc", composed=True, runtime_class="runc"),
    Column("runc-open", composed=True, runtime_class="runc", require_sandbox=False),
)


def namespace_of(column: Column, level: PodSecurityLevel) -> str:
    kind = "none" if not column.composed else ("req" if column.require_sandbox else "open")
    return f"mx-{kind}-{level.value}"


def policy_args(column: Column, level: PodSecurityLevel) -> TenantPolicyArgs:
    args: TenantPolicyArgs = {
        "pod_security": {"level": level},
        "network": {"enabled": False},
        "quota": {"enabled": False},
    }
    if column.composed:
        args["isolation"] = {
            "runtime_class_name": SANDBOX,
            "backend": BACKEND,
            "allow_privileged": True,
        }
        args["admission"] = {"require_sandbox": column.require_sandbox}
    return args


def manifest(namespace: str, pod: dict[str, Any], runtime_class: str | None) -> dict[str, Any]:
    spec = dict(pod["spec"])
    if runtime_class is not None:
        spec["runtimeClassName"] = runtime_class
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace, **pod["metadata"]},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def core(cluster: LocalCluster) -> client.CoreV1Api:
    return client.CoreV1Api(api_client_from(cluster.kubeconfig))


def attempt(
    core: client.CoreV1Api, namespace: str, pod: dict[str, Any], runtime_class: str | None
) -> tuple[str, str]:
    """(the API server's refusal, "" when admitted; its warnings) for ``pod``, dry run."""
    body: Any = manifest(namespace, pod, runtime_class)
    try:
        _, _, headers = core.create_namespaced_pod_with_http_info(namespace, body, dry_run="All")
    except ApiException as e:
        if e.status != 403:  # 422 would be a case the API's own validation refuses: a bad row
            raise
        return str(e.body), ""
    return "", str(headers.get("Warning", ""))


def refusal(core: client.CoreV1Api, namespace: str, pod: dict[str, Any], rc: str | None) -> str:
    return attempt(core, namespace, pod, rc)[0]


@pytest.fixture(scope="module")
def matrix(kube: Kube, core: client.CoreV1Api) -> client.CoreV1Api:
    for name, handler in ((SANDBOX, "tenantry-gvisor"), ("runc", "runc")):
        kube.create(
            {
                "apiVersion": "node.k8s.io/v1",
                "kind": "RuntimeClass",
                "metadata": {"name": name},
                "handler": handler,
            }
        )
    namespaces: dict[str, tuple[Column, PodSecurityLevel]] = {}
    for column in COLUMNS:
        for level in LEVELS:
            namespaces.setdefault(namespace_of(column, level), (column, level))
    for namespace, (column, level) in namespaces.items():
        for child in render(resolve(namespace, policy_args(column, level))):
            kube.create(child.manifest)
    # The policies are compiled asynchronously: wait until each answers where only it can
    # (where Pod Security would not refuse first).
    host_path = next(c for c in CASES if c.check is PssCheck.HOST_PATH)
    privileged = next(c for c in CASES if c.check is PssCheck.PRIVILEGED).pod
    for namespace, (column, level) in namespaces.items():
        if column.composed and column.require_sandbox:
            pod, runtime_class = CLEAN, "runc"
        elif level is PodSecurityLevel.PRIVILEGED:
            pod, runtime_class = host_path.pod, None
        else:
            continue
        wait_for(
            lambda: "tenantry/" in refusal(core, namespace, pod, runtime_class),  # noqa: B023
            what=f"the admission policy of {namespace}",
        )
        if column.composed and level is PodSecurityLevel.PRIVILEGED:
            wait_for(
                lambda: "tenantry/privileged:" in attempt(core, namespace, privileged, SANDBOX)[1],  # noqa: B023
                what=f"the exemption notice policy of {namespace}",
            )
    return core


def checks_at(level: PodSecurityLevel) -> set[PssCheck]:
    return set(PssCheck) if level is PodSecurityLevel.RESTRICTED else set(BASELINE)


def refused_by(case: Case, column: Column, level: PodSecurityLevel) -> set[PssCheck]:
    """The checks that must refuse ``case`` in this cell; empty: admitted."""
    broken = {case.check, *case.also} & checks_at(level)
    exempted = set(TABLE) if column.runtime_class == SANDBOX else set()
    if case is NOT_NAMESPACED_SYSCTL:
        exempted.discard(PssCheck.SYSCTLS)  # the exemption covers namespaced sysctls only
    return broken - exempted


def cells() -> Iterator[Any]:
    for case in (*CASES, NOT_NAMESPACED_SYSCTL):
        for column in COLUMNS:
            for level in LEVELS:
                if level is PodSecurityLevel.RESTRICTED and case.check in BASELINE:
                    continue  # the restricted level only adds rows, it changes no baseline cell
                yield pytest.param(case, column, level, id=f"{case.id}-{column.name}-{level.value}")


@pytest.mark.parametrize(("case", "column", "level"), list(cells()))
def test_cell(
    matrix: client.CoreV1Api, case: Case, column: Column, level: PodSecurityLevel
) -> None:
    namespace = namespace_of(column, level)
    message, warnings = attempt(matrix, namespace, case.pod, column.runtime_class)
    pss_refuses = level is not PodSecurityLevel.PRIVILEGED and bool(
        {case.check, *case.also} & checks_at(level)
    )

    # Whatever the table says: host access is never admitted, in any cell.
    if case.check in HOST_ACCESS:
        assert message, f"{case.id} admitted in {namespace} under {column.runtime_class}"

    if column.name == "runc":
        # require_sandbox answers first, naming the field and the allowed class.
        assert (
            "tenantry/require-sandbox: spec.runtimeClassName must be one of [mx-sandbox]" in message
            or (pss_refuses and "violates PodSecurity" in message)
        ), message
        return

    expected = refused_by(case, column, level)
    if pss_refuses:
        # Pod Security refuses before the CEL policy is asked, whatever the RuntimeClass.
        assert "violates PodSecurity" in message, message
        assert PSA_REASONS[case.check] in message or any(
            PSA_REASONS[c] in message for c in case.also
        ), message
    elif expected:
        # The API server reports the first rule that fails: the row's own when it is expected.
        if case.check in expected:
            assert case.rule in message, message
        else:
            assert any(f"tenantry/{RULE_NAMES[c]}: " in message for c in expected), message
    else:
        assert message == "", message
        if case.check in checks_at(level):
            # Admitted only under the sandbox, for what the table exempts; the API server
            # tells the tenant which exemption and why, in the table's words.
            assert column.runtime_class == SANDBOX
            assert f"tenantry/{RULE_NAMES[case.check]}: " in warnings, warnings
            assert TABLE[case.check].reason in warnings, warnings
        else:  # a restricted field, and the level is below restricted
            assert warnings == "", warnings


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.name)
@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: lv.value)
def test_a_clean_pod_is_admitted_in_every_column(
    matrix: client.CoreV1Api, column: Column, level: PodSecurityLevel
) -> None:
    message, warnings = attempt(matrix, namespace_of(column, level), CLEAN, column.runtime_class)
    if column.name == "runc":
        assert "tenantry/require-sandbox: spec.runtimeClassName" in message, message
        # The control: the same clean pod under the sandbox class is admitted there.
        runtime_class = SANDBOX
        assert attempt(matrix, namespace_of(column, level), CLEAN, runtime_class) == ("", "")
    else:
        assert (message, warnings) == ("", "")


def _ephemeral(
    kube: Kube,
    core: client.CoreV1Api,
    namespace: str,
    runtime_class: str | None,
    container: dict[str, Any],
) -> str:
    name = f"eph-{len(core.list_namespaced_pod(namespace).items)}"
    pod = manifest(namespace, CLEAN, runtime_class)
    pod["metadata"]["name"] = name
    kube.create(pod)
    body = {"spec": {"ephemeralContainers": [{"name": "debug", "image": "busybox", **container}]}}
    try:
        core.patch_namespaced_pod_ephemeralcontainers(name, namespace, body, dry_run="All")
    except ApiException as e:
        if e.status != 403:
            raise
        return str(e.body)
    return ""


def test_ephemeral_containers_pass_the_same_rules(kube: Kube, matrix: client.CoreV1Api) -> None:
    core = matrix
    privileged = {"securityContext": {"privileged": True}}
    selinux = {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}
    none, sandboxed = (namespace_of(COLUMNS[i], PodSecurityLevel.PRIVILEGED) for i in (0, 1))
    assert "tenantry/privileged: spec.containers[*].securityContext.privileged" in _ephemeral(
        kube, core, none, None, privileged
    )
    # gVisor contains a privileged container, so under the sandbox it is admitted...
    assert _ephemeral(kube, core, sandboxed, SANDBOX, privileged) == ""
    assert TABLE[PssCheck.PRIVILEGED].reason
    # ...but not an SELinux label it does not contain (the control: the rule still answers).
    assert "tenantry/selinux:" in _ephemeral(kube, core, sandboxed, SANDBOX, selinux)
    assert _ephemeral(kube, core, none, None, {}) == ""
