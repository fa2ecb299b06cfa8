"""Pod Security Standards checks, so a pod the tenant's level forbids is never synced.

The virtual API server enforces PSS on its own namespaces' labels; this is the host-side
guard for the level the VirtualCluster was given (`SyncerConfig.pod_security_level`), checked
before anything reaches the host. It follows the published baseline and restricted rules;
each finding names its rule (a `PssCheck`) and the field, so a caller can exempt a rule the
sandbox contains (api/ `sandbox.exemptions`) and the tenant's Event says which rule refused.
"""

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from tenantry_api.config import PodSecurityLevel
from tenantry_api.pss import BASELINE_CAPABILITIES, RESTRICTED_VOLUMES, SAFE_SYSCTLS, SELINUX_TYPES
from tenantry_api.sandbox import PssCheck
from tenantry_api.types import Manifest

from tenantry_syncer.resources.pods import CONTAINER_LISTS


@dataclass(frozen=True)
class Finding:
    """What one rule says of one field of a pod, as the tenant's Event tells it."""

    check: PssCheck
    field: str
    """Path of the field, e.g. ``spec.containers[0].securityContext.privileged``."""
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.detail} (rule {self.check.value})"


class Violation(Finding):
    """A field that breaks its rule."""


def _containers(spec: Manifest) -> Iterator[tuple[str, Manifest]]:
    for list_name in CONTAINER_LISTS:
        for i, container in enumerate(spec.get(list_name) or []):
            yield f"spec.{list_name}[{i}]", container


HOST_NAMESPACE_CHECKS = {
    "hostNetwork": PssCheck.HOST_NETWORK,
    "hostPID": PssCheck.HOST_PID,
    "hostIPC": PssCheck.HOST_IPC,
}


def _baseline(spec: Manifest) -> Iterator[Violation]:
    pod_sc = spec.get("securityContext") or {}
    for key, check in HOST_NAMESPACE_CHECKS.items():
        if spec.get(key):
            yield Violation(check, f"spec.{key}", "host namespaces are not allowed")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        yield Violation(
            PssCheck.HOST_PROCESS, "spec.securityContext.windowsOptions.hostProcess", "not allowed"
        )
    for i, volume in enumerate(spec.get("volumes") or []):
        if "hostPath" in volume:
            yield Violation(
                PssCheck.HOST_PATH,
                f"spec.volumes[{i}].hostPath",
                "hostPath volumes are not allowed",
            )
    for i, sysctl in enumerate(pod_sc.get("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield Violation(
                PssCheck.SYSCTLS,
                f"spec.securityContext.sysctls[{i}].name",
                f"{sysctl.get('name')} is not a safe sysctl",
            )
    yield from _profiles("spec.securityContext", pod_sc)
    for path, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            yield Violation(
                PssCheck.PRIVILEGED,
                f"{path}.securityContext.privileged",
                "privileged containers are not allowed",
            )
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield Violation(
                PssCheck.HOST_PROCESS,
                f"{path}.securityContext.windowsOptions.hostProcess",
                "not allowed",
            )
        beyond = set((sc.get("capabilities") or {}).get("add") or []) - set(BASELINE_CAPABILITIES)
        if beyond:
            yield Violation(
                PssCheck.CAPABILITIES,
                f"{path}.securityContext.capabilities.add",
                f"{', '.join(sorted(beyond))} not allowed",
            )
        for j, port in enumerate(container.get("ports") or []):
            if port.get("hostPort"):
                yield Violation(
                    PssCheck.HOST_PORT,
                    f"{path}.ports[{j}].hostPort",
                    f"hostPort {port['hostPort']} is not allowed",
                )
        if sc.get("procMount", "Default") != "Default":
            yield Violation(
                PssCheck.PROC_MOUNT, f"{path}.securityContext.procMount", "must be Default"
            )
        yield from _profiles(f"{path}.securityContext", sc)


def _profiles(path: str, sc: Manifest) -> Iterator[Violation]:
    if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield Violation(
            PssCheck.SECCOMP,
            f"{path}.seccompProfile.type",
            "Unconfined is not allowed",
        )
    if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        yield Violation(
            PssCheck.APPARMOR, f"{path}.appArmorProfile.type", "Unconfined is not allowed"
        )
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES:
        yield Violation(
            PssCheck.SELINUX, f"{path}.seLinuxOptions.type", f"{selinux['type']} is not allowed"
        )
    if selinux.get("user") or selinux.get("role"):
        yield Violation(PssCheck.SELINUX, f"{path}.seLinuxOptions", "user and role must not be set")


def _restricted(spec: Manifest) -> Iterator[Violation]:
    pod_sc = spec.get("securityContext") or {}
    for i, volume in enumerate(spec.get("volumes") or []):
        forbidden = set(volume) - {"name"} - set(RESTRICTED_VOLUMES)
        if forbidden:
            yield Violation(
                PssCheck.VOLUME_TYPES,
                f"spec.volumes[{i}]",
                f"{', '.join(sorted(forbidden))} volumes are not allowed",
            )
    if pod_sc.get("runAsUser") == 0:
        yield Violation(PssCheck.RUN_AS_USER, "spec.securityContext.runAsUser", "must not be 0")
    for path, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            yield Violation(
                PssCheck.PRIVILEGE_ESCALATION,
                f"{path}.securityContext.allowPrivilegeEscalation",
                "must be false",
            )
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False)):
            yield Violation(
                PssCheck.RUN_AS_NON_ROOT, f"{path}.securityContext.runAsNonRoot", "must be true"
            )
        if sc.get("runAsUser") == 0:
            yield Violation(
                PssCheck.RUN_AS_USER, f"{path}.securityContext.runAsUser", "must not be 0"
            )
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield Violation(
                PssCheck.SECCOMP_REQUIRED,
                f"{path}.securityContext.seccompProfile.type",
                "must be RuntimeDefault or Localhost",
            )
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield Violation(
                PssCheck.CAPABILITIES_DROP_ALL,
                f"{path}.securityContext.capabilities.drop",
                "must include ALL",
            )
        extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            yield Violation(
                PssCheck.CAPABILITIES_DROP_ALL,
                f"{path}.securityContext.capabilities.add",
                "only NET_BIND_SERVICE is allowed",
            )


def findings(spec: Manifest, level: PodSecurityLevel) -> list[Violation]:
    """Every way ``spec`` breaks ``level``, with the baseline as the floor: `privileged`
    alone contains nothing, so a pod is only let past a baseline rule by an exemption."""
    found = list(_baseline(spec))
    if level is PodSecurityLevel.RESTRICTED:
        found += _restricted(spec)
    return found


def violations(
    spec: Manifest, level: PodSecurityLevel, exempt: Collection[PssCheck] = ()
) -> list[Violation]:
    """The findings of ``spec`` at ``level`` that no rule of ``exempt`` waives; empty when
    it may run."""
    return [v for v in findings(spec, level) if v.check not in exempt]
