"""A real containerd (Debian's) under a temporary directory, kept alive by a tiny supervisor.

The supervisor plays the part of an init system without systemd: it starts containerd again
whenever it exits and counts the starts, so a test can count the agent's restarts. Its pid file
is what the agent's ``signal`` restart strategy reads.
"""

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tenantry_local.ociimage import busybox_image

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
CNI_BIN = "/usr/lib/cni"
PAUSE_IMAGE = "tenantry.test/pause:1"
BUSYBOX_IMAGE = "tenantry.test/busybox:1"
DEBIAN_BINARIES = (CONTAINERD, CTR, "/usr/bin/runc", "/bin/busybox", f"{CNI_BIN}/ptp")
GVISOR_BINARIES = ("runsc", "containerd-shim-runsc-v1")


def missing_node_binaries(gvisor_dir: Path) -> str:
    """Why the node tier cannot run here, or ''."""
    missing = [path for path in DEBIAN_BINARIES if not Path(path).exists()]
    if missing:
        return f"{', '.join(missing)} missing: run `make testbin` (hack/node/install.sh)"
    missing = [name for name in GVISOR_BINARIES if not (gvisor_dir / name).exists()]
    if missing:
        return (
            f"{', '.join(str(gvisor_dir / m) for m in missing)} missing: run `make testbin` "
            "(hack/node/build-gvisor.sh)"
        )
    if os.geteuid() != 0:
        return "the node tier runs a real containerd and needs root"
    return ""


def base_config(root: Path) -> str:
    """containerd 1.x config (version 2) for a containerd living entirely under ``root``."""
    return f"""\
# containerd for a Tenantry node-tier test
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", \
"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{root}/containerd.sock"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{PAUSE_IMAGE}"
    # Pod network namespaces under the state dir, so the test's teardown finds every one.
    netns_mounts_under_state_dir = true
    # Needed on this VM: containerd otherwise fails to set the sandbox's oom_score_adj.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{CNI_BIN}"
      conf_dir = "{root}/cni"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
"""


POD_SUBNET = "10.237.0.0/24"


def pod_network(root: Path) -> str:
    """Pods get a network namespace of their own, joined to the host by a point-to-point veth
    (CNI ``ptp``; containerd wants an ``eth0`` with an address). Never the host network: gVisor
    would take over the host's interfaces."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "tenantry-test",
            "plugins": [
                {
                    "type": "ptp",
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "subnet": POD_SUBNET,
                        "dataDir": str(root / "ipam"),
                    },
                },
                {"type": "loopback"},
            ],
        }
    )


class Containerd:
    def __init__(self, root: Path, path_prefix: list[Path] | None = None) -> None:
        self.root = root
        # containerd finds shims on its PATH, and gVisor's shim finds runsc there.
        self.env = {
            **os.environ,
            "PATH": os.pathsep.join([*(str(p) for p in path_prefix or []), os.environ["PATH"]]),
        }
        self.config = root / "etc" / "config.toml"
        self.socket = root / "containerd.sock"
        self.pid_file = root / "containerd.pid"
        self.log = root / "containerd.log"
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    def start(self, timeout: float = 60) -> "Containerd":
        self.config.parent.mkdir(parents=True, exist_ok=True)
        (self.root / "cni").mkdir(exist_ok=True)
        (self.root / "cni" / "10-tenantry-test.conflist").write_text(pod_network(self.root))
        if not self.config.exists():
            self.config.write_text(base_config(self.root))
        self._launch()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        self.wait_ready(timeout)
        return self

    def _launch(self) -> None:
        with self._lock:
            log = self.log.open("ab")
            self._proc = subprocess.Popen(
                [CONTAINERD, "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
            )
            self.starts += 1
            self.pid_file.write_text(f"{self._proc.pid}\n")

    def _supervise(self) -> None:
        while not self._stopping:
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stopping:
                time.sleep(0.2)  # as init systems do: a short pause before the next start
                if not self._stopping:
                    self._launch()
            time.sleep(0.1)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.ctr("version", check=False)
            if done.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"containerd not ready after {timeout}s:\n{self.tail_log()}")

    def tail_log(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CTR, "--address", str(self.socket), "--namespace", "k8s.io", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def import_test_images(self) -> None:
        """The pause image and a busybox image, built here and imported (no registry)."""
        for name, command in (
            (PAUSE_IMAGE, ["/bin/sleep", "2147483647"]),
            (BUSYBOX_IMAGE, ["/bin/sh"]),
        ):
            tarball = busybox_image(name, command, self.root / f"{name.split('/')[1]}.tar")
            self.ctr("images", "import", str(tarball))

    def stop(self, grace: float = 15) -> None:
        """Stop containerd, then every shim and container it left, and unmount its state."""
        if self._proc is not None and self._proc.poll() is None:
            # Pods through CRI first: that also runs CNI DEL, removing their host veths.
            _remove_pods(self.socket)
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for container in self._task_ids():
            self.ctr("tasks", "kill", "--signal", "SIGKILL", container, check=False)
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(grace)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        _kill_shims(self.socket)
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def _task_ids(self) -> list[str]:
        done = self.ctr("tasks", "list", "--quiet", check=False)
        return done.stdout.split() if done.returncode == 0 else []


def _remove_pods(socket: Path) -> None:
    from tests.support.cri import remove_all_pods  # noqa: PLC0415 -- grpc only when needed

    remove_all_pods(socket)


def _kill_shims(socket: Path) -> None:
    # A shim outlives containerd by design; ours name our containerd's socket on their command
    # line, which is how they are told apart from any other containerd's shims.
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = str(socket).encode() in argv or any(str(socket.parent).encode() in a for a in argv)
        if argv and (b"containerd-shim" in argv[0] or b"runsc" in argv[0]) and ours:
            subprocess.run(["kill", "-9", proc.name], check=False)


def _unmount_under(root: Path) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
