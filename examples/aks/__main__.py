"""An AKS cluster with the Kata workload runtime, then a Tenantry tenant on it."""

import base64

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice, resources
from tenant import KATA_POOL, tenant

config = pulumi.Config()
vm_size = config.get("vmSize") or "Standard_D4s_v5"  # nested virtualization, as Kata needs

group = resources.ResourceGroup("tenantry")
cluster = containerservice.ManagedCluster(
    "tenantry",
    resource_group_name=group.name,
    dns_prefix="tenantry",
    identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
    agent_pool_profiles=[
        {
            "name": "system",
            "mode": containerservice.AgentPoolMode.SYSTEM,
            "count": 1,
            "vm_size": vm_size,
            "os_type": containerservice.OSType.LINUX,
            "os_sku": containerservice.OSSKU.AZURE_LINUX,
        },
        {
            # Pod Sandboxing: Azure Linux nodes whose containerd has the kata handler.
            "name": KATA_POOL,
            "mode": containerservice.AgentPoolMode.USER,
            "count": 2,
            "vm_size": vm_size,
            "os_type": containerservice.OSType.LINUX,
            "os_sku": containerservice.OSSKU.AZURE_LINUX,
            "workload_runtime": containerservice.WorkloadRuntime.KATA_VM_ISOLATION,
        },
    ],
)
credentials = containerservice.list_managed_cluster_user_credentials_output(
    resource_group_name=group.name, resource_name=cluster.name
)
provider = k8s.Provider(
    "aks",
    kubeconfig=credentials.kubeconfigs[0].value.apply(lambda v: base64.b64decode(v).decode()),
)

for key, value in tenant(config.get("tenant") or "acme", provider).items():
    pulumi.export(key, value)
