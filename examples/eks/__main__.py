"""An EKS cluster (pulumi-eks), then a Tenantry tenant on it."""

import pulumi
import pulumi_eks as eks
import pulumi_kubernetes as k8s
from registry import ecr_registry
from tenant import tenant
from tenantry import Compute

config = pulumi.Config()
region = pulumi.Config("aws").require("region")
fargate = config.get_bool("fargate") or False

cluster = eks.Cluster(
    "tenantry",
    instance_type=config.get("instanceType") or "m6i.large",
    desired_capacity=2,
    min_size=2,
    max_size=4,
    # With fargate: true the tenant's pods would run on Fargate, where no sandbox can be had;
    # the VirtualNode then fails the preview (see README).
    fargate=fargate,
)
provider = k8s.Provider("eks", kubeconfig=cluster.kubeconfig_json)

outputs = tenant(
    config.get("tenant") or "acme",
    provider,
    registry=ecr_registry(region),
    compute=Compute.FARGATE if fargate else Compute.NODES,
)
for key, value in outputs.items():
    pulumi.export(key, value)
