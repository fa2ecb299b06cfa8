"""VirtualCluster's object graph and composition under Pulumi mocks."""

from typing import Any

import pulumi
from tenantry import ExposureType, StoreType, VirtualCluster, VirtualClusterArgs, VirtualNode
from tenantry_api import keys
from tenantry_api.config import CONFIG_KEY, SandboxRewrites, SyncerConfig, config_hash, load
from tenantry_api.runtimes import RuntimeBackend

from tests.support.mocks import MOCK_KUBECONFIG, Deployment, deploy

VC = "tenantry:index:VirtualCluster"
TP = "tenantry:index:TenantPolicy"
STS = "kubernetes:apps/v1:StatefulSet"
SVC = "kubernetes:core/v1:Service"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CR = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CM = "kubernetes:core/v1:ConfigMap"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


def cluster(args: VirtualClusterArgs, name: str = "acme") -> Deployment:
    def program() -> dict[str, Any]:
        vc = VirtualCluster(name, args)
        return {
            "namespace": vc.namespace,
            "service": vc.service_name,
            "kubeconfig_secret": vc.kubeconfig_secret_name,
            "endpoint": vc.endpoint,
            "kubeconfig": vc.kubeconfig,
        }

    return deploy(program)


def syncer_config(d: Deployment) -> SyncerConfig:
    return load(SyncerConfig, d.one(CM, "acme-config").inputs["data"][CONFIG_KEY])


def test_default_graph() -> None:
    d = cluster({})
    component = d.component(VC)
    assert d.kinds(component) == sorted(
        [
            "kubernetes:core/v1:ServiceAccount",
            ROLE,
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            CM,
            SVC,
            SVC,
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            STS,
            "kubernetes:core/v1:Secret",  # the kubeconfig, read back
            "pulumi:providers:kubernetes",  # for the tenant cluster
        ]
    )
    assert all(r.parent == component.urn for r in d.resources if r is not component)
    assert d.of_type(CR) == []  # no cluster-scoped sync, no ClusterRole
    assert d.outputs == {
        "namespace": "acme",
        "service": "acme",
        "kubeconfig_secret": "vc-acme",
        "endpoint": "https://acme.acme.svc:443",
        "kubeconfig": MOCK_KUBECONFIG,
    }


def test_kubeconfig_is_a_secret_read_back_after_the_control_plane() -> None:
    d = cluster({})
    read = d.one("kubernetes:core/v1:Secret")
    assert read.name == "acme-kubeconfig"
    assert d.outputs["kubeconfig"] == MOCK_KUBECONFIG
    provider = d.one("pulumi:providers:kubernetes")
    assert provider.name == "acme-tenant"
    # Passed on as a secret: the engine receives it wrapped, never in the clear.
    assert provider.inputs["kubeconfig"]["value"] == MOCK_KUBECONFIG
    assert pulumi.runtime.rpc._special_sig_key in provider.inputs["kubeconfig"]


def test_kubeconfig_output_is_marked_secret() -> None:
    def program() -> dict[str, Any]:
        vc = VirtualCluster("acme", {})
        return {"secret": pulumi.Output.from_input(vc.kubeconfig).is_secret()}

    assert deploy(program).outputs["secret"] is True


def test_reading_the_kubeconfig_can_be_switched_off() -> None:
    d = cluster({"read_kubeconfig": False})
    assert d.of_type("kubernetes:core/v1:Secret") == []
    assert d.of_type("pulumi:providers:kubernetes") == []
    assert d.outputs["kubeconfig"] == ""


def test_statefulset_runs_the_control_plane_and_the_syncer() -> None:
    sts = cluster({"kubernetes_version": "v1.34.10"}).one(STS).inputs["spec"]
    pod = sts["template"]["spec"]
    images = {c["name"]: c["image"] for c in pod["containers"]}
    assert images == {
        "kine": "docker.io/rancher/kine:v0.17.5",
        "kube-apiserver": "registry.k8s.io/kube-apiserver:v1.34.10",
        "kube-controller-manager": "registry.k8s.io/kube-controller-manager:v1.34.10",
        "syncer": "ghcr.io/tenantry/syncer:0.1.0",
    }
    assert [c["command"][:2] for c in pod["initContainers"]] == [["tenantry-syncer", "init"]]
    api = next(c for c in pod["containers"] if c["name"] == "kube-apiserver")
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert "--service-cluster-ip-range=10.96.0.0/12" in api["args"]
    kcm = next(c for c in pod["containers"] if c["name"] == "kube-controller-manager")
    controllers = next(a for a in kcm["args"] if a.startswith("--controllers="))
    assert "-nodelifecycle" in controllers
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert pod["serviceAccountName"] == "vc-acme"


def test_etcd_store_and_image_overrides() -> None:
    pod = (
        cluster(
            {
                "store": {"type": StoreType.ETCD, "size": "10Gi"},
                "images": {"syncer": "registry.local/syncer:dev"},
            }
        )
        .one(STS)
        .inputs["spec"]["template"]["spec"]
    )
    names = [c["name"] for c in pod["containers"]]
    assert "etcd" in names
    assert "kine" not in names
    assert (
        next(c for c in pod["containers"] if c["name"] == "syncer")["image"]
        == "registry.local/syncer:dev"
    )


def test_role_is_namespaced_least_privilege() -> None:
    d = cluster({})
    rules = d.one(ROLE).inputs["rules"]
    resources = {res for r in rules for res in r["resources"]}
    assert "pods" in resources
    # Ephemeral containers reach the host pod through their subresource.
    assert "pods/ephemeralcontainers" in resources
    assert "ingresses" not in resources
    assert "nodes" not in resources


def test_cluster_scoped_sync_adds_a_cluster_role() -> None:
    d = cluster({"sync": {"mirror_nodes": True, "ingresses": True}})
    rules = d.one(CR).inputs["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]
    assert "ingresses" in {res for r in d.one(ROLE).inputs["rules"] for res in r["resources"]}
    config = syncer_config(d)
    assert config.from_host.mirror_nodes
    assert config.from_virtual.ingresses


def test_each_optional_kind_gets_only_its_host_rights() -> None:
    d = cluster(
        {
            "sync": {
                "ingresses": True,
                "service_accounts": True,
                "network_policies": True,
                "pod_disruption_budgets": True,
                "priority_classes": True,
                "max_priority": 1000,
                "storage_classes": True,
            }
        }
    )
    namespaced = {
        (g, res)
        for r in d.one(ROLE).inputs["rules"]
        for g in r["apiGroups"]
        for res in r["resources"]
    }
    assert {
        ("", "serviceaccounts"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "networkpolicies"),
        ("policy", "poddisruptionbudgets"),
    } <= namespaced
    cluster_rules = d.one(CR).inputs["rules"]
    assert {(r["apiGroups"][0], r["resources"][0]): r["verbs"] for r in cluster_rules} == {
        ("storage.k8s.io", "storageclasses"): ["get", "list", "watch"],
        ("scheduling.k8s.io", "priorityclasses"): [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
        ],
    }
    flags = syncer_config(d).from_virtual
    assert all(
        (
            flags.ingresses,
            flags.service_accounts,
            flags.network_policies,
            flags.pod_disruption_budgets,
            flags.priority_classes,
        )
    )
    assert flags.max_priority == 1000
    assert syncer_config(d).from_host.storage_classes


def test_optional_kinds_are_off_by_default() -> None:
    d = cluster({})
    config = syncer_config(d)
    assert not any(
        getattr(config.from_virtual, flag)
        for flag in (
            "ingresses",
            "service_accounts",
            "network_policies",
            "pod_disruption_budgets",
            "priority_classes",
        )
    )
    assert not config.from_host.storage_classes
    assert d.of_type(CR) == []


def test_syncer_config_comes_from_the_api_model() -> None:
    config = syncer_config(cluster({"namespace": "tenant-a", "cluster_name": "vc1"}))
    assert config.vcluster == "vc1"
    assert config.host_namespace == "tenant-a"
    assert config.kubeconfig_secret == "vc-vc1"
    assert config.isolation is None


def test_services_and_exposure() -> None:
    d = cluster({})
    services = {s.inputs["metadata"]["name"]: s.inputs["spec"] for s in d.of_type(SVC)}
    assert services["acme"]["type"] == "ClusterIP"
    assert services["acme-headless"]["clusterIP"] == "None"
    lb = cluster({"exposure": {"type": ExposureType.LOAD_BALANCER, "annotations": {"a": "b"}}})
    svc = lb.one(SVC, "acme-service").inputs
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"] == {"a": "b"}
    ing = cluster({"exposure": {"type": ExposureType.INGRESS, "host": "acme.example.com"}})
    rule = ing.one("kubernetes:networking.k8s.io/v1:Ingress").inputs["spec"]["rules"][0]
    assert rule["host"] == "acme.example.com"
    assert ing.outputs["endpoint"] == "https://acme.example.com"
    node = cluster(
        {"exposure": {"type": ExposureType.NODE_PORT, "host": "10.0.0.7", "node_port": 31443}}
    )
    assert node.one(SVC, "acme-service").inputs["spec"]["ports"][0]["nodePort"] == 31443
    # The tenant kubeconfig's server carries the node port.
    assert node.outputs["endpoint"] == "https://10.0.0.7:31443"


def test_embedded_policy_is_a_child_and_fences_the_same_namespace() -> None:
    d = cluster({"policy": {}})
    vc = d.component(VC)
    tp = d.component(TP)
    assert tp.parent == vc.urn
    ns = d.one("kubernetes:core/v1:Namespace")
    assert ns.parent == tp.urn
    assert ns.inputs["metadata"]["name"] == "acme"


def test_virtual_node_composes_with_cluster_and_policy() -> None:
    def program() -> None:
        vn = VirtualNode("sandbox", {})
        VirtualCluster("acme", {"policy": {}, "isolation": vn.isolation})

    d = deploy(program)
    config = syncer_config(d)
    assert config.isolation is not None
    assert config.isolation.runtime_class_name == "sandbox"
    assert config.isolation.node_selector == {"runtime.tenantry.dev/tenantry-gvisor": "ready"}
    # The syncer knows the sandbox (its exemptions, its rewrites) and the tenants' root.
    assert config.isolation.backend is RuntimeBackend.GVISOR
    assert config.isolation.host_path_root == "/var/lib/tenantry/tenants"
    # The policy's admission refuses every hostPath: the syncer refuses, not rewrites them.
    assert config.sandbox_rewrites == SandboxRewrites(host_path=False)
    deny = d.one(VAP, "acme-policy-admission-policy").inputs
    sandboxed = next(v for v in deny["spec"]["variables"] if v["name"] == "sandboxed")
    assert sandboxed["expression"].endswith("object.spec.runtimeClassName == 'sandbox'")
    (required,) = [v for v in deny["spec"]["validations"] if "require-sandbox" in v["message"]]
    # The control plane's own pods are spared, a pod the syncer created never is.
    assert "'app.kubernetes.io/name'] == 'tenantry-vcluster'" in required["expression"]
    assert "'app.kubernetes.io/instance'] == 'acme'" in required["expression"]
    assert (
        "!(has(object.metadata.labels) && 'app.kubernetes.io/managed-by'"
        in (required["expression"])
    )


def test_sandbox_rewrites_are_on_by_default_and_each_can_be_switched_off() -> None:
    assert syncer_config(cluster({})).sandbox_rewrites == SandboxRewrites()
    off = cluster({"sandbox_rewrites": {"host_network": False, "host_port": False}})
    assert syncer_config(off).sandbox_rewrites == SandboxRewrites(
        host_network=False, host_port=False
    )


def test_the_control_plane_pod_template_carries_the_hash_of_its_config() -> None:
    def template_hash(args: VirtualClusterArgs) -> str:
        d = cluster(args)
        document = d.one("kubernetes:core/v1:ConfigMap").inputs["data"][CONFIG_KEY]
        annotations = d.one(STS).inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {keys.CONFIG_HASH: config_hash(document)}
        return str(annotations[keys.CONFIG_HASH])

    plain = template_hash({})
    assert template_hash({}) == plain
    # A changed sync.* setting changes the document, so the pod is rolled.
    assert template_hash({"sync": {"ingresses": True}}) != plain
    # The sleeper's settings live in its own document: they leave the control plane alone.
    assert template_hash({"sleep": {"after_minutes": 5}}) == plain
