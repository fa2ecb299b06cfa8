"""Pod Security Standards checks, so a pod the tenant's level forbids is never synced.

The virtual API server enforces PSS on its own namespaces' labels; this is the host-side
guard for the level the VirtualCluster was given (`SyncerConfig.pod_security_level`), checked
before anything reaches the host. It follows the published baseline and restricted rules.
"""

from collections.abc import Iterator
from typing import Any

from tenantry_api.config import PodSecurityLevel

Manifest = dict[str, Any]

BASELINE_CAPABILITIES = frozenset(
    {
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
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
        "image",
    }
)


def _containers(spec: Manifest) -> Iterator[tuple[str, Manifest]]:
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(spec.get(list_name) or []):
            yield f"spec.{list_name}[{i}]", container


def _baseline(spec: Manifest) -> Iterator[str]:
    pod_sc = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"spec.{field}: host namespaces are not allowed"
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        yield "spec.securityContext.windowsOptions.hostProcess: not allowed"
    for i, volume in enumerate(spec.get("volumes") or []):
        if "hostPath" in volume:
            yield f"spec.volumes[{i}].hostPath: hostPath volumes are not allowed"
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"spec.securityContext.sysctls: {sysctl.get('name')} is not a safe sysctl"
    yield from _profiles("spec.securityContext", pod_sc)
    for path, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            yield f"{path}.securityContext.privileged: privileged containers are not allowed"
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield f"{path}.securityContext.windowsOptions.hostProcess: not allowed"
        beyond = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if beyond:
            listed = ", ".join(sorted(beyond))
            yield f"{path}.securityContext.capabilities.add: {listed} not allowed"
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                yield f"{path}.ports: hostPort {port['hostPort']} is not allowed"
        if sc.get("procMount", "Default") != "Default":
            yield f"{path}.securityContext.procMount: must be Default"
        yield from _profiles(f"{path}.securityContext", sc)


def _profiles(path: str, sc: Manifest) -> Iterator[str]:
    if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield f"{path}.seccompProfile.type: Unconfined is not allowed"
    if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        yield f"{path}.appArmorProfile.type: Unconfined is not allowed"
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES:
        yield f"{path}.seLinuxOptions.type: {selinux['type']} is not allowed"
    if selinux.get("user") or selinux.get("role"):
        yield f"{path}.seLinuxOptions: user and role must not be set"


def _restricted(spec: Manifest) -> Iterator[str]:
    pod_sc = spec.get("securityContext") or {}
    for i, volume in enumerate(spec.get("volumes") or []):
        forbidden = set(volume) - {"name"} - RESTRICTED_VOLUMES
        if forbidden:
            yield f"spec.volumes[{i}]: {', '.join(sorted(forbidden))} volumes are not allowed"
    if pod_sc.get("runAsUser") == 0:
        yield "spec.securityContext.runAsUser: must not be 0"
    for path, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{path}.securityContext.allowPrivilegeEscalation: must be false"
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False)):
            yield f"{path}.securityContext.runAsNonRoot: must be true"
        if sc.get("runAsUser") == 0:
            yield f"{path}.securityContext.runAsUser: must not be 0"
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"{path}.securityContext.seccompProfile.type: must be RuntimeDefault or Localhost"
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{path}.securityContext.capabilities.drop: must include ALL"
        extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            yield f"{path}.securityContext.capabilities.add: only NET_BIND_SERVICE is allowed"


def violations(spec: Manifest, level: PodSecurityLevel) -> list[str]:
    """Every way ``spec`` breaks ``level``; empty when it may run."""
    if level is PodSecurityLevel.PRIVILEGED:
        return []
    found = list(_baseline(spec))
    if level is PodSecurityLevel.RESTRICTED:
        found += _restricted(spec)
    return found
