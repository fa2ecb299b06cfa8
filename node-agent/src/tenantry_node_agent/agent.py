"""The agent's ordered, idempotent steps, and its life as a DaemonSet pod.

    preflight -> install -> restart (only when the config fingerprint changed) -> verify
    -> label ready -> io limits -> tenant directories

Each step logs one line. ``uninstall`` undoes them in reverse: the ready label first, so no
new pod is scheduled onto a handler about to disappear; then the files; then containerd.
"""

import platform
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry_api import keys
from tenantry_api.config import NodeAgentConfig

from tenantry_node_agent import containerd_config as cc
from tenantry_node_agent import iolimits, node_status, restart, tenant_dirs
from tenantry_node_agent.backends import BACKENDS, extra_files
from tenantry_node_agent.cri import CriError, RuntimeStatus, probe
from tenantry_node_agent.kube import Kube
from tenantry_node_agent.log import event
from tenantry_node_agent.node_files import NodeFiles, Plan
from tenantry_node_agent.preflight import Facts, Verdict, cgroup_facts, find_binaries, judge


class StepFailedError(RuntimeError):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class Options:
    config: NodeAgentConfig
    node_name: str
    kube: Kube | None = None
    host_root: Path = Path("/")
    cgroup_root: Path = Path("/sys/fs/cgroup")
    daemonset: tuple[str, str] | None = None
    """(namespace, name) of the agent's DaemonSet: uninstall only once it no longer selects
    this node."""
    restart_timeout: float = 60.0
    resync_seconds: float = 60.0


@dataclass
class Counters:
    restarts: int = 0
    runs: int = 0


class Agent:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.config = options.config
        self.files = NodeFiles(Path(self.config.containerd_config), self.config.handler)
        self.counters = Counters()
        self.facts: Facts | None = None

    # --- steps ---

    def preflight(self) -> tuple[Facts, Verdict]:
        """Gather and judge the node's facts; publish them on the Node."""
        kernel = platform.release()
        cgroup_version, io_controller = cgroup_facts(self.o.cgroup_root)
        try:
            status = probe(self.config.containerd_socket)
            containerd_version = status.runtime_version
        except CriError as e:
            containerd_version = f"unreachable: {e}"
        try:
            config_version = cc.config_version_of(self.files.config_text())
        except cc.ConfigError as e:
            config_version = -1
            event("preflight", "config-unreadable", error=str(e))
        facts = Facts(
            kernel=kernel,
            cgroup_version=cgroup_version,
            io_controller=io_controller,
            containerd_version=containerd_version,
            config_version=config_version,
            binaries=find_binaries(self.config.backend, self.o.host_root, self.config.binary_dirs),
        )
        verdict = judge(facts, self.config.backend)
        self.facts = facts
        self._patch_node(node_status.preflight_patch(facts, verdict, self.config.handler))
        if not verdict.passed:
            self._condition(keys.CONDITION_RUNTIME_READY, False, "PreflightFailed", verdict.reason)
        event(
            "preflight",
            "passed" if verdict.passed else "failed",
            reason=verdict.reason,
            kernel=facts.kernel,
            cgroup=facts.cgroup_version,
            containerd=facts.containerd_version,
            config_version=facts.config_version,
            binaries=facts.binaries,
        )
        return facts, verdict

    def plan(self, facts: Facts) -> Plan:
        version = cc.ContainerdVersion.parse(facts.containerd_version)
        backend = BACKENDS[self.config.backend]
        paths = {name: path for name, path in facts.binaries.items() if path}
        return Plan(
            handler=self.config.handler,
            placement=cc.placement_for(version, self.files.config_text()),
            runtime=backend.runtime_table(paths, str(self.files.dir)),
            config_version=version.config_version,
            extra_files=extra_files(self.config.backend),
        )

    def install(self, plan: Plan) -> bool:
        outcome = self.files.install(plan)
        event(
            "install",
            "changed" if outcome else "unchanged",
            placement=plan.placement.value,
            files=outcome.changed,
        )
        return bool(outcome)

    def restart_if_changed(self) -> bool:
        """Restart containerd only when the files differ from those it last ran with."""
        state = self.files.state()
        fingerprint = self.files.fingerprint()
        if state is not None and state.applied_fingerprint == fingerprint:
            event("restart", "skipped", reason="config fingerprint unchanged")
            return False
        self._restart()
        self.files.record_applied()
        return True

    def _restart(self) -> None:
        strategy = self.config.restart_strategy
        started = time.monotonic()
        if strategy == "systemd":
            job = restart.restart_systemd()
            detail: dict[str, Any] = {"job": job}
        elif strategy == "signal":
            pid = restart.restart_by_signal(
                Path(self.config.containerd_pid_file), self.o.restart_timeout
            )
            detail = {"pid": pid}
        else:
            detail = {"note": "restart_strategy none: waiting for the operator's restart"}
        self.counters.restarts += strategy != "none"
        self._wait_for_cri()
        event(
            "restart",
            "restarted",
            strategy=strategy,
            seconds=round(time.monotonic() - started, 2),
            **detail,
        )

    def _wait_for_cri(self) -> RuntimeStatus:
        deadline = time.monotonic() + self.o.restart_timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                return probe(self.config.containerd_socket, timeout=10)
            except CriError as e:
                last = str(e)
            time.sleep(0.5)
        raise StepFailedError("restart", f"containerd's CRI did not answer: {last}")

    def verify(self) -> RuntimeStatus:
        deadline = time.monotonic() + (
            self.o.restart_timeout if self.config.restart_strategy == "none" else 0
        )
        while True:
            status = self._wait_for_cri()
            known, source = status.knows(self.config.handler)
            if known or time.monotonic() >= deadline:
                break
            time.sleep(1)
        event(
            "verify",
            "confirmed" if known else "missing",
            handler=self.config.handler,
            source=source,
        )
        if not known:
            reason = f"containerd does not list handler {self.config.handler} ({source})"
            self._condition(keys.CONDITION_RUNTIME_READY, False, "HandlerMissing", reason)
            raise StepFailedError("verify", reason)
        return status

    def label_ready(self) -> None:
        self._condition(
            keys.CONDITION_RUNTIME_READY,
            True,
            "HandlerConfirmed",
            f"containerd serves runtime handler {self.config.handler}",
        )
        self._patch_node(node_status.ready_patch(self.config.handler, ready=True))
        event("label", "ready", label=keys.runtime_ready_label(self.config.handler))

    def io_limits(self) -> int:
        facts = self.facts
        if facts is None:
            return 0
        support = iolimits.support(facts.cgroup_version, facts.io_controller)
        limits = self.config.io_limits
        wanted = bool(self.config.tenant_namespaces) and limits != type(limits)()
        if not support.ok:
            self._condition(keys.CONDITION_IO_LIMITS, False, support.reason, support.message)
            event("io-limits", "unsupported", reason=support.reason)
            return 0
        written = 0
        if wanted and self.o.kube is not None:
            devices = iolimits.block_devices()
            for pod in self.o.kube.pods_on(self.o.node_name):
                if pod["metadata"]["namespace"] not in self.config.tenant_namespaces:
                    continue
                for cgroup in iolimits.pod_cgroups(self.o.cgroup_root, pod["metadata"]["uid"]):
                    written += len(iolimits.apply(cgroup, limits, devices))
        self._condition(keys.CONDITION_IO_LIMITS, True, support.reason, support.message)
        event("io-limits", "applied", files=written)
        return written

    def tenant_dirs(self) -> tenant_dirs.Outcome | None:
        """The tenants' hostPath directories under the configured root (host view)."""
        root = self.config.host_path_root
        if root is None:
            return None
        try:
            done = tenant_dirs.converge(Path(root), list(self.config.tenant_namespaces))
        except OSError as e:
            event("tenant-dirs", "failed", root=root, error=str(e))
            return None
        if done.created or done.removed:
            event("tenant-dirs", "converged", created=done.created, removed=done.removed)
        return done

    # --- the whole sequence ---

    def run_once(self) -> bool:
        """Every step in order; True when the node ended up ready."""
        self.counters.runs += 1
        facts, verdict = self.preflight()
        if not verdict.passed:
            return False
        try:
            self.install(self.plan(facts))
            self.restart_if_changed()
            self.verify()
        except (StepFailedError, cc.ConfigError, restart.RestartError) as e:
            event("run", "failed", error=str(e))
            self._patch_node(node_status.ready_patch(self.config.handler, ready=False))
            return False
        self.label_ready()
        self.io_limits()
        self.tenant_dirs()
        return True

    def uninstall(self) -> None:
        # The label first: the scheduler stops placing sandboxed pods here right away.
        self._patch_node(node_status.ready_patch(self.config.handler, ready=False))
        event("uninstall", "unlabelled", label=keys.runtime_ready_label(self.config.handler))
        outcome = self.files.revert()
        event("uninstall", "reverted" if outcome else "nothing-to-revert", files=outcome.changed)
        if outcome:
            self._restart()
        self._patch_node(node_status.cleanup_patch(self.config.handler))
        self._patch_status(
            node_status.remove_conditions([keys.CONDITION_RUNTIME_READY, keys.CONDITION_IO_LIMITS])
        )
        event("uninstall", "done")

    # --- as a DaemonSet pod ---

    def serve(self, stop: threading.Event) -> int:
        """Run the steps, then keep the node converged until SIGTERM."""
        self.run_once()
        while not stop.wait(self.o.resync_seconds):
            # Cheap drift check: hash a few small files. Anything else waits for a change.
            state = self.files.state()
            if state is None or state.applied_fingerprint != self.files.fingerprint():
                # Not installed yet (a failed step is retried here) or the files changed.
                event("resync", "converge", installed=state is not None)
                self.run_once()
            else:
                if self.config.tenant_namespaces:
                    self.io_limits()
                self.tenant_dirs()
        if self.still_selected():
            event("shutdown", "kept", reason="the DaemonSet still selects this node")
            return 0
        self.uninstall()
        return 0

    def still_selected(self) -> bool:
        if self.o.daemonset is None or self.o.kube is None:
            # Without knowing its DaemonSet, leaving the node as it is is the safe choice.
            return True
        namespace, name = self.o.daemonset
        daemonset = self.o.kube.daemonset(namespace, name)
        if daemonset is None or daemonset["metadata"].get("deletionTimestamp"):
            return False
        selector = daemonset["spec"]["template"]["spec"].get("nodeSelector") or {}
        labels = self.o.kube.node(self.o.node_name)["metadata"].get("labels") or {}
        return all(labels.get(k) == v for k, v in selector.items())

    # --- API writes ---

    def _patch_node(self, patch: dict[str, Any]) -> None:
        if self.o.kube is not None:
            self.o.kube.patch_node(self.o.node_name, patch)

    def _patch_status(self, patch: dict[str, Any]) -> None:
        if self.o.kube is not None:
            self.o.kube.patch_node_status(self.o.node_name, patch)

    def _condition(self, kind: str, ok: bool, reason: str, message: str) -> None:
        self._patch_status(node_status.condition(kind, ok, reason, message))


def stop_on_sigterm() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop
