"""Ten tenants from one list in the stack config (Pulumi.dev.yaml)."""

import pulumi
import pulumi_kubernetes as k8s
from tenants import Tenant, tenants

config = pulumi.Config()
entries: list[Tenant] = config.require_object("tenants")
provider = k8s.Provider("cluster", kubeconfig=config.get("kubeconfig"))

pulumi.export("endpoints", tenants(entries, provider))
pulumi.export("tenant_count", len(entries))
