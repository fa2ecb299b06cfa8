"""Two tenants on one host: a neighbour tenant, `globex`, is deployed as a stack of its own
sharing the first stack's sandbox (the quickstart's `sandbox` config). The real node's
NetworkPolicy (kube-router) enforces their TenantPolicies: every probe runs in a pod created
through a tenant's kubeconfig, or in a plain host namespace; each refusal has its control, the
same connection once the namespaces' NetworkPolicies are lifted. And a tenant that runs wild
is stopped while its neighbour keeps answering."""

import base64
import http.client
import json
import re
import ssl
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from tenantry_api import keys
from tenantry_api.types import Manifest
from tenantry_local.demo import wait_for_api
from tenantry_local.demo_stack import NODE_PORT, DemoStack, local_settings
from tenantry_local.demo_workload import (
    FETCH_WEB,
    IMAGE,
    NAMESPACE,
    PAGE,
    deploy_web,
    finished,
    probe_pod,
    retrying,
    run_probe,
)
from tenantry_local.kubectl import Kubectl
from tenantry_local.node import NODE_LABEL
from tenantry_local.quickstart import project_copy

from tests.conftest import FIGURE
from tests.e2e.conftest import Tenant
from tests.support.localnode import HTTPS_ANSWER

NEIGHBOUR = "globex"
# The quickstart lets this namespace in (its policy's ingress_from_namespaces).
ALLOWED_NAMESPACE = "ingress-nginx"
OTHER_NAMESPACE = "elsewhere"
# Fields the API server sets: left out when a lifted NetworkPolicy is put back.
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


@dataclass
class Neighbour:
    stack: DemoStack
    tenant: Kubectl
    namespace: str


@pytest.fixture(scope="module")
def neighbour(deployed: Tenant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neighbour]:
    """The second tenant: its own stack (its own project copy, so that selecting it never
    changes the first stack's selection), destroyed when this module ends."""
    work = tmp_path_factory.mktemp(NEIGHBOUR)
    stack = DemoStack(
        deployed.stack.state_dir, deployed.cluster.kubeconfig, project_copy(work / "project"),
        name=NEIGHBOUR,
    )  # fmt: skip
    settings = local_settings(deployed.node, NEIGHBOUR)
    del settings["nodeAgent"]  # the sandbox, its agent included, is the first stack's
    settings |= {"exposureNodePort": str(NODE_PORT + 1), "sandbox": deployed.outputs["isolation"]}
    stack.select(settings)
    try:
        stack.up()
        tenant = Kubectl(stack.write_kubeconfig(work / "tenant.kubeconfig"))
        wait_for_api(tenant, 120)
        outputs = stack.outputs()
        assert "node_agent" not in outputs  # it made no sandbox of its own
        # One replica: the real node's two CPUs hold both tenants' requests and one probe pod
        # at a time (docs/testing.md).
        deploy_web(tenant, deployed.host, outputs["namespace"], outputs["runtime_class"], 1)
        yield Neighbour(stack, tenant, outputs["namespace"])
    finally:
        stack.destroy()


def web_addresses(host: Kubectl, namespace: str) -> tuple[str, str]:
    """(a web pod's IP, the web Service's ClusterIP) of a tenant, as the host has them (found
    by the syncer's annotations)."""

    def synced(kind: str) -> list[Manifest]:
        items = host.json("-n", namespace, "get", kind)["items"]
        return [i for i in items if virtual_name(i).startswith("web")]

    pods = [p for p in synced("pods") if p["status"].get("podIP")]
    services = [s for s in synced("services") if virtual_name(s) == "web"]
    assert pods, namespace
    assert services, namespace
    return pods[0]["status"]["podIP"], services[0]["spec"]["clusterIP"]


def virtual_name(item: Manifest) -> str:
    return str((item["metadata"].get("annotations") or {}).get(keys.OBJECT_NAME, ""))


def fetch(label: str, address: str, port: int) -> str:
    """Shell: one plain GET; prints ``<label> rc=<nc's code>`` and the reply's last line, and
    succeeds when nc did (a dropped connection times out after 3 s). No files: the plain host
    namespaces' busybox image has no /tmp."""
    return (
        f"{{ out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} {port} 2>&1); rc=$?; "
        f'echo "{label} rc=$rc $(echo "$out" | tail -n 1)"; [ $rc -eq 0 ]; }}'
    )


def codes(message: str, label: str) -> list[str]:
    """nc's exit codes that ``fetch(label, ...)`` printed, in order."""
    return re.findall(rf"^{label} rc=(\d+)", message, re.MULTILINE)


def code(message: str, label: str) -> str | None:
    """nc's last exit code that ``fetch(label, ...)`` printed, or None if it never ran."""
    found = codes(message, label)
    return found[-1] if found else None


def refused(message: str, label: str) -> bool:
    return code(message, label) not in (None, "0")


def once(*commands: str) -> str:
    """Shell: each command once, whatever the others did; all output the pod's message."""
    return "{ " + "; ".join(commands) + "; } > /dev/termination-log 2>&1"


@contextmanager
def policies_lifted(host: Kubectl, *namespaces: str) -> Iterator[None]:
    """The NetworkPolicies of ``namespaces`` deleted for the block, then put back as they were
    (same names, labels and specs, so the stacks see no change)."""
    saved = [p for ns in namespaces for p in host.json("-n", ns, "get", "networkpolicies")["items"]]
    assert saved, f"no NetworkPolicy in {namespaces}"
    for ns in namespaces:
        host("-n", ns, "delete", "networkpolicies", "--all")
    try:
        yield
    finally:
        for policy in saved:
            for field in SERVER_FIELDS:
                policy["metadata"].pop(field, None)
        # create, not apply: no last-applied annotation that the stacks did not write
        host("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "items": saved}))  # fmt: skip
        back = [
            p for ns in namespaces for p in host.json("-n", ns, "get", "networkpolicies")["items"]
        ]
        assert [p["spec"] for p in back] == [p["spec"] for p in saved]


def tenant_probe(kubectl: Kubectl, name: str, script: str) -> str:
    phase, message = run_probe(kubectl, probe_pod(name, script))
    assert phase in ("Succeeded", "Failed"), phase
    return message


def host_probe(host: Kubectl, namespace: str, name: str, script: str) -> str:
    """``script`` in a runc pod of a plain host namespace on the real node; its message."""
    pod = probe_pod(name, script, image=IMAGE, nodeSelector={NODE_LABEL: "real"})
    pod["metadata"]["namespace"] = namespace
    host.apply([pod])
    try:
        return finished(host, name, namespace=namespace)[1]
    finally:
        host("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--timeout=60s")


def test_a_tenant_reaches_its_own_service_but_not_its_neighbours_pods_or_services(
    deployed: Tenant, neighbour: Neighbour
) -> None:
    pod_ip, service_ip = web_addresses(deployed.host, neighbour.namespace)
    own = f"for i in $(seq 30); do {{ {FETCH_WEB}; }} > /tmp/own 2>&1 && break; sleep 1; done"
    message = tenant_probe(
        deployed.tenant,
        "neighbourly",
        once(own, 'echo "own $(tail -n 1 /tmp/own)"', fetch("pod", pod_ip, 8080),
             fetch("service", service_ip, 80)),
    )  # fmt: skip
    # Its own Service, found through its own CoreDNS, answers under the policies...
    assert f"own {PAGE.strip()}" in message, message
    # ...and neither the neighbour's pod nor its Service does.
    assert refused(message, "pod"), message
    assert refused(message, "service"), message

    # The control: without the two tenants' NetworkPolicies both answer.
    with policies_lifted(deployed.host, deployed.namespace, neighbour.namespace):
        both = retrying(f"{fetch('pod', pod_ip, 8080)} && {fetch('service', service_ip, 80)}")
        lifted = tenant_probe(deployed.tenant, "unfenced", both)
    assert code(lifted, "pod") == code(lifted, "service") == "0", lifted
    assert PAGE.strip() in lifted, lifted


def test_egress_to_a_private_range_is_refused(deployed: Tenant) -> None:
    # The host API server's own address (on 10.0.0.0/8): the policy's public egress excludes it.
    server = urlsplit(deployed.cluster.server)
    assert server.hostname, server
    assert server.port, server
    script = fetch("private", server.hostname, server.port)
    # kube-router fences a new pod at its next sync, so the pod's first tries may get through:
    # ten tries a second apart, and the last ones must be refused.
    tries = f"for i in $(seq 10); do {script}; sleep 1; done"
    message = tenant_probe(deployed.tenant, "private", once(tries))
    assert len(codes(message, "private")) == 10, message
    assert all(c != "0" for c in codes(message, "private")[-3:]), message

    with policies_lifted(deployed.host, deployed.namespace):
        lifted = tenant_probe(deployed.tenant, "private-unfenced", retrying(script))
    assert HTTPS_ANSWER in lifted, lifted


@pytest.fixture
def host_namespaces(deployed: Tenant) -> Iterator[None]:
    for ns in (ALLOWED_NAMESPACE, OTHER_NAMESPACE):
        deployed.host("create", "namespace", ns)
    try:
        yield
    finally:
        for ns in (ALLOWED_NAMESPACE, OTHER_NAMESPACE):
            deployed.host("delete", "namespace", ns, "--wait=false")


def test_ingress_comes_only_from_the_namespaces_the_policy_names(
    deployed: Tenant, host_namespaces: None
) -> None:
    pod_ip, _ = web_addresses(deployed.host, deployed.namespace)
    script = fetch("web", pod_ip, 8080)
    allowed = host_probe(deployed.host, ALLOWED_NAMESPACE, "allowed", retrying(script))
    assert code(allowed, "web") == "0", allowed
    assert PAGE.strip() in allowed, allowed
    other = host_probe(deployed.host, OTHER_NAMESPACE, "other", once(script))
    assert refused(other, "web"), other

    with policies_lifted(deployed.host, deployed.namespace):
        lifted = host_probe(deployed.host, OTHER_NAMESPACE, "other-unfenced", retrying(script))
    assert code(lifted, "web") == "0", lifted
    assert PAGE.strip() in lifted, lifted


# Each runs in the syncer image with no resources of its own: the LimitRange's defaults apply.
# `tell` overwrites its termination message in place, never truncating it first: a kill between
# a truncate and the write would leave it empty (seen once), and the counts only grow longer.
TELL = (
    "import os\nlog = os.open('/dev/termination-log', os.O_WRONLY)\n"
    "def tell(text):\n    os.pwrite(log, text.encode(), 0)\n"
)
HOGS = {
    "memory": TELL + "a = []\nwhile True:\n    a.append(bytearray(32 << 20))\n"
    "    tell(f'{len(a) * 32} MiB')",
    "forks": TELL + "import time\nn = 0\nwhile True:\n    if os.fork() == 0:\n"
    "        time.sleep(3600)\n    n += 1\n    tell(f'{n} forks')",
    "disk": TELL + "n = 0\nwith open('/tmp/fill', 'wb') as f:\n    while True:\n"
    "        f.write(b'x' * (16 << 20)); f.flush(); n += 16\n        tell(f'{n} MiB')",
}


@dataclass
class ReadyProbe:
    """GET /readyz of a tenant's API server, the way its kubeconfig reaches it, timed."""

    kubeconfig: Path
    samples: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def once(self) -> None:
        cluster = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]
        server = urlsplit(cluster["server"])
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        context = ssl.create_default_context(cadata=ca)
        start = time.perf_counter()
        try:
            conn = http.client.HTTPSConnection(
                server.hostname or "", server.port, context=context, timeout=5
            )
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                self.failures.append(f"HTTP {response.status}")
        except OSError as e:
            self.failures.append(repr(e))
        self.samples.append(time.perf_counter() - start)

    @contextmanager
    def running(self) -> Iterator["ReadyProbe"]:
        """A fresh probe sampling in the background for the block."""
        probe = ReadyProbe(self.kubeconfig)
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                probe.once()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield probe
        finally:
            stop.set()
            thread.join()


def test_a_tenant_that_runs_wild_is_stopped_while_its_neighbour_keeps_answering(
    deployed: Tenant, neighbour: Neighbour, record_property: Callable[[str, object], None]
) -> None:
    probe = ReadyProbe(neighbour.tenant.kubeconfig)
    with probe.running() as idle:
        time.sleep(5)
    ended = {}
    noisy = []
    for name, script in HOGS.items():  # one at a time: the node's two CPUs fit one more pod
        pod = probe_pod(f"hog-{name}", script, image=deployed.syncer_image(), shell="python")
        with probe.running() as beside:
            deployed.tenant.apply([pod])
            try:
                finished(deployed.tenant, f"hog-{name}")
                ended[name] = deployed.tenant.json("-n", NAMESPACE, "get", "pod", f"hog-{name}")
            finally:
                deployed.tenant("-n", NAMESPACE, "delete", "pod", f"hog-{name}", "--wait=false")
        noisy.append(beside)
    # Each is stopped by the LimitRange's default memory limit (512Mi): memory, the forks'
    # own, and the writes, which land in the sandbox's memory-backed root overlay.
    stopped = {
        n: p["status"]["containerStatuses"][0]["state"]["terminated"] for n, p in ended.items()
    }
    assert {n: t["reason"] for n, t in stopped.items()} == dict.fromkeys(HOGS, "OOMKilled"), stopped
    for name in ("memory", "disk"):
        written = int(stopped[name].get("message", "0 MiB").split()[0])
        assert 256 <= written <= 1024, stopped[name]
    assert int(stopped["forks"].get("message", "0 forks").split()[0]) >= 10, stopped["forks"]
    # The neighbour answered every probe, idle and beside each hog.
    assert idle.failures == [], idle.failures
    assert [p.failures for p in noisy] == [[], [], []]

    def p(samples: list[float], q: int) -> float:
        return statistics.quantiles(samples, n=100)[q - 1]

    base = {q: p(idle.samples, q) for q in (50, 95)}
    record_property(
        FIGURE,
        f"neighbour /readyz idle p50 {base[50] * 1000:.1f} ms, p95 {base[95] * 1000:.1f} ms "
        f"({len(idle.samples)} probes); beside each hog, as a ratio to idle: "
        + "; ".join(
            f"{n} p50 {p(b.samples, 50) / base[50]:.2f}x p95 {p(b.samples, 95) / base[95]:.2f}x "
            f"({len(b.samples)} probes)"
            for n, b in zip(HOGS, noisy, strict=True)
        ),
    )
