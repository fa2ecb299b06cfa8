"""The node tier: the Tenantry node agent against a real containerd (Debian's 1.6), a real
gVisor sandbox, and a real API server's Node (a kwok node of the local cluster).

containerd, its sockets and its state live under a temporary directory per test; a small
supervisor restarts it when it exits (the agent's `signal` strategy) and counts its starts.
"""

import json
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tenantry_api import keys
from tenantry_api.config import NodeAgentConfig
from tenantry_api.runtimes import RuntimeBackend, handler_name
from tenantry_api.sandbox import PssCheck, exemptions
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_local.testbin import TESTBIN
from tenantry_node_agent.cri import probe

from tests.support.containerd import BUSYBOX_IMAGE, Containerd, missing_node_binaries
from tests.support.cri import CriClient, cri_log_text
from tests.support.kube import wait_for
from tests.support.testbin import unavailable

pytestmark = pytest.mark.integration

GVISOR_DIR = TESTBIN / "node"
HANDLER = handler_name(RuntimeBackend.GVISOR)
READY = keys.runtime_ready_label(HANDLER)
AGENT = Path(sys.executable).parent / "tenantry-node-agent"
# gVisor's Sentry reports this kernel; the host's is something else.
GVISOR_KERNEL = "Linux version 4.4.0"


def require_node() -> None:
    reason = missing_node_binaries(GVISOR_DIR)
    if reason:
        unavailable(reason)


@pytest.fixture
def containerd() -> Iterator[Containerd]:
    require_node()
    # A short path: containerd's sockets live under it.
    root = Path(tempfile.mkdtemp(prefix="tnode-", dir="/tmp"))
    node = Containerd(root, [GVISOR_DIR])
    try:
        node.start()
        node.import_test_images()
        yield node
    finally:
        node.stop()


@pytest.fixture
def node(kube: Kube) -> Iterator[str]:
    """A fresh kwok node: the agent's labels and conditions go to a real API server."""
    name = f"agent-{uuid.uuid4().hex[:8]}"
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            },
        }
    )
    yield name
    kube.delete("v1", "Node", name)


class AgentRun:
    """One `tenantry-node-agent` process with its JSON-lines log."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._out)

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self, timeout: float = 120, *, signal_it: bool = True) -> int:
        """SIGTERM (as the kubelet does) unless ``signal_it`` is false, then wait."""
        if signal_it and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._out.close()
        return code


class Harness:
    def __init__(
        self,
        containerd: Containerd,
        cluster: LocalCluster,
        node: str,
        backend: RuntimeBackend = RuntimeBackend.GVISOR,
    ) -> None:
        self.containerd = containerd
        self.cluster = cluster
        self.node = node
        self.binary_dir = GVISOR_DIR if backend is RuntimeBackend.GVISOR else Path("/usr/bin")
        self.config = containerd.root / "agent.json"
        self.config.write_text(
            NodeAgentConfig(
                backend=backend,
                handler=handler_name(backend),
                containerd_config=str(containerd.config),
                containerd_socket=str(containerd.socket),
                restart_strategy="signal",
                containerd_pid_file=str(containerd.pid_file),
                binary_dirs=[str(self.binary_dir)],
            ).to_json()
        )
        self.runs = 0

    def argv(self, command: str, *extra: str) -> list[str]:
        return [
            str(AGENT),
            command,
            f"--config={self.config}",
            f"--kubeconfig={self.cluster.kubeconfig}",
            f"--node-name={self.node}",
            *extra,
        ]

    def start(self, command: str = "run", *extra: str) -> AgentRun:
        self.runs += 1
        return AgentRun(self.argv(command, *extra), self.containerd.root / f"agent-{self.runs}.log")

    def run_until_ready(self, kube: Kube, *extra: str, kept: bool = True) -> AgentRun:
        """`run` until the node carries the ready label, then SIGTERM (with no DaemonSet
        named, the agent keeps the handler: it cannot know it was removed)."""
        agent = self.start("run", *extra)
        try:
            wait_for(
                lambda: (
                    any(e["step"] == "label" for e in agent.events())
                    or agent.proc.poll() is not None
                ),
                timeout=180,
                what="the agent to label the node",
            )
        finally:
            assert agent.stop() == 0, agent.log.read_text()
        if kept:
            ready = keys.runtime_ready_label(json.loads(self.config.read_text())["handler"])
            assert node_labels(kube, self.node).get(ready) == "ready", agent.log.read_text()
        return agent

    @property
    def restarts(self) -> int:
        return self.containerd.starts - 1


def node_labels(kube: Kube, node: str) -> dict[str, str]:
    return dict(kube.get("v1", "Node", node)["metadata"].get("labels") or {})


def conditions(kube: Kube, node: str) -> dict[str, dict[str, Any]]:
    status = kube.get("v1", "Node", node).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


@pytest.fixture
def harness(containerd: Containerd, cluster: LocalCluster, node: str) -> Harness:
    return Harness(containerd, cluster, node)


def test_install_confirms_the_handler_through_cri_and_a_pod_runs_in_gvisor(
    harness: Harness, kube: Kube
) -> None:
    cri = CriClient(harness.containerd.socket, harness.containerd.root / "pods")
    before = cri.run(["/bin/cat", "/proc/version"], BUSYBOX_IMAGE)
    assert GVISOR_KERNEL not in before.output  # the control: runc shows the host's kernel

    agent = harness.run_until_ready(kube)

    assert harness.restarts == 1
    status = probe(str(harness.containerd.socket))
    assert status.runtime_version.startswith("1.6.")
    assert status.runtime_handlers == []  # containerd 1.6 does not fill it...
    assert HANDLER in status.configured_runtimes  # ...so the verbose config is the proof
    verified = [e for e in agent.events() if e["step"] == "verify"]
    assert verified == [{**verified[0], "result": "confirmed", "source": "verbose status config"}]

    inside = cri.run(["/bin/sh", "-c", "cat /proc/version; echo done"], BUSYBOX_IMAGE, HANDLER)
    cri.close()
    assert inside.exit_code == 0, inside.output
    assert GVISOR_KERNEL in inside.output
    assert "done" in inside.output


def test_labels_annotations_and_conditions_land_on_the_node(harness: Harness, kube: Kube) -> None:
    harness.run_until_ready(kube)
    obj = kube.get("v1", "Node", harness.node)
    labels, annotations = obj["metadata"]["labels"], obj["metadata"]["annotations"]
    cgroup_v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert labels[keys.NODE_PREFLIGHT] == "passed"
    assert labels[keys.NODE_CGROUP_VERSION] == ("v2" if cgroup_v2 else "v1")
    assert labels[READY] == "ready"
    assert annotations[keys.NODE_KERNEL_VERSION] == platform.release()
    assert annotations[keys.NODE_CONTAINERD_VERSION].startswith("1.6.20")
    assert annotations[keys.NODE_CONTAINERD_CONFIG_VERSION] == "2"
    assert json.loads(annotations[keys.NODE_RUNTIME_BINARIES]) == {
        "runsc": f"{GVISOR_DIR}/runsc",
        "containerd-shim-runsc-v1": f"{GVISOR_DIR}/containerd-shim-runsc-v1",
    }
    found = conditions(kube, harness.node)
    assert found[keys.CONDITION_RUNTIME_READY]["status"] == "True"
    io = found[keys.CONDITION_IO_LIMITS]
    if not cgroup_v2:  # this VM: cgroup v1, so the agent says why it cannot limit io
        assert (io["status"], io["reason"]) == ("False", "CgroupV1")
        assert "io controller" in io["message"]


def test_a_second_run_restarts_nothing(harness: Harness, kube: Kube) -> None:
    harness.run_until_ready(kube)
    assert harness.restarts == 1
    config = harness.containerd.config.read_bytes()
    second = harness.run_until_ready(kube)
    assert harness.restarts == 1  # counted by containerd's supervisor
    assert harness.containerd.config.read_bytes() == config
    steps = {e["step"]: e["result"] for e in second.events()}
    assert steps["install"] == "unchanged"
    assert steps["restart"] == "skipped"


def test_uninstall_restores_the_config_byte_for_byte_and_the_handler_is_gone(
    harness: Harness, kube: Kube
) -> None:
    config_dir = harness.containerd.config.parent
    original = harness.containerd.config.read_bytes()
    files_before = sorted(config_dir.rglob("*"))
    harness.run_until_ready(kube)
    assert harness.containerd.config.read_bytes() != original

    uninstall = harness.start("uninstall")
    assert uninstall.stop(signal_it=False) == 0, uninstall.log.read_text()

    assert harness.containerd.config.read_bytes() == original
    assert sorted(config_dir.rglob("*")) == files_before  # no backup, marker or drop-in left
    assert harness.restarts == 2
    assert HANDLER not in probe(str(harness.containerd.socket)).configured_runtimes
    labels = node_labels(kube, harness.node)
    assert READY not in labels
    assert keys.NODE_PREFLIGHT not in labels
    assert keys.CONDITION_RUNTIME_READY not in conditions(kube, harness.node)
    order = [e["result"] for e in uninstall.events() if e["step"] == "uninstall"]
    assert order[:2] == ["unlabelled", "reverted"]  # the label goes first
    restarted = [e for e in uninstall.events() if e["step"] == "restart"]
    assert len(restarted) == 1
    # And gVisor is really gone: CRI refuses the handler.
    cri = CriClient(harness.containerd.socket, harness.containerd.root / "pods")
    with pytest.raises(Exception, match=HANDLER):
        cri.run(["/bin/true"], BUSYBOX_IMAGE, HANDLER)
    cri.close()


def test_sigterm_uninstalls_only_once_the_daemonset_no_longer_selects_the_node(
    harness: Harness, kube: Kube
) -> None:
    selector = {"tenantry.dev/agent-test": harness.node}
    kube.patch("v1", "Node", harness.node, None, {"metadata": {"labels": selector}})
    name = f"agent-{harness.node}"
    kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "nodeSelector": selector,
                        "containers": [{"name": "agent", "image": "tenantry/node-agent"}],
                    },
                },
            },
        }
    )
    original = harness.containerd.config.read_bytes()
    try:
        # A rolling update or a drain: the DaemonSet still selects the node, the handler stays.
        kept = harness.run_until_ready(kube, f"--daemonset=default/{name}")
        assert any(e["step"] == "shutdown" and e["result"] == "kept" for e in kept.events())
        assert HANDLER in probe(str(harness.containerd.socket)).configured_runtimes

        # The node is taken out of the DaemonSet's selection: SIGTERM restores the node.
        kube.patch(
            "v1",
            "Node",
            harness.node,
            None,
            {"metadata": {"labels": {"tenantry.dev/agent-test": None}}},
        )
        removed = harness.run_until_ready(kube, f"--daemonset=default/{name}", kept=False)
        assert any(e["step"] == "uninstall" and e["result"] == "done" for e in removed.events())
    finally:
        kube.delete("apps/v1", "DaemonSet", name, "default")
    assert harness.containerd.config.read_bytes() == original
    assert READY not in node_labels(kube, harness.node)


def test_the_escape_is_contained(harness: Harness, kube: Kube) -> None:
    """vNode's demo pod: privileged, hostPID, `nsenter -t 1 -m -u -i -n -p`.

    Under runc (the control) the container sees the host's PID 1 and enters a host process's
    namespaces, reading a file that exists only on the host. Under the Tenantry handler the
    spec is accepted, and the container sees only its own sandbox.

    On this VM even host root may not open PID 1's namespaces (PID 1 is the VM's init, and
    /proc/1/ns/* answers EACCES), so the entering is shown on a host process the test starts.
    """
    harness.run_until_ready(kube)
    secret = secrets.token_hex(16)
    host_file = harness.containerd.root / "host-only"
    host_file.write_text(secret)
    host_process = subprocess.Popen(["sleep", "600"])
    # One stream: the CRI log interleaves stdout and stderr in no fixed order, so an error of
    # nsenter could land after "end" (seen once in CI-like runs).
    escape = (
        "exec 2>&1; cat /proc/version; cat /proc/1/cmdline; echo; "
        f"nsenter -t 1 -m -u -i -n -p -- cat {host_file}; echo; "
        f"nsenter -t {host_process.pid} -m -u -i -n -p -- cat {host_file}; echo; echo end"
    )
    cri = CriClient(harness.containerd.socket, harness.containerd.root / "pods")
    try:
        control = cri.run(
            ["/bin/sh", "-c", escape], BUSYBOX_IMAGE, "", privileged=True, host_pid=True
        )
        sandboxed = cri.run(
            ["/bin/sh", "-c", escape], BUSYBOX_IMAGE, HANDLER, privileged=True, host_pid=True
        )
    finally:
        cri.close()
        host_process.kill()
        host_process.wait()
    host_init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()

    # The control escapes: host PID 1 is visible and a host mount namespace is entered.
    assert host_init in control.output, control.output
    assert secret in control.output, control.output

    assert GVISOR_KERNEL not in control.output
    assert control.output.rstrip().endswith("end")

    # The sandbox accepts the spec; the container sees only its own sandbox.
    assert_contained(sandboxed.output, sandboxed.exit_code, secret)


def test_every_exemption_gvisor_is_granted_still_lands_in_the_sandbox(
    harness: Harness, kube: Kube
) -> None:
    """One pod with all that tenantry_api.sandbox exempts for gVisor, at once.

    Privileged (which in CRI also means every capability, no seccomp filter, no AppArmor
    profile and an unmasked /proc), hostPID, and two namespaced sysctls outside the safe list.
    Under runc (the control) the container runs on the node's kernel with those capabilities,
    unfiltered, and enters a host process's mount namespace. Under gVisor it has them too, and
    sees only the Sentry: its kernel, its sysctls, no way into the host process. Neither
    changes the node's sysctls.
    """
    harness.run_until_ready(kube)
    secret = secrets.token_hex(16)
    host_file = harness.containerd.root / "host-only"
    host_file.write_text(secret)
    host_process = subprocess.Popen(["sleep", "600"])
    show = [
        "/bin/sh",
        "-c",
        # One stream, so an error cannot land after "end" in the CRI log.
        "exec 2>&1; cat /proc/version; grep -E '^(CapEff|Seccomp):' /proc/self/status; "
        "echo msgmax=$(cat /proc/sys/kernel/msgmax); "
        f"nsenter -t {host_process.pid} -m -- cat {host_file}; echo; echo end",
    ]
    sysctls = {"kernel.msgmax": "12345", "net.core.somaxconn": "1234"}
    node_sysctls = [Path("/proc/sys/kernel/msgmax"), Path("/proc/sys/net/core/somaxconn")]
    before = [p.read_text() for p in node_sysctls]
    cri = CriClient(harness.containerd.socket, harness.containerd.root / "pods")
    try:
        control, sandboxed = (
            cri.run(show, BUSYBOX_IMAGE, handler, privileged=True, host_pid=True, sysctls=sysctls)
            for handler in ("", HANDLER)
        )
    finally:
        cri.close()
        host_process.kill()
        host_process.wait()
    sys_admin = 1 << 21

    def status(output: str) -> dict[str, str]:
        return dict(line.split(":\t", 1) for line in output.splitlines() if ":\t" in line)

    # The control: the node's kernel, every capability, no filter, the host file read.
    assert GVISOR_KERNEL not in control.output, control.output
    assert int(status(control.output)["CapEff"], 16) & sys_admin, control.output
    assert status(control.output)["Seccomp"] == "0", control.output
    assert "msgmax=12345" in control.output, control.output
    assert secret in control.output, control.output

    # The sandbox: the same grants, inside the Sentry, and the host file out of reach.
    lines = sandboxed.output.splitlines()
    assert sandboxed.exit_code == 0, sandboxed.output
    assert lines[0].startswith(GVISOR_KERNEL), sandboxed.output
    assert int(status(sandboxed.output)["CapEff"], 16) & sys_admin, sandboxed.output
    assert status(sandboxed.output)["Seccomp"] == "0", sandboxed.output
    assert "msgmax=12345" not in sandboxed.output, sandboxed.output  # the Sentry's own value
    assert secret not in sandboxed.output, sandboxed.output
    assert lines[-1] == "end", sandboxed.output

    assert [p.read_text() for p in node_sysctls] == before
    granted = set(exemptions(RuntimeBackend.GVISOR))
    assert granted == {
        PssCheck.PRIVILEGED,
        PssCheck.CAPABILITIES,
        PssCheck.SECCOMP,
        PssCheck.APPARMOR,
        PssCheck.PROC_MOUNT,
        PssCheck.HOST_PID,
        PssCheck.SYSCTLS,
    }


def test_host_ipc_under_gvisor_misses_the_nodes_shared_memory_yet_stays_refused(
    harness: Harness, kube: Kube
) -> None:
    """The evidence behind tenantry_api.sandbox's hostIPC row for gVisor.

    The node gets a POSIX shared memory file (in /dev/shm) and a System V segment. Under runc
    (the control) a hostIPC container reads both. Under gVisor it reads neither: /dev/shm is
    the Sentry's own tmpfs, and there is no /proc/sysvipc. That shows the POSIX half
    contained, but busybox has no System V client to show the other half, so the table still
    refuses hostIPC under gVisor.
    """
    harness.run_until_ready(kube)
    secret = secrets.token_hex(8)
    posix = Path("/dev/shm") / f"tenantry-{secrets.token_hex(4)}"
    posix.write_text(secret)
    made = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True)
    shmid = made.stdout.split()[-1]
    show = ["/bin/sh", "-c", f"exec 2>&1; cat {posix}; echo; cat /proc/sysvipc/shm; echo end"]
    cri = CriClient(harness.containerd.socket, harness.containerd.root / "pods")
    try:
        control = cri.run(show, BUSYBOX_IMAGE, "", host_ipc=True)
        sandboxed = cri.run(show, BUSYBOX_IMAGE, HANDLER, host_ipc=True)
    finally:
        cri.close()
        posix.unlink()
        subprocess.run(["ipcrm", "-m", shmid], check=False)
    segment = f" {shmid} "

    assert secret in control.output, control.output
    assert segment in control.output, control.output
    assert secret not in sandboxed.output, sandboxed.output
    assert "can't open '/proc/sysvipc/shm'" in sandboxed.output, sandboxed.output
    assert sandboxed.output.rstrip().endswith("end"), sandboxed.output
    assert PssCheck.HOST_IPC not in exemptions(RuntimeBackend.GVISOR)


def test_runc_hardened_runs_containers_from_its_restrictive_base_spec(
    containerd: Containerd, cluster: LocalCluster, node: str, kube: Kube
) -> None:
    """Not a sandbox, but the handler's base_runtime_spec is really used: fewer capabilities
    than the default runc handler's (Docker's default set)."""
    harness = Harness(containerd, cluster, node, RuntimeBackend.RUNC_HARDENED)
    harness.run_until_ready(kube)
    hardened = handler_name(RuntimeBackend.RUNC_HARDENED)
    assert hardened in probe(str(containerd.socket)).configured_runtimes
    show = ["/bin/sh", "-c", "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status"]
    cri = CriClient(containerd.socket, containerd.root / "pods")
    try:
        default = cri.run(show, BUSYBOX_IMAGE)
        restricted = cri.run(show, BUSYBOX_IMAGE, hardened)
    finally:
        cri.close()

    def status(output: str) -> dict[str, str]:
        return dict(line.split(":\t", 1) for line in output.splitlines() if ":\t" in line)

    before, after = status(default.output), status(restricted.output)
    # 9 capabilities (CHOWN .. NET_BIND_SERVICE), against Docker's default 14 under plain runc.
    assert bin(int(after["CapBnd"], 16)).count("1") == 9, restricted.output
    assert bin(int(before["CapBnd"], 16)).count("1") == 14, default.output
    assert int(after["CapBnd"], 16) & ~int(before["CapBnd"], 16) == 0


def test_a_node_that_fails_preflight_says_why_and_is_never_ready(
    harness: Harness, kube: Kube, tmp_path: Path
) -> None:
    config = NodeAgentConfig.model_validate_json(harness.config.read_text())
    harness.config.write_text(config.model_copy(update={"binary_dirs": [str(tmp_path)]}).to_json())
    done = subprocess.run(harness.argv("preflight"), capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    obj = kube.get("v1", "Node", harness.node)
    assert obj["metadata"]["labels"][keys.NODE_PREFLIGHT] == "failed"
    assert READY not in obj["metadata"]["labels"]
    reason = obj["metadata"]["annotations"][keys.NODE_PREFLIGHT_REASON]
    assert reason == "gvisor runtime binaries missing: containerd-shim-runsc-v1, runsc"
    assert conditions(kube, harness.node)[keys.CONDITION_RUNTIME_READY]["status"] == "False"
    assert harness.restarts == 0


def assert_contained(output: str, exit_code: int, secret: str) -> None:
    """What a privileged, hostPID container running vNode's escape printed under gVisor."""
    host_init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()
    lines = output.splitlines()
    assert exit_code == 0, output
    assert lines[0].startswith(GVISOR_KERNEL), output  # the Sentry's kernel, not the host's
    # PID 1 is the pod's own pause process: the sandbox's, not the host's init.
    assert lines[1].startswith("/bin/sleep"), output
    # And gVisor refuses to switch to PID 1's namespaces from inside the sandbox.
    assert "nsenter: setns(): can't reassociate to namespace 'pid': Invalid argument" in lines
    assert host_init not in output, output
    assert secret not in output, output
    assert lines[-1] == "end", output


def test_stretch_a_real_kubelet_runs_the_escape_pod_through_the_virtual_node_runtime_class(
    containerd: Containerd, cluster: LocalCluster, kube: Kube
) -> None:
    """A kubelet built at the Kubernetes pin joins the local API server with this containerd;
    the agent labels its Node; the VirtualNode's own RuntimeClass schedules vNode's escape pod
    there, and it runs in gVisor."""
    binary = GVISOR_DIR / "kubelet"
    if not binary.exists():
        unavailable(f"{binary} is missing: run `make testbin` (hack/node/build-kubelet.sh)")
    from tenantry import virtual_node  # noqa: PLC0415 -- components only for this test

    from tests.support.kubelet import Kubelet  # noqa: PLC0415

    name = f"real-{uuid.uuid4().hex[:6]}"
    kubelet = Kubelet(binary, containerd.root / "kubelet", cluster, containerd, name).start()
    runtime_class = f"sandbox-{name}"
    pod_name = f"escape-{name}"
    try:
        wait_for(
            lambda: (
                not kubelet.alive()
                or any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in (kube.get_or_none("v1", "Node", name) or {})
                    .get("status", {})
                    .get("conditions", [])
                )
            ),
            timeout=120,
            what="the kubelet's Node to be Ready",
        )
        assert kubelet.alive(), kubelet.tail_log()

        harness = Harness(containerd, cluster, name)
        harness.run_until_ready(kube)

        # The RuntimeClass exactly as the VirtualNode component renders it.
        spec = virtual_node.resolve(runtime_class, {"backend": RuntimeBackend.GVISOR})
        (rc,) = [
            c.manifest for c in virtual_node.render(spec) if c.manifest["kind"] == "RuntimeClass"
        ]
        kube.create(rc)
        assert rc["scheduling"]["nodeSelector"] == {READY: "ready"}

        secret = secrets.token_hex(16)
        host_file = containerd.root / "host-only"
        host_file.write_text(secret)
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": "default"},
                "spec": {
                    "runtimeClassName": runtime_class,
                    "hostPID": True,
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "escape",
                            "image": BUSYBOX_IMAGE,
                            "imagePullPolicy": "Never",
                            "command": [
                                "/bin/sh",
                                "-c",
                                "exec 2>&1; cat /proc/version; cat /proc/1/cmdline; echo; "
                                f"nsenter -t 1 -m -u -i -n -p -- cat {host_file}; echo; echo end",
                            ],
                            "securityContext": {"privileged": True},
                        }
                    ],
                },
            }
        )

        def finished() -> dict[str, Any] | None:
            pod = kube.get("v1", "Pod", pod_name, "default")
            return pod if pod["status"].get("phase") in ("Succeeded", "Failed") else None

        pod = wait_for(finished, timeout=180, what="the escape pod to finish")
        assert pod["spec"]["nodeName"] == name  # only the labelled node qualifies
        # The container's own log (gVisor's shim also leaves its logs in the pod's directory).
        logs = sorted((kubelet.root / "pod-logs").glob(f"default_{pod_name}_*/escape/*.log"))
        output = "\n".join(cri_log_text(log) for log in logs)
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert_contained(output, terminated["exitCode"], secret)
    finally:
        if kube.get_or_none("v1", "Pod", pod_name, "default"):
            kube.delete("v1", "Pod", pod_name, "default")
        if kube.get_or_none("node.k8s.io/v1", "RuntimeClass", runtime_class):
            kube.delete("node.k8s.io/v1", "RuntimeClass", runtime_class)
        kubelet.stop()
        if kube.get_or_none("v1", "Node", name):
            kube.delete("v1", "Node", name)
