"""VirtualCluster: a virtual Kubernetes control plane in one host namespace, plus the syncer
that runs the tenant's workloads on the host.

The component and the core of resolve and render are here; each optional feature (exposure,
snapshots, sleep, the syncer's RBAC) checks its args and renders its children in a module of
its own beside this one.
"""

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from tenantry_api import naming
from tenantry_api.config import (
    CONFIG_KEY,
    MAX_USER_PRIORITY,
    MIN_PRIORITY,
    SLEEPER_CONFIG_KEY,
    SNAPSHOT_CONFIG_KEY,
    FromHost,
    FromVirtual,
    PodSecurityLevel,
    SyncerConfig,
)

from tenantry import _k8s, _meta, control_plane, tenant_policy, validation
from tenantry._component import Component, Options
from tenantry._k8s import Child, pod_metadata
from tenantry.tenant_policy import TenantPolicy
from tenantry.validation import FieldError
from tenantry.virtual_cluster.args import ExposureType, Images, StoreType, VirtualClusterArgs
from tenantry.virtual_cluster.exposure import check_exposure, endpoint_url, service_children
from tenantry.virtual_cluster.isolation import resolve_isolation, resolve_sandbox_rewrites
from tenantry.virtual_cluster.rbac import syncer_identity
from tenantry.virtual_cluster.sleep import resolve_sleep, sleeper_children
from tenantry.virtual_cluster.snapshots import (
    resolve_restore,
    resolve_snapshots,
    restore_container,
    snapshot_children,
)
from tenantry.virtual_cluster.spec import (
    POD_SECURITY,
    WORKLOADS,
    VirtualClusterSpec,
    app_labels,
    workload_labels,
)

__all__ = ["VirtualCluster", "VirtualClusterArgs", "VirtualClusterSpec", "render", "resolve"]


def default_images(version: str = _meta.KUBERNETES_VERSION) -> Images:
    """The image of each role that the `images` input leaves out."""
    return {
        "api_server": _meta.kubernetes_image("kube-apiserver", version),
        "controller_manager": _meta.kubernetes_image("kube-controller-manager", version),
        "kine": _meta.KINE_IMAGE,
        "etcd": _meta.ETCD_IMAGE,
        "syncer": _meta.tenantry_image("syncer"),
        "coredns": _meta.COREDNS_IMAGE,
    }


def resolve(resource_name: str, args: VirtualClusterArgs) -> VirtualClusterSpec:
    namespace = validation.dns_label("namespace", args.get("namespace", resource_name))
    name = validation.dns_label("cluster_name", args.get("cluster_name", resource_name))
    version = args.get("kubernetes_version", _meta.KUBERNETES_VERSION)
    parts = version.removeprefix("v").split(".")
    if not version.startswith("v") or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise FieldError("kubernetes_version", f"{version!r} is not a version like v1.34.4")
    service_cidr = args.get("service_cidr", "10.96.0.0/12")
    validation.cidr("service_cidr", service_cidr)

    store = args.get("store", {})
    store_size = store.get("size", "5Gi")
    validation.quantity("store.size", store_size)
    storage_class = store.get("storage_class")
    if storage_class is not None:
        validation.dns_label("store.storage_class", storage_class)

    isolation_args = args.get("isolation")
    policy = None
    if "policy" in args:
        policy_args = args["policy"].copy()
        if policy_args.setdefault("namespace", namespace) != namespace:
            raise FieldError(
                "policy.namespace",
                f"{policy_args['namespace']!r} differs from namespace {namespace!r}; "
                "the policy fences the virtual cluster's own namespace",
            )
        if isolation_args is not None:
            policy_args.setdefault("isolation", isolation_args)
        policy = tenant_policy.resolve(resource_name, policy_args, prefix="policy.")
        if policy.sandbox is not None:
            # The control plane, snapshots and sleeper are ours, not the tenant's: they run
            # outside the sandbox. Synced pods never match (the syncer marks them managed-by).
            own = tuple(tuple(workload_labels(app, name).items()) for app in WORKLOADS)
            policy = replace(policy, sandbox=replace(policy.sandbox, unsandboxed=own))

    exposure = args.get("exposure", {})
    exposure_type = exposure.get("type", ExposureType.CLUSTER_IP)
    host = exposure.get("host")
    node_port = exposure.get("node_port")
    check_exposure(exposure_type, host, node_port, exposure, policy)

    isolation = resolve_isolation(isolation_args)

    sync = args.get("sync", {})
    max_priority = sync.get("max_priority", MAX_USER_PRIORITY)
    if not MIN_PRIORITY <= max_priority <= MAX_USER_PRIORITY:
        raise FieldError(
            "sync.max_priority",
            f"{max_priority} is outside {MIN_PRIORITY}..{MAX_USER_PRIORITY} "
            "(the range of a non-system PriorityClass)",
        )
    level = args.get(
        "pod_security_level", policy.pss_enforce if policy else PodSecurityLevel.BASELINE
    )
    images: Images = {**default_images(version), **args.get("images", {})}
    store_type = store.get("type", StoreType.SQLITE)
    snapshots, schedule, sa_annotations = resolve_snapshots(
        args.get("snapshots"), store_type, name, namespace
    )
    restore = resolve_restore(args.get("restore_from"), store_type)
    syncer = SyncerConfig(
        vcluster=name,
        host_namespace=namespace,
        service_name=name,
        kubeconfig_secret=naming.kubeconfig_secret_name(name),
        endpoint=endpoint_url(exposure_type, host, node_port),
        extra_sans=[host] if host else [],
        pod_security_level=level,
        from_virtual=FromVirtual(
            all_configmaps=sync.get("all_configmaps", False),
            all_secrets=sync.get("all_secrets", False),
            ingresses=sync.get("ingresses", False),
            service_accounts=sync.get("service_accounts", False),
            network_policies=sync.get("network_policies", False),
            pod_disruption_budgets=sync.get("pod_disruption_budgets", False),
            priority_classes=sync.get("priority_classes", False),
            max_priority=max_priority,
        ),
        from_host=FromHost(
            storage_classes=sync.get("storage_classes", False),
            mirror_nodes=sync.get("mirror_nodes", False),
        ),
        isolation=isolation,
        sandbox_rewrites=resolve_sandbox_rewrites(args.get("sandbox_rewrites", {}), policy),
        coredns_image=images["coredns"],
    )

    return VirtualClusterSpec(
        name=name,
        namespace=namespace,
        control_plane=control_plane.ControlPlane(
            name=name,
            kubernetes_version=version,
            service_cidr=service_cidr,
            store=store_type.value,
            api_server_image=images["api_server"],
            controller_manager_image=images["controller_manager"],
            kine_image=images["kine"],
            etcd_image=images["etcd"],
            syncer_image=images["syncer"],
        ),
        store_size=store_size,
        storage_class=storage_class,
        exposure=exposure_type,
        exposure_host=host,
        exposure_annotations=dict(exposure.get("annotations", {})),
        node_port=node_port,
        ingress_class_name=exposure.get("ingress_class_name"),
        syncer=syncer,
        policy=policy,
        read_kubeconfig=args.get("read_kubeconfig", True),
        restore=restore,
        snapshots=snapshots,
        snapshot_schedule=schedule,
        snapshot_sa_annotations=sa_annotations,
        sleep=resolve_sleep(args.get("sleep"), name, namespace),
    )


def render(spec: VirtualClusterSpec) -> list[Child]:
    identity = syncer_identity(spec)
    children = identity.children("")
    config_name = naming.config_map_name(spec.name)
    children.append(
        Child(
            "config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": spec.meta(config_name),
                "data": config_documents(spec),
            },
        )
    )
    children += service_children(spec)
    children.append(
        Child(
            "netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": spec.meta(f"vc-{spec.name}-control-plane"),
                # The control plane talks to the host API and is reached by tenants, whatever
                # the tenant's default-deny says.
                "spec": {
                    "podSelector": {"matchLabels": app_labels(spec)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"ports": [{"protocol": "TCP", "port": control_plane.API_PORT}]}],
                    "egress": [{}],
                },
            },
        )
    )
    if spec.snapshots is not None:
        children += snapshot_children(spec, config_name)
    if spec.sleep is not None:
        children += sleeper_children(spec, config_name)
    children.append(
        Child(
            "statefulset",
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": spec.meta(spec.name),
                "spec": statefulset_spec(spec, identity.account, config_name),
            },
            depends_on=(*identity.bindings(""), "config", "service-headless"),
        )
    )
    return children


def config_documents(spec: VirtualClusterSpec) -> dict[str, str]:
    """The ConfigMap's documents: the SyncerConfig, and the sleeper's and the snapshot job's
    when they are on; each pod template hashes the one it reads."""
    documents = {CONFIG_KEY: spec.syncer.to_json()}
    if spec.sleep is not None:
        documents[SLEEPER_CONFIG_KEY] = spec.sleep.to_json()
    if spec.snapshots is not None:
        documents[SNAPSHOT_CONFIG_KEY] = spec.snapshots.document.to_json()
    return documents


def statefulset_spec(
    spec: VirtualClusterSpec, service_account: str, config_name: str
) -> dict[str, Any]:
    init, main = control_plane.containers(spec.control_plane)
    if spec.restore is not None:
        # Before `init`, which then finds the restored CAs.
        init = [restore_container(spec.control_plane, spec.restore), *init]
    claim: dict[str, Any] = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.store_size}},
        },
    }
    if spec.storage_class:
        claim["spec"]["storageClassName"] = spec.storage_class
    return {
        "serviceName": naming.headless_service_name(spec.name),
        # With sleep, the sleeper owns the replica count (0 asleep, 1 awake); a create
        # without it starts one.
        **({"replicas": 1} if spec.sleep is None else {}),
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": app_labels(spec)},
        "template": {
            "metadata": pod_metadata(app_labels(spec), spec.syncer.to_json()),
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": True,
                "terminationGracePeriodSeconds": 10,
                "securityContext": POD_SECURITY,
                "initContainers": init,
                "containers": main,
                "volumes": [
                    {"name": "pki", "emptyDir": {"medium": "Memory"}},
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                    {"name": "config", "configMap": {"name": config_name}},
                    *([{"name": "scratch", "emptyDir": {}}] if spec.restore else []),
                ],
            },
        },
        "volumeClaimTemplates": [claim],
    }


class VirtualCluster(Component):
    """A virtual Kubernetes control plane (upstream kube-apiserver and kube-controller-manager
    on a kine/SQLite or etcd store) in one host namespace, plus the Tenantry syncer that runs the
    tenant's workloads on the host."""

    namespace: pulumi.Output[str]
    """Host namespace of the virtual cluster."""
    service_name: pulumi.Output[str]
    """Host Service in front of the virtual API server."""
    kubeconfig_secret_name: pulumi.Output[str]
    """Host Secret (vc-<name>) that receives the tenant kubeconfig."""
    endpoint: pulumi.Output[str]
    """URL of the virtual API server for tenants."""
    kubeconfig: pulumi.Output[str]
    """The tenant kubeconfig (a secret), read from vc-<name> once the control plane is ready;
    empty when read_kubeconfig is false."""

    def __init__(self, name: str, args: VirtualClusterArgs, opts: Options = None) -> None:
        spec = self._validate(name, VirtualClusterArgs, args, resolve, opts)
        self.spec = spec
        child_opts = pulumi.ResourceOptions(parent=self)
        if spec.policy is not None:
            self.policy: TenantPolicy | None = TenantPolicy.from_spec(
                f"{name}-policy", spec.policy, child_opts
            )
            child_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.policy])
        else:
            self.policy = None
        created = _k8s.register(name, render(spec), child_opts)
        self.namespace = pulumi.Output.from_input(spec.namespace)
        self.service_name = created["service"].id.apply(lambda _: spec.name)
        self.kubeconfig_secret_name = pulumi.Output.from_input(spec.syncer.kubeconfig_secret)
        self.endpoint = pulumi.Output.from_input(spec.endpoint)
        self.kubeconfig = pulumi.Output.secret("")
        self.provider: k8s.Provider | None = None
        """A kubernetes provider for the tenant cluster (Python only), when read_kubeconfig."""
        if spec.read_kubeconfig:
            self.kubeconfig = _read_kubeconfig(name, spec, created["statefulset"], self)
            self.provider = k8s.Provider(
                f"{name}-tenant",
                kubeconfig=self.kubeconfig,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._finish()


def _read_kubeconfig(
    name: str, spec: VirtualClusterSpec, statefulset: pulumi.CustomResource, parent: pulumi.Resource
) -> pulumi.Output[str]:
    # The read's id waits on the StatefulSet, which pulumi-kubernetes only reports created
    # once it is ready: by then the init container has written the Secret. In a preview of a
    # new cluster the id is unknown, so nothing is read too early.
    secret_id = statefulset.id.apply(lambda _: f"{spec.namespace}/{spec.syncer.kubeconfig_secret}")
    secret = k8s.core.v1.Secret.get(
        f"{name}-kubeconfig", secret_id, opts=pulumi.ResourceOptions(parent=parent)
    )

    def decode(data: Mapping[str, str]) -> str:
        if not data or "config" not in data:
            raise pulumi.RunError(
                f"VirtualCluster '{name}': secret {spec.syncer.kubeconfig_secret} has no config key"
            )
        return base64.b64decode(data["config"]).decode()

    return pulumi.Output.secret(secret.data.apply(decode))
