"""The syncer's pure translators: pods, ConfigMaps, Secrets, Services, labels, PSS."""

import copy
from dataclasses import replace
from typing import Any

import pytest
from tenantry_api import keys
from tenantry_api.config import Isolation, PodSecurityLevel, Toleration
from tenantry_api.naming import host_name
from tenantry_syncer.resources import configmaps, events, pod_security, pods, secrets, services
from tenantry_syncer.resources.meta import NAMESPACE_LABEL, rewritten_label_key, translate_labels

VC = "vc1"
HOST_NS = "acme"
CTX = pods.Context(vcluster=VC, host_namespace=HOST_NS, api_ip="10.96.0.10", dns_ip="10.96.0.53")


def hn(name: str, namespace: str = "shop") -> str:
    return host_name(name, namespace, VC)


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec},
    }


def test_pod_metadata_names_and_reverse_annotations() -> None:
    host = pods.to_host(pod(), CTX)
    meta = host["metadata"]
    assert meta["name"] == "web-0-x-shop-x-vc1"
    assert meta["namespace"] == HOST_NS
    assert meta["labels"] == {
        "app": "web",
        keys.MANAGED_BY: keys.MANAGED_BY_VALUE,
        keys.VCLUSTER: VC,
        NAMESPACE_LABEL: "shop",
    }
    assert meta["annotations"] == {
        keys.OBJECT_NAME: "web-0",
        keys.OBJECT_NAMESPACE: "shop",
        keys.OBJECT_KIND: "Pod",
        keys.OBJECT_UID: "u-1",
    }


def test_clashing_label_keys_are_rewritten() -> None:
    labels = translate_labels({keys.MANAGED_BY: "helm", f"{keys.PREFIX}/tenant": "x", "app": "a"})
    assert labels["app"] == "a"
    assert keys.MANAGED_BY not in labels
    assert labels[rewritten_label_key(keys.MANAGED_BY)] == "helm"
    assert labels[rewritten_label_key(f"{keys.PREFIX}/tenant")] == "x"
    assert rewritten_label_key("a/b") != rewritten_label_key("c/b")


def test_long_names_stay_valid_and_references_follow() -> None:
    long = "a-very-long-config-map-name-that-goes-on-and-on-and-on-forever-and-ever"
    host = pods.to_host(pod(volumes=[{"name": "c", "configMap": {"name": long}}]), CTX)
    assert len(host["metadata"]["name"]) <= 63
    assert host["spec"]["volumes"][0]["configMap"]["name"] == hn(long)
    assert len(hn(long)) <= 63


def test_every_reference_is_renamed_in_every_container_list() -> None:
    env = [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "b"}}},
        {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    env_from = [{"configMapRef": {"name": "cm2"}}, {"secretRef": {"name": "sec2"}}]
    container = {"name": "x", "image": "i", "env": env, "envFrom": env_from}
    spec = {
        # Separate copies, as decoded JSON would be: nothing shared between containers.
        "initContainers": [copy.deepcopy(dict(container, name="init"))],
        "containers": [copy.deepcopy(dict(container, name="app"))],
        "ephemeralContainers": [copy.deepcopy(dict(container, name="debug"))],
        "volumes": [
            {"name": "s", "secret": {"secretName": "sec3"}},
            {"name": "p", "persistentVolumeClaim": {"claimName": "data"}},
            {
                "name": "proj",
                "projected": {
                    "sources": [{"configMap": {"name": "cm4"}}, {"secret": {"name": "sec4"}}]
                },
            },
        ],
        "imagePullSecrets": [{"name": "regcred"}],
    }
    host = pods.to_host(pod(**spec), CTX)["spec"]
    # The API refuses ephemeral containers on create: they are added to the host pod later.
    assert "ephemeralContainers" not in host
    host["ephemeralContainers"] = pods.ephemeral_to_host(pod(**spec), CTX)
    for list_name in pods.CONTAINER_LISTS:
        (c,) = host[list_name]
        by_name = {e["name"]: e for e in c["env"]}
        assert by_name["A"]["valueFrom"]["configMapKeyRef"]["name"] == hn("cm")
        assert by_name["B"]["valueFrom"]["secretKeyRef"]["name"] == hn("sec")
        assert by_name["C"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert c["envFrom"] == [
            {"configMapRef": {"name": hn("cm2")}},
            {"secretRef": {"name": hn("sec2")}},
        ]
    volumes = {v["name"]: v for v in host["volumes"]}
    assert volumes["s"]["secret"]["secretName"] == hn("sec3")
    assert volumes["p"]["persistentVolumeClaim"]["claimName"] == hn("data")
    assert volumes["proj"]["projected"]["sources"] == [
        {"configMap": {"name": hn("cm4")}},
        {"secret": {"name": hn("sec4")}},
    ]
    assert host["imagePullSecrets"] == [{"name": hn("regcred")}]


def test_the_virtual_token_replaces_the_host_token() -> None:
    token_volume = {
        "name": "kube-api-access-x",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
            ]
        },
    }
    host = pods.to_host(pod(serviceAccountName="builder", volumes=[token_volume]), CTX)
    spec = host["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec
    (volume,) = spec["volumes"]
    assert volume["name"] == "kube-api-access-x"
    assert volume["secret"]["secretName"] == pods.token_secret_name(host["metadata"]["name"])
    assert {i["key"] for i in volume["secret"]["items"]} == {"token", "ca.crt", "namespace"}


def test_dns_and_kubernetes_default_point_at_the_virtual_cluster() -> None:
    spec = pods.to_host(
        pod(nodeName="virtual-node", hostAliases=[{"ip": "1.2.3.4", "hostnames": ["a"]}]), CTX
    )["spec"]
    assert "nodeName" not in spec  # the host scheduler places it
    assert spec["dnsPolicy"] == "None"
    assert spec["dnsConfig"]["nameservers"] == ["10.96.0.53"]
    assert spec["dnsConfig"]["searches"][0] == "shop.svc.cluster.local"
    assert spec["hostAliases"] == [
        {"ip": "1.2.3.4", "hostnames": ["a"]},
        {"ip": "10.96.0.10", "hostnames": list(pods.KUBERNETES_NAMES)},
    ]


def test_service_environment_comes_from_virtual_services() -> None:
    ctx = replace(
        CTX, services=[pods.VirtualService("my-db", "10.96.3.4", [{"name": "pg", "port": 5432}])]
    )
    explicit = {"name": "MY_DB_SERVICE_HOST", "value": "override"}
    spec = pods.to_host(pod(containers=[{"name": "app", "image": "i", "env": [explicit]}]), ctx)[
        "spec"
    ]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.10"
    assert env["MY_DB_SERVICE_HOST"] == "override"  # explicit env wins, as in the kubelet
    assert env["MY_DB_SERVICE_PORT"] == "5432"
    assert env["MY_DB_SERVICE_PORT_PG"] == "5432"
    assert env["MY_DB_PORT_5432_TCP_ADDR"] == "10.96.3.4"
    assert spec["enableServiceLinks"] is False  # no host services leak in
    no_links = pods.to_host(pod(enableServiceLinks=False), ctx)["spec"]
    names = {e["name"] for e in no_links["containers"][0]["env"]}
    assert "MY_DB_SERVICE_HOST" not in names
    assert "KUBERNETES_SERVICE_HOST" in names


def test_isolation_is_forced() -> None:
    isolation = Isolation(
        runtime_class_name="sandbox",
        node_selector={"runtime.tenantry.dev/tenantry-gvisor": "ready"},
        tolerations=[Toleration(key="sandbox", operator="Exists", effect="NoSchedule")],
    )
    ctx = replace(CTX, isolation=isolation)
    spec = pods.to_host(pod(runtimeClassName="runc", nodeSelector={"disk": "ssd"}), ctx)["spec"]
    assert spec["runtimeClassName"] == "sandbox"
    assert spec["nodeSelector"] == {"disk": "ssd", "runtime.tenantry.dev/tenantry-gvisor": "ready"}
    assert spec["tolerations"] == [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]


def test_translation_does_not_modify_its_input() -> None:
    virtual = pod(volumes=[{"name": "c", "configMap": {"name": "cm"}}])
    before = copy.deepcopy(virtual)
    pods.to_host(virtual, CTX)
    assert virtual == before


def test_pod_status_flows_back() -> None:
    host = {
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "hostIP": "172.18.0.2",
            "nominatedNodeName": "x",
            # The host's LimitRange made it Burstable; the virtual pod's own class is immutable.
            "qosClass": "Burstable",
        }
    }
    assert pods.status_to_virtual(host) == {
        "phase": "Running",
        "podIP": "10.244.1.5",
        "hostIP": "172.18.0.2",
    }


def test_configmaps_and_secrets() -> None:
    cm = {"metadata": {"name": "cm", "namespace": "shop"}, "data": {"a": "1"}, "immutable": True}
    host_cm = configmaps.to_host(cm, VC, HOST_NS)
    assert host_cm["metadata"]["name"] == hn("cm")
    assert host_cm["data"] == {"a": "1"}
    assert host_cm["immutable"] is True
    token = {
        "metadata": {"name": "t", "namespace": "shop"},
        "type": "kubernetes.io/service-account-token",
        "data": {"token": "eA=="},
    }
    assert secrets.to_host(token, VC, HOST_NS)["type"] == "Opaque"
    tls = {
        "metadata": {"name": "tls", "namespace": "shop"},
        "type": "kubernetes.io/tls",
        "data": {},
    }
    assert secrets.to_host(tls, VC, HOST_NS)["type"] == "kubernetes.io/tls"


def test_services_select_only_their_virtual_namespace() -> None:
    svc: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "clusterIP": "10.0.0.9"},
    }
    host = services.to_host(svc, VC, HOST_NS)
    assert host["spec"]["selector"] == {"app": "web", NAMESPACE_LABEL: "shop"}
    assert "clusterIP" not in host["spec"]  # the host allocates; the virtual side takes it
    headless = services.to_host({**svc, "spec": {**svc["spec"], "clusterIP": "None"}}, VC, HOST_NS)
    assert headless["spec"]["clusterIP"] == "None"
    no_selector = services.to_host({**svc, "spec": {"ports": [{"port": 80}]}}, VC, HOST_NS)
    assert "selector" not in no_selector["spec"]
    assert services.needs_cluster_ip(svc, {"spec": {"clusterIP": "10.96.1.1"}}) == "10.96.1.1"
    assert services.needs_cluster_ip(svc, {"spec": {"clusterIP": "10.0.0.9"}}) is None
    assert services.needs_cluster_ip(svc, {"spec": {"clusterIP": "None"}}) is None


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"hostPID": True}, "spec.hostPID"),
        ({"volumes": [{"name": "r", "hostPath": {"path": "/"}}]}, "spec.volumes[0].hostPath"),
        ({"containers": [{"name": "a", "securityContext": {"privileged": True}}]}, "privileged"),
        (
            {
                "containers": [
                    {"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}
                ]
            },
            "SYS_ADMIN",
        ),
        (
            {"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]},
            "hostPort 80",
        ),
        (
            {
                "initContainers": [{"name": "i", "securityContext": {"privileged": True}}],
                "containers": [],
            },
            "initContainers[0]",
        ),
        (
            {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
            "kernel.msgmax",
        ),
        ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "Unconfined"),
    ],
)
def test_baseline_violations(spec: dict[str, Any], fragment: str) -> None:
    full = {"containers": [{"name": "c"}], **spec}
    found = pod_security.violations(full, PodSecurityLevel.BASELINE)
    assert any(fragment in str(v) for v in found), found
    # The baseline is the syncer's floor: privileged alone lets nothing more through.
    assert pod_security.violations(full, PodSecurityLevel.PRIVILEGED) == found
    # Each finding names its rule, and exempting that rule waives it.
    waived = {v.check for v in found}
    assert pod_security.violations(full, PodSecurityLevel.BASELINE, exempt=waived) == []


def test_baseline_allows_ordinary_pods_and_its_capabilities() -> None:
    spec = {
        "containers": [
            {
                "name": "c",
                "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}},
            }
        ]
    }
    assert pod_security.violations(spec, PodSecurityLevel.BASELINE) == []


def test_restricted_needs_the_hardened_settings() -> None:
    plain = {"containers": [{"name": "c"}]}
    found = pod_security.violations(plain, PodSecurityLevel.RESTRICTED)
    assert any("allowPrivilegeEscalation" in str(v) for v in found)
    assert any("runAsNonRoot" in str(v) for v in found)
    assert any("seccompProfile" in str(v) for v in found)
    assert any("capabilities.drop" in str(v) for v in found)
    hardened = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "volumes": [{"name": "v", "emptyDir": {}}],
    }
    assert pod_security.violations(hardened, PodSecurityLevel.RESTRICTED) == []
    with_host_volume = {**hardened, "volumes": [{"name": "n", "nfs": {"server": "x", "path": "/"}}]}
    assert any(
        "nfs" in str(v)
        for v in pod_security.violations(with_host_volume, PodSecurityLevel.RESTRICTED)
    )


def test_host_events_become_events_of_the_virtual_pod() -> None:
    host_event = {
        "metadata": {"name": "web-0-x-shop-x-vc1.17a", "namespace": HOST_NS},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-0-x-shop-x-vc1",
            "fieldPath": "spec.containers{app}",
        },
        "reason": "Pulled",
        "message": "pulled",
        "type": "Normal",
        "count": 2,
    }
    virtual = events.to_virtual(host_event, pod())
    assert virtual["metadata"]["namespace"] == "shop"
    assert virtual["metadata"]["name"] == events.virtual_name("web-0", "web-0-x-shop-x-vc1.17a")
    assert virtual["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web-0",
        "namespace": "shop",
        "uid": "u-1",
        "fieldPath": "spec.containers{app}",
    }
    assert (virtual["reason"], virtual["count"]) == ("Pulled", 2)
    assert events.virtual_name("web-0", "a") != events.virtual_name("web-0", "b")
