"""Every Python example runs under Pulumi mocks, and its tenant lands on the cluster the example
creates: each of the tenant's Kubernetes objects goes through a kubernetes Provider whose
kubeconfig is that cluster's own kubeconfig output.

The examples run in their own virtualenv (examples/.venv, where the cloud SDKs and boto3 are),
through tests/support/examples.py, which reports every registration as JSON.
"""

from tests.support.example_runs import Run, run
from tests.support.examples import ACCOUNT, GKE_ENDPOINT, mock_kubeconfig

RC = "kubernetes:node.k8s.io/v1:RuntimeClass"
DS = "kubernetes:apps/v1:DaemonSet"
PROVIDER = "pulumi:providers:kubernetes"


def assert_tenant_lands_on(d: Run, provider_name: str, kubeconfig: str) -> None:
    """The provider was built from the cluster's kubeconfig output, and every one of the
    tenant's objects (outside the tenant cluster's own provider) goes through it."""
    provider = d.one(PROVIDER, provider_name)
    assert provider["inputs"]["kubeconfig"] == kubeconfig
    reference = f"{provider['urn']}::{provider_name}-id"
    objects = d.kubernetes_objects()
    assert len(objects) > 10
    wrong = [r["name"] for r in objects if r["provider"] != reference]
    assert not wrong, f"not on the example's cluster: {wrong}"
    assert d.of_type("tenantry:index:VirtualCluster")
    assert d.of_type("tenantry:index:VirtualNode")


def test_eks_tenant_lands_on_the_eks_cluster_with_images_from_ecr() -> None:
    d = run("eks")
    assert d.error is None
    d.one("eks:index:Cluster", "tenantry")
    assert_tenant_lands_on(d, "eks", mock_kubeconfig("eks-tenantry"))
    # boto3 resolved the account; the images come from its ECR registry in the stack's region.
    registry = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/tenantry"
    agent = d.one(DS)["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert agent["image"].startswith(f"{registry}/node-agent:")
    sts = d.one("kubernetes:apps/v1:StatefulSet")["inputs"]["spec"]
    images = {c["image"] for c in sts["template"]["spec"]["containers"]}
    assert any(image.startswith(f"{registry}/syncer:") for image in images)
    assert sts["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "gp2"
    service = d.one("kubernetes:core/v1:Service", "acme-service")["inputs"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"
    }


def test_eks_on_fargate_fails_the_preview_naming_the_field_and_deploys_no_tenant() -> None:
    d = run("eks", "fargate=true")
    assert d.error is not None
    assert d.error.startswith("VirtualNode 'acme-sandbox': compute: EKS Fargate runs no DaemonSets")
    assert d.kubernetes_objects() == []
    assert not [r for r in d.resources if r["type"].startswith("tenantry:")]


def test_gke_tenant_runs_in_gke_sandbox_on_the_gke_cluster() -> None:
    d = run("gke")
    assert d.error is None
    cluster = d.one("gcp:container/cluster:Cluster", "tenantry")
    assert cluster["inputs"]["removeDefaultNodePool"] is True
    pool = d.one("gcp:container/nodePool:NodePool", "gvisor")["inputs"]
    assert pool["nodeConfig"]["sandboxConfig"] == {"type": "GVISOR"}
    provider = d.one(PROVIDER, "gke")
    assert f"server: https://{GKE_ENDPOINT}\n" in provider["inputs"]["kubeconfig"]
    assert_tenant_lands_on(d, "gke", provider["inputs"]["kubeconfig"])
    rc = d.one(RC)["inputs"]
    assert rc["handler"] == "gvisor"
    assert rc["scheduling"]["nodeSelector"] == {"sandbox.gke.io/runtime": "gvisor"}
    assert d.of_type(DS) == []  # GKE ships the sandbox: no agent
    sts = d.one("kubernetes:apps/v1:StatefulSet")["inputs"]["spec"]
    assert sts["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "standard-rwo"


def test_aks_tenant_runs_in_kata_on_the_aks_clusters_kata_pool() -> None:
    d = run("aks")
    assert d.error is None
    cluster = d.one("azure-native:containerservice:ManagedCluster", "tenantry")["inputs"]
    kata = [p for p in cluster["agentPoolProfiles"] if p["name"] == "kata"]
    assert kata[0]["workloadRuntime"] == "KataVmIsolation"
    assert_tenant_lands_on(d, "aks", mock_kubeconfig("aks-tenantry"))
    rc = d.one(RC)["inputs"]
    assert rc["handler"] == "kata"
    assert rc["scheduling"]["nodeSelector"] == {"kubernetes.azure.com/agentpool": "kata"}
    assert d.of_type(DS) == []
    service = d.one("kubernetes:core/v1:Service", "acme-service")["inputs"]
    assert service["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-dns-label-name": "acme"
    }


def test_bare_tenant_lands_on_the_cluster_of_the_given_kubeconfig() -> None:
    kubeconfig = mock_kubeconfig("bare-metal")
    d = run("bare", f"kubeconfig={kubeconfig}")
    assert d.error is None
    assert_tenant_lands_on(d, "bare", kubeconfig)
    assert len(d.of_type(DS)) == 1  # the node agent installs the sandbox


def test_multi_tenant_deploys_ten_tenants_from_the_stack_list_sharing_one_sandbox() -> None:
    kubeconfig = mock_kubeconfig("shared")
    d = run("multi-tenant", f"kubeconfig={kubeconfig}")
    assert d.error is None
    assert_tenant_lands_on(d, "cluster", kubeconfig)
    names = sorted(r["name"] for r in d.of_type("tenantry:index:VirtualCluster"))
    assert len(names) == 10
    assert "acme" in names
    assert (
        sorted(r["inputs"]["metadata"]["name"] for r in d.of_type("kubernetes:core/v1:Namespace"))
        == names
    )
    assert len(d.of_type(RC)) == 1
    quota = d.one("kubernetes:core/v1:ResourceQuota", "umbrella-policy-quota")["inputs"]
    assert quota["spec"]["hard"]["count/pods"] == "100"
    lbs = {
        r["name"]
        for r in d.of_type("kubernetes:core/v1:Service")
        if r["inputs"]["spec"].get("type") == "LoadBalancer"
    }
    assert lbs == {"initech-service", "wayne-service"}
