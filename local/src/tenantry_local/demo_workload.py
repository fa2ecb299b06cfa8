"""The demo's workload, deployed through the tenant kubeconfig: a web Deployment of two
replicas reading its page from a ConfigMap, a Service in front of it, and a client pod that
fetches the page through the tenant's DNS and that Service. Plus the view of the tenant's pods
from both sides."""

from dataclasses import dataclass

from tenantry_api import keys
from tenantry_api.types import Manifest

from tenantry_local.images import BUSYBOX_IMAGE
from tenantry_local.kubectl import Kubectl, KubectlError, wait_until

NAMESPACE = "default"
PAGE = "Hello from a Tenantry tenant: busybox httpd, run in a gVisor sandbox on the host.\n"
WEB_HOST = f"web.{NAMESPACE}.svc.cluster.local"
WEB_URL = f"http://{WEB_HOST}"
# Debian's static busybox cannot use glibc's resolver, and its wget segfaults under gVisor:
# its nslookup, which speaks DNS itself, asks the tenant's CoreDNS, and nc fetches the page
# from the address it gives (the page is its last line). nslookup's complaints stay out of the
# page: a pod's first query can be refused while the node's NetworkPolicy controller has not
# yet added the new pod to the tenant's sets (docs/testing.md), and nslookup then asks again.
FETCH_WEB = (
    f"ip=$(nslookup {WEB_HOST} 2>/dev/null "
    "| sed -n 's/^Address:[[:space:]]*\\([0-9.]*\\)$/\\1/p' | tail -n 1) "
    '&& [ -n "$ip" ] && printf "GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n" | nc "$ip" 80 '
    "| tail -n 1 | grep ."
)
# A tenant names images as it would anywhere; the node's containerd mirrors Docker Hub.
IMAGE = BUSYBOX_IMAGE.removeprefix("docker.io/library/")


def web_manifests(replicas: int = 2) -> list[Manifest]:
    labels = {"app": "web"}
    meta = {"namespace": NAMESPACE}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-content", **meta},
            "data": {"index.html": PAGE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", **meta},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "httpd",
                                "image": IMAGE,
                                "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
                                "ports": [{"containerPort": 8080, "name": "http"}],
                                "volumeMounts": [{"name": "content", "mountPath": "/www"}],
                            }
                        ],
                        "volumes": [{"name": "content", "configMap": {"name": "web-content"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", **meta},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    ]


def probe_pod(
    name: str, script: str, *, image: str = IMAGE, shell: str = "sh", **spec: object
) -> Manifest:
    """A pod that runs ``script`` once with ``shell`` (busybox's sh by default); what it writes
    to /dev/termination-log comes back in its status (the tenant reads it there: no log
    access is needed)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "command": [shell, "-c", script],
                    "terminationMessagePolicy": "File",
                }
            ],
            **spec,
        },
    }


def retrying(command: str, tries: int = 60) -> str:
    """Shell: run ``command`` until it succeeds (a second apart), its output the message."""
    return (
        f"for i in $(seq {tries}); do {{ {command}; }} > /dev/termination-log 2>&1 && exit 0; "
        "sleep 1; done; exit 1"
    )


def finished(
    kubectl: Kubectl, name: str, timeout: float = 180, namespace: str = NAMESPACE
) -> tuple[str, str]:
    """Wait for pod ``name`` to end; (phase, termination message)."""

    def ended() -> Manifest | None:
        pod = kubectl.json("-n", namespace, "get", "pod", name)
        phase = (pod.get("status") or {}).get("phase")
        return pod if phase in ("Succeeded", "Failed") else None

    pod = wait_until(ended, timeout, f"pod {namespace}/{name} to finish")
    state = pod["status"]["containerStatuses"][0]["state"].get("terminated") or {}
    return pod["status"]["phase"], str(state.get("message", ""))


def run_probe(tenant: Kubectl, pod: Manifest, timeout: float = 180) -> tuple[str, str]:
    """Create ``pod`` in the tenant, wait for its end, delete it; (phase, message)."""
    name = pod["metadata"]["name"]
    tenant.apply([pod])
    try:
        return finished(tenant, name, timeout)
    finally:
        tenant("-n", NAMESPACE, "delete", "pod", name, "--ignore-not-found", "--timeout=60s")


@dataclass(frozen=True)
class PodPair:
    virtual: str
    host: str
    node: str
    runtime_class: str
    phase: str


def pod_pairs(tenant: Kubectl, host: Kubectl, host_namespace: str) -> list[PodPair]:
    """Every tenant pod beside its host twin (found by the syncer's annotations)."""
    twins = {}
    for pod in host.json("-n", host_namespace, "get", "pods")["items"]:
        notes = pod["metadata"].get("annotations") or {}
        if keys.OBJECT_NAME in notes:
            twins[(notes.get(keys.OBJECT_NAMESPACE, ""), notes[keys.OBJECT_NAME])] = pod
    pairs = []
    for pod in tenant.json("get", "pods", "-A")["items"]:
        meta = pod["metadata"]
        twin = twins.get((meta["namespace"], meta["name"]))
        spec = (twin or {}).get("spec") or {}
        pairs.append(
            PodPair(
                virtual=f"{meta['namespace']}/{meta['name']}",
                host=f"{host_namespace}/{twin['metadata']['name']}" if twin else "(not synced)",
                node=spec.get("nodeName", ""),
                runtime_class=spec.get("runtimeClassName", ""),
                phase=((twin or {}).get("status") or {}).get("phase", ""),
            )
        )
    return sorted(pairs, key=lambda p: p.virtual)


def situation(tenant: Kubectl) -> str:
    """The tenant's pods and recent events, for an error message."""
    pods = tenant("-n", NAMESPACE, "get", "pods", "-o", "wide")
    events = tenant("-n", NAMESPACE, "get", "events", "--sort-by=.lastTimestamp")
    return f"tenant pods:\n{pods}\ntenant events:\n{events[-3000:]}"


def deploy_web(
    tenant: Kubectl, host: Kubectl, host_namespace: str, runtime_class: str, replicas: int = 2
) -> str:
    """Apply the web workload, wait for its replicas to run on the host under the sandbox's
    RuntimeClass, and fetch the page through the Service from a client pod; the page."""
    tenant.apply(web_manifests(replicas))
    try:
        tenant(
            "-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=240s", timeout=250
        )
    except KubectlError as e:
        raise RuntimeError(f"{e}\n{situation(tenant)}") from e

    def sandboxed() -> bool:
        web = [p for p in pod_pairs(tenant, host, host_namespace) if "/web-" in p.virtual]
        return len(web) == replicas and all(
            p.phase == "Running" and p.runtime_class == runtime_class for p in web
        )

    wait_until(sandboxed, 120, f"{replicas} web pods Running on the host under {runtime_class}")
    phase, page = run_probe(tenant, probe_pod("client", retrying(FETCH_WEB)))
    if phase != "Succeeded":
        raise RuntimeError(f"the client pod could not fetch {WEB_URL}: {page}")
    return page
