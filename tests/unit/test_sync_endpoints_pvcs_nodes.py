"""Translators for Endpoints, EndpointSlices, PVCs, virtual nodes and the tenant DNS; the
syncer's compare."""

from typing import Any

import pytest
from tenantry_api import keys
from tenantry_api.config import PodSecurityLevel
from tenantry_api.naming import host_name
from tenantry_syncer.resources import coredns, endpoints, nodes, pod_security, pods, pvcs
from tenantry_syncer.syncers.kind import covers, merged, stamped

VC = "vc1"
HOST_NS = "acme"


def hn(name: str, namespace: str = "shop") -> str:
    return host_name(name, namespace, VC)


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "shop", "uid": f"uid-{name}", **extra}


def test_selectorless_is_about_the_selector_and_not_external_names() -> None:
    assert endpoints.is_selectorless({"spec": {"ports": [{"port": 1}]}})
    assert not endpoints.is_selectorless({"spec": {"selector": {"app": "a"}}})
    assert not endpoints.is_selectorless({"spec": {"type": "ExternalName"}})
    assert not endpoints.is_selectorless(None)


def test_endpoints_are_named_after_the_host_service_and_pod_refs_follow() -> None:
    virtual: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": meta("db"),
        "subsets": [
            {
                "addresses": [
                    {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "db-0"}},
                    {"ip": "10.0.0.2"},
                ],
                "notReadyAddresses": [
                    {
                        "ip": "10.0.0.3",
                        "targetRef": {"kind": "Pod", "name": "db-1", "namespace": "shop"},
                    }
                ],
                "ports": [{"port": 5432}],
            }
        ],
    }
    host = endpoints.to_host(virtual, VC, HOST_NS)
    assert host["metadata"]["name"] == hn("db")
    subset = host["subsets"][0]
    assert subset["addresses"][0]["targetRef"] == {
        "kind": "Pod",
        "name": hn("db-0"),
        "namespace": HOST_NS,
    }
    assert subset["addresses"][1] == {"ip": "10.0.0.2"}
    assert subset["notReadyAddresses"][0]["targetRef"]["name"] == hn("db-1")
    # Pure: the virtual object is untouched.
    assert virtual["subsets"][0]["addresses"][0]["targetRef"]["name"] == "db-0"


def test_only_tenant_written_slices_are_synced() -> None:
    def slice_managed_by(manager: str | None) -> dict[str, Any]:
        labels = {endpoints.SERVICE_NAME_LABEL: "db"}
        if manager:
            labels[endpoints.MANAGED_BY_LABEL] = manager
        return {"metadata": meta("db-a", labels=labels)}

    assert endpoints.is_tenant_slice(slice_managed_by(None))
    assert endpoints.is_tenant_slice(slice_managed_by("my-operator"))
    assert not endpoints.is_tenant_slice(slice_managed_by("endpointslice-controller.k8s.io"))
    assert not endpoints.is_tenant_slice(
        slice_managed_by("endpointslicemirroring-controller.k8s.io")
    )
    assert not endpoints.is_tenant_slice({"metadata": meta("loose", labels={})})


def test_a_slice_points_at_the_host_service_and_drops_virtual_node_names() -> None:
    virtual = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta("db-a", labels={endpoints.SERVICE_NAME_LABEL: "db"}),
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.0.0.1"],
                "nodeName": "kwok-0",
                "targetRef": {"kind": "Pod", "name": "db-0", "namespace": "shop"},
            }
        ],
        "ports": [{"port": 5432}],
    }
    host = endpoints.slice_to_host(virtual, VC, HOST_NS)
    labels = host["metadata"]["labels"]
    assert labels[endpoints.SERVICE_NAME_LABEL] == hn("db")
    assert labels[endpoints.MANAGED_BY_LABEL] == endpoints.SYNCER_MANAGER
    assert labels[keys.VCLUSTER] == VC
    assert host["endpoints"] == [
        {
            "addresses": ["10.0.0.1"],
            "targetRef": {"kind": "Pod", "name": hn("db-0"), "namespace": HOST_NS},
        }
    ]
    assert host["ports"] == [{"port": 5432}]
    assert host["addressType"] == "IPv4"


def test_a_claim_keeps_its_request_and_never_names_host_volumes() -> None:
    virtual = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("data"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "fast",
            "volumeName": "pv-of-another-tenant",
            "selector": {"matchLabels": {"tenant": "other"}},
            "dataSource": {"kind": "PersistentVolumeClaim", "name": "seed"},
            "dataSourceRef": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": "snap",
            },
        },
    }
    spec = pvcs.to_host(virtual, VC, HOST_NS)["spec"]
    assert "volumeName" not in spec
    assert "selector" not in spec
    assert spec["resources"] == {"requests": {"storage": "1Gi"}}
    assert spec["storageClassName"] == "fast"
    assert spec["dataSource"] == {"kind": "PersistentVolumeClaim", "name": hn("seed")}
    assert spec["dataSourceRef"]["name"] == "snap"  # not a claim: left as written


def test_an_unset_storage_class_is_left_to_the_host_default() -> None:
    virtual = {
        "metadata": meta("data"),
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": None},
    }
    assert "storageClassName" not in pvcs.to_host(virtual, VC, HOST_NS)["spec"]


def test_a_virtual_node_reveals_nothing_of_the_host_unless_mirrored() -> None:
    fake = nodes.to_virtual("kwok-0", None, "2026-01-01T00:00:00Z")
    assert fake["metadata"]["labels"]["kubernetes.io/hostname"] == "kwok-0"
    assert nodes.is_ours(fake)
    assert fake["status"]["conditions"][0]["type"] == "Ready"
    host_node = {
        "metadata": {"name": "kwok-0", "labels": {"topology.kubernetes.io/zone": "z1"}},
        "spec": {"taints": [{"key": "dedicated", "effect": "NoExecute"}]},
        "status": {"capacity": {"cpu": "4"}, "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}},
    }
    mirrored = nodes.to_virtual("kwok-0", host_node, "2026-01-01T00:00:00Z")
    assert mirrored["metadata"]["labels"]["topology.kubernetes.io/zone"] == "z1"
    assert mirrored["status"] == {"capacity": {"cpu": "4"}}
    assert "spec" not in mirrored  # taints would let the virtual taint manager evict pods


def test_node_heartbeats_alone_do_not_need_a_write() -> None:
    first = nodes.to_virtual("n", None, "2026-01-01T00:00:00Z")
    later = nodes.to_virtual("n", None, "2026-01-02T00:00:00Z")
    assert not nodes.status_differs(first, later)
    later["status"]["capacity"] = {"cpu": "1"}
    assert nodes.status_differs(first, later)


def test_covers_ignores_server_defaults_but_not_changes() -> None:
    desired = {"spec": {"ports": [{"port": 80}], "type": "ClusterIP"}}
    defaulted = {"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP"}}
    assert covers(defaulted, desired)
    assert not covers({"spec": {"ports": [{"port": 81}], "type": "ClusterIP"}}, desired)
    assert not covers({"spec": {"ports": [], "type": "ClusterIP"}}, desired)


def test_the_applied_hash_catches_what_covers_cannot_see() -> None:
    """A key the tenant removes is still present on the host: only the hash tells."""
    before = stamped({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    after = stamped({"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert not covers(before, after)
    assert covers(before, stamped({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}))
    body = merged({**before, "metadata": {**before["metadata"], "resourceVersion": "7"}}, after)
    assert body["data"] == {"a": "1"}
    assert body["metadata"]["resourceVersion"] == "7"
    assert body["metadata"]["annotations"] == after["metadata"]["annotations"]


def test_the_tenant_dns_passes_the_restricted_level_and_resolves_upstream() -> None:
    objects = {m["kind"]: m for m in coredns.manifests("coredns:test")}
    spec = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod_security.violations(spec, PodSecurityLevel.RESTRICTED) == []
    assert spec["dnsPolicy"] == "Default"  # never its own resolver
    assert not pods.uses_cluster_dns(spec)
    ports = objects["Service"]["spec"]["ports"]
    assert {(p["port"], p.get("targetPort")) for p in ports if p["name"].startswith("dns")} == {
        (53, coredns.PORT)
    }
    assert f".:{coredns.PORT}" in objects["ConfigMap"]["data"]["Corefile"]


@pytest.mark.parametrize(
    ("policy", "rewritten"),
    [(None, True), ("ClusterFirst", True), ("ClusterFirstWithHostNet", True), ("Default", False)],
)
def test_only_pods_asking_for_cluster_dns_get_the_tenants(
    policy: str | None, rewritten: bool
) -> None:
    ctx = pods.Context(vcluster=VC, host_namespace=HOST_NS, api_ip="10.96.0.1", dns_ip="10.96.0.53")
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i"}]}
    if policy:
        spec["dnsPolicy"] = policy
    virtual = {"apiVersion": "v1", "kind": "Pod", "metadata": meta("p"), "spec": spec}
    host_spec = pods.to_host(virtual, ctx)["spec"]
    assert ("dnsConfig" in host_spec) is rewritten
    assert host_spec.get("dnsPolicy") == ("None" if rewritten else policy)


def test_a_pod_with_its_own_dns_config_keeps_it() -> None:
    ctx = pods.Context(vcluster=VC, host_namespace=HOST_NS, api_ip="10.96.0.1", dns_ip="10.96.0.53")
    own = {"nameservers": ["9.9.9.9"]}
    spec = {"containers": [{"name": "c", "image": "i"}], "dnsPolicy": "None", "dnsConfig": own}
    virtual = {"apiVersion": "v1", "kind": "Pod", "metadata": meta("p"), "spec": spec}
    assert pods.to_host(virtual, ctx)["spec"]["dnsConfig"] == own
