"""The local cluster's control-plane command lines: pure, so each flag is read in one place.

tenantry_local.cluster starts them; the paths and ports come from it.
"""

from dataclasses import dataclass
from pathlib import Path

from tenantry_local.pki import DevPKI, Pair
from tenantry_local.testbin import binary

SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"


def serving_hosts(address: str) -> list[str]:
    """The names the host API server's certificate carries: its address, loopback and the
    ``kubernetes`` Service, by IP and by name."""
    return (
        sorted({address, "127.0.0.1", "localhost", KUBERNETES_SERVICE_IP})
        + [f"kubernetes.default.svc.{d}".rstrip(".") for d in ("cluster.local", "")]
        + ["kubernetes", "kubernetes.default"]
    )


def etcd(data_dir: Path, port: int, peer_port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(binary("etcd")),
        "--name=local",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=local={peer}",
        "--listen-metrics-urls=",
        "--quota-backend-bytes=1073741824",
    ]


@dataclass(frozen=True)
class ApiServer:
    address: str
    port: int
    etcd_url: str
    serving: Pair
    kubelet_client: Pair
    verify_kubelets: bool
    """Check kubelets' serving certificates against the cluster CA (a real node has one)."""


def kube_apiserver(api: ApiServer, pki: DevPKI) -> list[str]:
    return [
        str(binary("kube-apiserver")),
        f"--bind-address={api.address}",
        f"--advertise-address={api.address}",
        f"--secure-port={api.port}",
        f"--etcd-servers={api.etcd_url}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--tls-cert-file={api.serving.cert}",
        f"--tls-private-key-file={api.serving.key}",
        f"--client-ca-file={pki.ca.cert}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,"
        "DefaultStorageClass,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,"
        "Priority,DefaultTolerationSeconds,NodeRestriction",
        # Logs, exec and port-forward: the API server calls kubelets as itself, and checks the
        # real kubelet's serving certificate against the cluster CA.
        f"--kubelet-client-certificate={api.kubelet_client.cert}",
        f"--kubelet-client-key={api.kubelet_client.key}",
        "--kubelet-preferred-address-types=InternalIP",
        *([f"--kubelet-certificate-authority={pki.ca.cert}"] if api.verify_kubelets else []),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def _component(name: str, kubeconfig: Path, port: int) -> list[str]:
    """What the controller-manager and the scheduler share: one kubeconfig for everything,
    loopback serving on ``port``, one replica."""
    return [
        str(binary(name)),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
    ]


def kube_controller_manager(kubeconfig: Path, port: int, pki: DevPKI) -> list[str]:
    return [
        *_component("kube-controller-manager", kubeconfig, port),
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca.cert}",
        f"--cluster-signing-cert-file={pki.ca.cert}",
        f"--cluster-signing-key-file={pki.ca.key}",
        "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller",
    ]


def kube_scheduler(kubeconfig: Path, port: int) -> list[str]:
    return _component("kube-scheduler", kubeconfig, port)


def kwok(kubeconfig: Path, port: int) -> list[str]:
    return [
        str(binary("kwok")),
        f"--kubeconfig={kubeconfig}",
        # kwok's own "fast" node and pod stages, copied out of its module by testbin.
        f"--config={binary('kwok-stages.yaml', executable=False)}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        "--node-lease-duration-seconds=40",
        f"--server-address=127.0.0.1:{port}",
    ]
