"""A workload's host identity: its ServiceAccount and the roles bound to it.

Every component that runs a pod on the host (the control plane, the snapshot job, the
sleeper, the node agent) renders it here, so each grant is one ServiceAccount, one rule list
and one binding per role, with the same Pulumi names and the same ordering.
"""

from dataclasses import dataclass, field
from typing import Any

from tenantry import _k8s
from tenantry._k8s import Child

Rule = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Identity:
    """ServiceAccount ``account`` in ``namespace``, bound to a Role of ``rules`` there and to
    ClusterRole ``cluster_role`` of ``cluster_rules``; either is left out when it has no rules."""

    account: str
    namespace: str
    tenant: str
    component: str
    rules: list[Rule] = field(default_factory=list)
    cluster_role: str = ""
    cluster_rules: list[Rule] = field(default_factory=list)
    annotations: dict[str, str] | None = None
    """Of the ServiceAccount, e.g. for IRSA or workload identity."""

    def children(self, prefix: str) -> list[Child]:
        """The objects, ``prefix`` keeping their Pulumi names apart: ``<prefix>sa``, then
        ``<prefix>role`` and ``<prefix>rolebinding``, then ``<prefix>clusterrole`` and
        ``<prefix>clusterrolebinding``."""
        account = Child(
            f"{prefix}sa",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": self._meta(self.account, self.namespace, self.annotations),
            },
        )
        children = [account]
        if self.rules:
            children += self._grant(prefix, "Role", self.account, self.namespace, self.rules)
        if self.cluster_rules:
            children += self._grant(
                prefix, "ClusterRole", self.cluster_role, None, self.cluster_rules
            )
        return children

    def bindings(self, prefix: str) -> tuple[str, ...]:
        """Suffixes of the bindings ``children(prefix)`` renders: what the workload waits on."""
        return (
            *((f"{prefix}rolebinding",) if self.rules else ()),
            *((f"{prefix}clusterrolebinding",) if self.cluster_rules else ()),
        )

    def _grant(
        self, prefix: str, kind: str, name: str, namespace: str | None, rules: list[Rule]
    ) -> list[Child]:
        role = f"{prefix}{kind.lower()}"
        return [
            Child(
                role,
                {
                    "apiVersion": f"{RBAC}/v1",
                    "kind": kind,
                    "metadata": self._meta(name, namespace),
                    "rules": rules,
                },
            ),
            Child(
                f"{role}binding",
                {
                    "apiVersion": f"{RBAC}/v1",
                    "kind": f"{kind}Binding",
                    "metadata": self._meta(name, namespace),
                    "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
                    "subjects": [
                        {
                            "kind": "ServiceAccount",
                            "name": self.account,
                            "namespace": self.namespace,
                        }
                    ],
                },
                depends_on=(f"{prefix}sa", role),
            ),
        ]

    def _meta(
        self, name: str, namespace: str | None, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return _k8s.metadata(
            name,
            tenant=self.tenant,
            component=self.component,
            namespace=namespace,
            annotations=annotations,
        )
