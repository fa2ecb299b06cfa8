"""The quickstart stack (Pulumi.yaml): one complete tenant on the current cluster.

A VirtualNode sandbox, then a VirtualCluster whose TenantPolicy fences its host namespace and
whose synced pods run under the sandbox's RuntimeClass. With `sandbox` set (another stack's
`isolation` output, as JSON), the tenant shares that stack's sandbox instead: one stack per
tenant, the sandbox made once. `make demo` deploys it onto a local
cluster; tests/integration/test_pulumi_up.py deploys it through the Automation API.
"""

import json
from typing import cast

import pulumi
import pulumi_kubernetes as k8s
from tenantry import (
    Exposure,
    ExposureType,
    Images,
    Isolation,
    PodSecurityLevel,
    RuntimeBackend,
    VirtualCluster,
    VirtualNode,
    VirtualNodeArgs,
    mirrored_images,
)

config = pulumi.Config()
tenant = config.get("tenant") or "acme"

# Render mode: write every manifest under this directory instead of applying it.
render_to = config.get("renderYamlTo")
opts = None
if render_to:
    renderer = k8s.Provider("render", render_yaml_to_directory=render_to)
    opts = pulumi.ResourceOptions(providers=[renderer])

# vNode's promise: privileged pods, contained by the sandbox (docs/admission.md).
privileged = config.get_bool("privilegedSandbox", True)
# A registry mirror (a cluster that cannot reach ghcr.io, registry.k8s.io or docker.io): every
# default image from it, path and tag kept.
images: Images = {}
agent_image = None
if registry := config.get("imageRegistry"):
    try:
        images, agent_image = mirrored_images(registry)
    except ValueError as e:
        raise pulumi.RunError(f"config imageRegistry: {e}") from None
sandbox: VirtualNode | None = None
if shared := config.get_object("sandbox"):
    isolation = cast(Isolation, shared)
else:
    sandbox_args: VirtualNodeArgs = {
        "backend": RuntimeBackend.GVISOR,
        "allow_privileged": privileged,
    }
    # Nodes laid out otherwise (the local cluster's real node): the agent's settings.
    if agent := config.get("nodeAgent"):
        sandbox_args["agent"] = json.loads(agent)
    if agent_image:
        sandbox_args["agent"] = {**sandbox_args.get("agent", {}), "image": agent_image}
    sandbox = VirtualNode("sandbox", sandbox_args, opts)
    isolation = sandbox.isolation

exposure: Exposure = {"type": ExposureType(config.get("exposure") or "ClusterIP")}
# The tenant's own ResourceQuota limits over these (`quota`, a JSON object: {"count/pods": "150"}).
own_quota = cast(dict[str, object], config.get_object("quota") or {})
quota = {"count/pods": "50", **{k: str(v) for k, v in own_quota.items()}}
if exposure["type"] is ExposureType.NODE_PORT:
    quota["services.nodeports"] = "1"  # the API server's own Service
    if host := config.get("exposureHost"):
        exposure["host"] = host  # a node's address: the tenant kubeconfig's server
    if port := config.get_int("exposureNodePort"):
        exposure["node_port"] = port

cluster = VirtualCluster(
    tenant,
    {
        # The TenantPolicy fencing the host namespace, created as a child.
        "policy": {
            "quota": {"hard": quota},
            # At baseline Pod Security refuses a privileged pod before the sandbox matters.
            "pod_security": {
                "level": PodSecurityLevel.PRIVILEGED if privileged else PodSecurityLevel.BASELINE
            },
            "network": {"ingress_from_namespaces": ["ingress-nginx"]},
        },
        # Every synced pod runs under the sandbox's RuntimeClass.
        "isolation": isolation,
        "exposure": exposure,
        "sync": {"ingresses": config.get_bool("syncIngresses", False)},
        "read_kubeconfig": config.get_bool("readKubeconfig", True) and not render_to,
        "images": images,
    },
    opts,
)

pulumi.export("namespace", cluster.namespace)
pulumi.export("endpoint", cluster.endpoint)
pulumi.export("service", cluster.service_name)
pulumi.export("kubeconfig_secret", cluster.kubeconfig_secret_name)
pulumi.export("kubeconfig", cluster.kubeconfig)  # a secret; empty unless readKubeconfig
pulumi.export("runtime_class", isolation["runtime_class_name"])
pulumi.export("isolation", isolation)  # another tenant's stack shares the sandbox with it
if sandbox is not None:
    pulumi.export("node_agent", sandbox.agent_daemonset_name)
