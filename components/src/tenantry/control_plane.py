"""The control-plane pod's containers: pure rendering of commands, flags and mounts.

Kept apart from the component so the integration tests can run exactly these commands with
locally built binaries. docs/virtual-cluster.md explains each flag.
"""

from dataclasses import dataclass
from typing import Any

from tenantry_api.config import CONFIG_KEY

PKI_DIR = "/pki"
DATA_DIR = "/data"
CONFIG_DIR = "/etc/tenantry"
API_PORT = 6443
SYNCER_PORT = 8080
STORE_ENDPOINT = "http://127.0.0.1:2379"
# kine's own SQLite defaults (pkg/drivers/sqlite DefaultParams), which a DSN given on the command
# line replaces. Without _busy_timeout and _txlock=immediate, concurrent writers at boot (the
# API server's RBAC bootstrap, the controllers, the syncer) get "database is locked": seen as
# bootstrap ClusterRoleBindings never written and writes timing out.
KINE_SQLITE_PARAMS = (
    "_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate"
    "&_stmt_cache_size=20&cache=shared"
)

# Controllers that need real nodes or cloud APIs have nothing to do in a virtual cluster;
# the host does that work (vcluster disables the same set).
DISABLED_CONTROLLERS = (
    "nodeipam",
    "nodelifecycle",
    "persistentvolume-binder",
    "attachdetach",
    "persistentvolume-expander",
    "cloud-node-lifecycle",
    "ttl",
)


@dataclass(frozen=True)
class ControlPlane:
    name: str
    kubernetes_version: str
    service_cidr: str
    store: str
    """sqlite (kine sidecar) or etcd."""
    api_server_image: str
    controller_manager_image: str
    kine_image: str
    etcd_image: str
    syncer_image: str


def probe(
    path: str, period: int, failure_threshold: int, port: int = API_PORT, scheme: str = "HTTPS"
) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port, "scheme": scheme},
        "periodSeconds": period,
        "failureThreshold": failure_threshold,
        "timeoutSeconds": 5,
    }


def api_server_args(cp: ControlPlane) -> list[str]:
    return [
        f"--secure-port={API_PORT}",
        f"--etcd-servers={STORE_ENDPOINT}",
        f"--service-cluster-ip-range={cp.service_cidr}",
        "--endpoint-reconciler-type=none",
        f"--tls-cert-file={PKI_DIR}/apiserver.crt",
        f"--tls-private-key-file={PKI_DIR}/apiserver.key",
        f"--client-ca-file={PKI_DIR}/ca.crt",
        "--authorization-mode=RBAC",
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,LimitRanger,"
        "ResourceQuota,PodSecurity,ValidatingAdmissionPolicy,DefaultStorageClass",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={PKI_DIR}/sa.pub",
        f"--service-account-signing-key-file={PKI_DIR}/sa.key",
        f"--requestheader-client-ca-file={PKI_DIR}/front-proxy-ca.crt",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={PKI_DIR}/front-proxy-client.crt",
        f"--proxy-client-key-file={PKI_DIR}/front-proxy-client.key",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def controller_manager_args(cp: ControlPlane) -> list[str]:
    kubeconfig = f"{PKI_DIR}/controller-manager.conf"
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        # Starts in the same pod as the API server, so RBAC may not be bootstrapped yet:
        # do not crash on the request-header ConfigMap nobody proxies to us with anyway.
        "--authentication-skip-lookup=true",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--controllers=*," + ",".join(f"-{c}" for c in DISABLED_CONTROLLERS),
        f"--cluster-signing-cert-file={PKI_DIR}/ca.crt",
        f"--cluster-signing-key-file={PKI_DIR}/ca.key",
        f"--root-ca-file={PKI_DIR}/ca.crt",
        f"--service-account-private-key-file={PKI_DIR}/sa.key",
        "--use-service-account-credentials=true",
        "--profiling=false",
    ]


def store_container(cp: ControlPlane) -> dict[str, Any]:
    mount = [{"name": "data", "mountPath": DATA_DIR}]
    if cp.store == "etcd":
        return {
            "name": "etcd",
            "image": cp.etcd_image,
            "command": ["etcd"],
            "args": [
                f"--name={cp.name}",
                f"--data-dir={DATA_DIR}/etcd",
                f"--listen-client-urls={STORE_ENDPOINT}",
                f"--advertise-client-urls={STORE_ENDPOINT}",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                f"--initial-cluster={cp.name}=http://127.0.0.1:2380",
            ],
            "volumeMounts": mount,
        }
    return {
        "name": "kine",
        "image": cp.kine_image,
        "command": ["kine"],
        "args": [
            f"--endpoint=sqlite://{DATA_DIR}/state.db?{KINE_SQLITE_PARAMS}",
            "--listen-address=127.0.0.1:2379",
            # Its metrics would take :8080, the syncer's port in the same pod.
            "--metrics-bind-address=0",
        ],
        # SQLite needs a writable temporary directory (SQLITE_TMPDIR, TMPDIR, /var/tmp, /tmp,
        # then the working directory). The root filesystem is read-only, and without one it
        # dropped writes at boot: the API server's last bootstrap ClusterRoleBindings.
        "env": [{"name": "SQLITE_TMPDIR", "value": DATA_DIR}],
        "volumeMounts": mount,
    }


RESTRICTED: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
# Upstream's kube-apiserver binary carries the file capability cap_net_bind_service, and exec
# of such a binary fails when that capability is not in the bounding set (kubernetes#100914).
RESTRICTED_WITH_BIND: dict[str, Any] = {
    **RESTRICTED,
    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
}
CONFIG_ARG = ["--config", f"{CONFIG_DIR}/{CONFIG_KEY}"]


def containers(cp: ControlPlane) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(init containers, containers) of the control-plane pod."""
    pki = {"name": "pki", "mountPath": PKI_DIR}
    config = {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}
    config_arg = CONFIG_ARG
    restricted = RESTRICTED
    init = [
        {
            "name": "init",
            "image": cp.syncer_image,
            "command": ["tenantry-syncer", "init", *config_arg, "--pki-dir", PKI_DIR],
            "volumeMounts": [pki, config],
            "securityContext": restricted,
        }
    ]
    main = [
        {**store_container(cp), "securityContext": restricted},
        {
            "name": "kube-apiserver",
            "image": cp.api_server_image,
            "command": ["kube-apiserver"],
            "args": api_server_args(cp),
            "ports": [{"name": "https", "containerPort": API_PORT}],
            "readinessProbe": probe("/readyz", 5, 3),
            "livenessProbe": probe("/livez", 10, 6),
            "volumeMounts": [{**pki, "readOnly": True}],
            "securityContext": RESTRICTED_WITH_BIND,
        },
        {
            "name": "kube-controller-manager",
            "image": cp.controller_manager_image,
            "command": ["kube-controller-manager"],
            "args": controller_manager_args(cp),
            "volumeMounts": [{**pki, "readOnly": True}],
            "securityContext": restricted,
        },
        {
            "name": "syncer",
            "image": cp.syncer_image,
            "command": [
                "tenantry-syncer",
                "run",
                *config_arg,
                "--pki-dir",
                PKI_DIR,
                f"--port={SYNCER_PORT}",
            ],
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ],
            "ports": [{"name": "metrics", "containerPort": SYNCER_PORT}],
            "readinessProbe": probe("/readyz", 5, 3, port=SYNCER_PORT, scheme="HTTP"),
            "livenessProbe": probe("/healthz", 10, 6, port=SYNCER_PORT, scheme="HTTP"),
            # The kubernetes client writes a kubeconfig's embedded certificates to temporary
            # files, and the root filesystem is read-only.
            "volumeMounts": [
                {**pki, "readOnly": True},
                config,
                {"name": "tmp", "mountPath": "/tmp"},
            ],
            "securityContext": restricted,
        },
    ]
    return init, main
