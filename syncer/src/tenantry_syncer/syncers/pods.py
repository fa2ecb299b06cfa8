"""Pods: virtual → host with the pod rewrite; status and node binding back. The pod spec is
immutable, so a host pod is only ever created, relabelled or deleted, never replaced; only
ephemeral containers are added later, through the host pod's `ephemeralcontainers`."""

import base64
import json
from collections.abc import Iterable

from kubernetes.client.exceptions import ApiException
from tenantry_api import keys
from tenantry_api.naming import host_annotations, host_labels
from tenantry_api.types import Manifest
from tenantry_syncer.resources import configmaps, pods, sandbox, secrets, services
from tenantry_syncer.resources.meta import host_metadata, ref_of
from tenantry_syncer.syncers.base import Shared, Watch, ignoring
from tenantry_syncer.syncers.kind import KindSyncer, same_metadata
from tenantry_syncer.syncers.nodes import NodeSyncer

TOKEN_LIFETIME = 3600 * 24 * 365


class PodSyncer(KindSyncer):
    kind = pods.KIND

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._nodes = NodeSyncer(shared)
        """Makes a pod's virtual node before the pod is bound to it."""
        self._api_ip: str | None = None
        self._refused: set[object] = set()
        self._handled_ephemeral: set[tuple[str | None, str]] = set()
        isolation = shared.config.isolation
        self.policy = sandbox.Policy(
            level=shared.config.pod_security_level,
            backend=isolation.backend if isolation else None,
            rewrites=shared.config.sandbox_rewrites,
            tenant_dir=(
                f"{isolation.host_path_root}/{shared.config.host_namespace}" if isolation else ""
            ),
        )

    def watches(self) -> Iterable[Watch]:
        yield from super().watches()
        # Read, not routed: the environment and DNS of a pod, its CA, its token Secret.
        yield Watch(self.s.virtual, services.KIND)
        yield self.s.twins(services.KIND)
        yield Watch(self.s.virtual, configmaps.KIND)
        yield self.s.twins(secrets.KIND)

    def observe(self, key: str, virtual: Manifest) -> None:
        self.record_uses(key, pods.references(virtual.get("spec") or {}))

    def sync(self, virtual: Manifest, host: Manifest | None) -> None:
        meta = virtual["metadata"]
        if host is not None and host["metadata"].get("annotations", {}).get(
            keys.OBJECT_UID
        ) != meta.get("uid"):
            # A new virtual pod under an old name: the old host pod goes first.
            self.s.delete_host(self.kind, host["metadata"]["name"])
            return
        if meta.get("deletionTimestamp"):
            if host is None:
                self._finish_virtual_delete(virtual)
            else:
                self.s.delete_host(self.kind, host["metadata"]["name"])
            return
        if host is None:
            self._create(virtual)
            return
        token = pods.token_secret_name(host["metadata"]["name"])
        tokens = self.s.host.informers[secrets.KIND]
        if tokens.get(f"{self.s.config.host_namespace}/{token}") is None:
            self._ensure_token(virtual, host)  # a crash between pod and Secret
        self._restore_metadata(virtual, host)
        self._ephemeral(virtual, host)
        self._status_back(virtual, host)

    def _create(self, virtual: Manifest) -> None:
        meta = virtual["metadata"]
        # Ephemeral containers cannot be set on create: they follow once the pod exists.
        spec = {k: v for k, v in (virtual.get("spec") or {}).items() if k != "ephemeralContainers"}
        verdict = sandbox.judge(spec, self.policy)
        if verdict.refused:
            if meta.get("uid") not in self._refused:  # one Event per pod, not per resync
                self.s.event(
                    virtual,
                    "PodSecurity",
                    f"not synced to the host: {'; '.join(map(str, verdict.refused))}",
                )
                self._refused.add(meta.get("uid"))
            return
        ctx = self.context(meta["namespace"])
        if (
            self.s.config.coredns_image
            and ctx.dns_ip is None
            and pods.uses_cluster_dns(virtual.get("spec") or {})
        ):
            # A pod's resolver is fixed at creation: wait for the tenant's DNS rather than
            # start it on the host's.
            raise RuntimeError("the tenant DNS (kube-system/kube-dns) has no host ClusterIP yet")
        desired = pods.to_host({**virtual, "spec": verdict.spec}, ctx)
        resource = self.s.host.resources[self.kind]
        namespace = self.s.config.host_namespace
        try:
            created = ignoring(409, lambda: resource.create(body=desired, namespace=namespace))
        except ApiException as e:
            # The host's admission said no (a policy, a quota): the tenant hears it once; the
            # create is still retried, as a quota may free up.
            if e.status in (403, 422) and ("host", meta.get("uid")) not in self._refused:
                self.s.event(virtual, "HostRefused", f"the host refused the pod: {_reason(e)}")
                self._refused.add(("host", meta.get("uid")))
            raise
        if created is None:
            # It exists but our informer cannot see it: someone stripped our labels.
            existing = resource.get(name=desired["metadata"]["name"], namespace=namespace)
            self._restore_metadata(virtual, existing)
            return
        self._tell(virtual, verdict)
        # The kubelet waits for the token volume, so the pod may come first; owned by the pod,
        # the Secret goes with it, even if this process dies in between.
        self._ensure_token(virtual, created)

    def _tell(self, virtual: Manifest, verdict: sandbox.Verdict, what: str = "") -> None:
        """The tenant hears of every field the host pod got other than asked, and why."""
        if verdict.rewrites:
            self.s.event(
                virtual,
                "SandboxRewrite",
                f"{what}synced with the tenant's own instead of the host's: "
                + "; ".join(map(str, verdict.rewrites)),
            )
        if verdict.admitted:
            backend = self.policy.backend.value if self.policy.backend else ""
            self.s.event(
                virtual,
                "SandboxExemption",
                f"{what}admitted under the {backend} sandbox: "
                + "; ".join(map(str, verdict.admitted)),
                type_="Normal",
            )

    def _ephemeral(self, virtual: Manifest, host: Manifest) -> None:
        """Ephemeral containers the tenant added, after the same check as the pod's own; a
        refused one is left out and its Event says why."""
        uid = virtual["metadata"].get("uid")
        present = {c["name"] for c in (host.get("spec") or {}).get("ephemeralContainers") or []}
        wanted = (virtual.get("spec") or {}).get("ephemeralContainers") or []
        new = [
            (i, c)
            for i, c in enumerate(wanted)
            if c["name"] not in present and (uid, c["name"]) not in self._handled_ephemeral
        ]
        if not new:
            return
        verdict = sandbox.judge(virtual.get("spec") or {}, self.policy)
        translated = {
            c["name"]: c
            for c in pods.ephemeral_to_host(
                {**virtual, "spec": verdict.spec}, self.context(virtual["metadata"]["namespace"])
            )
        }
        added, told = [], []
        for i, container in new:
            mine = verdict.under(f"spec.ephemeralContainers[{i}].")
            what = f"ephemeral container {container['name']}: "
            if mine.refused:
                self.s.event(
                    virtual,
                    "PodSecurity",
                    f"{what}not synced to the host: {'; '.join(map(str, mine.refused))}",
                )
                self._handled_ephemeral.add((uid, container["name"]))
                continue
            added.append(translated[container["name"]])
            told.append((mine, what))
        if not added:
            return
        try:
            self.s.host.resources[self.kind].patch(
                body={"spec": {"ephemeralContainers": added}},
                name=host["metadata"]["name"],
                namespace=self.s.config.host_namespace,
                subresource="ephemeralcontainers",
                content_type="application/strategic-merge-patch+json",
            )
        except ApiException as e:
            names = ", ".join(c["name"] for c in added)
            if e.status in (403, 422) and ("host", uid, names) not in self._refused:
                self.s.event(
                    virtual,
                    "HostRefused",
                    f"ephemeral container {names}: the host refused it: {_reason(e)}",
                )
                self._refused.add(("host", uid, names))
            raise
        for (mine, what), container in zip(told, added, strict=True):
            self._handled_ephemeral.add((uid, container["name"]))
            self._tell(virtual, mine, what)

    def context(self, namespace: str) -> pods.Context:
        dns = self.s.virtual.informers[services.KIND].get("kube-system/kube-dns")
        dns_host = self.s.host_object(services.KIND, "kube-dns", "kube-system") if dns else None
        return pods.Context(
            vcluster=self.s.config.vcluster,
            host_namespace=self.s.config.host_namespace,
            api_ip=self.api_ip(),
            dns_ip=((dns_host or {}).get("spec") or {}).get("clusterIP"),
            services=[
                pods.VirtualService(
                    s["metadata"]["name"],
                    (s.get("spec") or {}).get("clusterIP", ""),
                    (s.get("spec") or {}).get("ports") or [],
                )
                for s in self.s.virtual.informers[services.KIND].items()
                if s["metadata"]["namespace"] == namespace
            ],
            isolation=self.s.config.isolation,
            service_accounts=self.s.config.from_virtual.service_accounts,
            priority_classes=self.s.config.from_virtual.priority_classes,
        )

    def api_ip(self) -> str:
        """Host ClusterIP of the virtual API server's Service; fixed for its lifetime."""
        if self._api_ip is None:
            svc = self.s.host.resources[services.KIND].get(
                name=self.s.config.service_name, namespace=self.s.config.host_namespace
            )
            self._api_ip = str(svc["spec"]["clusterIP"])
        return self._api_ip

    def _restore_metadata(self, virtual: Manifest, host: Manifest) -> None:
        """Labels and annotations someone changed on the host pod are put back."""
        wanted = host_metadata(
            virtual, self.kind, self.s.config.vcluster, self.s.config.host_namespace
        )
        if same_metadata(host["metadata"], wanted):
            return
        self.s.host.resources[self.kind].patch(
            body={"metadata": {part: wanted[part] for part in ("labels", "annotations")}},
            name=host["metadata"]["name"],
            namespace=self.s.config.host_namespace,
            content_type="application/merge-patch+json",
        )

    def _ensure_token(self, virtual: Manifest, host_pod: Manifest) -> None:
        meta = virtual["metadata"]
        ref = ref_of(virtual, self.kind, self.s.config.vcluster)
        sa = (virtual.get("spec") or {}).get("serviceAccountName", "default")
        review = self.s.virtual.resource("ServiceAccount").create_subresource(
            sa,
            meta["namespace"],
            "token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                # Bound to the virtual pod, as the kubelet's tokens are: deleting the pod
                # invalidates the token, even while its host copy still exists.
                "spec": {
                    "audiences": [],
                    "expirationSeconds": TOKEN_LIFETIME,
                    "boundObjectRef": {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": meta["name"],
                        "uid": meta["uid"],
                    },
                },
            },
        )
        token = (review.get("status") or {}).get("token")
        # The CA comes from the ConfigMap informer: no extra API call per pod.
        root_ca = self.s.virtual.informers[configmaps.KIND].get(
            f"{meta['namespace']}/kube-root-ca.crt"
        )
        ca = ((root_ca or {}).get("data") or {}).get("ca.crt")
        if not token or not ca:
            raise RuntimeError(f"no token or CA yet for {meta['namespace']}/{sa}")
        data = {"token": token, "ca.crt": ca, "namespace": meta["namespace"]}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": pods.token_secret_name(host_pod["metadata"]["name"]),
                "namespace": self.s.config.host_namespace,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": host_pod["metadata"]["name"],
                        "uid": host_pod["metadata"]["uid"],
                    }
                ],
                "labels": {**host_labels(ref), keys.POD_TOKEN: "true"},
                "annotations": host_annotations(ref),
            },
            "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        tokens = self.s.host.resources[secrets.KIND]
        ignoring(409, lambda: tokens.create(body=body, namespace=self.s.config.host_namespace))

    def _status_back(self, virtual: Manifest, host: Manifest) -> None:
        meta = virtual["metadata"]
        node = (host.get("spec") or {}).get("nodeName")
        if node and not (virtual.get("spec") or {}).get("nodeName"):
            self._nodes.reconcile(node)
            self.s.virtual.resources[self.kind].create_subresource(
                meta["name"],
                meta["namespace"],
                "binding",
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": meta["name"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                },
            )
        status = pods.status_to_virtual(host)
        if status and any(virtual.get("status", {}).get(k) != v for k, v in status.items()):
            self.s.virtual.resources[self.kind].patch_status(
                {"status": status}, meta["name"], meta["namespace"]
            )

    def _finish_virtual_delete(self, virtual: Manifest) -> None:
        """No kubelet runs in the virtual cluster: once the host pod is gone, the graceful
        deletion it would have finished is finished here."""
        meta = virtual["metadata"]
        ignoring(
            404,
            lambda: self.s.virtual.resources[self.kind].delete(
                meta["name"], meta["namespace"], grace_period_seconds=0
            ),
        )


def _reason(e: ApiException) -> str:
    """The API server's message, not its whole Status document."""
    try:
        return str(json.loads(e.body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return str(e.reason)
