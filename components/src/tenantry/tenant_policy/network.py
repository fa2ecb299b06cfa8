"""The tenant's NetworkPolicies: deny by default, then allow DNS, intra-tenant traffic,
public egress and ingress from chosen namespaces."""

from dataclasses import dataclass
from typing import Any

from tenantry import validation
from tenantry.tenant_policy.args import TenantPolicyArgs
from tenantry.validation import FieldError

DEFAULT_EGRESS_EXCEPT: list[str] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
]
"""Private, carrier-grade NAT and loopback ranges: public egress never reaches them."""


@dataclass(frozen=True)
class NetworkSpec:
    public_egress: bool
    egress_cidr: str
    egress_except: list[str]
    ingress_from_namespaces: list[str]
    dns_namespace: str
    dns_pod_labels: dict[str, str]


def resolve_network(args: TenantPolicyArgs, prefix: str) -> NetworkSpec | None:
    net_args = args.get("network", {})
    if not net_args.get("enabled", True):
        return None
    egress_cidr = net_args.get("egress_cidr", "0.0.0.0/0")
    egress_except = net_args.get("egress_except", DEFAULT_EGRESS_EXCEPT)
    outer = validation.cidr(f"{prefix}network.egress_cidr", egress_cidr)
    for i, inner in enumerate(validation.cidrs(f"{prefix}network.egress_except", egress_except)):
        if inner.version != outer.version or not inner.subnet_of(outer):  # type: ignore[arg-type]
            raise FieldError(
                f"{prefix}network.egress_except[{i}]",
                f"{inner} is not inside egress_cidr {outer}",
            )
    ingress_from = net_args.get("ingress_from_namespaces", [])
    for i, ns in enumerate(ingress_from):
        validation.dns_label(f"{prefix}network.ingress_from_namespaces[{i}]", ns)
    return NetworkSpec(
        public_egress=net_args.get("public_egress", True),
        egress_cidr=egress_cidr,
        egress_except=list(egress_except),
        ingress_from_namespaces=list(ingress_from),
        dns_namespace=validation.dns_label(
            f"{prefix}network.dns_namespace", net_args.get("dns_namespace", "kube-system")
        ),
        dns_pod_labels=dict(
            validation.labels(
                f"{prefix}network.dns_pod_labels",
                net_args.get("dns_pod_labels", {"k8s-app": "kube-dns"}),
            )
        ),
    )


def network_policies(net: NetworkSpec) -> list[tuple[str, str, dict[str, Any]]]:
    """(Pulumi suffix, name, spec) of each NetworkPolicy."""
    everything: dict[str, Any] = {}
    policies: list[tuple[str, str, dict[str, Any]]] = [
        (
            "netpol-deny",
            "tenantry-default-deny",
            {"podSelector": everything, "policyTypes": ["Ingress", "Egress"]},
        ),
        (
            "netpol-dns",
            "tenantry-allow-dns",
            {
                "podSelector": everything,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": net.dns_namespace
                                    }
                                },
                                "podSelector": {"matchLabels": dict(net.dns_pod_labels)},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        (
            "netpol-intra",
            "tenantry-allow-intra-tenant",
            {
                "podSelector": everything,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": everything}]}],
                "egress": [{"to": [{"podSelector": everything}]}],
            },
        ),
    ]
    if net.public_egress:
        policies.append(
            (
                "netpol-egress",
                "tenantry-allow-public-egress",
                {
                    "podSelector": everything,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": net.egress_cidr,
                                        "except": list(net.egress_except),
                                    }
                                }
                            ]
                        }
                    ],
                },
            )
        )
    if net.ingress_from_namespaces:
        policies.append(
            (
                "netpol-ingress",
                "tenantry-allow-ingress-namespaces",
                {
                    "podSelector": everything,
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchExpressions": [
                                            {
                                                "key": "kubernetes.io/metadata.name",
                                                "operator": "In",
                                                "values": list(net.ingress_from_namespaces),
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    ],
                },
            )
        )
    return policies
