"""Sleep and wake: the rendered sleeper against the local host cluster and a virtual control
plane booted from its rendered flags.

kwok only pretends to run the control plane's StatefulSet pod, so a stand-in kubelet in this
test runs the control plane's processes (init, kine, API server, controller-manager, syncer)
whenever the StatefulSet asks for a replica, and stops them when it is scaled to zero. The
sleeper runs as rendered, with its ports, its upstream address and its idle time mapped (60 s
to 4 s) onto this machine.
"""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tenantry_api import keys
from tenantry_api.config import SLEEPER_CONFIG_KEY, SleeperConfig, SleepSettings, load
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster, free_port, stop_pids, wait_http
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from

from tests.support.kube import deployment, namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import (
    ControlPlane,
    Local,
    api_service,
    connect,
    render,
    tenant_kubeconfig,
)

NS = "sleepy"
VC = "vc"
IDLE = 4
Workload = tuple[str, str, str]  # virtual namespace, name, uid


class Kubelet:
    """Runs the control plane while the StatefulSet wants a replica."""

    def __init__(self, kubeconfig: Path, plane: ControlPlane) -> None:
        self.kube = Kube(api_client_from(kubeconfig))
        self.plane = plane
        self.running = True
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Kubelet":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                replicas = self.kube.get("apps/v1", "StatefulSet", VC, NS)["spec"]["replicas"]
                if replicas == 0 and self.running:
                    self.plane.stop()
                    self.running = False
                elif replicas and not self.running:
                    self.plane.restore_conf_ports()
                    self.plane.init()
                    self.plane.start()
                    # The syncer container would restart until the API serves discovery.
                    root = self.plane.local.root
                    tls = (
                        root / "certificate-authority",
                        root / "client-certificate",
                        root / "client-key",
                    )
                    wait_http(f"{self.plane.local.server}/readyz", 120, tls)
                    self.plane.start("syncer")
                    self.running = True
            except BaseException as e:
                self.errors.append(e)
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    plane: ControlPlane
    proxy_port: int
    root: Path
    sleeper_argv: list[str]
    pids: dict[str, int]

    def start_sleeper(self) -> None:
        with (self.root / "sleeper.log").open("ab") as log:
            self.pids["sleeper"] = subprocess.Popen(
                self.sleeper_argv,
                env=self.plane.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ).pid


def stand_in_statefulset() -> Manifest:
    labels = {"app.kubernetes.io/name": "tenantry-vcluster", "app.kubernetes.io/instance": VC}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": VC, "namespace": NS},
        "spec": {
            "serviceName": f"{VC}-headless",
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "control-plane", "image": "stand-in"}]},
            },
        },
    }


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    kube.create(namespace(NS))
    kube.create(api_service(VC, NS))
    kube.create(stand_in_statefulset())
    root = Path(tmp_path_factory.mktemp("sleep"))
    rendered = render(VC, NS, extra={"sleep": {"after_minutes": 1}})
    # A minute is the shortest a user may ask for; the test waits IDLE seconds instead.
    rendered.documents[SLEEPER_CONFIG_KEY] = (
        load(SleeperConfig, rendered.documents[SLEEPER_CONFIG_KEY])
        .model_copy(update={"sleep": SleepSettings(idle_seconds=IDLE)})
        .to_json()
    )
    plane = ControlPlane(rendered, Local(root), cluster.kubeconfig)
    kubelet = Kubelet(cluster.kubeconfig, plane)
    sleeper: dict[str, int] = {}
    try:
        plane.init()
        plane.start()
        tenant = connect(plane.local, tenant_kubeconfig(kube, plane.local, root, VC, NS))
        plane.start("syncer")
        wait_http(f"http://127.0.0.1:{plane.local.syncer_port}/readyz", 120)
        kubelet.start()
        proxy_port, health_port = free_port(), free_port()
        mapped = {
            f"--upstream={VC}-headless.{NS}.svc:6443": (
                f"--upstream=127.0.0.1:{plane.local.api_port}"
            ),
            "--listen-port=6443": f"--listen-port={proxy_port}",
            "--health-port=8080": f"--health-port={health_port}",
        }
        container = rendered.jobs["sleeper"]
        argv = [str(Path(sys.executable).parent / "tenantry-syncer")] + [
            mapped.get(a, plane.local.arg(a))
            for a in [*container["command"][1:], *container["args"]]
        ]
        assert all(m in " ".join(argv) for m in mapped.values()), argv
        yield Setup(kube, tenant, plane, proxy_port, root, argv, sleeper)
        assert kubelet.errors == []
    finally:  # every process goes, whatever failed
        try:
            kubelet.stop()
        finally:
            stop_pids(sleeper)
            plane.stop()


def workloads(host: Kube) -> set[Workload]:
    """The synced pods on the host, as the virtual pods they stand for."""
    found = host.list("v1", "Pod", NS, label_selector=f"{keys.VCLUSTER}={VC}")
    return {
        (
            p["metadata"]["annotations"][keys.OBJECT_NAMESPACE],
            p["metadata"]["annotations"][keys.OBJECT_NAME],
            p["metadata"]["annotations"][keys.OBJECT_UID],
        )
        for p in found
        if keys.OBJECT_NAME in (p["metadata"].get("annotations") or {})
        and not p["metadata"].get("deletionTimestamp")
    }


def record(host: Kube) -> dict[str, object]:
    cm = host.get_or_none("v1", "ConfigMap", f"vc-{VC}-sleep", NS)
    return json.loads(cm["data"]["state.json"]) if cm else {}


def recorded(host: Kube) -> set[Workload]:
    entries = record(host).get("workloads") or []
    assert isinstance(entries, list)
    return {(w["namespace"], w["name"], w["uid"]) for w in entries}


def replicas(host: Kube) -> int:
    return int(host.get("apps/v1", "StatefulSet", VC, NS)["spec"]["replicas"])


def fall_asleep(setup: Setup, expected: set[Workload]) -> None:
    host = setup.host
    wait_for(lambda: record(host).get("state") == "asleep", timeout=120, what="asleep")
    assert replicas(host) == 0
    assert workloads(host) == set()  # the host pods are freed
    assert recorded(host) == expected  # and recorded
    # The control plane's processes are gone.
    wait_for(lambda: setup.plane.pids == {}, what="the control plane stopped")


def test_a_sleeping_tenant_frees_its_host_pods_and_a_wake_brings_the_same_ones_back(
    setup: Setup,
) -> None:
    host, tenant = setup.host, setup.tenant
    tenant.create(namespace("shop"))
    tenant.create(deployment("web", "shop", replicas=3))
    tenant.create(deployment("worker", "shop", replicas=2))
    # The tenant's CoreDNS is a synced pod too.
    wait_for(
        lambda: (
            len([w for w in workloads(host) if w[0] == "shop"]) == 5
            and any(w[0] == "kube-system" for w in workloads(host))
        ),
        timeout=120,
        what="5 tenant pods and CoreDNS on the host",
    )
    before = workloads(host)

    # No request for IDLE seconds: the sleeper puts the tenant to sleep.
    setup.start_sleeper()
    started = time.monotonic()
    fall_asleep(setup, before)
    assert time.monotonic() - started >= IDLE

    # The wake annotation brings the control plane back, and the syncer the same pods.
    host.patch("apps/v1", "StatefulSet", VC, NS, {"metadata": {"annotations": {keys.WAKE: "now"}}})
    wait_for(lambda: workloads(host) == before, timeout=180, what="the same workloads back")
    assert replicas(host) == 1
    wait_for(
        lambda: (
            keys.WAKE
            not in (host.get("apps/v1", "StatefulSet", VC, NS)["metadata"].get("annotations") or {})
        ),
        what="the wake annotation removed",
    )
    assert record(host)["state"] == "awake"


def test_a_request_through_the_endpoint_wakes_it(setup: Setup) -> None:
    host = setup.host
    before = workloads(host)
    fall_asleep(setup, before)
    # The tenant's kubeconfig, pointed at the sleeper: the first request waits for the wake.
    config = json.loads((setup.root / "tenant.kubeconfig").read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{setup.proxy_port}"
    through = setup.root / "through-sleeper.kubeconfig"
    through.write_text(json.dumps(config))
    tenant = Kube(api_client_from(through))
    assert len(tenant.list("v1", "Pod", "shop")) == 5
    wait_for(lambda: workloads(host) == before, timeout=180, what="the same workloads back")
    assert record(host)["state"] == "awake"
