"""What each sandbox backend needs on the node, and the containerd runtime table it gets.

The sandbox itself always comes from an existing runtime, installed with the node image or a
package; the agent only wires it into containerd. Handler names come from ``tenantry_api``.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from tenantry_api.runtimes import RuntimeBackend

HARDENED_SPEC_NAME = "tenantry-runc-hardened.json"


@dataclass(frozen=True)
class Backend:
    binaries: tuple[str, ...]
    """Executables that must be on the node (searched in the agent's binary dirs)."""
    runtime_type: str
    privileged_without_host_devices: bool = True
    """A sandbox gets no host devices even for a privileged pod: it has its own kernel."""
    options: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def runtime_table(self, binary_paths: dict[str, str], config_dir: str) -> dict[str, Any]:
        table: dict[str, Any] = {"runtime_type": self.runtime_type}
        if self.privileged_without_host_devices:
            table["privileged_without_host_devices"] = True
        for key, value in self.extra.items():
            table[key] = value.format(config_dir=config_dir) if isinstance(value, str) else value
        if self.options:
            table["options"] = {
                key: value.format(**binary_paths) for key, value in self.options.items()
            }
        return table


BACKENDS: dict[RuntimeBackend, Backend] = {
    # gVisor's own shim: it follows every container inside the sandbox (runc's shim loses
    # their exits) and calls `runsc` from containerd's PATH.
    RuntimeBackend.GVISOR: Backend(
        binaries=("runsc", "containerd-shim-runsc-v1"),
        runtime_type="io.containerd.runsc.v1",
        options={"TypeUrl": "io.containerd.runsc.v1.options"},
    ),
    # Kata: as kata-deploy registers it (pod annotations let Kata read its per-pod settings).
    RuntimeBackend.KATA: Backend(
        binaries=("containerd-shim-kata-v2",),
        runtime_type="io.containerd.kata.v2",
        extra={"pod_annotations": ["io.katacontainers.*"]},
    ),
    # Sysbox: runc's shim driving sysbox-runc; sysbox-mgr and sysbox-fs must be running.
    RuntimeBackend.SYSBOX: Backend(
        binaries=("sysbox-runc", "sysbox-mgr", "sysbox-fs"),
        runtime_type="io.containerd.runc.v2",
        options={"BinaryName": "{sysbox-runc}"},
    ),
    # Plain runc with a restrictive base spec. Not a sandbox: privileged pods keep host devices.
    RuntimeBackend.RUNC_HARDENED: Backend(
        binaries=("runc",),
        runtime_type="io.containerd.runc.v2",
        privileged_without_host_devices=False,
        options={"BinaryName": "{runc}"},
        extra={"base_runtime_spec": "{config_dir}/" + HARDENED_SPEC_NAME},
    ),
}

# runc-hardened's base spec: containerd starts every container of the handler from this
# instead of its built-in default. Fewer capabilities than Docker's default set (no
# NET_RAW, MKNOD, SYS_CHROOT, SETFCAP, AUDIT_WRITE), and the kernel interfaces masked or
# read-only as runc does by default. No-new-privileges is not set here: CRI sets it on every
# container from the pod's allowPrivilegeEscalation, over whatever the base spec says.
_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
]


def _mount(destination: str, source: str, fstype: str, *options: str) -> dict[str, Any]:
    return {"destination": destination, "type": fstype, "source": source, "options": list(options)}


def hardened_spec() -> str:
    spec = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "cwd": "/",
            "capabilities": dict.fromkeys(("bounding", "permitted", "effective"), _CAPABILITIES),
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        },
        "root": {"path": "rootfs"},
        "mounts": [
            _mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            _mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            _mount(
                "/dev/pts",
                "devpts",
                "devpts",
                *("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"),
            ),
            _mount(
                "/dev/shm", "shm", "tmpfs", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"
            ),
            _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            _mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
            _mount("/run", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/proc/scsi",
                "/sys/firmware",
                "/sys/devices/virtual/powercap",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }
    return json.dumps(spec, indent=2) + "\n"


def extra_files(backend: RuntimeBackend) -> dict[str, str]:
    """Files the agent writes next to containerd's config for ``backend`` (name -> content)."""
    if backend is RuntimeBackend.RUNC_HARDENED:
        return {HARDENED_SPEC_NAME: hardened_spec()}
    return {}
