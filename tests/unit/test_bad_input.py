"""Bad input: one clear error naming the component, the field and the reason; nothing registered."""

from typing import Any

import pytest
from tenantry import ExposureType, TenantPolicy, TenantryInputError, VirtualCluster, VirtualNode

from tests.support.mocks import deploy_failing

CASES: list[tuple[type[Any], dict[str, Any], str, str]] = [
    # (component, args, field, reason fragment)
    (
        TenantPolicy,
        {"admission": {"require_sandbox": True}},
        "admission.require_sandbox",
        "needs isolation",
    ),
    (
        TenantPolicy,
        {"isolation": {"runtime_class_name": "sandbox", "allow_privileged": True}},
        "isolation.backend",
        "is required with allow_privileged",
    ),
    (
        TenantPolicy,
        {"isolation": {"runtime_class_name": "sandbox", "backend": "firecracker"}},
        "isolation.backend",
        "",
    ),
    (TenantPolicy, {"namespace": "Acme_Corp"}, "namespace", "not a valid RFC 1123 label"),
    (
        TenantPolicy,
        {"quota": {"hard": {"requests.cpu": "ten"}}},
        "quota.hard.requests.cpu",
        "not a valid Kubernetes quantity",
    ),
    (
        TenantPolicy,
        {"limit_range": {"default": {"memory": "512MB"}}},
        "limit_range.default.memory",
        "not a valid Kubernetes quantity",
    ),
    (
        TenantPolicy,
        {"limit_range": {"default_request": {"cpu": "2"}}},
        "limit_range.default_request.cpu",
        "above the default limit 1",
    ),
    (
        TenantPolicy,
        {"network": {"egress_except": ["10.0.0.0/33"]}},
        "network.egress_except[0]",
        "not a valid CIDR",
    ),
    (
        TenantPolicy,
        {"network": {"egress_except": ["10.0.0.1/8"]}},
        "network.egress_except[0]",
        "host bits set",
    ),
    (
        TenantPolicy,
        {"network": {"egress_cidr": "10.0.0.0/8", "egress_except": ["192.168.0.0/16"]}},
        "network.egress_except[0]",
        "not inside egress_cidr",
    ),
    (
        TenantPolicy,
        {"network": {"ingress_from_namespaces": ["Ingress"]}},
        "network.ingress_from_namespaces[0]",
        "not a valid RFC 1123 label",
    ),
    (
        TenantPolicy,
        {"pod_security": {"level": "strict"}},
        "pod_security.level",
        "Input should be 'privileged', 'baseline' or 'restricted'",
    ),
    (
        TenantPolicy,
        {"pod_security": {"version": "1.34"}},
        "pod_security.version",
        "is not 'latest' or vX.Y",
    ),
    (
        TenantPolicy,
        {"namespace_labels": {"bad key!": "x"}},
        "namespace_labels.bad key!",
        "not a valid label key",
    ),
    (TenantPolicy, {"quotas": {}}, "quotas", "Extra inputs are not permitted"),
    (TenantPolicy, {"quota": {"enabled": "maybe"}}, "quota.enabled", "valid boolean"),
    (VirtualCluster, {"namespace": "-acme"}, "namespace", "not a valid RFC 1123 label"),
    (VirtualCluster, {"service_cidr": "10.96.0.0/40"}, "service_cidr", "not a valid CIDR"),
    (
        VirtualCluster,
        {"sync": {"priority_classes": True, "max_priority": 2_000_000_000}},
        "sync.max_priority",
        "the range of a non-system PriorityClass",
    ),
    (VirtualCluster, {"store": {"size": "lots"}}, "store.size", "not a valid Kubernetes quantity"),
    (
        VirtualCluster,
        {"store": {"type": "postgres"}},
        "store.type",
        "Input should be 'sqlite' or 'etcd'",
    ),
    (
        VirtualCluster,
        {"kubernetes_version": "1.34"},
        "kubernetes_version",
        "not a version like v1.34.4",
    ),
    (
        VirtualCluster,
        {"exposure": {"type": "Ingress"}},
        "exposure.host",
        "required for Ingress exposure",
    ),
    (
        VirtualCluster,
        {"exposure": {"type": "NodePort", "node_port": 80}},
        "exposure.node_port",
        "outside 30000-32767",
    ),
    (
        VirtualCluster,
        {"exposure": {"type": "NodePort", "host": "10.0.0.7"}},
        "exposure.node_port",
        "required with NodePort exposure and a host",
    ),
    (
        VirtualCluster,
        {
            "exposure": {"type": "LoadBalancer"},
            "policy": {"quota": {"hard": {"services.loadbalancers": "0"}}},
        },
        "exposure.type",
        "services.loadbalancers is 0",
    ),
    (
        VirtualCluster,
        {"exposure": {"type": "NodePort"}, "policy": {}},
        "exposure.type",
        "services.nodeports is 0",
    ),
    (
        VirtualCluster,
        {"policy": {"namespace": "other"}},
        "policy.namespace",
        "differs from namespace 'acme'",
    ),
    (
        VirtualCluster,
        {"policy": {"quota": {"hard": {"count/pods": "x"}}}},
        "policy.quota.hard.count/pods",
        "not a valid Kubernetes quantity",
    ),
    (
        VirtualCluster,
        {"isolation": {"runtime_class_name": "Sandbox"}},
        "isolation.runtime_class_name",
        "not a valid RFC 1123 label",
    ),
    (
        VirtualCluster,
        {"store": {"type": "etcd"}, "snapshots": {"bucket": "backups"}},
        "snapshots",
        "needs store.type sqlite",
    ),
    (VirtualCluster, {"snapshots": {"bucket": "Backups_1"}}, "snapshots.bucket", "not an S3"),
    (
        VirtualCluster,
        {"snapshots": {"bucket": "backups", "schedule": "every day"}},
        "snapshots.schedule",
        "not a cron schedule",
    ),
    (
        VirtualCluster,
        {"snapshots": {"bucket": "backups", "retention": 0}},
        "snapshots.retention",
        "at least one",
    ),
    (
        VirtualCluster,
        {"snapshots": {"bucket": "backups", "endpoint_url": "minio:9000"}},
        "snapshots.endpoint_url",
        "http(s)://",
    ),
    (
        VirtualCluster,
        {"restore_from": {"uri": "https://backups/x"}},
        "restore_from.uri",
        "not s3://",
    ),
    (VirtualCluster, {"sleep": {"after_minutes": 0}}, "sleep.after_minutes", "at least 1"),
    (
        VirtualCluster,
        {"sleep": {"awake_hours": "8-18"}},
        "sleep.awake_hours",
        "not a range HH:MM-HH:MM",
    ),
    (
        VirtualCluster,
        {"sleep": {"awake_hours": "08:00-18:00", "awake_days": ["Monday"]}},
        "sleep.awake_days[0]",
        "not one of Mon",
    ),
    (
        VirtualCluster,
        {"sleep": {"awake_days": ["Mon"]}},
        "sleep.awake_days",
        "needs awake_hours",
    ),
    (
        VirtualCluster,
        {"sleep": {"awake_hours": "08:00-18:00", "time_zone": "Mars/Olympus"}},
        "sleep.time_zone",
        "not an IANA time zone",
    ),
    (
        VirtualCluster,
        {"isolation": {"node_selector": {}}},
        "isolation.runtime_class_name",
        "Field required",
    ),
    (
        VirtualCluster,
        {"isolation": {"runtime_class_name": "sandbox", "host_path_root": "/var/../etc"}},
        "isolation.host_path_root",
        "not a normalised absolute path",
    ),
    (
        VirtualCluster,
        {"policy": {}, "sandbox_rewrites": {"host_path": True}},
        "sandbox_rewrites.host_path",
        "refuses every hostPath volume",
    ),
    (VirtualNode, {"host_path_root": "/"}, "host_path_root", "not a normalised absolute path"),
    (
        VirtualNode,
        {"preset": "gke", "backend": "kata"},
        "backend",
        "preset gke provides only gvisor, not kata",
    ),
    (VirtualNode, {"preset": "azure"}, "preset", "Input should be 'eks', 'gke', 'aks' or 'bare'"),
    (
        VirtualNode,
        {"backend": "runc-hardened", "allow_privileged": True},
        "allow_privileged",
        "shares the host kernel",
    ),
    (
        VirtualNode,
        {"overhead": {"memory": "1 Gi"}},
        "overhead.memory",
        "not a valid Kubernetes quantity",
    ),
    (
        VirtualNode,
        {"runtime_class_name": "Sandbox"},
        "runtime_class_name",
        "not a valid RFC 1123 label",
    ),
    (
        VirtualNode,
        {"tolerations": [{"operator": "Maybe"}]},
        "tolerations[0].operator",
        "must be one of Equal, Exists",
    ),
    (VirtualNode, {"io_limits": {"weight": 0}}, "io_limits.weight", "greater than or equal to 1"),
    (VirtualNode, {"preset": "gke", "agent": {"image": "x"}}, "agent", "runs no agent"),
    # Serverless pod compute cannot hold the sandbox: preview fails instead of deploying less.
    (
        VirtualNode,
        {"preset": "eks", "compute": "fargate"},
        "compute",
        "EKS Fargate runs no DaemonSets, so the node agent cannot install the gvisor runtime",
    ),
    (
        VirtualNode,
        {"preset": "aks", "compute": "virtual-nodes"},
        "compute",
        "AKS virtual nodes (Azure Container Instances) have no Kata runtime handler",
    ),
    (VirtualNode, {"preset": "gke", "compute": "fargate"}, "compute", "fargate is eks's"),
    (
        VirtualNode,
        {"agent": {"restart_strategy": "reboot"}},
        "agent.restart_strategy",
        "systemd, signal, none",
    ),
    (
        VirtualNode,
        {"agent": {"containerd_socket": "run/containerd/containerd.sock"}},
        "agent.containerd_socket",
        "not a normalised absolute path",
    ),
    (
        VirtualNode,
        {"agent": {"binary_dirs": ["/usr/local/bin", "/var/lib/node/../bin"]}},
        "agent.binary_dirs[1]",
        "not a normalised absolute path",
    ),
]


@pytest.mark.parametrize(
    ("component", "args", "field", "reason"), CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES]
)
def test_bad_input_fails_with_one_clear_error_and_registers_nothing(
    component: type[Any], args: dict[str, Any], field: str, reason: str
) -> None:
    error, registered = deploy_failing(lambda: component("acme", args))
    assert isinstance(error, TenantryInputError), repr(error)
    message = str(error)
    assert message.startswith(f"{component.__name__} 'acme': {field}: "), message
    assert reason in message, message
    assert "\n" not in message
    assert registered == []


def test_a_failing_component_registers_none_of_its_objects_beside_valid_ones() -> None:
    # Validation runs before registration: the failing component, its embedded policy and
    # their children are all absent, while the valid VirtualNode before it went through.
    def program() -> None:
        VirtualNode("sandbox", {})
        VirtualCluster("acme", {"exposure": {"type": ExposureType.NODE_PORT}, "policy": {}})

    error, registered = deploy_failing(program)
    assert isinstance(error, TenantryInputError)
    assert {r.type for r in registered if r.type.startswith("tenantry:")} == {
        "tenantry:index:VirtualNode"
    }
    assert not any(r.name.startswith("acme") for r in registered)
