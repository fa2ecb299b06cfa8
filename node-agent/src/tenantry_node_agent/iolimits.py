"""Tenant noise limits: io.max and io.weight on each tenant pod's cgroup (cgroup v2 ``io``).

Where the io controller is missing (cgroup v1, or v2 without ``io`` delegated) nothing is
written, and the node gets a condition saying why.
"""

from dataclasses import dataclass
from pathlib import Path

from tenantry_api.config import IoLimits

# Not real disks: limits on them would be noise.
_VIRTUAL_DEVICES = ("loop", "ram", "zram", "sr", "fd")


@dataclass(frozen=True)
class Support:
    ok: bool
    reason: str
    message: str


def support(cgroup_version: int, io_controller: bool) -> Support:
    if cgroup_version != 2:
        return Support(
            False,
            "CgroupV1",
            "the node runs cgroup v1 (pods are in the v1 blkio hierarchy); io.max and "
            "io.weight need cgroup v2's io controller",
        )
    if not io_controller:
        return Support(
            False,
            "NoIOController",
            "cgroup v2 is mounted but the io controller is not enabled at its root",
        )
    return Support(True, "Applied", "tenant pods get io.max/io.weight from the VirtualNode")


def io_weight(limits: IoLimits) -> str | None:
    return None if limits.weight is None else f"default {limits.weight}"


def io_max(device: str, limits: IoLimits) -> str | None:
    """One io.max line for ``device`` (``major:minor``), or None when no limit is set."""
    fields = [
        f"{key}={value}"
        for key, value in (
            ("rbps", limits.read_bps),
            ("wbps", limits.write_bps),
            ("riops", limits.read_iops),
            ("wiops", limits.write_iops),
        )
        if value is not None
    ]
    return f"{device} {' '.join(fields)}" if fields else None


def block_devices(sys_block: Path = Path("/sys/block")) -> list[str]:
    """``major:minor`` of every real block device."""
    devices = []
    for entry in sorted(sys_block.iterdir()) if sys_block.is_dir() else []:
        if entry.name.startswith(_VIRTUAL_DEVICES):
            continue
        dev = entry / "dev"
        if dev.exists():
            devices.append(dev.read_text().strip())
    return devices


def pod_cgroups(root: Path, uid: str) -> list[Path]:
    """The pod's cgroup under either kubelet cgroup driver:
    cgroupfs ``kubepods[/<qos>]/pod<uid>``, systemd ``kubepods-<qos>-pod<uid_>.slice``."""
    systemd_uid = uid.replace("-", "_")
    found = []
    kubepods = [root / "kubepods", root / "kubepods.slice"]
    for base in (k for k in kubepods if k.is_dir()):
        for candidate in (base, *(d for d in base.iterdir() if d.is_dir())):
            for name in (
                f"pod{uid}",
                f"{candidate.name.removesuffix('.slice')}-pod{systemd_uid}.slice",
            ):
                if (candidate / name).is_dir():
                    found.append(candidate / name)
    return found


def apply(cgroup: Path, limits: IoLimits, devices: list[str]) -> list[str]:
    """Write the limits into one pod cgroup; returns the files written."""
    written = []
    weight = io_weight(limits)
    if weight is not None:
        (cgroup / "io.weight").write_text(weight)
        written.append(str(cgroup / "io.weight"))
    for device in devices:
        line = io_max(device, limits)
        if line is not None:
            (cgroup / "io.max").write_text(line)
            written.append(f"{cgroup / 'io.max'} {device}")
    return written
