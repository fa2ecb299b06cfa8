"""The node agent's idle footprint on a node with 50 pods, against baselines in the same run.

Brings up a local cluster (one kwok node stands for the agent's Node) and a real containerd
(Debian's, under a temporary directory) running 50 pod sandboxes, with 50 pods bound to the
node in the API too. Runs `tenantry-node-agent run` until it has labelled the node ready, lets
it settle, then samples for --seconds (default 60):

- the agent's resident memory (VmRSS, sampled every second: max and last) and its CPU time;
- the same for a bare `python -c` idle process (the interpreter's own floor) and for
  `bash -c 'sleep infinity'`, which is what kata-deploy's and sysbox-deploy-k8s's scripts
  idle in once installed.

Targets: RSS <= 40 MB, CPU near zero.

    uv run python -m benchmarks.node_agent [--pods 50] [--seconds 60] [--resync-seconds 60]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tenantry_api import keys
from tenantry_api.config import IoLimits, NodeAgentConfig
from tenantry_api.runtimes import RuntimeBackend, handler_name
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube
from tenantry_local.testbin import TESTBIN
from tenantry_syncer.kube import api_client_from

from tests.support.containerd import Containerd, missing_node_binaries
from tests.support.cri import CriClient
from tests.support.kube import wait_for

GVISOR_DIR = TESTBIN / "node"
HANDLER = handler_name(RuntimeBackend.GVISOR)
TENANT_NS = "bench-tenant"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    rss_max_kb: int = 0
    rss_last_kb: int = 0
    cpu_seconds: float = 0.0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def measure(pids: dict[str, int], seconds: float) -> dict[str, Sample]:
    samples = {name: Sample() for name in pids}
    start = {name: cpu_ticks(pid) for name, pid in pids.items()}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            rss = rss_kb(pid)
            samples[name].rss_max_kb = max(samples[name].rss_max_kb, rss)
            samples[name].rss_last_kb = rss
        time.sleep(1)
    for name, pid in pids.items():
        samples[name].cpu_seconds = (cpu_ticks(pid) - start[name]) / CLOCK_TICKS
    return samples


def bound_pod(name: str, node: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": TENANT_NS},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }


def start_agent(
    work: Path, containerd: Containerd, cluster: LocalCluster, node: str, resync: float
) -> subprocess.Popen[bytes]:
    """`tenantry-node-agent run` with io limits for the tenant namespace, as a VirtualNode
    with io_limits deploys it."""
    config = work / "agent.json"
    config.write_text(
        NodeAgentConfig(
            backend=RuntimeBackend.GVISOR,
            handler=HANDLER,
            containerd_config=str(containerd.config),
            containerd_socket=str(containerd.socket),
            restart_strategy="signal",
            containerd_pid_file=str(containerd.pid_file),
            io_limits=IoLimits(weight=100),
            tenant_namespaces=[TENANT_NS],
            binary_dirs=[str(GVISOR_DIR)],
        ).to_json()
    )
    log = (work / "agent.log").open("wb")
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "tenantry-node-agent"),
            "run",
            f"--config={config}",
            f"--kubeconfig={cluster.kubeconfig}",
            f"--node-name={node}",
            f"--resync-seconds={resync}",
        ],
        stderr=log,
    )


def report(samples: dict[str, Sample], seconds: float) -> None:
    agent_s = samples["agent"]
    base = samples["python -c"]
    for name, s in samples.items():
        print(
            f"{name:11s} RSS max {s.rss_max_kb / 1024:5.1f} MB, "
            f"last {s.rss_last_kb / 1024:5.1f} MB;"
            f" CPU {s.cpu_seconds:.2f} s in {seconds:g} s "
            f"({100 * s.cpu_seconds / seconds:.2f} % of one core)"
        )
    print(f"agent RSS / bare python RSS: {agent_s.rss_max_kb / base.rss_max_kb:.2f}x")
    print(f"agent RSS above bare python: {(agent_s.rss_max_kb - base.rss_max_kb) / 1024:.1f} MB")
    met = agent_s.rss_max_kb <= 40 * 1024
    print(f"RSS {agent_s.rss_max_kb / 1024:.1f} MB (target <= 40 MB): {'met' if met else 'missed'}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--resync-seconds", type=float, default=60)
    args = parser.parse_args()
    reason = missing_node_binaries(GVISOR_DIR)
    if reason:
        print(f"node_agent benchmark cannot run: {reason}", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="tbench-", dir="/tmp"))
    cluster = LocalCluster(work / "cluster", nodes=1).start()
    containerd = Containerd(work / "ctd", [GVISOR_DIR])
    procs: list[subprocess.Popen[bytes]] = []
    try:
        kube = Kube(api_client_from(cluster.kubeconfig))
        node = "kwok-node-0"
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TENANT_NS}})
        wait_for(
            lambda: kube.get_or_none("v1", "ServiceAccount", "default", TENANT_NS),
            what="the namespace's default ServiceAccount",
        )
        for i in range(args.pods):
            kube.create(bound_pod(f"p{i}", node))
        containerd.start()
        containerd.import_test_images()
        cri = CriClient(containerd.socket, work / "pods")
        started = time.monotonic()
        for i in range(args.pods):
            cri.start_pod(f"p{i}")
        print(
            f"{args.pods} pod sandboxes running in containerd ({time.monotonic() - started:.1f} s)"
        )
        cri.close()

        agent = start_agent(work, containerd, cluster, node, args.resync_seconds)
        procs.append(agent)
        ready = keys.runtime_ready_label(HANDLER)
        wait_for(
            lambda: (kube.get("v1", "Node", node)["metadata"].get("labels") or {}).get(ready),
            timeout=180,
            what="the agent to label the node ready",
        )
        python_idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1e6)"])
        shell_idle = subprocess.Popen(["bash", "-c", "sleep infinity"])
        procs += [python_idle, shell_idle]
        time.sleep(5)  # settle: the agent's start-up work is not idle
        print(f"sampling for {args.seconds:g} s (agent resync every {args.resync_seconds:g} s)")
        samples = measure(
            {"agent": agent.pid, "python -c": python_idle.pid, "bash sleep": shell_idle.pid},
            args.seconds,
        )
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        containerd.stop()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(samples, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
