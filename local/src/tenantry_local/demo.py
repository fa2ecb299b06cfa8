"""`make demo`: one command to a tenant that works.

    python -m tenantry_local.demo          # the local cluster with its real node (started here)
    TENANTRY_KUBECONFIG=~/.kube/config python -m tenantry_local.demo   # any cluster
    TENANTRY_KUBECONFIG=… TENANTRY_IMAGE_REGISTRY=mirror.example:5000 …  # images from a mirror
    python -m tenantry_local.demo down     # pulumi destroy, then the local cluster stopped

Locally it builds the images (quick when up to date), starts the local cluster with its real
node and registry, runs `pulumi up` of the quickstart (Pulumi.yaml) with the tenant API on the
real node's NodePort, writes the tenant kubeconfig from the stack's secret output, deploys a
web workload through it and fetches the page from inside the tenant. State lives under
`.pulumi/` (stack `demo`); the engine and plugins are `.testbin/`'s.
"""

import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tenantry_api import keys
from tenantry_syncer.kube import api_client_from

from tenantry_local.cluster import DEFAULT_DIR, LocalCluster, State
from tenantry_local.demo_stack import DemoStack, local_settings, remote_settings
from tenantry_local.demo_workload import deploy_web, pod_pairs
from tenantry_local.images import build_all
from tenantry_local.kube import Kube
from tenantry_local.kubectl import Kubectl, KubectlError, wait_until
from tenantry_local.network import NodeNetwork
from tenantry_local.node import RealNode
from tenantry_local.node import missing as node_missing
from tenantry_local.quickstart import object_name, readiness
from tenantry_local.quickstart import tenantry_objects as list_objects
from tenantry_local.testbin import REPO, binary

STATE_DIR = REPO / ".pulumi"


@contextmanager
def phase(name: str) -> Iterator[None]:
    """One progress line per phase, with its duration."""
    print(f"demo: {name} ...", flush=True)
    started = time.monotonic()
    yield
    print(f"demo: {name}: done in {time.monotonic() - started:.0f}s", flush=True)


def running_cluster(root: Path = DEFAULT_DIR) -> State | None:
    """The local cluster left running in ``root`` (by `make cluster-up` or an earlier demo),
    when its API server still answers."""
    state_file = root / "state.json"
    if not state_file.exists():
        return None
    state = State(**json.loads(state_file.read_text()))
    try:
        Kubectl(Path(state.kubeconfig))("get", "--raw", "/readyz", timeout=10)
    except (KubectlError, OSError):
        return None
    return state


def local_cluster(root: Path = DEFAULT_DIR) -> tuple[Path, RealNode]:
    """The local cluster's kubeconfig and real node, started when none is running."""
    state = running_cluster(root)
    if state is not None and state.node_slot is not None:
        print(f"demo: the local cluster in {root} is already running")
        node = RealNode(root / "node", NodeNetwork(state.node_slot), state.node_cgroup)
        return Path(state.kubeconfig), node
    if reason := node_missing():
        sys.exit(f"demo: the local cluster needs a real node, and this machine has none: {reason}")
    cluster = LocalCluster(root, real_node=True, progress=lambda line: print(f"cluster: {line}"))
    cluster.start(timeout=180)  # replaces a stopped or kwok-only cluster left in root
    assert cluster.node is not None
    return cluster.kubeconfig, cluster.node


def wait_for_api(tenant: Kubectl, timeout: float) -> None:
    def answers() -> bool:
        try:
            return tenant("get", "--raw", "/readyz", timeout=10).strip() == "ok"
        except (KubectlError, OSError):
            return False

    wait_until(answers, timeout, "the tenant API server to answer through the kubeconfig")


def components_table(kubeconfig: Path) -> str:
    kube = Kube(api_client_from(kubeconfig))
    by_component: dict[str, list[str]] = defaultdict(list)
    for obj in list_objects(kube):
        state = readiness(obj)
        labels = obj["metadata"].get("labels") or {}
        synced = "synced from the tenant" if keys.VCLUSTER in labels else "?"
        component = labels.get(keys.COMPONENT, synced)
        by_component[component].append(
            f"  {'ok ' if state.ready else '...'} {obj['kind']:<34} "
            f"{object_name(obj):<48} {state.detail}"
        )
    lines = []
    for component in sorted(by_component):
        lines.append(f"{component}: {len(by_component[component])} objects")
        lines += sorted(by_component[component])
    return "\n".join(lines)


def pods_table(tenant: Kubectl, host: Kubectl, host_namespace: str) -> str:
    rows = [("TENANT POD", "HOST POD", "NODE", "RUNTIMECLASS", "PHASE")]
    rows += [
        (p.virtual, p.host, p.node, p.runtime_class or "-", p.phase)
        for p in pod_pairs(tenant, host, host_namespace)
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def down() -> int:
    given = os.environ.get("TENANTRY_KUBECONFIG")
    kubeconfig = Path(given).expanduser() if given else None
    state = None if given else running_cluster()
    if state is not None:
        kubeconfig = Path(state.kubeconfig)
    stack = DemoStack(STATE_DIR, kubeconfig) if kubeconfig else None
    if stack is not None and stack.exists():
        with phase("pulumi destroy"):
            stack.destroy()
    else:
        print("demo down: no demo stack on a running cluster; nothing to destroy")
    if not given and (DEFAULT_DIR / "state.json").exists():
        with phase("stopping the local cluster"):
            LocalCluster(DEFAULT_DIR).stop()
    (STATE_DIR / "demo" / "tenant.kubeconfig").unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    if argv == ["down"]:
        return down()
    if argv:
        sys.exit(f"usage: python -m tenantry_local.demo [down], not {' '.join(argv)}")
    started = time.monotonic()
    given = os.environ.get("TENANTRY_KUBECONFIG")
    mirror = os.environ.get("TENANTRY_IMAGE_REGISTRY")
    if given:
        kubeconfig = Path(given).expanduser()
        print(f"demo: cluster TENANTRY_KUBECONFIG={kubeconfig}")
        if mirror:
            print(f"demo: images from the mirror TENANTRY_IMAGE_REGISTRY={mirror}")
        settings = remote_settings(mirror)
    elif mirror:
        # The local node pulls the images' own names from its loopback registry (hosts.toml).
        sys.exit(
            "demo: TENANTRY_IMAGE_REGISTRY is for a cluster of TENANTRY_KUBECONFIG; the local "
            "cluster serves every image from its own registry. Unset it, or set both."
        )
    else:
        with phase("images (make images)"):
            build_all()
        with phase("local cluster: control plane, kwok nodes, real node, registry"):
            kubeconfig, node = local_cluster()
        settings = local_settings(node)

    stack = DemoStack(STATE_DIR, kubeconfig)
    up_started = time.monotonic()
    with phase("pulumi up of the quickstart"):
        stack.select(settings)
        stack.up()
    tenant_config = stack.write_kubeconfig(STATE_DIR / "demo" / "tenant.kubeconfig")
    outputs = stack.outputs()
    tenant, host = Kubectl(tenant_config), Kubectl(kubeconfig)
    namespace = outputs["namespace"]
    try:
        with phase("the tenant API through the kubeconfig"):
            wait_for_api(tenant, 120)
    except TimeoutError:
        server = json.loads(tenant("config", "view", "-o", "json"))["clusters"][0]["cluster"]
        print(
            f"demo: the tenant API at {server['server']} does not answer from here: it is the "
            f"in-cluster Service. Reach it with\n  kubectl -n {namespace} port-forward "
            f"svc/{outputs['service']} 8443:443\nand https://127.0.0.1:8443 as the server "
            f"(the certificate names it) in {tenant_config}, or deploy with exposure NodePort "
            "or LoadBalancer (Pulumi.yaml)."
        )
        return 1
    api_ready = time.monotonic() - up_started
    with phase("a web Deployment, its Service and ConfigMap, through the tenant kubeconfig"):
        page = deploy_web(tenant, host, namespace, outputs["runtime_class"])
    print(f"\nthe page, fetched by a tenant pod through the Service: {page.strip()}\n")
    print(components_table(kubeconfig))
    print("\nThe tenant's pods, as the tenant sees them and as the host runs them:\n")
    print(pods_table(tenant, host, namespace))
    kubectl = binary("kubectl")
    print(
        f"""
Use the tenant:
  export KUBECONFIG={tenant_config}
  {kubectl} get pods -A
Tear down: make demo-down (pulumi destroy, then the local cluster stopped)"""
    )
    print(f"demo: pulumi up to the tenant API answering: {api_ready:.0f}s")
    print(f"demo: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
