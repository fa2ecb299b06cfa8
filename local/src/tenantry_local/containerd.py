"""Debian's containerd (1.6) living entirely under one directory: its config, root, state,
socket, CNI config and pod network namespaces; and the clean-up of what it leaves behind.

Shared by the local cluster's real node and the node tier's tests (tests/support/containerd.py).
"""

import subprocess
import sys
from pathlib import Path

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
CNI_BIN = "/usr/lib/cni"
# What the kubelet and containerd run a pod with (Debian packages, hack/node/packages.env).
DEBIAN_BINARIES = (CONTAINERD, CTR, "/usr/sbin/runc", "/bin/busybox")
# The pause image kubeadm 1.34 configures (cmd/kubeadm/app/constants PauseVersion = 3.10.1;
# the kubelet itself no longer has a default since its --pod-infra-container-image went).


def config_toml(
    root: Path,
    *,
    sandbox_image: str,
    cni_conf_dir: Path,
    certs_dir: Path | None = None,
) -> str:
    """containerd 1.x config (version 2) for a containerd living entirely under ``root``.
    ``certs_dir`` is containerd's ``config_path`` for registry mirrors
    (``<certs_dir>/<host>/hosts.toml``)."""
    registry = (
        f"""
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "{certs_dir}"
"""
        if certs_dir is not None
        else ""
    )
    return f"""\
# containerd for Tenantry's local node (tenantry_local.containerd)
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", \
"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{socket_of(root)}"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{sandbox_image}"
    # Pod network namespaces under the state dir, so the teardown finds every one.
    netns_mounts_under_state_dir = true
    # Needed on this VM: containerd otherwise fails to set the sandbox's oom_score_adj.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{CNI_BIN}"
      conf_dir = "{cni_conf_dir}"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
{registry}"""


def socket_of(root: Path) -> Path:
    return root / "containerd.sock"


def supervised(config: Path, pid_file: Path, starts_file: Path) -> list[str]:
    """The command that runs containerd under tenantry_local.supervise."""
    return [
        sys.executable,
        "-m",
        "tenantry_local.supervise",
        f"--pid-file={pid_file}",
        f"--starts-file={starts_file}",
        "--",
        CONTAINERD,
        "--config",
        str(config),
    ]


def ctr(socket: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CTR, "--address", str(socket), "--namespace", "k8s.io", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def kill_shims(root: Path) -> None:
    """A shim outlives containerd by design; ours name our containerd's socket (under
    ``root``) on their command line, which tells them apart from any other containerd's."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = any(str(root).encode() in a for a in argv)
        if argv and (b"containerd-shim" in argv[0] or b"runsc" in argv[0]) and ours:
            subprocess.run(["kill", "-9", proc.name], check=False)


def mounts_under(root: Path) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    prefix = str(root).rstrip("/") + "/"
    return [m for m in (line.split()[4] for line in lines) if m.startswith(prefix)]


def unmount_under(root: Path) -> None:
    """Every mount below ``root``, deepest first (pod volumes, rootfs, pod netns files)."""
    for mount in sorted(mounts_under(root), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
