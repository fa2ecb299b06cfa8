"""The Pod Security Standards as CEL: one rule per field a PSS check inspects.

Mirrors pod-security-admission's checks at v1.34 (its `policy/check_*.go`), so a tenant at
Pod Security `privileged` still gets the whole baseline from the TenantPolicy. Each rule knows
its check, its `tenantry/<rule>` name, the field it names and, where a sandbox exemption is
not a plain bypass, what must still hold under the sandbox (`relaxed`).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from tenantry_api.pss import BASELINE_CAPABILITIES, RESTRICTED_VOLUMES, SAFE_SYSCTLS, SELINUX_TYPES
from tenantry_api.sandbox import NAMESPACED_SYSCTLS, PssCheck

__all__ = ["BASELINE_RULES", "CONTAINERS", "RESTRICTED_RULES", "RULE_NAMES", "Rule"]


@dataclass(frozen=True)
class Rule:
    check: PssCheck
    rule: str
    field: str
    expression: str
    """True when the pod passes."""
    message: str
    relaxed: str = "true"
    """What must still hold when the check is exempted under the sandbox."""


# Every container of the pod: init, regular and ephemeral (PSS checks all three).
CONTAINERS = (
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


_SELINUX_OK = (
    "(!has({v}.type) || {v}.type in " + _among(SELINUX_TYPES) + ")"
    " && (!has({v}.user) || {v}.user == '') && (!has({v}.role) || {v}.role == '')"
)
_PROFILES = _among(("RuntimeDefault", "Localhost"))
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
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


BASELINE_RULES: tuple[Rule, ...] = (
    # Before hostNetwork, which the API requires beside it: the message names the cause.
    Rule(
        PssCheck.HOST_PROCESS,
        "host-process",
        "spec.securityContext.windowsOptions.hostProcess",
        _pod("securityContext.windowsOptions.hostProcess", "!{v}")
        + " && "
        + _each("securityContext.windowsOptions.hostProcess", "!{v}"),
        "(pod or container) must not be true",
    ),
    Rule(
        PssCheck.HOST_NETWORK,
        "host-namespaces",
        "spec.hostNetwork",
        _pod("hostNetwork", "!{v}"),
        "must not be true",
    ),
    Rule(
        PssCheck.HOST_PID,
        "host-namespaces",
        "spec.hostPID",
        _pod("hostPID", "!{v}"),
        "must not be true",
    ),
    Rule(
        PssCheck.HOST_IPC,
        "host-namespaces",
        "spec.hostIPC",
        _pod("hostIPC", "!{v}"),
        "must not be true",
    ),
    Rule(
        PssCheck.PRIVILEGED,
        "privileged",
        "spec.containers[*].securityContext.privileged",
        _each("securityContext.privileged", "!{v}"),
        "must not be true",
    ),
    Rule(
        PssCheck.CAPABILITIES,
        "capabilities",
        "spec.containers[*].securityContext.capabilities.add",
        _each(
            "securityContext.capabilities.add",
            f"{{v}}.all(a, a in {_among(BASELINE_CAPABILITIES)})",
        ),
        f"may only add {', '.join(BASELINE_CAPABILITIES)}",
    ),
    Rule(
        PssCheck.HOST_PATH,
        "host-path",
        "spec.volumes[*].hostPath",
        _pod("volumes", "{v}.all(v, !has(v.hostPath))"),
        "is not allowed",
    ),
    Rule(
        PssCheck.HOST_PORT,
        "host-ports",
        "spec.containers[*].ports[*].hostPort",
        _each("ports", "{v}.all(p, !has(p.hostPort) || p.hostPort == 0)"),
        "must be unset or 0",
    ),
    Rule(
        PssCheck.APPARMOR,
        "apparmor",
        "spec.securityContext.appArmorProfile.type",
        _pod("securityContext.appArmorProfile.type", "{v} in " + _PROFILES)
        + " && "
        + _each("securityContext.appArmorProfile.type", "{v} in " + _PROFILES),
        "(pod or container) must be RuntimeDefault or Localhost",
    ),
    Rule(
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
    Rule(
        PssCheck.SELINUX,
        "selinux",
        "spec.securityContext.seLinuxOptions",
        _pod("securityContext.seLinuxOptions", _SELINUX_OK)
        + " && "
        + _each("securityContext.seLinuxOptions", _SELINUX_OK),
        "(pod or container) must not set user or role, and type only to "
        + ", ".join(t for t in SELINUX_TYPES if t),
    ),
    Rule(
        PssCheck.PROC_MOUNT,
        "proc-mount",
        "spec.containers[*].securityContext.procMount",
        _each("securityContext.procMount", "{v} == 'Default'"),
        "must be Default",
    ),
    Rule(
        PssCheck.SECCOMP,
        "seccomp",
        "spec.securityContext.seccompProfile.type",
        _pod("securityContext.seccompProfile.type", "{v} != 'Unconfined'")
        + " && "
        + _each("securityContext.seccompProfile.type", "{v} != 'Unconfined'"),
        "(pod or container) must not be Unconfined",
    ),
    Rule(
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
    Rule(
        PssCheck.HOST_PROBES,
        "host-probes",
        "spec.containers[*].(livenessProbe|readinessProbe|startupProbe|lifecycle.*).*.host",
        _no_probe_host(),
        "must be unset",
    ),
)

RESTRICTED_RULES: tuple[Rule, ...] = (
    Rule(
        PssCheck.VOLUME_TYPES,
        "volume-types",
        "spec.volumes[*]",
        _pod(
            "volumes", "{v}.all(v, " + " || ".join(f"has(v.{t})" for t in RESTRICTED_VOLUMES) + ")"
        ),
        f"must be one of {', '.join(RESTRICTED_VOLUMES)}",
    ),
    Rule(
        PssCheck.PRIVILEGE_ESCALATION,
        "privilege-escalation",
        "spec.containers[*].securityContext.allowPrivilegeEscalation",
        f"({_WINDOWS}) || variables.containers.all(c, "
        + _set_and("c", "securityContext.allowPrivilegeEscalation", "!{v}")
        + ")",
        "must be false",
    ),
    Rule(
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
    Rule(
        PssCheck.RUN_AS_USER,
        "run-as-user",
        "spec.securityContext.runAsUser",
        _pod("securityContext.runAsUser", "{v} != 0")
        + " && "
        + _each("securityContext.runAsUser", "{v} != 0"),
        "(pod or container) must not be 0",
    ),
    Rule(
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
    Rule(
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


RULE_NAMES: Mapping[PssCheck, str] = {r.check: r.rule for r in BASELINE_RULES + RESTRICTED_RULES}
"""The `tenantry/<rule>` each check's rejections start with."""
