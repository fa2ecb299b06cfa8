"""Exposure of the virtual API server: its checks, the Services in front of it and the
Ingress."""

from typing import Any

from tenantry_api import naming

from tenantry import validation
from tenantry._k8s import Child
from tenantry.control_plane import API_PORT
from tenantry.tenant_policy import TenantPolicySpec
from tenantry.validation import FieldError
from tenantry.virtual_cluster.args import Exposure, ExposureType
from tenantry.virtual_cluster.sleep import SLEEPER_PORT, sleeper_labels
from tenantry.virtual_cluster.spec import VirtualClusterSpec, app_labels


def check_exposure(
    exposure_type: ExposureType,
    host: str | None,
    node_port: int | None,
    exposure: Exposure,
    policy: TenantPolicySpec | None,
) -> None:
    if host is not None and not (validation.is_hostname(host) or validation.is_ip(host)):
        raise FieldError("exposure.host", f"{host!r} is not a DNS name or an IP address")
    if exposure_type is ExposureType.INGRESS and host is None:
        raise FieldError("exposure.host", "is required for Ingress exposure")
    if node_port is not None:
        if exposure_type is not ExposureType.NODE_PORT:
            raise FieldError("exposure.node_port", "is only used with NodePort exposure")
        if not 30000 <= node_port <= 32767:
            raise FieldError("exposure.node_port", f"{node_port} is outside 30000-32767")
    elif exposure_type is ExposureType.NODE_PORT and host is not None:
        # The kubeconfig's server must carry the port, and a port the cluster picks is only
        # known after the Service exists.
        raise FieldError(
            "exposure.node_port",
            "is required with NodePort exposure and a host: the tenant kubeconfig's server "
            f"is https://{host}:<node_port>",
        )
    if "ingress_class_name" in exposure and exposure_type is not ExposureType.INGRESS:
        raise FieldError("exposure.ingress_class_name", "is only used with Ingress exposure")
    if policy is None:
        return
    if exposure_type is ExposureType.LOAD_BALANCER and policy.load_balancer_quota == 0:
        raise FieldError(
            "exposure.type",
            "LoadBalancer exposure needs a LoadBalancer Service, but policy.quota.hard "
            "services.loadbalancers is 0",
        )
    if exposure_type is ExposureType.NODE_PORT and policy.node_port_quota == 0:
        raise FieldError(
            "exposure.type",
            "NodePort exposure needs a NodePort Service, but policy.quota.hard "
            "services.nodeports is 0 (the default); raise it or choose another exposure",
        )


def endpoint_url(exposure_type: ExposureType, host: str | None, node_port: int | None) -> str:
    """The tenant kubeconfig's server; '' leaves the in-cluster Service's name."""
    if host is None:
        return ""
    address = f"[{host}]" if ":" in host else host
    if exposure_type is ExposureType.NODE_PORT:
        return f"https://{address}:{node_port}"
    return f"https://{address}"


def service_children(spec: VirtualClusterSpec) -> list[Child]:
    # With sleep, tenants reach the API server through the always-on sleeper.
    selector = app_labels(spec) if spec.sleep is None else sleeper_labels(spec)
    port: dict[str, Any] = {
        "name": "https",
        "port": 443,
        "targetPort": API_PORT if spec.sleep is None else SLEEPER_PORT,
        "protocol": "TCP",
    }
    service_type = "ClusterIP"
    annotations: dict[str, str] = {}
    if spec.exposure is ExposureType.LOAD_BALANCER:
        service_type, annotations = "LoadBalancer", spec.exposure_annotations
    elif spec.exposure is ExposureType.NODE_PORT:
        service_type = "NodePort"
        if spec.node_port is not None:
            port["nodePort"] = spec.node_port
    children = [
        Child(
            "service",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": spec.meta(spec.name, annotations=annotations or None),
                "spec": {
                    "type": service_type,
                    "selector": selector,
                    "ports": [port],
                    # The API server answers while the syncer (its pod's other container)
                    # restarts: a syncer crash must not take the tenant's API away.
                    "publishNotReadyAddresses": True,
                },
            },
        ),
        Child(
            "service-headless",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": spec.meta(naming.headless_service_name(spec.name)),
                "spec": {
                    "clusterIP": "None",
                    "selector": app_labels(spec),
                    "publishNotReadyAddresses": True,
                    "ports": [{"name": "https", "port": 443, "targetPort": API_PORT}],
                },
            },
        ),
    ]
    if spec.exposure is ExposureType.INGRESS:
        ingress_spec: dict[str, Any] = {
            "rules": [
                {
                    "host": spec.exposure_host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": spec.name, "port": {"number": 443}}
                                },
                            }
                        ]
                    },
                }
            ]
        }
        if spec.ingress_class_name:
            ingress_spec["ingressClassName"] = spec.ingress_class_name
        children.append(
            Child(
                "ingress",
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": spec.meta(spec.name, annotations=spec.exposure_annotations or None),
                    "spec": ingress_spec,
                },
                depends_on=("service",),
            )
        )
    return children
