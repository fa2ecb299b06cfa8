"""The real node's configuration files, rendered without I/O: the kubelet's, kube-proxy's, the
policy controller's and CoreDNS's (tenantry_local.node starts them)."""

from pathlib import Path

from tenantry_local.control_plane_flags import SERVICE_CIDR
from tenantry_local.network import NodeNetwork
from tenantry_local.pki import Pair

NODE_NAME = "real-node"
CLUSTER_DOMAIN = "cluster.local"


def kubelet_config(
    *,
    runtime_socket: Path,
    logs: Path,
    address: str,
    cgroup: str,
    ca: Path,
    serving: Pair | None,
    cluster_dns: list[str],
) -> dict[str, object]:
    """The kubelet's configuration (shared with the node tier's kubelet, tests/support)."""
    tls = {} if serving is None else {"tlsCertFile": str(serving.cert),
                                      "tlsPrivateKeyFile": str(serving.key)}  # fmt: skip
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{cgroup}",
        # This VM has cgroup v1 only (docs/testing.md).
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{runtime_socket}",
        # Callers are authenticated and authorized by the API server, never anonymous.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        **tls,
        "address": address,
        "readOnlyPort": 0,
        "clusterDNS": cluster_dns,
        "clusterDomain": CLUSTER_DOMAIN,
        # Pods get the cluster's DNS only: the host's resolv.conf names nothing they reach.
        "resolvConf": "",
        "enforceNodeAllocatable": [],
        # Evictions and image GC would only add noise to a local cluster.
        "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "podLogsDir": str(logs),
        # Reports ephemeral-storage capacity: a tenant's LimitRange gives every container an
        # ephemeral-storage request, which fits nowhere on a node that reports none.
        "localStorageCapacityIsolation": True,
    }


def netpol_argv(binary: Path, kubeconfig: Path, health_port: int) -> list[str]:
    """kube-router's NetworkPolicy controller for this node (hack/testbin: kube-router-netpol).

    kube-router requires the Service range (traffic to a ClusterIP is let in at the node's own
    INPUT chain); the node's and the pods' addresses it reads from their objects.
    """
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={NODE_NAME}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--health-port={health_port}",
    ]


def kube_proxy_config(kubeconfig: Path, net: NodeNetwork) -> object:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "bindAddress": net.node_ip,
        "clusterCIDR": net.pod_cidr,
        "healthzBindAddress": f"{net.node_ip}:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # 0: leave the kernel's conntrack table size and timeouts as they are.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        # No route_localnet: NodePorts on 127.0.0.1 are not needed here.
        "iptables": {"localhostNodePorts": False},
    }


def corefile(kubeconfig: Path, net: NodeNetwork) -> str:
    # No upstream: names outside the cluster resolve to nothing, as pods reach nothing outside.
    return f"""\
.:53 {{
    bind {net.node_ip}
    errors
    ready {net.node_ip}:8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} local
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    cache 30
}}
"""
