"""The syncer's host permissions: only what the synced kinds need, namespaced where it can be
and a ClusterRole for the cluster-wide kinds."""

from typing import Any

from tenantry_api.config import SyncerConfig

from tenantry._identity import Identity
from tenantry.virtual_cluster.spec import VirtualClusterSpec


def host_rbac_rules(syncer: SyncerConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(namespaced rules, cluster rules) the syncer needs on the host: no more."""
    rw = ["get", "list", "watch", "create", "update", "patch", "delete"]
    ro = ["get", "list", "watch"]
    core = [
        "pods",
        "pods/status",
        "pods/ephemeralcontainers",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "events",
    ]
    if syncer.from_virtual.service_accounts:
        core.append("serviceaccounts")
    rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": core, "verbs": rw},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": rw},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": rw},
    ]
    networking = [
        r
        for r, enabled in (
            ("ingresses", syncer.from_virtual.ingresses),
            ("networkpolicies", syncer.from_virtual.network_policies),
        )
        if enabled
    ]
    if networking:
        rules.append({"apiGroups": ["networking.k8s.io"], "resources": networking, "verbs": rw})
    if syncer.from_virtual.pod_disruption_budgets:
        rules.append({"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw})
    cluster: list[dict[str, Any]] = []
    if syncer.from_host.mirror_nodes:
        cluster.append({"apiGroups": [""], "resources": ["nodes"], "verbs": ro})
    if syncer.from_host.storage_classes:
        cluster.append(
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ro}
        )
    if syncer.from_virtual.priority_classes:
        cluster.append(
            {"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": rw}
        )
    return rules, cluster


def syncer_identity(spec: VirtualClusterSpec) -> Identity:
    """The control-plane pod's ServiceAccount (`vc-<name>`) and its roles."""
    rules, cluster_rules = host_rbac_rules(spec.syncer)
    return spec.identity(
        f"vc-{spec.name}",
        rules=rules,
        cluster_role=f"tenantry-vc-{spec.namespace}-{spec.name}",
        cluster_rules=cluster_rules,
    )
