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
from tenantry_api.sandbox import (
    NAMESPACED_SYSCTLS,
    NEVER_EXEMPT,
    RESTRICTED,
    Exemption,
    PssCheck,
    exemptions,
)

__all__ = ["RULE_NAMES", "Sandbox", "policy_spec", "sandbox_exemptions"]


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


@dataclass(frozen=True)
class _Rule:
    check: PssCheck
    rule: str
    field: str
    expression: str
    """True when the pod passes."""
    message: str
    relaxed: str = "true"
    """What must still hold when the check is exempted under the sandbox."""


# Every container of the pod: init, regular and ephemeral (PSS checks all three).
_CONTAINERS = (
    "object.spec.containers"
    " + (has(object.spec.initContainers) ? object.spec.initContainers : [])"
    " + (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])"
)
_WINDOWS = "has(object.spec.os) && has(object.spec.os.name) && object.spec.os.name == 'windows'"


def _unset_or(var: str, path: str, ok: str) -> str:
    """``ok`` (written over ``{v}``, the field's value) holds, or some step of path is unset."""
    steps = path.split(".")
    unset = [f"!has({var}.{'.'.join(steps[: i + 1])})" for i in range(len(steps))]
    return "(" + " || ".join([*unset, ok.format(v=f"{var}.{path}")]) + ")"


def _set_and(var: str, path: str, ok: str) -> str:
    """Every step of path is set, and ``ok`` holds on the field's value."""
    steps = path.split(".")
    isset = [f"has({var}.{'.'.join(steps[: i + 1])})" for i in range(len(steps))]
    return "(" + " && ".join([*isset, ok.format(v=f"{var}.{path}")]) + ")"


def _pod(path: str, ok: str) -> str:
    return _unset_or("object.spec", path, ok)


def _each(path: str, ok: str) -> str:
    return f"variables.containers.all(c, {_unset_or('c', path, ok)})"


def _among(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


_BASELINE_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
"""The capabilities PSS baseline lets a container add (the container runtime's defaults)."""

SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_wmem",
)
"""PSS baseline's safe sysctls as of v1.32 (pod-security-admission's check_sysctls.go)."""

_SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
_SELINUX_OK = (
    "(!has({v}.type) || {v}.type in " + _among(_SELINUX_TYPES) + ")"
    " && (!has({v}.user) || {v}.user == '') && (!has({v}.role) || {v}.role == '')"
)
_PROFILES = _among(("RuntimeDefault", "Localhost"))
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
_PROBES = (
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle.postStart",
    "lifecycle.preStop",
)


def _no_probe_host() -> str:
    parts = [
        _unset_or("c", f"{probe}.{kind}.host", "{v} == ''")
        for probe in _PROBES
        for kind in ("httpGet", "tcpSocket")
    ]
    return "variables.containers.all(c, " + " && ".join(parts) + ")"


_BASELINE_RULES: tuple[_Rule, ...] = (
    # Before hostNetwork, which the API requires beside it: the message names the cause.
    _Rule(
        PssCheck.HOST_PROCESS,
        "host-process",
        "spec.securityContext.windowsOptions.hostProcess",
        _pod("securityContext.windowsOptions.hostProcess", "!{v}")
        + " && "
        + _each("securityContext.windowsOptions.hostProcess", "!{v}"),
        "(pod or container) must not be true",
    ),
    _Rule(
        PssCheck.HOST_NETWORK,
        "host-namespaces",
        "spec.hostNetwork",
        _pod("hostNetwork", "!{v}"),
        "must not be true",
    ),
    _Rule(
        PssCheck.HOST_PID,
        "host-namespaces",
        "spec.hostPID",
        _pod("hostPID", "!{v}"),
        "must not be true",
    ),
    _Rule(
        PssCheck.HOST_IPC,
        "host-namespaces",
        "spec.hostIPC",
        _pod("hostIPC", "!{v}"),
        "must not be true",
    ),
    _Rule(
        PssCheck.PRIVILEGED,
        "privileged",
        "spec.containers[*].securityContext.privileged",
        _each("securityContext.privileged", "!{v}"),
        "must not be true",
    ),
    _Rule(
        PssCheck.CAPABILITIES,
        "capabilities",
        "spec.containers[*].securityContext.capabilities.add",
        _each(
            "securityContext.capabilities.add",
            f"{{v}}.all(a, a in {_among(_BASELINE_CAPABILITIES)})",
        ),
        f"may only add {', '.join(_BASELINE_CAPABILITIES)}",
    ),
    _Rule(
        PssCheck.HOST_PATH,
        "host-path",
        "spec.volumes[*].hostPath",
        _pod("volumes", "{v}.all(v, !has(v.hostPath))"),
        "is not allowed",
    ),
    _Rule(
        PssCheck.HOST_PORT,
        "host-ports",
        "spec.containers[*].ports[*].hostPort",
        _each("ports", "{v}.all(p, !has(p.hostPort) || p.hostPort == 0)"),
        "must be unset or 0",
    ),
    _Rule(
        PssCheck.APPARMOR,
        "apparmor",
        "spec.securityContext.appArmorProfile.type",
        _pod("securityContext.appArmorProfile.type", "{v} in " + _PROFILES)
        + " && "
        + _each("securityContext.appArmorProfile.type", "{v} in " + _PROFILES),
        "(pod or container) must be RuntimeDefault or Localhost",
    ),
    _Rule(
        PssCheck.APPARMOR,
        "apparmor",
        f"metadata.annotations[{_APPARMOR_ANNOTATION}*]",
        _unset_or(
            "object",
            "metadata.annotations",
            f"{{v}}.all(k, !k.startsWith('{_APPARMOR_ANNOTATION}')"
            " || {v}[k] in ['', 'runtime/default'] || {v}[k].startsWith('localhost/'))",
        ),
        "must be runtime/default or localhost/<profile>",
    ),
    _Rule(
        PssCheck.SELINUX,
        "selinux",
        "spec.securityContext.seLinuxOptions",
        _pod("securityContext.seLinuxOptions", _SELINUX_OK)
        + " && "
        + _each("securityContext.seLinuxOptions", _SELINUX_OK),
        "(pod or container) must not set user or role, and type only to "
        + ", ".join(t for t in _SELINUX_TYPES if t),
    ),
    _Rule(
        PssCheck.PROC_MOUNT,
        "proc-mount",
        "spec.containers[*].securityContext.procMount",
        _each("securityContext.procMount", "{v} == 'Default'"),
        "must be Default",
    ),
    _Rule(
        PssCheck.SECCOMP,
        "seccomp",
        "spec.securityContext.seccompProfile.type",
        _pod("securityContext.seccompProfile.type", "{v} != 'Unconfined'")
        + " && "
        + _each("securityContext.seccompProfile.type", "{v} != 'Unconfined'"),
        "(pod or container) must not be Unconfined",
    ),
    _Rule(
        PssCheck.SYSCTLS,
        "sysctls",
        "spec.securityContext.sysctls[*].name",
        _pod("securityContext.sysctls", f"{{v}}.all(s, s.name in {_among(SAFE_SYSCTLS)})"),
        f"must be one of {', '.join(SAFE_SYSCTLS)}",
        relaxed=_pod(
            "securityContext.sysctls",
            "{v}.all(s, "
            + " || ".join(f"s.name.startsWith('{p}')" for p in NAMESPACED_SYSCTLS)
            + ")",
        ),
    ),
    _Rule(
        PssCheck.HOST_PROBES,
        "host-probes",
        "spec.containers[*].(livenessProbe|readinessProbe|startupProbe|lifecycle.*).*.host",
        _no_probe_host(),
        "must be unset",
    ),
)

_RESTRICTED_RULES: tuple[_Rule, ...] = (
    _Rule(
        PssCheck.VOLUME_TYPES,
        "volume-types",
        "spec.volumes[*]",
        _pod(
            "volumes", "{v}.all(v, " + " || ".join(f"has(v.{t})" for t in _RESTRICTED_VOLUMES) + ")"
        ),
        f"must be one of {', '.join(_RESTRICTED_VOLUMES)}",
    ),
    _Rule(
        PssCheck.PRIVILEGE_ESCALATION,
        "privilege-escalation",
        "spec.containers[*].securityContext.allowPrivilegeEscalation",
        f"({_WINDOWS}) || variables.containers.all(c, "
        + _set_and("c", "securityContext.allowPrivilegeEscalation", "!{v}")
        + ")",
        "must be false",
    ),
    _Rule(
        PssCheck.RUN_AS_NON_ROOT,
        "run-as-non-root",
        "spec.securityContext.runAsNonRoot",
        _pod("securityContext.runAsNonRoot", "{v}")
        + " && variables.containers.all(c, "
        + "(has(c.securityContext) && has(c.securityContext.runAsNonRoot))"
        " ? c.securityContext.runAsNonRoot : "
        + _set_and("object.spec", "securityContext.runAsNonRoot", "{v}")
        + ")",
        "(pod, or every container) must be true",
    ),
    _Rule(
        PssCheck.RUN_AS_USER,
        "run-as-user",
        "spec.securityContext.runAsUser",
        _pod("securityContext.runAsUser", "{v} != 0")
        + " && "
        + _each("securityContext.runAsUser", "{v} != 0"),
        "(pod or container) must not be 0",
    ),
    _Rule(
        PssCheck.SECCOMP_REQUIRED,
        "seccomp-required",
        "spec.securityContext.seccompProfile.type",
        f"({_WINDOWS}) || ("
        + _pod("securityContext.seccompProfile.type", "{v} in " + _PROFILES)
        + " && variables.containers.all(c, "
        + "(has(c.securityContext) && has(c.securityContext.seccompProfile))"
        f" ? c.securityContext.seccompProfile.type in {_PROFILES} : "
        + _set_and("object.spec", "securityContext.seccompProfile.type", "{v} in " + _PROFILES)
        + "))",
        "(pod, or every container) must be RuntimeDefault or Localhost",
    ),
    _Rule(
        PssCheck.CAPABILITIES_DROP_ALL,
        "capabilities-drop-all",
        "spec.containers[*].securityContext.capabilities",
        f"({_WINDOWS}) || variables.containers.all(c, "
        + _set_and("c", "securityContext.capabilities.drop", "'ALL' in {v}")
        + " && "
        + _unset_or("c", "securityContext.capabilities.add", "{v}.all(a, a == 'NET_BIND_SERVICE')")
        + ")",
        "must drop ALL and add at most NET_BIND_SERVICE",
    ),
)


RULE_NAMES: Mapping[PssCheck, str] = {r.check: r.rule for r in _BASELINE_RULES + _RESTRICTED_RULES}
"""The `tenantry/<rule>` each check's rejections start with."""


def _validation(rule: _Rule, sandbox: Sandbox | None, exempted: bool) -> dict[str, str]:
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


def policy_spec(level: PodSecurityLevel, sandbox: Sandbox | None) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy's spec for a tenant at Pod Security ``level``."""
    rules = _BASELINE_RULES
    if level is PodSecurityLevel.RESTRICTED:
        rules += _RESTRICTED_RULES
    exempted = sandbox_exemptions(sandbox)
    variables = [{"name": "containers", "expression": _CONTAINERS}]
    validations = []
    if sandbox is not None:
        variables.insert(
            0,
            {
                "name": "sandboxed",
                "expression": "has(object.spec.runtimeClassName)"
                f" && object.spec.runtimeClassName == '{sandbox.runtime_class}'",
            },
        )
        if sandbox.required:
            validations.append(_require_sandbox(sandbox))
    validations += [_validation(r, sandbox, r.check in exempted) for r in rules]
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["pods", "pods/ephemeralcontainers"],
                }
            ]
        },
        "variables": variables,
        "validations": validations,
    }
