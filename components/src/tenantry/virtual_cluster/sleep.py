"""Sleep: the always-on sleeper that scales the control plane to zero when the tenant is idle
and back on a request. Its checks, its Deployment and its container."""

from typing import Any

from tenantry_api import naming
from tenantry_api.config import SLEEPER_CONFIG_KEY, SleeperConfig, SleepSettings

from tenantry import validation
from tenantry._k8s import Child, pod_metadata
from tenantry.control_plane import (
    API_PORT,
    CONFIG_DIR,
    RESTRICTED,
    SYNCER_PORT,
    ControlPlane,
    probe,
)
from tenantry.validation import FieldError
from tenantry.virtual_cluster.args import Sleep
from tenantry.virtual_cluster.spec import (
    POD_SECURITY,
    SLEEPER_APP,
    VirtualClusterSpec,
    workload_labels,
)

SLEEPER_PORT = 6443
"""Where the sleeper takes the tenant's connections; the VirtualCluster's Service targets it."""


def resolve_sleep(args: Sleep | None, name: str, namespace: str) -> SleeperConfig | None:
    """The sleeper's document; tenantry_api checks the hours, days and time zone."""
    if args is None:
        return None
    minutes = args.get("after_minutes", 30)
    if minutes < 1:
        raise FieldError("sleep.after_minutes", f"{minutes} must be at least 1")
    settings = validation.api_model(
        "sleep",
        SleepSettings,
        {
            "idle_seconds": minutes * 60,
            "awake_hours": args.get("awake_hours", ""),
            "awake_days": args.get("awake_days", []),
            "time_zone": args.get("time_zone", ""),
        },
    )
    return SleeperConfig(vcluster=name, host_namespace=namespace, sleep=settings)


def sleeper_container(cp: ControlPlane, upstream: str) -> dict[str, Any]:
    """The always-on sleeper: a pass-through proxy in front of ``upstream`` (the control-plane
    pod's API port) that scales it to zero after inactivity and back on a request."""
    return {
        "name": "sleeper",
        "image": cp.syncer_image,
        "command": ["tenantry-syncer", "sleep"],
        "args": [
            "--config",
            f"{CONFIG_DIR}/{SLEEPER_CONFIG_KEY}",
            f"--upstream={upstream}",
            f"--listen-port={SLEEPER_PORT}",
            f"--health-port={SYNCER_PORT}",
        ],
        "ports": [
            {"name": "https", "containerPort": SLEEPER_PORT},
            {"name": "metrics", "containerPort": SYNCER_PORT},
        ],
        "readinessProbe": probe("/readyz", 5, 3, port=SYNCER_PORT, scheme="HTTP"),
        "livenessProbe": probe("/healthz", 10, 6, port=SYNCER_PORT, scheme="HTTP"),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
        "securityContext": RESTRICTED,
    }


def sleeper_labels(spec: VirtualClusterSpec) -> dict[str, str]:
    return workload_labels(SLEEPER_APP, spec.name)


def sleeper_children(spec: VirtualClusterSpec, config_name: str) -> list[Child]:
    assert spec.sleep is not None
    name = f"vc-{spec.name}-sleeper"
    upstream = f"{naming.headless_service_name(spec.name)}.{spec.namespace}.svc:{API_PORT}"
    identity = spec.identity(
        name,
        rules=[
            {
                "apiGroups": ["apps"],
                "resources": ["statefulsets"],
                "resourceNames": [spec.name],
                "verbs": ["get", "patch"],
            },
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [f"vc-{spec.name}-sleep"],
                "verbs": ["get", "update"],
            },
        ],
    )
    labels = sleeper_labels(spec)
    return [
        *identity.children("sleeper-"),
        Child(
            "sleeper-netpol",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": spec.meta(name),
                "spec": {
                    "podSelector": {"matchLabels": labels},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"ports": [{"protocol": "TCP", "port": SLEEPER_PORT}]}],
                    "egress": [{}],
                },
            },
        ),
        Child(
            "sleeper",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": spec.meta(name),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": pod_metadata(labels, spec.sleep.to_json()),
                        "spec": {
                            "serviceAccountName": name,
                            "securityContext": POD_SECURITY,
                            "containers": [sleeper_container(spec.control_plane, upstream)],
                            "volumes": [{"name": "config", "configMap": {"name": config_name}}],
                        },
                    },
                },
            },
            depends_on=(*identity.bindings("sleeper-"), "config"),
        ),
    ]
