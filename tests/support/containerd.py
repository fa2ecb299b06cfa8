"""A real containerd (Debian's) under a temporary directory, kept alive by the local node's
supervisor (tenantry_local.supervise), which starts it again whenever it exits and counts the
starts, so a test can count the agent's restarts. Its pid file is what the agent's ``signal``
restart strategy reads. Config and clean-up are the local node's (tenantry_local.containerd).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tenantry_local import containerd as local
from tenantry_local.ociimage import busybox_image

CONTAINERD = local.CONTAINERD
CTR = local.CTR
CNI_BIN = local.CNI_BIN
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
    return local.config_toml(root, sandbox_image=PAUSE_IMAGE, cni_conf_dir=root / "cni")


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
        self.socket = local.socket_of(root)
        self.pid_file = root / "containerd.pid"
        self.starts_file = root / "containerd.starts"
        self.log = root / "containerd.log"
        self._supervisor: subprocess.Popen[bytes] | None = None

    @property
    def starts(self) -> int:
        """How often the supervisor has started containerd."""
        return int(self.starts_file.read_text()) if self.starts_file.exists() else 0

    def start(self, timeout: float = 60) -> "Containerd":
        self.config.parent.mkdir(parents=True, exist_ok=True)
        (self.root / "cni").mkdir(exist_ok=True)
        (self.root / "cni" / "10-tenantry-test.conflist").write_text(pod_network(self.root))
        if not self.config.exists():
            self.config.write_text(base_config(self.root))
        self._supervisor = subprocess.Popen(
            local.supervised(self.config, self.pid_file, self.starts_file),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=self.env,
        )
        self.wait_ready(timeout)
        return self

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
        return local.ctr(self.socket, *args, check=check)

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
        if self.ctr("version", check=False).returncode == 0:
            # Pods through CRI first: that also runs CNI DEL, removing their host veths.
            _remove_pods(self.socket)
            for container in self._task_ids():
                self.ctr("tasks", "kill", "--signal", "SIGKILL", container, check=False)
        supervisor = self._supervisor
        if supervisor is not None and supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)  # it stops containerd, then itself
            try:
                supervisor.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)
                supervisor.wait()
        local.kill_shims(self.root)
        local.unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def _task_ids(self) -> list[str]:
        done = self.ctr("tasks", "list", "--quiet", check=False)
        return done.stdout.split() if done.returncode == 0 else []


def _remove_pods(socket: Path) -> None:
    from tests.support.cri import remove_all_pods  # noqa: PLC0415 -- grpc only when needed

    remove_all_pods(socket)
