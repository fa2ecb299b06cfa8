"""A Tenantry tenant on any cluster: the kubeconfig comes from stack config (a path or the
kubeconfig itself), else from the environment (KUBECONFIG or ~/.kube/config)."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from tenant import tenant

config = pulumi.Config()
kubeconfig = config.get("kubeconfig")
if kubeconfig and Path(kubeconfig).expanduser().is_file():
    kubeconfig = Path(kubeconfig).expanduser().read_text()
provider = k8s.Provider("bare", kubeconfig=kubeconfig, context=config.get("context"))

outputs = tenant(
    config.get("tenant") or "acme",
    provider,
    storage_class=config.get("storageClass"),
    read_kubeconfig=config.get_bool("readKubeconfig") is not False,
)
for key, value in outputs.items():
    pulumi.export(key, value)
