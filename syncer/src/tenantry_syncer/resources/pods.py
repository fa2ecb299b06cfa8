"""Pods: virtual → host translation, and status back.

The host pod is the virtual pod rewritten so that it runs on the host yet behaves as if it
ran in the virtual cluster: its service-account token, DNS, `kubernetes.default` and service
environment all point at the virtual cluster, and every ConfigMap, Secret and PVC it names is
the host twin of the virtual one.
"""

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantry_api.config import Isolation
from tenantry_api.naming import host_name
from tenantry_api.types import Manifest

from tenantry_syncer.resources import priorityclasses
from tenantry_syncer.resources.meta import host_metadata

KIND = "Pod"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
KUBERNETES_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


def token_secret_name(pod_host_name: str) -> str:
    """Host Secret carrying the pod's virtual service-account token (vcluster does the same).
    Secret names may be DNS subdomains of up to 253 characters, so the suffix always fits."""
    return f"{pod_host_name}-sa-token"


@dataclass(frozen=True)
class VirtualService:
    """A Service of the pod's virtual namespace, as the pod's environment must see it."""

    name: str
    cluster_ip: str
    ports: list[Manifest] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a pod's rewrite depends on beyond the pod itself."""

    vcluster: str
    host_namespace: str
    api_ip: str
    """Host ClusterIP of the virtual API server's Service: `kubernetes.default` resolves here."""
    dns_ip: str | None
    """Host ClusterIP of the tenant CoreDNS, itself a synced pod behind a synced Service;
    None while the tenant runs no DNS, and then the pod keeps the host's resolver."""
    services: list[VirtualService] = field(default_factory=list)
    isolation: Isolation | None = None
    service_accounts: bool = False
    """ServiceAccounts are synced: the host pod runs as its virtual one's host twin."""
    priority_classes: bool = False
    """PriorityClasses are synced: the host pod names its virtual one's host twin."""


def _rename(name: str, namespace: str, ctx: Context) -> str:
    return host_name(name, namespace, ctx.vcluster)


def _rewrite_env(container: Manifest, namespace: str, ctx: Context, extra: list[Manifest]) -> None:
    for env in container.get("env") or []:
        ref = env.get("valueFrom") or {}
        for key in ("configMapKeyRef", "secretKeyRef"):
            if key in ref and ref[key].get("name"):
                ref[key]["name"] = _rename(ref[key]["name"], namespace, ctx)
    for source in container.get("envFrom") or []:
        for key in ("configMapRef", "secretRef"):
            if key in source and source[key].get("name"):
                source[key]["name"] = _rename(source[key]["name"], namespace, ctx)
    if extra:
        # Explicit env wins over service links, as in the kubelet: put ours first.
        declared = {e["name"] for e in container.get("env") or []}
        container["env"] = [e for e in extra if e["name"] not in declared] + list(
            container.get("env") or []
        )


def _is_token_volume(volume: Manifest) -> bool:
    sources = (volume.get("projected") or {}).get("sources") or []
    return any("serviceAccountToken" in s for s in sources)


def _rewrite_volume(volume: Manifest, namespace: str, ctx: Context, token_secret: str) -> Manifest:
    if _is_token_volume(volume):
        # The virtual API's token, CA and namespace, from the Secret the syncer keeps fresh.
        return {
            "name": volume["name"],
            "secret": {
                "secretName": token_secret,
                "items": [
                    {"key": "token", "path": "token"},
                    {"key": "ca.crt", "path": "ca.crt"},
                    {"key": "namespace", "path": "namespace"},
                ],
            },
        }
    if "configMap" in volume:
        volume["configMap"]["name"] = _rename(volume["configMap"]["name"], namespace, ctx)
    if "secret" in volume:
        volume["secret"]["secretName"] = _rename(volume["secret"]["secretName"], namespace, ctx)
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]
        claim["claimName"] = _rename(claim["claimName"], namespace, ctx)
    for source in (volume.get("projected") or {}).get("sources") or []:
        if "configMap" in source:
            source["configMap"]["name"] = _rename(source["configMap"]["name"], namespace, ctx)
        if "secret" in source:
            source["secret"]["name"] = _rename(source["secret"]["name"], namespace, ctx)
    return volume


_ENV_NAME = re.compile(r"[^A-Z0-9_]")


def service_env(services: Iterable[VirtualService], api_ip: str) -> list[Manifest]:
    """The environment the kubelet would give a pod for its namespace's Services (docker links
    style), with `kubernetes` pointing at the virtual API server."""
    env: list[Manifest] = [
        {"name": "KUBERNETES_SERVICE_HOST", "value": api_ip},
        {"name": "KUBERNETES_SERVICE_PORT", "value": "443"},
        {"name": "KUBERNETES_SERVICE_PORT_HTTPS", "value": "443"},
        {"name": "KUBERNETES_PORT", "value": f"tcp://{api_ip}:443"},
        {"name": "KUBERNETES_PORT_443_TCP", "value": f"tcp://{api_ip}:443"},
        {"name": "KUBERNETES_PORT_443_TCP_PROTO", "value": "tcp"},
        {"name": "KUBERNETES_PORT_443_TCP_PORT", "value": "443"},
        {"name": "KUBERNETES_PORT_443_TCP_ADDR", "value": api_ip},
    ]
    for service in sorted(services, key=lambda s: s.name):
        if not service.cluster_ip or service.cluster_ip == "None" or not service.ports:
            continue
        prefix = _ENV_NAME.sub("_", service.name.upper())
        first = service.ports[0]
        env += [
            {"name": f"{prefix}_SERVICE_HOST", "value": service.cluster_ip},
            {"name": f"{prefix}_SERVICE_PORT", "value": str(first["port"])},
            {
                "name": f"{prefix}_PORT",
                "value": f"{first.get('protocol', 'TCP').lower()}://{service.cluster_ip}:{first['port']}",
            },
        ]
        for port in service.ports:
            protocol = port.get("protocol", "TCP")
            base = f"{prefix}_PORT_{port['port']}_{protocol}"
            if port.get("name"):
                env.append(
                    {
                        "name": f"{prefix}_SERVICE_PORT_{_ENV_NAME.sub('_', port['name'].upper())}",
                        "value": str(port["port"]),
                    }
                )
            env += [
                {
                    "name": base,
                    "value": f"{protocol.lower()}://{service.cluster_ip}:{port['port']}",
                },
                {"name": f"{base}_PROTO", "value": protocol.lower()},
                {"name": f"{base}_PORT", "value": str(port["port"])},
                {"name": f"{base}_ADDR", "value": service.cluster_ip},
            ]
    return env


CLUSTER_DNS_POLICIES = (None, "ClusterFirst", "ClusterFirstWithHostNet")


def uses_cluster_dns(spec: Manifest) -> bool:
    """Pods that ask for cluster DNS get the tenant's; `Default` (the node's resolver, which is
    what CoreDNS itself uses) and `None` (the pod's own dnsConfig) are left as written."""
    return spec.get("dnsPolicy") in CLUSTER_DNS_POLICIES


def references(spec: Manifest) -> dict[str, set[str]]:
    """Names of the ConfigMaps and Secrets a pod spec uses (volumes, env, envFrom, pull
    secrets): by default only these are synced."""
    found: dict[str, set[str]] = {"ConfigMap": set(), "Secret": set()}
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            found["ConfigMap"].add(volume["configMap"]["name"])
        if "secret" in volume:
            found["Secret"].add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                found["ConfigMap"].add(source["configMap"]["name"])
            if "secret" in source:
                found["Secret"].add(source["secret"]["name"])
    for list_name in CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            for env in container.get("env") or []:
                ref = env.get("valueFrom") or {}
                if "configMapKeyRef" in ref:
                    found["ConfigMap"].add(ref["configMapKeyRef"]["name"])
                if "secretKeyRef" in ref:
                    found["Secret"].add(ref["secretKeyRef"]["name"])
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    found["ConfigMap"].add(source["configMapRef"]["name"])
                if "secretRef" in source:
                    found["Secret"].add(source["secretRef"]["name"])
    for pull in spec.get("imagePullSecrets") or []:
        found["Secret"].add(pull["name"])
    # The token volume is served by the syncer itself, not by a synced ConfigMap.
    found["ConfigMap"].discard("kube-root-ca.crt")
    return found


def ephemeral_to_host(virtual: Manifest, ctx: Context) -> list[Manifest]:
    """The host pod's ephemeral containers for ``virtual``'s, environment rewritten like the
    other containers'. Pure."""
    return list(_translated(virtual, ctx)["spec"].get("ephemeralContainers") or [])


def to_host(virtual: Manifest, ctx: Context) -> Manifest:
    """The host pod for ``virtual``, to be created: without ephemeral containers, which the API
    refuses on create (`ephemeral_to_host` gives them). Pure: the input is not modified."""
    pod = _translated(virtual, ctx)
    pod["spec"].pop("ephemeralContainers", None)
    return pod


def _translated(virtual: Manifest, ctx: Context) -> Manifest:
    pod = copy.deepcopy(virtual)
    namespace = pod["metadata"]["namespace"]
    metadata = host_metadata(pod, KIND, ctx.vcluster, ctx.host_namespace)
    spec: Manifest = pod["spec"]
    token_secret = token_secret_name(metadata["name"])
    links = spec.get("enableServiceLinks", True)
    extra_env = service_env(ctx.services if links else [], ctx.api_ip)

    for list_name in CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            _rewrite_env(container, namespace, ctx, extra_env)
    spec["volumes"] = [
        _rewrite_volume(v, namespace, ctx, token_secret) for v in spec.get("volumes") or []
    ]
    if "imagePullSecrets" in spec:
        spec["imagePullSecrets"] = [
            {"name": _rename(s["name"], namespace, ctx)} for s in spec["imagePullSecrets"]
        ]

    # The host must never give the pod a host token; the virtual one is mounted above.
    spec["automountServiceAccountToken"] = False
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    priority_class = priorityclasses.pod_class(
        spec.get("priorityClassName"), ctx.vcluster, ctx.host_namespace
    )
    for key in (
        "serviceAccountName",
        "serviceAccount",
        "nodeName",
        "priorityClassName",
        "priority",  # the host's admission sets it from the host class
    ):
        spec.pop(key, None)
    if ctx.service_accounts:
        spec["serviceAccountName"] = _rename(account, namespace, ctx)
    if ctx.priority_classes and priority_class:
        spec["priorityClassName"] = priority_class
    spec["enableServiceLinks"] = False  # host Services would leak into the environment
    if ctx.dns_ip and uses_cluster_dns(spec):
        spec["dnsPolicy"] = "None"
        spec["dnsConfig"] = {
            "nameservers": [ctx.dns_ip],
            "searches": [f"{namespace}.svc.cluster.local", "svc.cluster.local", "cluster.local"],
            "options": [{"name": "ndots", "value": "5"}],
        }
    spec["hostAliases"] = [
        *(spec.get("hostAliases") or []),
        {"ip": ctx.api_ip, "hostnames": list(KUBERNETES_NAMES)},
    ]
    if ctx.isolation is not None:
        spec["runtimeClassName"] = ctx.isolation.runtime_class_name
        spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), **ctx.isolation.node_selector}
        spec["tolerations"] = [
            *(spec.get("tolerations") or []),
            *(t.model_dump(exclude_defaults=True) for t in ctx.isolation.tolerations),
        ]
    return {"apiVersion": "v1", "kind": KIND, "metadata": metadata, "spec": spec}


STATUS_FIELDS = (
    "phase",
    "conditions",
    "hostIP",
    "hostIPs",
    "podIP",
    "podIPs",
    "startTime",
    "containerStatuses",
    "initContainerStatuses",
    "ephemeralContainerStatuses",
    "message",
    "reason",
)
# Not qosClass: the virtual API server sets it from the virtual pod's resources and refuses
# any change ("field is immutable"), while the host's LimitRange may give the host pod other
# resources and so another class. That refusal blocked every other field of the status.


def status_to_virtual(host: Manifest) -> Manifest:
    """The status the virtual pod shows: the host pod's, field for field (not its QoS class)."""
    status: Mapping[str, Any] = host.get("status") or {}
    return {key: status[key] for key in STATUS_FIELDS if key in status}
