"""The optional synced kinds against two real API servers, every switch on: Ingresses (status
back), ServiceAccounts, NetworkPolicies, PodDisruptionBudgets, PriorityClasses (cluster-scoped,
capped) and host StorageClasses. tests/integration/test_syncer.py runs with them off."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tenantry_api import keys
from tenantry_api.naming import cluster_host_name, host_name
from tenantry_api.types import Manifest
from tenantry_local.cluster import STORAGE_CLASS, LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.resources.meta import NAMESPACE_LABEL

from tests.support.kube import namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import ControlPlane, render, synced

HOST_NS = "sync-optional"
VC = "vco"
MAX_PRIORITY = 1000
NETWORKING = "networking.k8s.io/v1"
OURS = {keys.VCLUSTER: VC}


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    plane: ControlPlane


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    root = Path(tmp_path_factory.mktemp("sync-optional"))
    rendered = render(
        VC,
        HOST_NS,
        {
            "ingresses": True,
            "service_accounts": True,
            "network_policies": True,
            "pod_disruption_budgets": True,
            "priority_classes": True,
            "max_priority": MAX_PRIORITY,
            "storage_classes": True,
        },
    )
    with synced(kube, cluster.kubeconfig, root, rendered, name=VC, namespace_=HOST_NS) as s:
        yield Setup(kube, s.tenant, s.plane)


def hn(name: str, virtual_namespace: str) -> str:
    return host_name(name, virtual_namespace, VC)


def labelled_namespace(name: str, **labels: str) -> Manifest:
    ns = namespace(name)
    ns["metadata"]["labels"] = labels
    return ns


def host_twin(host: Kube, api_version: str, kind: str, name: str, what: str) -> Manifest:
    return wait_for(lambda: host.get_or_none(api_version, kind, name, HOST_NS), what=f"host {what}")


def test_a_pod_runs_as_the_host_twins_of_its_service_account_and_priority_class(
    setup: Setup,
) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(labelled_namespace("web", team="a"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "builder", "namespace": "web"},
        }
    )
    tenant.create(
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "high"},
            "value": 1_000_000,
            "globalDefault": True,
            "description": "the tenant's most important pods",
        }
    )
    twin_name = cluster_host_name("high", VC, HOST_NS)
    twin = wait_for(
        lambda: host.get_or_none("scheduling.k8s.io/v1", "PriorityClass", twin_name),
        what="host PriorityClass twin",
    )
    assert twin["value"] == MAX_PRIORITY  # capped: the tenant cannot outrank the host
    assert not twin.get("globalDefault")
    assert twin["metadata"]["labels"][keys.HOST_NAMESPACE] == HOST_NS
    assert twin["metadata"]["annotations"][keys.OBJECT_NAME] == "high"

    account = host_twin(host, "v1", "ServiceAccount", hn("builder", "web"), "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["labels"][keys.MANAGED_BY] == keys.MANAGED_BY_VALUE

    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "app", "namespace": "web", "labels": {"app": "web"}},
            "spec": {
                "serviceAccountName": "builder",
                "priorityClassName": "high",
                "containers": [{"name": "app", "image": "nginx"}],
            },
        }
    )
    pod = host_twin(host, "v1", "Pod", hn("app", "web"), "pod")
    spec = pod["spec"]
    assert spec["serviceAccountName"] == hn("builder", "web")
    assert spec["priorityClassName"] == twin_name
    assert spec["priority"] == MAX_PRIORITY  # set by the host's admission from the twin
    assert spec["automountServiceAccountToken"] is False
    token = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access"))
    assert token["secret"]["secretName"] == f"{hn('app', 'web')}-sa-token"


def test_an_ingress_reaches_the_host_renamed_and_its_status_flows_back(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "web-tls", "namespace": "web"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": "cert", "tls.key": "key"},
        }
    )
    tenant.create(
        {
            "apiVersion": NETWORKING,
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "web"},
            "spec": {
                "tls": [{"hosts": ["shop.example"], "secretName": "web-tls"}],
                "rules": [
                    {
                        "host": "shop.example",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
    )
    hname = hn("web", "web")
    ingress = host_twin(host, NETWORKING, "Ingress", hname, "Ingress")
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert path["backend"]["service"]["name"] == hname
    assert ingress["spec"]["tls"] == [
        {"hosts": ["shop.example"], "secretName": hn("web-tls", "web")}
    ]
    # The TLS Secret counts as referenced: it is synced although no pod uses it.
    tls = host_twin(host, "v1", "Secret", hn("web-tls", "web"), "TLS Secret")
    assert tls["type"] == "kubernetes.io/tls"
    host_twin(host, "v1", "Service", hname, "Service")

    # What an ingress controller does on the host.
    lb = [{"ip": "203.0.113.9"}]
    host.patch_status(NETWORKING, "Ingress", hname, HOST_NS, {"loadBalancer": {"ingress": lb}})
    shown = wait_for(
        lambda: (
            (tenant.get(NETWORKING, "Ingress", "web", "web").get("status") or {})
            .get("loadBalancer", {})
            .get("ingress")
        ),
        what="virtual Ingress shows the host load balancer",
    )
    assert [i["ip"] for i in shown] == ["203.0.113.9"]

    tenant.delete(NETWORKING, "Ingress", "web", "web")
    wait_for(
        lambda: host.get_or_none(NETWORKING, "Ingress", hname, HOST_NS) is None,
        what="host Ingress gone",
    )
    wait_for(
        lambda: host.get_or_none("v1", "Secret", hn("web-tls", "web"), HOST_NS) is None,
        what="host TLS Secret gone with the last Ingress using it",
    )


def _network_policy() -> Manifest:
    return {
        "apiVersion": NETWORKING,
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"team": "a"}}},
                        {"podSelector": {"matchLabels": {"app": "front"}}},
                        {"ipBlock": {"cidr": "192.0.2.0/24"}},
                    ],
                    "ports": [{"protocol": "TCP", "port": 80}],
                }
            ],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ]
                }
            ],
        },
    }


def test_a_network_policy_selects_the_host_pods_of_its_virtual_namespaces(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(labelled_namespace("db", team="a"))
    tenant.create(labelled_namespace("other", team="b"))
    tenant.create(_network_policy())
    hname = hn("web", "web")

    def team_namespaces() -> list[str]:
        found = host.get_or_none(NETWORKING, "NetworkPolicy", hname, HOST_NS)
        peer = found["spec"]["ingress"][0]["from"][0]["podSelector"] if found else {}
        return [v for e in peer.get("matchExpressions", []) for v in e.get("values", [])]

    # The namespaces may reach the syncer just after the policy: it is translated again then.
    wait_for(lambda: team_namespaces() == ["db", "web"], what="host NetworkPolicy")
    spec = host.get(NETWORKING, "NetworkPolicy", hname, HOST_NS)["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "web", **OURS, NAMESPACE_LABEL: "web"}}
    team, front, block = spec["ingress"][0]["from"]
    assert team == {
        "podSelector": {
            "matchLabels": OURS,
            "matchExpressions": [
                {"key": NAMESPACE_LABEL, "operator": "In", "values": ["db", "web"]}
            ],
        }
    }
    assert front == {
        "podSelector": {"matchLabels": {"app": "front", **OURS, NAMESPACE_LABEL: "web"}}
    }
    assert block == {"ipBlock": {"cidr": "192.0.2.0/24"}}
    (dns,) = spec["egress"][0]["to"]
    assert dns["podSelector"]["matchLabels"] == {
        "k8s-app": "kube-dns",
        **OURS,
        NAMESPACE_LABEL: "kube-system",
    }
    # The policy's own host pod is among those its podSelector picks.
    pod = host.get("v1", "Pod", hn("app", "web"), HOST_NS)
    assert spec["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()

    # A namespace joining the team joins the rule.
    tenant.patch("v1", "Namespace", "other", None, {"metadata": {"labels": {"team": "a"}}})

    wait_for(
        lambda: team_namespaces() == ["db", "other", "web"],
        what="host NetworkPolicy follows the namespace labels",
    )


def test_a_pod_disruption_budget_selects_the_host_pods(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        }
    )
    pdb = host_twin(host, "policy/v1", "PodDisruptionBudget", hn("web", "web"), "PDB")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"] == {
        "matchLabels": {"app": "web", **OURS, NAMESPACE_LABEL: "web"}
    }
    # The host's disruption controller counts the host twin of the virtual pod.
    wait_for(
        lambda: (
            (
                host.get("policy/v1", "PodDisruptionBudget", hn("web", "web"), HOST_NS).get(
                    "status"
                )
                or {}
            ).get("expectedPods")
            == 1
        ),
        what="host PDB covers the host pod",
    )


def test_host_storage_classes_appear_read_only_in_the_virtual_cluster(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    copy = wait_for(
        lambda: tenant.get_or_none("storage.k8s.io/v1", "StorageClass", STORAGE_CLASS),
        what="the host's StorageClass in the virtual cluster",
    )
    assert copy["metadata"]["labels"][keys.MANAGED_BY] == keys.MANAGED_BY_VALUE
    assert copy["provisioner"] == "kubernetes.io/no-provisioner"
    assert copy["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    # A tenant's edit is put back.
    tenant.patch(
        "storage.k8s.io/v1", "StorageClass", STORAGE_CLASS, None, {"allowVolumeExpansion": True}
    )
    wait_for(
        lambda: (
            not tenant.get("storage.k8s.io/v1", "StorageClass", STORAGE_CLASS).get(
                "allowVolumeExpansion"
            )
        ),
        what="virtual StorageClass restored",
    )
    extra = "tenantry-optional-extra"
    host.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": extra},
            "provisioner": "example.com/fake",
            "parameters": {"tier": "gold"},
        }
    )
    try:
        added = wait_for(
            lambda: tenant.get_or_none("storage.k8s.io/v1", "StorageClass", extra),
            what="a new host StorageClass in the virtual cluster",
        )
        assert added["parameters"] == {"tier": "gold"}
    finally:
        host.delete("storage.k8s.io/v1", "StorageClass", extra)
    wait_for(
        lambda: tenant.get_or_none("storage.k8s.io/v1", "StorageClass", extra) is None,
        what="its copy gone with it",
    )


def test_orphans_of_the_optional_kinds_are_removed_on_restart(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    setup.plane.kill("syncer")
    # While the syncer is down the tenant deletes things; nothing of theirs may stay.
    tenant.delete("v1", "Pod", "app", "web")
    tenant.delete("scheduling.k8s.io/v1", "PriorityClass", "high")
    tenant.delete(NETWORKING, "NetworkPolicy", "web", "web")
    tenant.delete("policy/v1", "PodDisruptionBudget", "web", "web")
    tenant.delete("v1", "ServiceAccount", "builder", "web")
    setup.plane.start("syncer")
    twin = cluster_host_name("high", VC, HOST_NS)
    gone: list[tuple[str, str, str, str | None]] = [
        ("scheduling.k8s.io/v1", "PriorityClass", twin, None),
        (NETWORKING, "NetworkPolicy", hn("web", "web"), HOST_NS),
        ("policy/v1", "PodDisruptionBudget", hn("web", "web"), HOST_NS),
        ("v1", "ServiceAccount", hn("builder", "web"), HOST_NS),
    ]
    for api_version, kind, name, ns in gone:
        wait_for(
            lambda: host.get_or_none(api_version, kind, name, ns) is None,  # noqa: B023
            timeout=120,
            what=f"orphaned host {kind} removed",
        )
