"""One pod per Pod Security Standards field, each breaking exactly that field (where the API's
own validation allows it), for the admission tests of the unit tier (CEL interpreter) and of
the integration tier (a real API server).

Every pod starts from CLEAN, which passes the restricted level, so a case at any level breaks
only what it sets.
"""

import copy
from dataclasses import dataclass, field
from typing import Any

from tenantry_api.sandbox import NEVER_EXEMPT, PssCheck

Pod = dict[str, Any]

CLEAN: Pod = {
    "metadata": {},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": "busybox",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    },
}
"""Passes every check of the restricted level."""

HOST_ACCESS = NEVER_EXEMPT | {PssCheck.HOST_PROBES}
"""Fields that reach the node itself: no configuration may ever admit them."""


@dataclass(frozen=True)
class Case:
    id: str
    check: PssCheck
    pod: Pod
    rule: str
    """The start of the Tenantry message: `tenantry/<rule>: <field>`."""
    also: tuple[PssCheck, ...] = field(default=())
    """Other checks the API's validation forces the pod to break too."""


def _pod(spec: dict[str, Any] | None = None, container: dict[str, Any] | None = None) -> Pod:
    pod = copy.deepcopy(CLEAN)
    pod["spec"].update(spec or {})
    c = pod["spec"]["containers"][0]
    for key, value in (container or {}).items():
        if key == "securityContext":
            c["securityContext"].update(value)
        else:
            c[key] = value
    return pod


def _annotated(annotations: dict[str, str]) -> Pod:
    pod = _pod()
    pod["metadata"]["annotations"] = annotations
    return pod


def _without(key: str) -> Pod:
    """CLEAN with one field of its container's securityContext left unset."""
    pod = _pod()
    del pod["spec"]["containers"][0]["securityContext"][key]
    return pod


def _probe(kind: str) -> dict[str, Any]:
    return {kind: {"host": "127.0.0.1", "port": 10250}}


CASES: tuple[Case, ...] = (
    # --- baseline ---
    Case(
        "hostNetwork",
        PssCheck.HOST_NETWORK,
        _pod({"hostNetwork": True}),
        "tenantry/host-namespaces: spec.hostNetwork",
    ),
    Case(
        "hostPID",
        PssCheck.HOST_PID,
        _pod({"hostPID": True}),
        "tenantry/host-namespaces: spec.hostPID",
    ),
    Case(
        "hostIPC",
        PssCheck.HOST_IPC,
        _pod({"hostIPC": True}),
        "tenantry/host-namespaces: spec.hostIPC",
    ),
    # The API wants hostNetwork beside a HostProcess container.
    Case(
        "hostProcess",
        PssCheck.HOST_PROCESS,
        _pod({"hostNetwork": True}, {"securityContext": {"windowsOptions": {"hostProcess": True}}}),
        "tenantry/host-process: spec.securityContext.windowsOptions.hostProcess",
        also=(PssCheck.HOST_NETWORK,),
    ),
    # The API refuses privileged beside allowPrivilegeEscalation: false.
    Case(
        "privileged",
        PssCheck.PRIVILEGED,
        _pod(container={"securityContext": {"privileged": True, "allowPrivilegeEscalation": True}}),
        "tenantry/privileged: spec.containers[*].securityContext.privileged",
        also=(PssCheck.PRIVILEGE_ESCALATION,),
    ),
    Case(
        "capabilities",
        PssCheck.CAPABILITIES,
        _pod(
            container={"securityContext": {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}
        ),
        "tenantry/capabilities: spec.containers[*].securityContext.capabilities.add",
        also=(PssCheck.CAPABILITIES_DROP_ALL,),
    ),
    Case(
        "hostPath",
        PssCheck.HOST_PATH,
        _pod({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
        "tenantry/host-path: spec.volumes[*].hostPath",
        also=(PssCheck.VOLUME_TYPES,),
    ),
    Case(
        "hostPath-containerd",
        PssCheck.HOST_PATH,
        _pod({"volumes": [{"name": "cri", "hostPath": {"path": "/run/containerd"}}]}),
        "tenantry/host-path: spec.volumes[*].hostPath",
        also=(PssCheck.VOLUME_TYPES,),
    ),
    Case(
        "hostPort",
        PssCheck.HOST_PORT,
        _pod(container={"ports": [{"containerPort": 80, "hostPort": 8080}]}),
        "tenantry/host-ports: spec.containers[*].ports[*].hostPort",
    ),
    Case(
        "appArmorProfile",
        PssCheck.APPARMOR,
        _pod(container={"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
        "tenantry/apparmor: spec.securityContext.appArmorProfile.type",
    ),
    Case(
        "appArmor-annotation",
        PssCheck.APPARMOR,
        _annotated({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
        "tenantry/apparmor: ",
    ),
    Case(
        "seLinuxOptions",
        PssCheck.SELINUX,
        _pod(container={"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}),
        "tenantry/selinux: spec.securityContext.seLinuxOptions",
    ),
    Case(
        "seLinuxOptions-user",
        PssCheck.SELINUX,
        _pod(
            {
                "securityContext": {
                    **CLEAN["spec"]["securityContext"],
                    "seLinuxOptions": {"user": "system_u"},
                }
            }
        ),
        "tenantry/selinux: spec.securityContext.seLinuxOptions",
    ),
    # Unmasked /proc needs a user namespace.
    Case(
        "procMount",
        PssCheck.PROC_MOUNT,
        _pod({"hostUsers": False}, {"securityContext": {"procMount": "Unmasked"}}),
        "tenantry/proc-mount: spec.containers[*].securityContext.procMount",
    ),
    Case(
        "seccompProfile",
        PssCheck.SECCOMP,
        _pod({"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}}}),
        "tenantry/seccomp: spec.securityContext.seccompProfile.type",
        also=(PssCheck.SECCOMP_REQUIRED,),
    ),
    Case(
        "sysctls",
        PssCheck.SYSCTLS,
        _pod(
            {
                "securityContext": {
                    **CLEAN["spec"]["securityContext"],
                    "sysctls": [{"name": "kernel.msgmax", "value": "65536"}],
                }
            }
        ),
        "tenantry/sysctls: spec.securityContext.sysctls[*].name",
    ),
    Case(
        "probe-host",
        PssCheck.HOST_PROBES,
        _pod(container={"livenessProbe": _probe("httpGet")}),
        "tenantry/host-probes: ",
    ),
    Case(
        "lifecycle-host",
        PssCheck.HOST_PROBES,
        _pod(container={"lifecycle": {"preStop": _probe("tcpSocket")}}),
        "tenantry/host-probes: ",
    ),
    # --- restricted ---
    Case(
        "volumeTypes",
        PssCheck.VOLUME_TYPES,
        _pod({"volumes": [{"name": "n", "nfs": {"server": "10.0.0.1", "path": "/"}}]}),
        "tenantry/volume-types: spec.volumes[*]",
    ),
    Case(
        "allowPrivilegeEscalation",
        PssCheck.PRIVILEGE_ESCALATION,
        _without("allowPrivilegeEscalation"),
        "tenantry/privilege-escalation: "
        "spec.containers[*].securityContext.allowPrivilegeEscalation",
    ),
    Case(
        "runAsNonRoot",
        PssCheck.RUN_AS_NON_ROOT,
        _pod(
            {
                "securityContext": {
                    "runAsNonRoot": False,
                    "seccompProfile": {"type": "RuntimeDefault"},
                }
            }
        ),
        "tenantry/run-as-non-root: spec.securityContext.runAsNonRoot",
    ),
    Case(
        "runAsUser",
        PssCheck.RUN_AS_USER,
        _pod(container={"securityContext": {"runAsUser": 0}}),
        "tenantry/run-as-user: spec.securityContext.runAsUser",
    ),
    Case(
        "seccompProfileRequired",
        PssCheck.SECCOMP_REQUIRED,
        _pod({"securityContext": {"runAsNonRoot": True}}),
        "tenantry/seccomp-required: spec.securityContext.seccompProfile.type",
    ),
    Case(
        "capabilitiesDropAll",
        PssCheck.CAPABILITIES_DROP_ALL,
        _without("capabilities"),
        "tenantry/capabilities-drop-all: spec.containers[*].securityContext.capabilities",
    ),
)

NOT_NAMESPACED_SYSCTL = Case(
    "sysctls-not-namespaced",
    PssCheck.SYSCTLS,
    _pod(
        {
            "securityContext": {
                **CLEAN["spec"]["securityContext"],
                "sysctls": [{"name": "vm.swappiness", "value": "10"}],
            }
        }
    ),
    "tenantry/sysctls: spec.securityContext.sysctls[*].name",
)
"""A sysctl no sandbox exemption covers: not namespaced, so it is the node's."""


def moved(case: Case, to: str) -> Pod:
    """The same pod with its offending container moved to ``to`` (initContainers or
    ephemeralContainers), and a clean one in its place."""
    pod = copy.deepcopy(case.pod)
    pod["spec"][to] = [{**pod["spec"]["containers"][0], "name": "moved"}]
    pod["spec"]["containers"] = copy.deepcopy(CLEAN["spec"]["containers"])
    return pod


CONTAINER_CASES = tuple(
    c
    for c in CASES
    if c.check
    in {
        PssCheck.PRIVILEGED,
        PssCheck.CAPABILITIES,
        PssCheck.APPARMOR,
        PssCheck.SELINUX,
        PssCheck.SECCOMP,
        PssCheck.PRIVILEGE_ESCALATION,
        PssCheck.RUN_AS_USER,
        PssCheck.CAPABILITIES_DROP_ALL,
    }
    and "securityContext" in c.pod["spec"]["containers"][0]
    and c.pod["spec"]["containers"][0] != CLEAN["spec"]["containers"][0]
)
"""Cases whose offending field is on the container, to be tried in every kind of container."""
