"""Sync latency and throughput of the syncer, against the same work done directly.

Brings up a local host cluster (kwok nodes) and a VirtualCluster control plane from the
component's rendered flags, runs the rendered syncer container, then:

1. creates N pods in the virtual cluster in one burst (8 client threads) and records, for
   each, the time from its create call to the moment its host twin is seen by a watch on
   the host; then a steady run of --steady pods at --rate pods/s, timed the same way;
2. does the same directly in the host cluster, as the baseline.

Prints p50/p99 create-to-host-exists latency (burst and steady), burst throughput for both,
their ratio, and the syncer's peak RSS. Targets: p99 <= 250 ms, throughput >= 0.7x direct,
RSS <= 200 MB.

    uv run python -m benchmarks.sync_latency [--pods 1000] [--steady 200 --rate 10]
"""

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from tenantry_api import keys
from tenantry_api.naming import host_name
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster, wait_http
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from

from tests.support.kube import namespace, wait_for
from tests.support.virtualcluster import ControlPlane, Local, connect, render, tenant_kubeconfig

HOST_NS = "bench-host"
VC = "bench"


def pod(name: str, namespace: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"bench": "1"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


class Seen:
    """Watches host pods and records when each name first appears."""

    def __init__(self, kubeconfig: Path, namespace: str, selector: str) -> None:
        self.first: dict[str, float] = {}
        self._stop = threading.Event()
        dynamic = DynamicClient(api_client_from(kubeconfig))  # type: ignore[no-untyped-call]
        pods = dynamic.resources.get(api_version="v1", kind="Pod")

        def watch() -> None:
            while not self._stop.is_set():
                try:
                    for event in pods.watch(
                        namespace=namespace, label_selector=selector, timeout=5
                    ):
                        name = event["raw_object"]["metadata"]["name"]
                        self.first.setdefault(name, time.monotonic())
                        if self._stop.is_set():
                            return
                except ApiException:
                    continue  # an overloaded API server drops the watch: watch again

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        time.sleep(1)  # the watch is established before anything is created

    def stop(self) -> None:
        self._stop.set()


def run_creates(
    kube: Kube,
    namespace: str,
    names: list[str],
    seen: Seen,
    host_names: dict[str, str],
    *,
    rate: float = 0.0,
) -> tuple[list[float], float]:
    """Create ``names`` as a burst from 8 threads, or at ``rate`` pods/s when given."""
    created: dict[str, float] = {}

    def create(name: str) -> None:
        created[name] = time.monotonic()
        kube.create(pod(name, namespace))

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        if rate:
            for i, name in enumerate(names):
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
                pool.submit(create, name)
        else:
            list(pool.map(create, names))
    deadline = time.monotonic() + 600
    while any(host_names[n] not in seen.first for n in names) and time.monotonic() < deadline:
        time.sleep(0.05)
    missing = [n for n in names if host_names[n] not in seen.first]
    if missing:
        raise SystemExit(f"{len(missing)} pods never reached the host")
    end = max(seen.first[host_names[n]] for n in names)
    return [seen.first[host_names[n]] - created[n] for n in names], len(names) / (end - start)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--steady", type=int, default=200, help="pods created at --rate")
    parser.add_argument("--rate", type=float, default=10.0, help="pods/s of the steady run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cluster = LocalCluster(root / "host", nodes=3).start()
        plane = None
        try:
            host = Kube(api_client_from(cluster.kubeconfig))
            host.create(namespace(HOST_NS))
            host.create(namespace("direct"))
            host.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": VC, "namespace": HOST_NS},
                    "spec": {"ports": [{"port": 443}], "selector": {"app": VC}},
                }
            )
            plane = ControlPlane(render(VC, HOST_NS), Local(root / "vc"), cluster.kubeconfig)
            plane.init()
            plane.start()
            tenant = connect(
                plane.local, tenant_kubeconfig(host, plane.local, root / "vc", VC, HOST_NS)
            )
            plane.start("syncer")
            wait_http(f"http://127.0.0.1:{plane.local.syncer_port}/readyz", 120)
            tenant.create(namespace("load"))
            # Pods are refused until the namespace's default ServiceAccount exists.
            wait_for(lambda: tenant.get_or_none("v1", "ServiceAccount", "default", "load"))
            names = [f"p{i}" for i in range(args.pods)]

            seen = Seen(cluster.kubeconfig, HOST_NS, f"{keys.VCLUSTER}={VC}")
            synced, synced_rate = run_creates(
                tenant, "load", names, seen, {n: host_name(n, "load", VC) for n in names}
            )
            steady_names = [f"s{i}" for i in range(args.steady)]
            steady, _ = run_creates(
                tenant,
                "load",
                steady_names,
                seen,
                {n: host_name(n, "load", VC) for n in steady_names},
                rate=args.rate,
            )
            seen.stop()
            rss = peak_rss_mb(plane.pids["syncer"])

            seen = Seen(cluster.kubeconfig, "direct", "bench=1")
            direct, direct_rate = run_creates(host, "direct", names, seen, {n: n for n in names})
            direct_steady, _ = run_creates(
                host, "direct", steady_names, seen, {n: n for n in steady_names}, rate=args.rate
            )
            seen.stop()
        finally:
            if plane is not None:
                plane.stop()
            cluster.stop()

    p50, p99 = percentile(synced, 50) * 1000, percentile(synced, 99) * 1000
    d50, d99 = percentile(direct, 50) * 1000, percentile(direct, 99) * 1000
    print(f"pods: {args.pods}")
    print(f"synced: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {synced_rate:.1f} pods/s")
    print(f"direct: p50 {d50:.1f} ms, p99 {d99:.1f} ms, {direct_rate:.1f} pods/s")
    s50, s99 = percentile(steady, 50) * 1000, percentile(steady, 99) * 1000
    t50, t99 = percentile(direct_steady, 50) * 1000, percentile(direct_steady, 99) * 1000
    print(f"steady {args.rate:g} pods/s, synced: p50 {s50:.1f} ms, p99 {s99:.1f} ms")
    print(f"steady {args.rate:g} pods/s, direct: p50 {t50:.1f} ms, p99 {t99:.1f} ms")
    print(f"throughput ratio synced/direct: {synced_rate / direct_rate:.2f} (target >= 0.7)")
    print(f"p99 {p99:.0f} ms (target <= 250 ms): {'met' if p99 <= 250 else 'missed'}")
    print(f"syncer peak RSS: {rss:.0f} MB (target <= 200 MB)")


if __name__ == "__main__":
    main()
