"""The optional kinds' pure translators: Ingresses, ServiceAccounts, NetworkPolicies,
PodDisruptionBudgets, PriorityClasses (cluster-scoped names) and host StorageClasses."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenantry_api import keys
from tenantry_api.config import MAX_USER_PRIORITY
from tenantry_api.naming import (
    MAX_LENGTH,
    cluster_host_name,
    host_name,
    is_dns1123_label,
    virtual_ref,
)
from tenantry_syncer.resources import (
    ingresses,
    networkpolicies,
    pdbs,
    pods,
    priorityclasses,
    selectors,
    serviceaccounts,
    storageclasses,
)
from tenantry_syncer.resources.meta import NAMESPACE_LABEL, rewritten_label_key

VC = "vc1"
HOST_NS = "acme"
OURS = {keys.VCLUSTER: VC}


def hn(name: str, namespace: str = "shop") -> str:
    return host_name(name, namespace, VC)


def meta(name: str, namespace: str | None = "shop", **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "uid": f"u-{name}", **extra}
    if namespace is not None:
        found["namespace"] = namespace
    return found


# --- cluster-scoped names ---


def test_cluster_host_name_is_prefixed_per_virtual_cluster_and_host_namespace() -> None:
    name = cluster_host_name("high", VC, HOST_NS)
    assert name == "tenantry-high-x-vc1-x-acme"
    # Same class, same virtual cluster name, another host namespace: another host class.
    assert cluster_host_name("high", VC, "other") != name
    assert cluster_host_name("high", "vc2", HOST_NS) != name
    # The separator inside a part cannot make two triples meet.
    assert cluster_host_name("a-x-b", "c", "d") != cluster_host_name("a", "b-x-c", "d")


names = st.from_regex(r"\A[a-z0-9]([-a-z0-9.]{0,100}[a-z0-9])?\Z")
labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


@given(names, labels, labels)
def test_cluster_host_names_are_short_valid_and_deterministic(
    name: str, vcluster: str, host_namespace: str
) -> None:
    found = cluster_host_name(name, vcluster, host_namespace)
    assert len(found) <= MAX_LENGTH
    assert is_dns1123_label(found), found
    assert found.startswith("tenantry-")
    assert not found.startswith("system-")
    assert found == cluster_host_name(name, vcluster, host_namespace)


@given(st.lists(st.tuples(names, labels, labels), min_size=2, max_size=40, unique=True))
def test_cluster_host_names_do_not_collide(triples: list[tuple[str, str, str]]) -> None:
    assert len({cluster_host_name(*t) for t in triples}) == len(triples)


def test_long_names_are_hashed_apart() -> None:
    long = "x" * 60
    a = cluster_host_name(long + "a", VC, HOST_NS)
    b = cluster_host_name(long + "b", VC, HOST_NS)
    assert a != b
    assert len(a) == len(b) == MAX_LENGTH


# --- selectors ---


def test_selector_keys_are_translated_like_pod_labels_and_pinned() -> None:
    clash = f"{keys.PREFIX}/role"
    selector = {
        "matchLabels": {"app": "web", clash: "x"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
    }
    host = selectors.host_pods(selector, VC, ["shop"])
    assert host["matchLabels"] == {
        "app": "web",
        rewritten_label_key(clash): "x",
        keys.VCLUSTER: VC,
        NAMESPACE_LABEL: "shop",
    }
    assert host["matchExpressions"] == selector["matchExpressions"]
    many = selectors.host_pods({}, VC, ["b", "a", "a"])
    assert many == {
        "matchLabels": OURS,
        "matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "In", "values": ["a", "b"]}],
    }
    assert selectors.host_pods(None, VC, None) == {"matchLabels": OURS}


def test_no_namespace_matches_no_pod() -> None:
    nothing = selectors.host_pods({"matchLabels": {"app": "web"}}, VC, [])
    pod_labels = {"app": "web", keys.MANAGED_BY: keys.MANAGED_BY_VALUE, keys.VCLUSTER: VC}
    assert not selectors.matches(nothing, pod_labels)
    assert nothing["matchLabels"][keys.VCLUSTER] == VC


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    ],
)
def test_label_selector_semantics(
    selector: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    assert selectors.matches(selector, labels) is expected


# --- NetworkPolicies ---

NAMESPACES = {
    "shop": {"kubernetes.io/metadata.name": "shop", "team": "a"},
    "shop-db": {"kubernetes.io/metadata.name": "shop-db", "team": "a"},
    "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
}


def policy(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": networkpolicies.API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": meta("web"),
        "spec": spec,
    }


def test_network_policy_selectors_become_host_pod_selectors() -> None:
    virtual = policy(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app": "front"}}},
                        {"namespaceSelector": {"matchLabels": {"team": "a"}}},
                        {
                            "namespaceSelector": {"matchLabels": {"team": "a"}},
                            "podSelector": {"matchLabels": {"app": "db"}},
                        },
                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                    ],
                    "ports": [{"port": 80, "protocol": "TCP"}],
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
                        },
                        {"namespaceSelector": {}},
                        {"namespaceSelector": {"matchLabels": {"team": "nobody"}}},
                    ]
                }
            ],
        }
    )
    host = networkpolicies.to_host(virtual, VC, HOST_NS, NAMESPACES)
    assert host["metadata"]["name"] == hn("web")
    assert host["metadata"]["namespace"] == HOST_NS
    assert host["metadata"]["annotations"][keys.OBJECT_KIND] == "NetworkPolicy"
    spec = host["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "web", **OURS, NAMESPACE_LABEL: "shop"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    front, team, team_db, block = spec["ingress"][0]["from"]
    assert front == {
        "podSelector": {"matchLabels": {"app": "front", **OURS, NAMESPACE_LABEL: "shop"}}
    }
    both = [{"key": NAMESPACE_LABEL, "operator": "In", "values": ["shop", "shop-db"]}]
    assert team == {"podSelector": {"matchLabels": OURS, "matchExpressions": both}}
    assert team_db == {
        "podSelector": {"matchLabels": {"app": "db", **OURS}, "matchExpressions": both}
    }
    assert block == {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}
    assert spec["ingress"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    dns, everywhere, nobody = spec["egress"][0]["to"]
    assert dns == {
        "podSelector": {
            "matchLabels": {"k8s-app": "kube-dns", **OURS, NAMESPACE_LABEL: "kube-system"}
        }
    }
    # `{}` is every virtual namespace of this virtual cluster, never the host's namespaces.
    assert everywhere == {"podSelector": {"matchLabels": OURS}}
    # No virtual namespace matches: the peer matches no pod (dropping it would widen the rule).
    assert not selectors.matches(nobody["podSelector"], {**OURS, keys.MANAGED_BY: "tenantry"})
    # No peer ever selects host namespaces: everything stays in the host namespace.
    for peer in [*spec["ingress"][0]["from"], *spec["egress"][0]["to"]]:
        assert "namespaceSelector" not in peer


def test_network_policy_open_and_closed_rules_keep_their_meaning() -> None:
    deny_all = networkpolicies.to_host(
        policy({"podSelector": {}, "policyTypes": ["Ingress"]}), VC, HOST_NS, NAMESPACES
    )
    assert deny_all["spec"] == {
        "podSelector": {"matchLabels": {**OURS, NAMESPACE_LABEL: "shop"}},
        "policyTypes": ["Ingress"],
    }
    allow_all = networkpolicies.to_host(
        policy({"podSelector": {}, "ingress": [{}], "egress": [{"to": []}]}),
        VC,
        HOST_NS,
        NAMESPACES,
    )
    assert allow_all["spec"]["ingress"] == [{}]
    assert allow_all["spec"]["egress"] == [{"to": []}]


def test_network_policy_follows_namespace_labels() -> None:
    virtual = policy(
        {
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}],
        }
    )
    before = networkpolicies.to_host(virtual, VC, HOST_NS, NAMESPACES)
    after = networkpolicies.to_host(virtual, VC, HOST_NS, {**NAMESPACES, "new": {"team": "a"}})
    values = after["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
    assert values["values"] == ["new", "shop", "shop-db"]
    assert before != after


def test_network_policy_translation_does_not_modify_its_input() -> None:
    virtual = policy(
        {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{"from": [{"podSelector": {}}]}]}
    )
    snapshot = repr(virtual)
    networkpolicies.to_host(virtual, VC, HOST_NS, NAMESPACES)
    assert repr(virtual) == snapshot


# --- PodDisruptionBudgets ---


def test_pdb_selector_is_translated() -> None:
    virtual = {
        "apiVersion": pdbs.API_VERSION,
        "kind": "PodDisruptionBudget",
        "metadata": meta("web"),
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"disruptionsAllowed": 1},
    }
    host = pdbs.to_host(virtual, VC, HOST_NS)
    assert host["metadata"]["name"] == hn("web")
    assert host["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": {"app": "web", **OURS, NAMESPACE_LABEL: "shop"}},
    }
    assert "status" not in host
    # A null selector selects nothing, and stays null; {} is the namespace's pods.
    none = pdbs.to_host({**virtual, "spec": {"maxUnavailable": "50%"}}, VC, HOST_NS)
    assert none["spec"] == {"maxUnavailable": "50%"}
    every = pdbs.to_host({**virtual, "spec": {"maxUnavailable": 1, "selector": {}}}, VC, HOST_NS)
    assert every["spec"]["selector"] == {"matchLabels": {**OURS, NAMESPACE_LABEL: "shop"}}


# --- Ingresses ---


def test_ingress_backends_and_tls_secrets_get_host_names() -> None:
    virtual: dict[str, Any] = {
        "apiVersion": ingresses.API_VERSION,
        "kind": "Ingress",
        "metadata": meta("web", annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/"}),
        "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
            "tls": [{"hosts": ["shop.example"], "secretName": "shop-tls"}, {"hosts": ["x"]}],
            "rules": [
                {
                    "host": "shop.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                            }
                        ]
                    },
                },
                {"host": "empty.example"},
            ],
        },
        "status": {"loadBalancer": {}},
    }
    host = ingresses.to_host(virtual, VC, HOST_NS)
    spec = host["spec"]
    assert host["metadata"]["name"] == hn("web")
    assert host["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] == "/"
    assert spec["ingressClassName"] == "nginx"
    assert spec["defaultBackend"]["service"] == {"name": hn("fallback"), "port": {"number": 80}}
    backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": hn("web"), "port": {"name": "http"}}
    assert spec["rules"][1] == {"host": "empty.example"}
    assert spec["tls"] == [
        {"hosts": ["shop.example"], "secretName": hn("shop-tls")},
        {"hosts": ["x"]},
    ]
    assert "status" not in host
    assert ingresses.tls_secrets(virtual) == {"shop-tls"}
    # Pure.
    assert virtual["spec"]["tls"][0]["secretName"] == "shop-tls"
    assert ingresses.STATUS_FIELDS == ("loadBalancer",)


# --- ServiceAccounts, and pods that use them ---


def test_service_account_twin_mounts_no_host_token() -> None:
    virtual = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta("builder"),
        "secrets": [{"name": "builder-token"}],
        "imagePullSecrets": [{"name": "registry"}],
    }
    host = serviceaccounts.to_host(virtual, VC, HOST_NS)
    assert host == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": host["metadata"],
        "automountServiceAccountToken": False,
    }
    assert host["metadata"]["name"] == hn("builder")


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-0", labels={"app": "web"}),
        "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec},
    }


CTX = pods.Context(vcluster=VC, host_namespace=HOST_NS, api_ip="10.96.0.10", dns_ip=None)
SYNCED = pods.Context(
    vcluster=VC,
    host_namespace=HOST_NS,
    api_ip="10.96.0.10",
    dns_ip=None,
    service_accounts=True,
    priority_classes=True,
)


def test_pods_name_the_host_twins_only_when_their_kinds_are_synced() -> None:
    virtual = pod(serviceAccountName="builder", priorityClassName="high", priority=1000)
    off = pods.to_host(virtual, CTX)["spec"]
    for key in ("serviceAccountName", "serviceAccount", "priorityClassName", "priority"):
        assert key not in off
    on = pods.to_host(virtual, SYNCED)["spec"]
    assert on["serviceAccountName"] == hn("builder")
    assert on["priorityClassName"] == cluster_host_name("high", VC, HOST_NS)
    assert "priority" not in on  # the host's admission sets it from the host class
    # Still no host token: the virtual one is projected as always.
    assert on["automountServiceAccountToken"] is False
    default = pods.to_host(pod(), SYNCED)["spec"]
    assert default["serviceAccountName"] == hn("default")
    assert "priorityClassName" not in default
    # The virtual cluster's built-in classes have no host twin.
    system = pods.to_host(pod(priorityClassName="system-cluster-critical"), SYNCED)["spec"]
    assert "priorityClassName" not in system


# --- PriorityClasses ---


def priority_class(value: int, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": priorityclasses.API_VERSION,
        "kind": "PriorityClass",
        "metadata": meta("high", None, labels={"tier": "gold"}),
        "value": value,
        **extra,
    }


def test_priority_class_twin_is_capped_never_default_and_maps_back() -> None:
    virtual = priority_class(
        MAX_USER_PRIORITY, globalDefault=True, description="d", preemptionPolicy="Never"
    )
    host = priorityclasses.to_host(virtual, VC, HOST_NS, 5000)
    assert host["metadata"]["name"] == cluster_host_name("high", VC, HOST_NS)
    assert "namespace" not in host["metadata"]
    assert host["value"] == 5000
    assert not host.get("globalDefault")
    assert host["description"] == "d"
    assert host["preemptionPolicy"] == "Never"
    labels = host["metadata"]["labels"]
    assert labels["tier"] == "gold"
    assert labels[keys.HOST_NAMESPACE] == HOST_NS
    ref = virtual_ref(labels, host["metadata"]["annotations"])
    assert ref is not None
    assert (ref.name, ref.namespace, ref.vcluster, ref.kind) == ("high", "", VC, "PriorityClass")
    assert priorityclasses.to_host(priority_class(10), VC, HOST_NS, 5000)["value"] == 10
    assert priorityclasses.to_host(priority_class(-5), VC, HOST_NS, 5000)["value"] == -5
    assert not priorityclasses.synced("system-node-critical")
    assert priorityclasses.synced("high")


# --- StorageClasses, host → virtual ---


def test_host_storage_classes_are_copied_read_only_and_marked() -> None:
    host = {
        "apiVersion": storageclasses.API_VERSION,
        "kind": "StorageClass",
        "metadata": {
            "name": "fast",
            "uid": "h-1",
            "resourceVersion": "7",
            "labels": {"tier": "ssd"},
            "annotations": {
                storageclasses.DEFAULT_CLASS: "true",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            },
        },
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
    virtual = storageclasses.to_virtual(host)
    assert virtual["metadata"] == {
        "name": "fast",
        "labels": {"tier": "ssd", keys.MANAGED_BY: keys.MANAGED_BY_VALUE},
        "annotations": {storageclasses.DEFAULT_CLASS: "true"},
    }
    assert virtual["provisioner"] == "ebs.csi.aws.com"
    assert virtual["parameters"] == {"type": "gp3"}
    assert virtual["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storageclasses.is_ours(virtual)
    assert not storageclasses.is_ours({"metadata": {"name": "mine"}})
    assert not storageclasses.needs_recreate(virtual, storageclasses.to_virtual(host))
    changed = storageclasses.to_virtual({**host, "parameters": {"type": "io2"}})
    assert storageclasses.needs_recreate(virtual, changed)


def test_a_priority_class_twin_is_made_again_when_an_immutable_field_changes() -> None:
    host = priorityclasses.to_host(priority_class(10), VC, HOST_NS, 5000)
    host["preemptionPolicy"] = "PreemptLowerPriority"  # the host's default
    assert not priorityclasses.needs_recreate(
        host, priorityclasses.to_host(priority_class(10), VC, HOST_NS, 5000)
    )
    assert priorityclasses.needs_recreate(
        host, priorityclasses.to_host(priority_class(10), VC, HOST_NS, 5)
    )
    never = priorityclasses.to_host(priority_class(10, preemptionPolicy="Never"), VC, HOST_NS, 50)
    assert priorityclasses.needs_recreate(host, never)


def test_a_storage_class_copy_the_tenant_edited_is_put_back_whole() -> None:
    host = {
        "apiVersion": storageclasses.API_VERSION,
        "kind": "StorageClass",
        "metadata": {"name": "fast"},
        "provisioner": "p",
        "reclaimPolicy": "Delete",
    }
    desired = storageclasses.to_virtual(host)
    current = {**desired, "metadata": {**desired["metadata"], "resourceVersion": "3"}}
    assert not storageclasses.differs(current, desired)
    edited = {**current, "allowVolumeExpansion": True}
    assert storageclasses.differs(edited, desired)
    body = storageclasses.replacement(edited, desired)
    assert "allowVolumeExpansion" not in body
    assert body["metadata"]["resourceVersion"] == "3"
    unmarked = {**current, "metadata": {"name": "fast", "labels": {}}}
    assert storageclasses.differs(unmarked, desired)
