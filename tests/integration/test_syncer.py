"""The syncer against two real API servers: a VirtualCluster control plane booted from its
rendered flags, and the local host cluster with kwok nodes."""

import base64
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenantry_api import keys
from tenantry_api.config import SyncerConfig, load
from tenantry_api.naming import host_name
from tenantry_api.types import Manifest
from tenantry_local.cluster import STORAGE_CLASS, LocalCluster
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from
from tenantry_syncer.resources.meta import NAMESPACE_LABEL

from tests.support.kube import deployment, namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import ControlPlane, render, synced

HOST_NS = "sync-host"
VC = "vc"
SELECTOR = f"{keys.VCLUSTER}={VC}"


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    config: SyncerConfig
    plane: ControlPlane
    tenant_kubeconfig: Path


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    root = Path(tmp_path_factory.mktemp("sync"))
    rendered = render(VC, HOST_NS)
    with synced(kube, cluster.kubeconfig, root, rendered, name=VC, namespace_=HOST_NS) as s:
        config = load(SyncerConfig, rendered.config_json)
        yield Setup(kube, s.tenant, config, s.plane, s.kubeconfig)


def host_pods(host: Kube, virtual_namespace: str | None = None) -> list[Manifest]:
    """Synced host pods, of one virtual namespace when given."""
    selector = SELECTOR
    if virtual_namespace is not None:
        selector += f",{NAMESPACE_LABEL}={virtual_namespace}"
    return host.list("v1", "Pod", HOST_NS, label_selector=selector)


def test_a_deployment_runs_on_the_host_and_status_flows_back(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("shop"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "site", "namespace": "shop"},
            "data": {"index.html": "hi"},
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "shop"},
            "stringData": {"password": "s3cret"},
        }
    )
    web = deployment("web", "shop", replicas=3)
    pod_spec = web["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "site", "configMap": {"name": "site"}}]
    pod_spec["containers"][0]["env"] = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}
    ]
    tenant.create(web)
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )

    def running_on_host() -> bool:
        found = host_pods(host, "shop")
        return len(found) == 3 and all(
            (p.get("status") or {}).get("phase") == "Running" for p in found
        )

    wait_for(running_on_host, timeout=120, what="3 running host pods")
    # Their resolver is the tenant's CoreDNS, itself a synced pod on the host's resolver.
    dns_host = host.get("v1", "Service", host_name("kube-dns", "kube-system", VC), HOST_NS)
    for found in host_pods(host, "shop"):
        assert found["spec"]["dnsConfig"]["nameservers"] == [dns_host["spec"]["clusterIP"]]
    assert [p["spec"]["dnsPolicy"] for p in host_pods(host, "kube-system")] == ["Default"]
    assert host.get("v1", "ConfigMap", host_name("site", "shop", VC), HOST_NS)["data"] == {
        "index.html": "hi"
    }
    assert host.get("v1", "Secret", host_name("creds", "shop", VC), HOST_NS)["data"]

    def virtual_running() -> bool:
        found = tenant.list("v1", "Pod", "shop")
        return len(found) == 3 and all(
            p["status"].get("phase") == "Running" and p["spec"].get("nodeName") for p in found
        )

    wait_for(virtual_running, timeout=120, what="virtual pods Running with node names")
    # One virtual node per host node running a synced pod, Ready, revealing nothing else.
    bound = {p["spec"]["nodeName"] for p in tenant.list("v1", "Pod", "shop")}
    virtual_nodes = wait_for(
        lambda: [n for n in tenant.list("v1", "Node") if n["metadata"]["name"] in bound],
        what="virtual nodes",
    )
    assert {n["metadata"]["name"] for n in tenant.list("v1", "Node")} == bound
    for node in virtual_nodes:
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
    virtual_names = {p["metadata"]["name"] for p in tenant.list("v1", "Pod", "shop")}
    scheduled = wait_for(
        lambda: [
            e
            for e in tenant.list("v1", "Event", "shop")
            if e["reason"] == "Scheduled" and e["involvedObject"]["name"] in virtual_names
        ],
        what="the host scheduler's Events in the virtual cluster",
    )
    assert scheduled[0]["involvedObject"]["kind"] == "Pod"
    host_svc = host.get("v1", "Service", host_name("web", "shop", VC), HOST_NS)
    wait_for(
        lambda: (
            tenant.get("v1", "Service", "web", "shop")["spec"]["clusterIP"]
            == host_svc["spec"]["clusterIP"]
        ),
        what="virtual Service takes the host ClusterIP",
    )


def test_a_host_pod_deleted_by_someone_else_is_restored(setup: Setup) -> None:
    victim = host_pods(setup.host, "shop")[0]["metadata"]["name"]
    setup.host.delete("v1", "Pod", victim, HOST_NS)
    wait_for(
        lambda: any(
            p["metadata"]["name"] == victim and not p["metadata"].get("deletionTimestamp")
            for p in host_pods(setup.host, "shop")
        ),
        timeout=60,
        what="host pod restored",
    )


def test_a_host_pod_edited_by_someone_else_is_restored(setup: Setup) -> None:
    victim = host_pods(setup.host, "shop")[0]
    name = victim["metadata"]["name"]
    # Relabelled, and even stripped of the labels that mark it as ours.
    edit = {"metadata": {"labels": {"app": "hijacked", keys.MANAGED_BY: None, keys.VCLUSTER: None}}}
    setup.host.patch("v1", "Pod", name, HOST_NS, edit)

    def restored() -> bool:
        meta = setup.host.get("v1", "Pod", name, HOST_NS)["metadata"]
        return bool(
            meta["labels"]["app"] == "web"
            and meta["annotations"][keys.OBJECT_NAME]
            == victim["metadata"]["annotations"][keys.OBJECT_NAME]
        )

    wait_for(restored, timeout=60, what="host pod labels restored")
    # Put back in place, not re-created.
    assert (
        setup.host.get("v1", "Pod", name, HOST_NS)["metadata"]["uid"] == victim["metadata"]["uid"]
    )


def test_deleting_in_the_virtual_cluster_removes_the_host_objects(setup: Setup) -> None:
    setup.tenant.delete("apps/v1", "Deployment", "web", "shop")
    setup.tenant.delete("v1", "Service", "web", "shop")
    wait_for(lambda: host_pods(setup.host, "shop") == [], timeout=120, what="host pods gone")
    wait_for(
        lambda: setup.tenant.list("v1", "Pod", "shop") == [], timeout=60, what="virtual pods gone"
    )
    wait_for(
        lambda: (
            setup.host.list(
                "v1", "Service", HOST_NS, label_selector=f"{SELECTOR},{NAMESPACE_LABEL}=shop"
            )
            == []
        ),
        what="host Service gone",
    )
    # Only the tenant's CoreDNS still runs: the other virtual nodes go.
    still_used = {p["spec"]["nodeName"] for p in host_pods(setup.host)}
    wait_for(
        lambda: {n["metadata"]["name"] for n in setup.tenant.list("v1", "Node")} == still_used,
        what="virtual nodes without pods gone",
    )


def test_a_selectorless_service_keeps_its_endpoints_and_they_reach_the_host(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("ext"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db", "namespace": "ext"},
            "spec": {"ports": [{"name": "pg", "port": 5432}]},
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "db", "namespace": "ext"},
            "subsets": [
                {"addresses": [{"ip": "10.9.8.7"}], "ports": [{"name": "pg", "port": 5432}]}
            ],
        }
    )
    tenant.create(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "db-extra",
                "namespace": "ext",
                "labels": {"kubernetes.io/service-name": "db"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.9.8.6"]}],
            "ports": [{"name": "pg", "port": 5432}],
        }
    )
    hname = host_name("db", "ext", VC)
    host_svc = wait_for(lambda: host.get_or_none("v1", "Service", hname, HOST_NS), what="host db")
    # The virtual Service is re-created with the host ClusterIP; the tenant's Endpoints survive.
    wait_for(
        lambda: (
            ((tenant.get_or_none("v1", "Service", "db", "ext") or {}).get("spec") or {}).get(
                "clusterIP"
            )
            == host_svc["spec"]["clusterIP"]
        ),
        what="virtual db takes the host ClusterIP",
    )
    host_endpoints = wait_for(
        lambda: host.get_or_none("v1", "Endpoints", hname, HOST_NS), what="host Endpoints"
    )
    assert host_endpoints["subsets"][0]["addresses"] == [{"ip": "10.9.8.7"}]
    host_slice = wait_for(
        lambda: host.get_or_none(
            "discovery.k8s.io/v1", "EndpointSlice", host_name("db-extra", "ext", VC), HOST_NS
        ),
        what="host EndpointSlice",
    )
    assert host_slice["metadata"]["labels"]["kubernetes.io/service-name"] == hname
    assert host_slice["endpoints"][0]["addresses"] == ["10.9.8.6"]
    time.sleep(3)  # the virtual endpoints controller has seen the re-created Service by now
    virtual = tenant.get("v1", "Endpoints", "db", "ext")
    assert virtual["subsets"][0]["addresses"] == [{"ip": "10.9.8.7"}]

    tenant.patch(
        "v1",
        "Endpoints",
        "db",
        "ext",
        {"subsets": [{"addresses": [{"ip": "10.9.8.1"}], "ports": [{"name": "pg", "port": 5432}]}]},
    )
    wait_for(
        lambda: (
            host.get("v1", "Endpoints", hname, HOST_NS)["subsets"][0]["addresses"]
            == [{"ip": "10.9.8.1"}]
        ),
        what="host Endpoints follow",
    )
    tenant.delete("v1", "Service", "db", "ext")
    wait_for(
        lambda: host.get_or_none("v1", "Endpoints", hname, HOST_NS) is None,
        what="host Endpoints gone with the Service",
    )


def test_the_host_endpoints_of_a_service_with_a_selector_are_left_to_the_host(
    setup: Setup,
) -> None:
    """The host's endpoints controller writes a host Service's Endpoints, copying the Service's
    labels (ours) onto them. The syncer once took those for an orphaned twin and deleted them,
    ten times a second, each deletion a recount of the namespace's quota."""
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("sel"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "api", "namespace": "sel"},
            "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]},
        }
    )
    hname = host_name("api", "sel", VC)
    first = wait_for(
        lambda: host.get_or_none("v1", "Endpoints", hname, HOST_NS), what="host Endpoints"
    )
    # Not the syncer's copy: the host controller's, with the Service's labels on it.
    assert first["metadata"]["labels"][keys.MANAGED_BY] == keys.MANAGED_BY_VALUE
    assert keys.OBJECT_NAME not in (first["metadata"].get("annotations") or {})
    time.sleep(5)
    now = host.get_or_none("v1", "Endpoints", hname, HOST_NS) or {"metadata": {}}
    assert now["metadata"].get("uid") == first["metadata"]["uid"], "deleted in the meantime"
    tenant.delete("v1", "Service", "api", "sel")
    wait_for(
        lambda: host.get_or_none("v1", "Endpoints", hname, HOST_NS) is None,
        what="host Endpoints gone with the Service",
    )


def test_the_syncer_holds_the_lease_and_serves_metrics(setup: Setup) -> None:
    lease = setup.host.get("coordination.k8s.io/v1", "Lease", f"tenantry-syncer-{VC}", HOST_NS)
    assert lease["spec"]["holderIdentity"]
    port = setup.plane.local.syncer_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'tenantry_sync_duration_seconds_count{kind="Pod"}' in metrics
    assert "tenantry_queue_depth" in metrics


def test_a_syncer_killed_mid_burst_converges_with_nothing_missing_or_orphaned(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("burst"))
    tenant.create(deployment("many", "burst", replicas=200))
    # Let the syncer get part of the way, then kill it as a crash or an eviction would.
    wait_for(lambda: len(host_pods(host, "burst")) >= 20, timeout=120, what="burst under way")
    setup.plane.kill("syncer")
    # Meanwhile the tenant changes its mind about some pods: their host twins must not stay.
    doomed = [p["metadata"]["name"] for p in tenant.list("v1", "Pod", "burst")[:10]]
    for name in doomed:
        tenant.delete("v1", "Pod", name, "burst")
    setup.plane.start("syncer")

    def converged() -> bool:
        virtual = {
            host_name(p["metadata"]["name"], "burst", VC)
            for p in tenant.list("v1", "Pod", "burst")
            if not p["metadata"].get("deletionTimestamp")
        }
        on_host = {
            p["metadata"]["name"]
            for p in host_pods(host, "burst")
            if not p["metadata"].get("deletionTimestamp")
        }
        return len(virtual) == 200 and on_host == virtual

    wait_for(converged, timeout=300, what="200 host pods, one per virtual pod")

    def tokens_match_pods() -> bool:
        tokens = host.list("v1", "Secret", HOST_NS, label_selector=SELECTOR)
        names = {
            s["metadata"]["name"] for s in tokens if s["metadata"]["name"].endswith("-sa-token")
        }
        return names == {f"{p['metadata']['name']}-sa-token" for p in host_pods(host)}

    # Token Secrets belong to their host pods: the host's garbage collector removes strays.
    wait_for(tokens_match_pods, timeout=120, what="one token Secret per host pod, no strays")
    tenant.delete("apps/v1", "Deployment", "many", "burst")
    wait_for(lambda: host_pods(host, "burst") == [], timeout=300, what="burst cleaned up")


def test_a_pod_above_the_pod_security_level_is_not_synced_and_told_why(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("rogue"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "escape", "namespace": "rogue"},
            "spec": {"hostPID": True, "containers": [{"name": "c", "image": "busybox"}]},
        }
    )
    event = wait_for(
        lambda: next(
            (e for e in tenant.list("v1", "Event", "rogue") if e["reason"] == "PodSecurity"), None
        ),
        what="PodSecurity event",
    )
    assert event is not None
    assert event["involvedObject"]["name"] == "escape"
    assert "spec.hostPID" in event["message"]
    assert not any(
        p["metadata"]["name"] == host_name("escape", "rogue", VC) for p in host_pods(host)
    )


def test_a_claim_is_provisioned_on_the_host_and_its_pod_mounts_the_host_claim(
    setup: Setup,
) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("vol"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "vol"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "db", "namespace": "vol"},
        "spec": {
            "containers": [{"name": "db", "image": "postgres"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    tenant.create(pod)
    claim = host_name("data", "vol", VC)
    host_pvc = wait_for(
        lambda: (
            (c := host.get_or_none("v1", "PersistentVolumeClaim", claim, HOST_NS))
            and c.get("status", {}).get("phase") == "Bound"
            and c
        ),
        what="host claim bound by the host's provisioning",
    )
    assert host_pvc["spec"]["storageClassName"] == STORAGE_CLASS  # the host's default class
    virtual = wait_for(
        lambda: (
            (c := tenant.get("v1", "PersistentVolumeClaim", "data", "vol"))
            and c.get("status", {}).get("phase") == "Bound"
            and c
        ),
        what="virtual claim Bound",
    )
    assert virtual["status"]["capacity"] == host_pvc["status"]["capacity"]
    assert not virtual["spec"].get("volumeName")  # host volumes stay the host's business
    host_pod = wait_for(
        lambda: host.get_or_none("v1", "Pod", host_name("db", "vol", VC), HOST_NS),
        what="host pod",
    )
    assert host_pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim


def test_load_balancer_status_flows_back(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("lb"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "front", "namespace": "lb"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "front"}, "ports": [{"port": 80}]},
        }
    )
    hname = host_name("front", "lb", VC)
    wait_for(lambda: host.get_or_none("v1", "Service", hname, HOST_NS), what="host Service")
    # What a cloud controller does on the host.
    ingress = [{"ip": "203.0.113.7"}]
    host.patch_status("v1", "Service", hname, HOST_NS, {"loadBalancer": {"ingress": ingress}})
    shown = wait_for(
        lambda: (
            (tenant.get("v1", "Service", "front", "lb").get("status") or {})
            .get("loadBalancer", {})
            .get("ingress")
        ),
        what="virtual Service shows the host load balancer",
    )
    assert [i["ip"] for i in shown] == ["203.0.113.7"]


def test_the_optional_kinds_are_not_synced_when_their_switches_are_off(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    config = setup.config
    assert not config.from_virtual.ingresses
    assert not config.from_host.storage_classes
    tenant.create(namespace("quiet"))
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "quiet-tls", "namespace": "quiet"},
            "stringData": {"tls.crt": "c", "tls.key": "k"},
        }
    )
    tenant.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "quiet", "namespace": "quiet"},
            "spec": {
                "tls": [{"secretName": "quiet-tls"}],
                "defaultBackend": {"service": {"name": "quiet", "port": {"number": 80}}},
            },
        }
    )
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "q", "namespace": "quiet"},
        }
    )
    tenant.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "quiet", "namespace": "quiet"},
            "spec": {"podSelector": {}},
        }
    )
    tenant.create(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "quiet", "namespace": "quiet"},
            "spec": {"minAvailable": 1, "selector": {}},
        }
    )
    tenant.create(
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "quiet"},
            "value": 10,
        }
    )
    # A kind that is always synced, created last: once it is on the host, the others had time.
    tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "quiet", "namespace": "quiet"},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "quiet"}},
        }
    )
    wait_for(
        lambda: host.get_or_none("v1", "Service", host_name("quiet", "quiet", VC), HOST_NS),
        what="the sentinel Service on the host",
    )
    time.sleep(3)
    for api_version, kind in (
        ("networking.k8s.io/v1", "Ingress"),
        ("v1", "ServiceAccount"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("policy/v1", "PodDisruptionBudget"),
    ):
        assert host.list(api_version, kind, HOST_NS, label_selector=SELECTOR) == [], kind
    assert host.list("scheduling.k8s.io/v1", "PriorityClass", label_selector=SELECTOR) == []
    assert host.get_or_none("v1", "Secret", host_name("quiet-tls", "quiet", VC), HOST_NS) is None
    managed = f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE}"
    assert tenant.list("storage.k8s.io/v1", "StorageClass", label_selector=managed) == []
    # The host pods keep no service account or priority class of the tenant's.
    for pod in host_pods(host):
        assert (
            "serviceAccountName" not in pod["spec"]
            or pod["spec"]["serviceAccountName"] == "default"
        )
        assert not (pod["spec"].get("priorityClassName") or "").startswith("tenantry-")


def _username(kubeconfig: Path, token: str) -> str | None:
    """Who the virtual API says ``token`` is; None when it refuses the token."""
    base = api_client_from(kubeconfig).configuration
    configuration = client.Configuration()
    configuration.host, configuration.ssl_ca_cert = base.host, base.ssl_ca_cert
    configuration.api_key = {"authorization": f"Bearer {token}"}
    review = client.V1SelfSubjectReview(
        api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"
    )
    try:
        with client.ApiClient(configuration) as api:
            answer = client.AuthenticationV1Api(api).create_self_subject_review(review)
    except ApiException as e:
        if e.status == 401:
            return None
        raise
    assert answer.status is not None
    assert answer.status.user_info is not None
    return str(answer.status.user_info.username)


def test_the_host_token_is_the_virtual_pods_and_dies_with_it(setup: Setup) -> None:
    tenant, host = setup.tenant, setup.host
    tenant.create(namespace("tokens"))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "holder", "namespace": "tokens"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    tenant.create(pod)
    hname = host_name("holder", "tokens", VC)
    secret = wait_for(
        lambda: host.get_or_none("v1", "Secret", f"{hname}-sa-token", HOST_NS),
        what="the host pod's token Secret",
    )
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert _username(setup.tenant_kubeconfig, token) == "system:serviceaccount:tokens:default"
    tenant.delete("v1", "Pod", "holder", "tokens")
    # Bound to the virtual pod: once it is gone the virtual API refuses the token, even if a
    # copy of the Secret outlived the host pod.
    wait_for(
        lambda: _username(setup.tenant_kubeconfig, token) is None,
        what="the token refused after its virtual pod is deleted",
    )
