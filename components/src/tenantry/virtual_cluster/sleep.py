"""Sleep: the always-on sleeper that scales the control plane to zero when the tenant is idle
and back on a request. Its checks, its Deployment and its container."""

import re
import zoneinfo
from typing import Any

from tenantry_api import naming
from tenantry_api.config import DAYS

from tenantry._k8s import Child
from tenantry.control_plane import (
    API_PORT,
    CONFIG_ARG,
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
from tenantry.virtual_cluster.spec import Sleep as SleepTarget

SLEEPER_PORT = 6443
"""Where the sleeper takes the tenant's connections; the VirtualCluster's Service targets it."""

_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")


def resolve_sleep(args: Sleep | None) -> SleepTarget | None:
    if args is None:
        return None
    minutes = args.get("after_minutes", 30)
    if minutes < 1:
        raise FieldError("sleep.after_minutes", f"{minutes} must be at least 1")
    hours = args.get("awake_hours", "")
    if hours and (not _HOURS.fullmatch(hours) or hours[:5] == hours[6:]):
        raise FieldError("sleep.awake_hours", f"{hours!r} is not a range HH:MM-HH:MM")
    days = tuple(args.get("awake_days", []))
    for i, day in enumerate(days):
        if day not in DAYS:
            raise FieldError(f"sleep.awake_days[{i}]", f"{day!r} is not one of {', '.join(DAYS)}")
    if days and not hours:
        raise FieldError("sleep.awake_days", "needs awake_hours")
    zone = args.get("time_zone", "")
    if zone:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise FieldError("sleep.time_zone", f"{zone!r} is not an IANA time zone") from e
    return SleepTarget(minutes * 60, hours, days, zone)


def sleeper_container(cp: ControlPlane, sleep: SleepTarget, upstream: str) -> dict[str, Any]:
    """The always-on sleeper: a pass-through proxy in front of ``upstream`` (the control-plane
    pod's API port) that scales it to zero after inactivity and back on a request."""
    flags = [
        *CONFIG_ARG,
        f"--upstream={upstream}",
        f"--listen-port={SLEEPER_PORT}",
        f"--health-port={SYNCER_PORT}",
        f"--idle-seconds={sleep.idle_seconds}",
    ]
    if sleep.awake_hours:
        flags.append(f"--awake-hours={sleep.awake_hours}")
    if sleep.awake_days:
        flags.append(f"--awake-days={','.join(sleep.awake_days)}")
    if sleep.time_zone:
        flags.append(f"--time-zone={sleep.time_zone}")
    return {
        "name": "sleeper",
        "image": cp.syncer_image,
        "command": ["tenantry-syncer", "sleep"],
        "args": flags,
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
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": name,
                            "securityContext": POD_SECURITY,
                            "containers": [
                                sleeper_container(spec.control_plane, spec.sleep, upstream)
                            ],
                            "volumes": [{"name": "config", "configMap": {"name": config_name}}],
                        },
                    },
                },
            },
            depends_on=(*identity.bindings("sleeper-"), "config"),
        ),
    ]
