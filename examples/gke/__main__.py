"""A GKE cluster with a gVisor sandbox node pool, then a Tenantry tenant on it."""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
from tenant import tenant

config = pulumi.Config()
zone = pulumi.Config("gcp").require("zone")

cluster = gcp.container.Cluster(
    "tenantry",
    location=zone,
    # GKE Sandbox needs a node pool besides the sandboxed one for GKE's own system pods.
    remove_default_node_pool=True,
    initial_node_count=1,
    release_channel={"channel": "REGULAR"},
    deletion_protection=False,
)
system_pool = gcp.container.NodePool(
    "system",
    cluster=cluster.name,
    location=zone,
    node_count=1,
    node_config={"machine_type": "e2-standard-4"},
)
# gVisor nodes: Container-Optimized OS with containerd, GKE Sandbox on. GKE labels and taints
# them sandbox.gke.io/runtime=gvisor and registers the gvisor runtime handler.
sandbox_pool = gcp.container.NodePool(
    "gvisor",
    cluster=cluster.name,
    location=zone,
    node_count=2,
    node_config={
        "machine_type": config.get("machineType") or "n2-standard-4",
        "image_type": "COS_CONTAINERD",
        "sandbox_config": {"type": "GVISOR"},
    },
)


def kubeconfig(name: str, endpoint: str, ca: str) -> str:
    """A kubeconfig for the cluster that authenticates with gke-gcloud-auth-plugin."""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: https://{endpoint}
    certificate-authority-data: {ca}
contexts:
- name: {name}
  context: {{cluster: {name}, user: {name}}}
current-context: {name}
users:
- name: {name}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      provideClusterInfo: true
"""


provider = k8s.Provider(
    "gke",
    kubeconfig=pulumi.Output.all(
        cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate
    ).apply(lambda args: kubeconfig(*args)),
    # The tenant's objects wait for both pools: the sandbox one serves its pods.
    opts=pulumi.ResourceOptions(depends_on=[system_pool, sandbox_pool]),
)

for key, value in tenant(config.get("tenant") or "acme", provider).items():
    pulumi.export(key, value)
