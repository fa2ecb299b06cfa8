"""The tenant's CoreDNS: the objects the syncer keeps in the virtual cluster's kube-system.

It runs as an ordinary synced pod and answers for the virtual cluster's Services, so a
tenant's names never resolve against the host's. It listens on an unprivileged port and fits
the restricted Pod Security level, so it is synced whatever level the tenant is held to.
"""

from tenantry_api.types import Manifest

NAMESPACE = "kube-system"
SERVICE = "kube-dns"
NAME = "coredns"
PORT = 1053
LABELS = {"k8s-app": SERVICE}
COREFILE = f""".:{PORT} {{
    errors
    health {{
        lameduck 5s
    }}
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus :9153
    forward . /etc/resolv.conf {{
        max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
}}
"""


def manifests(image: str) -> list[Manifest]:
    """Everything CoreDNS needs, in the order it is applied."""

    def meta(name: str = NAME, namespaced: bool = True) -> Manifest:
        found: Manifest = {"name": name, "labels": dict(LABELS)}
        if namespaced:
            found["namespace"] = NAMESPACE
        return found

    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": meta("system:coredns", namespaced=False),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": meta("system:coredns", namespaced=False),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(),
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(SERVICE),
            "spec": {
                "selector": dict(LABELS),
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": PORT},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": PORT},
                    {"name": "metrics", "port": 9153, "protocol": "TCP"},
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": dict(LABELS)},
                "template": {
                    "metadata": {"labels": dict(LABELS)},
                    "spec": {
                        "serviceAccountName": NAME,
                        "dnsPolicy": "Default",  # upstream resolvers: never itself
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": NAME,
                                "image": image,
                                "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [
                                    {"name": "dns", "containerPort": PORT, "protocol": "UDP"},
                                    {"name": "dns-tcp", "containerPort": PORT, "protocol": "TCP"},
                                    {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "70Mi"},
                                    "limits": {"memory": "170Mi"},
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/health", "port": 8080},
                                    "initialDelaySeconds": 60,
                                },
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
                                # The coredns binary carries the file capability
                                # cap_net_bind_service: without it in the bounding set
                                # its exec fails (kubernetes#100914).
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {
                                        "drop": ["ALL"],
                                        "add": ["NET_BIND_SERVICE"],
                                    },
                                },
                                "volumeMounts": [
                                    {
                                        "name": "config",
                                        "mountPath": "/etc/coredns",
                                        "readOnly": True,
                                    }
                                ],
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": NAME}}],
                    },
                },
            },
        },
    ]
