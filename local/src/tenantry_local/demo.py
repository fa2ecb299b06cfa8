"""`make demo`: deploy the quickstart stack (Pulumi.yaml) with `pulumi up` and show the tenant.

    python -m tenantry_local.demo          # the local cluster (started if it is not running)
    TENANTRY_KUBECONFIG=~/.kube/config python -m tenantry_local.demo   # any cluster
    python -m tenantry_local.demo down     # pulumi destroy of the demo stack

State lives in a file backend under `.pulumi/` (stack `demo`); the engine, the Python language
host and the kubernetes provider are the ones in `.testbin/` (`make testbin`).
"""

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from tenantry_api import keys
from tenantry_syncer.kube import api_client_from

from tenantry_local.cluster import DEFAULT_DIR, LocalCluster, State
from tenantry_local.kube import Kube
from tenantry_local.quickstart import PROJECT_DIR, engine_env, object_name, readiness
from tenantry_local.quickstart import tenantry_objects as list_objects
from tenantry_local.testbin import REPO, binary

STATE_DIR = REPO / ".pulumi"
STACK = "demo"


def local_cluster_running() -> Path | None:
    """The kubeconfig of the local cluster that `make cluster-up` left running, if it answers."""
    state_file = DEFAULT_DIR / "state.json"
    if not state_file.exists():
        return None
    state = State(**json.loads(state_file.read_text()))
    config = json.loads(Path(state.kubeconfig).read_text())
    user = config["users"][0]["user"]
    ca = config["clusters"][0]["cluster"]["certificate-authority"]
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    try:
        with urllib.request.urlopen(f"{state.server}/readyz", timeout=5, context=context) as r:
            return Path(state.kubeconfig) if r.status == 200 else None
    except OSError:
        return None


def pulumi(env: dict[str, str], *args: str) -> None:
    print(f"$ pulumi {' '.join(args)}", flush=True)
    subprocess.run([str(binary("pulumi")), *args], cwd=PROJECT_DIR, env=env, check=True)


def down() -> int:
    given = os.environ.get("TENANTRY_KUBECONFIG")
    kubeconfig = Path(given).expanduser() if given else local_cluster_running()
    if kubeconfig is None:
        print("demo down: the local cluster is not running; nothing to destroy")
        return 0
    env = engine_env(STATE_DIR / "home", kubeconfig, f"file://{STATE_DIR}")
    pulumi(env, "stack", "select", STACK)
    pulumi(env, "destroy", "--yes", "--skip-preview")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["down"]:
        return down()
    if argv:
        sys.exit(f"usage: python -m tenantry_local.demo [down], not {' '.join(argv)}")
    started = time.monotonic()
    given = os.environ.get("TENANTRY_KUBECONFIG")
    simulated = not given
    if given:
        kubeconfig = Path(given).expanduser()
        print(f"cluster: TENANTRY_KUBECONFIG={kubeconfig}")
    else:
        running = local_cluster_running()
        if running is None:
            print("cluster: starting the local cluster (etcd, kube-apiserver, kwok nodes)")
            cluster = LocalCluster(DEFAULT_DIR)
            if (DEFAULT_DIR / "state.json").exists():
                cluster.stop()
            cluster.start()
            running = cluster.kubeconfig
        else:
            print("cluster: the local cluster is already running")
        kubeconfig = running

    env = engine_env(STATE_DIR / "home", kubeconfig, f"file://{STATE_DIR}")
    STATE_DIR.mkdir(exist_ok=True)
    pulumi(env, "login", f"file://{STATE_DIR}")
    pulumi(env, "stack", "select", "--create", STACK)
    # kwok's simulated nodes run no containers: the control plane never writes the tenant
    # kubeconfig Secret there, so the stack must not wait to read it back.
    pulumi(env, "config", "set", "readKubeconfig", "false" if simulated else "true")
    # --refresh: a restarted local cluster has lost what an earlier run created.
    pulumi(env, "up", "--yes", "--refresh", "--skip-preview")
    outputs = json.loads(
        subprocess.run(
            [str(binary("pulumi")), "stack", "output", "--json"],
            cwd=PROJECT_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )

    kube = Kube(api_client_from(kubeconfig))
    by_component: dict[str, list[str]] = defaultdict(list)
    for obj in list_objects(kube):
        labels = obj["metadata"].get("labels") or {}
        state = readiness(obj)
        mark = "ok " if state.ready else "..."
        by_component[labels.get(keys.COMPONENT, "?")].append(
            f"  {mark} {obj['kind']:<34} {object_name(obj):<48} {state.detail}"
        )
    print()
    for component in sorted(by_component):
        rows = by_component[component]
        print(f"{component}: {len(rows)} objects")
        print("\n".join(sorted(rows)))
    namespace, service = outputs["namespace"], outputs["service"]
    print(
        f"""
Reach the tenant (its API server is the Service {namespace}/{service}):
  export KUBECONFIG={kubeconfig}
  kubectl -n {namespace} get statefulset,pods,svc
  kubectl -n {namespace} get secret {outputs["kubeconfig_secret"]} -o jsonpath='{{.data.config}}' \\
    | base64 -d > tenant.kubeconfig   # written by the control plane once it runs
  kubectl -n {namespace} port-forward svc/{service} 8443:443 &   # then use tenant.kubeconfig
Pods synced from the tenant run under RuntimeClass {outputs["runtime_class"]}.
Tear down: make demo-down (pulumi destroy), then make cluster-down."""
    )
    if simulated:
        print(
            "This cluster's nodes are kwok nodes: pods report ready without running, "
            "so the tenant's API server does not really answer here."
        )
    print(f"demo: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
