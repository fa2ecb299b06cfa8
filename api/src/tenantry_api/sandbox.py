"""Which Pod Security Standards checks each sandbox backend really contains.

The TenantPolicy's admission rules are generated from this table: under a VirtualNode's
RuntimeClass a check is waved through only when the table exempts it for that backend. Every
exemption says why the sandbox contains what the check guards against, and where that is
shown: a test in this repository, or the backend's own documentation when no test here can run
it. Host access (hostPath, hostNetwork, hostPort) is never exempted: the sandbox does not stand
between those and the node.

Only baseline checks are ever exempted. A tenant at the restricted level asked for restricted
pods, and the API server's Pod Security admission enforces that level whatever the
RuntimeClass, so a restricted exemption here would only be a promise nothing keeps.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from tenantry_api.runtimes import RuntimeBackend

__all__ = [
    "BASELINE",
    "NAMESPACED_SYSCTLS",
    "NEVER_EXEMPT",
    "RESTRICTED",
    "Exemption",
    "PssCheck",
    "exemptions",
]


class PssCheck(StrEnum):
    """One check of the Pod Security Standards, named after the pod field it inspects.

    The baseline's "host namespaces" control is split in three, because a sandbox contains
    some host namespaces and not others.
    """

    # baseline
    HOST_NETWORK = "hostNetwork"
    HOST_PID = "hostPID"
    HOST_IPC = "hostIPC"
    HOST_PROCESS = "hostProcess"
    PRIVILEGED = "privileged"
    CAPABILITIES = "capabilities"
    HOST_PATH = "hostPath"
    HOST_PORT = "hostPort"
    APPARMOR = "appArmorProfile"
    SELINUX = "seLinuxOptions"
    PROC_MOUNT = "procMount"
    SECCOMP = "seccompProfile"
    SYSCTLS = "sysctls"
    HOST_PROBES = "hostProbesAndHostLifecycle"
    """The host of an httpGet or tcpSocket probe or lifecycle hook: the kubelet dials it from
    the node, so no sandbox contains it either, and no backend exempts it."""
    # restricted, on top of the baseline
    VOLUME_TYPES = "volumeTypes"
    PRIVILEGE_ESCALATION = "allowPrivilegeEscalation"
    RUN_AS_NON_ROOT = "runAsNonRoot"
    RUN_AS_USER = "runAsUser"
    SECCOMP_REQUIRED = "seccompProfileRequired"
    CAPABILITIES_DROP_ALL = "capabilitiesDropAll"


BASELINE: tuple[PssCheck, ...] = tuple(PssCheck)[: list(PssCheck).index(PssCheck.VOLUME_TYPES)]
"""The baseline level's checks."""
RESTRICTED: tuple[PssCheck, ...] = tuple(PssCheck)[len(BASELINE) :]
"""The checks the restricted level adds to the baseline's."""

NEVER_EXEMPT: frozenset[PssCheck] = frozenset(
    {PssCheck.HOST_PATH, PssCheck.HOST_NETWORK, PssCheck.HOST_PORT}
)
"""Host access no sandbox contains: a hostPath is served from the node's own filesystem (by
gVisor's gofer, by Kata's virtio-fs daemon), hostNetwork is the node's network namespace
(where the kubelet listens) and a hostPort is bound on the node's address."""

NAMESPACED_SYSCTLS: tuple[str, ...] = (
    "kernel.shm",
    "kernel.msg",
    "kernel.sem",
    "fs.mqueue.",
    "net.",
)
"""Prefixes of the sysctls Linux namespaces per pod; the kubelet refuses every other sysctl.
Under a sandbox that exempts sysctls, a pod may set any of these (they land in the sandbox's
kernel), and still nothing else."""


@dataclass(frozen=True)
class Exemption:
    """Why a backend's sandbox contains what a check guards against."""

    check: PssCheck
    reason: str
    source: str
    """Where it is shown: a test here, or the backend's documentation."""


_ESCAPE_TEST = "tests/integration/test_node_agent.py::test_the_escape_is_contained"
_EVERY_TEST = (
    "tests/integration/test_node_agent.py::"
    "test_every_exemption_gvisor_is_granted_still_lands_in_the_sandbox"
)
_GVISOR_SECURITY = "https://gvisor.dev/docs/architecture_guide/security/"
_KATA_ARCH = "https://github.com/kata-containers/kata-containers/blob/main/docs/design/architecture/README.md"
_KATA_PRIVILEGED = (
    "https://github.com/kata-containers/kata-containers/blob/main/docs/how-to/privileged.md"
)
_SYSBOX_SECURITY = "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/security.md"


def _table(*rows: Exemption) -> Mapping[PssCheck, Exemption]:
    table = {row.check: row for row in rows}
    if len(table) != len(rows) or table.keys() & (NEVER_EXEMPT | set(RESTRICTED)):
        raise ValueError(
            f"a sandbox may exempt each baseline check once, never host access: {rows}"
        )
    return MappingProxyType(table)


_GVISOR = _table(
    Exemption(
        PssCheck.PRIVILEGED,
        "a privileged container is privileged inside the Sentry, gVisor's user-space kernel: "
        "it gets the Sentry's devices and capabilities, never the node's; the node tier runs "
        "vNode's privileged escape and sees only the sandbox",
        f"{_ESCAPE_TEST}; {_EVERY_TEST}; {_GVISOR_SECURITY}",
    ),
    Exemption(
        PssCheck.CAPABILITIES,
        "capabilities are checked by the Sentry against the sandbox's own objects; the Sentry "
        "itself runs unprivileged under a fixed seccomp filter on the node; the node tier's "
        "container holds CAP_SYS_ADMIN and still cannot reach a host process",
        f"{_EVERY_TEST}; {_GVISOR_SECURITY}",
    ),
    Exemption(
        PssCheck.HOST_PID,
        "the sandbox has its own PID namespace whatever the pod asks: under hostPID the escape "
        "test sees the pod's own pause process as PID 1, and setns into a host process fails",
        _ESCAPE_TEST,
    ),
    Exemption(
        PssCheck.SECCOMP,
        "the container's system calls are served by the Sentry, not the node's kernel; the "
        "Sentry's own calls to the node are filtered by gVisor's seccomp profile; the node "
        "tier's container runs unfiltered (Seccomp: 0) on the Sentry's kernel",
        f"{_EVERY_TEST}; {_GVISOR_SECURITY}",
    ),
    Exemption(
        PssCheck.APPARMOR,
        "AppArmor confines host processes; the container's processes exist only inside the "
        "Sentry, which the node's AppArmor never sees (the test VM has no AppArmor, so only "
        "the documentation shows this)",
        _GVISOR_SECURITY,
    ),
    Exemption(
        PssCheck.PROC_MOUNT,
        "/proc inside the sandbox is the Sentry's procfs, so an unmasked /proc (which CRI gives "
        "a privileged container) shows the sandbox, not the node",
        f"{_EVERY_TEST}; {_GVISOR_SECURITY}",
    ),
    Exemption(
        PssCheck.SYSCTLS,
        "namespaced sysctls belong to the Sentry's kernel: the node tier's pod sets "
        "kernel.msgmax and net.core.somaxconn, and the node's values do not change",
        f"{_EVERY_TEST}; {_GVISOR_SECURITY}",
    ),
)

_KATA = _table(
    Exemption(
        PssCheck.PRIVILEGED,
        "a privileged container is privileged inside the pod's VM, with the guest kernel's "
        "devices: the agent registers Kata with privileged_without_host_devices, so no host "
        "device is passed in (not run here: no nested virtualization)",
        f"{_KATA_PRIVILEGED}; node-agent/src/tenantry_node_agent/backends.py",
    ),
    Exemption(
        PssCheck.CAPABILITIES,
        "capabilities apply to the guest kernel of the pod's VM (not run here)",
        _KATA_ARCH,
    ),
    Exemption(
        PssCheck.SECCOMP,
        "the container's system calls reach the guest kernel; the node only sees the VMM's "
        "(not run here)",
        _KATA_ARCH,
    ),
    Exemption(
        PssCheck.APPARMOR,
        "AppArmor confines host processes; the container's processes run in the guest (not "
        "run here)",
        _KATA_ARCH,
    ),
    Exemption(
        PssCheck.PROC_MOUNT,
        "/proc inside the VM is the guest kernel's (not run here)",
        _KATA_ARCH,
    ),
    Exemption(
        PssCheck.SYSCTLS,
        "namespaced sysctls are set in the guest kernel (not run here)",
        _KATA_ARCH,
    ),
)

_SYSBOX = _table(
    Exemption(
        PssCheck.CAPABILITIES,
        "sysbox always runs the container in its own user namespace, so added capabilities "
        "act on the container's namespaces only; it still shares the node's kernel, so "
        "nothing that widens the kernel's reach (privileged, seccomp, AppArmor, /proc) is "
        "exempted (not run here)",
        _SYSBOX_SECURITY,
    ),
)

_TABLES: Mapping[RuntimeBackend, Mapping[PssCheck, Exemption]] = MappingProxyType(
    {
        RuntimeBackend.GVISOR: _GVISOR,
        RuntimeBackend.KATA: _KATA,
        RuntimeBackend.SYSBOX: _SYSBOX,
        # runc with a narrower default spec: the host kernel, unsandboxed. Nothing is exempted.
        RuntimeBackend.RUNC_HARDENED: _table(),
    }
)


def exemptions(backend: RuntimeBackend) -> Mapping[PssCheck, Exemption]:
    """The checks ``backend``'s sandbox contains, each with its reason and source."""
    return _TABLES[backend]
