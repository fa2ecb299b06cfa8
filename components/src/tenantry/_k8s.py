"""The one place where rendered manifests become pulumi-kubernetes resources.

Components render plain manifests with pure functions (tested without Pulumi); this module maps
each manifest to its typed pulumi-kubernetes class and registers it as a child.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from tenantry_api import keys
from tenantry_api.config import config_hash
from tenantry_api.types import Manifest


@dataclass(frozen=True)
class Child:
    """One object a component owns: ``suffix`` makes its Pulumi name unique in the stack."""

    suffix: str
    manifest: Manifest
    patch: bool = False
    """Server-side-apply patch of an object that already exists (adoption), not a create."""
    depends_on: tuple[str, ...] = field(default=())
    """Suffixes of siblings that must exist first."""


_CLASSES: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("node.k8s.io/v1", "RuntimeClass"): k8s.node.v1.RuntimeClass,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicy
    ),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding
    ),
}
_PATCH_CLASSES: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.NamespacePatch,
}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _kwargs(manifest: Manifest) -> dict[str, Any]:
    # Top-level fields are Python keyword arguments (snake_case); nested dicts keep the
    # Kubernetes spelling, which pulumi-kubernetes accepts as-is.
    return {
        _CAMEL.sub("_", key).lower(): value
        for key, value in manifest.items()
        if key not in ("apiVersion", "kind")
    }


def register(
    component_name: str, children: list[Child], opts: pulumi.ResourceOptions
) -> dict[str, pulumi.CustomResource]:
    """Register ``children`` in order, each parented through ``opts``; returns them by suffix."""
    created: dict[str, pulumi.CustomResource] = {}
    for child in children:
        gvk = (child.manifest["apiVersion"], child.manifest["kind"])
        cls = (_PATCH_CLASSES if child.patch else _CLASSES)[gvk]
        child_opts = pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(depends_on=[created[s] for s in child.depends_on]),
        )
        created[child.suffix] = cls(
            f"{component_name}-{child.suffix}", **_kwargs(child.manifest), opts=child_opts
        )
    return created


def pod_metadata(labels: dict[str, str], *documents: str) -> dict[str, Any]:
    """A pod template's metadata: its labels, and the hash of the config ``documents`` its pod
    reads, so a changed document rolls the pod."""
    return {"labels": labels, "annotations": {keys.CONFIG_HASH: config_hash(*documents)}}


def metadata(
    name: str,
    *,
    tenant: str,
    component: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Object metadata carrying the labels every Tenantry object has."""
    meta: dict[str, Any] = {
        "name": name,
        "labels": {
            keys.MANAGED_BY: keys.MANAGED_BY_VALUE,
            keys.TENANT: tenant,
            keys.COMPONENT: component,
            **(labels or {}),
        },
    }
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta
