"""The syncer: keeps the host namespace in step with the virtual cluster.

Virtual → host: Pods, Services, and the ConfigMaps and Secrets pods reference. Host → virtual:
pod status (and the virtual node each pod runs on), Service ClusterIPs. Each kind's
translation is pure (`resources/`); this module only reads, compares and writes.
"""

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.resource import Resource
from tenantry_api import keys
from tenantry_api.config import SyncerConfig
from tenantry_api.naming import host_name, virtual_ref

from tenantry_syncer.controller.informer import Informer, Manifest
from tenantry_syncer.controller.metrics import QUEUE_DEPTH, SYNC_ERRORS, SYNC_LATENCY
from tenantry_syncer.controller.queue import WorkQueue
from tenantry_syncer.resources import configmaps, events, pod_security, pods, secrets, services
from tenantry_syncer.resources.meta import host_metadata

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(kind, "<virtual namespace>/<name>")"""

KINDS = ("Pod", "ConfigMap", "Secret", "Service")


@dataclass
class _Side:
    resources: dict[str, Resource]
    informers: dict[str, Informer]


class Syncer:
    def __init__(
        self,
        config: SyncerConfig,
        virtual: client.ApiClient,
        host: client.ApiClient,
        workers: int = 4,
    ) -> None:
        self.config = config
        self._virtual_core = client.CoreV1Api(virtual)
        self._workers = workers
        self._api_ip_cache: str | None = None
        self._refused: set[str | None] = set()
        self.queue: WorkQueue[Key] = WorkQueue()
        selector = f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE},{keys.VCLUSTER}={config.vcluster}"
        v_dyn, h_dyn = DynamicClient(virtual), DynamicClient(host)  # type: ignore[no-untyped-call]
        self.virtual = _Side({}, {})
        self.host = _Side({}, {})
        for kind in KINDS:
            self.virtual.resources[kind] = v_dyn.resources.get(api_version="v1", kind=kind)
            self.host.resources[kind] = h_dyn.resources.get(api_version="v1", kind=kind)
            self.virtual.informers[kind] = Informer(
                self.virtual.resources[kind], self._on_virtual(kind)
            )
            self.host.informers[kind] = Informer(
                self.host.resources[kind],
                self._on_host(kind),
                namespace=config.host_namespace,
                label_selector=selector,
            )
        self.virtual.resources["Node"] = v_dyn.resources.get(api_version="v1", kind="Node")
        self.virtual.resources["Event"] = v_dyn.resources.get(api_version="v1", kind="Event")
        # Host Events carry no labels of ours: watch the namespace, keep those about our pods.
        self.host.resources["Event"] = h_dyn.resources.get(api_version="v1", kind="Event")
        self.host.informers["Event"] = Informer(
            self.host.resources["Event"],
            lambda key, _: self.queue.add(("HostEvent", key)),
            namespace=config.host_namespace,
        )

    # --- event routing ---

    def _on_virtual(self, kind: str) -> Callable[[str, Manifest], None]:
        def handler(key: str, obj: Manifest) -> None:
            self.queue.add((kind, key))
            if kind == "Pod":  # a pod's references follow it
                namespace = key.split("/", 1)[0]
                for ref_kind, names in pods.references(obj.get("spec") or {}).items():
                    for name in names:
                        self.queue.add((ref_kind, f"{namespace}/{name}"))

        return handler

    def _on_host(self, kind: str) -> Callable[[str, Manifest], None]:
        def handler(key: str, obj: Manifest) -> None:
            # Added, changed or deleted on the host: the virtual object it mirrors is re-checked.
            meta = obj["metadata"]
            ref = virtual_ref(meta.get("labels") or {}, meta.get("annotations") or {})
            if ref is not None:
                self.queue.add((kind, f"{ref.namespace}/{ref.name}"))
            else:
                # It left our selector because someone stripped our labels: find its owner.
                self._resync_kind(kind)

        return handler

    def _resync_kind(self, kind: str) -> None:
        for obj in self.virtual.informers[kind].items():
            self.queue.add((kind, f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"))
        for obj in self.host.informers[kind].items():
            meta = obj["metadata"]
            ref = virtual_ref(meta.get("labels") or {}, meta.get("annotations") or {})
            if ref is not None:
                self.queue.add((kind, f"{ref.namespace}/{ref.name}"))

    # --- running ---

    def run(self, stop: threading.Event, leading: threading.Event | None = None) -> None:
        threads = [
            threading.Thread(target=inf.run, args=(stop,), daemon=True, name=f"inf-{side}-{kind}")
            for side, s in (("v", self.virtual), ("h", self.host))
            for kind, inf in s.informers.items()
        ]
        for t in threads:
            t.start()
        for inf in [*self.virtual.informers.values(), *self.host.informers.values()]:
            while not inf.synced.wait(0.2):
                if stop.is_set():
                    return
        # Full resync on start: adopt what is already right, delete orphans.
        for kind in KINDS:
            self._resync_kind(kind)
        workers = [
            threading.Thread(
                target=self._work, args=(stop, leading), daemon=True, name=f"worker-{i}"
            )
            for i in range(self._workers)
        ]
        for w in workers:
            w.start()
        stop.wait()
        self.queue.shutdown()
        for w in workers:
            w.join(timeout=5)

    @property
    def ready(self) -> bool:
        return all(
            i.synced.is_set() for s in (self.virtual, self.host) for i in s.informers.values()
        )

    def _work(self, stop: threading.Event, leading: threading.Event | None) -> None:
        while not stop.is_set():
            key = self.queue.get(timeout=0.5)
            if key is None:
                continue
            kind = key[0]
            QUEUE_DEPTH.labels(kind).set(len(self.queue))
            try:
                if leading is not None and not leading.is_set():
                    self.queue.retry(key)  # not ours to write yet
                    continue
                started = time.monotonic()
                self.reconcile(*key)
                SYNC_LATENCY.labels(kind).observe(time.monotonic() - started)
                self.queue.forget(key)
            except Exception as e:
                SYNC_ERRORS.labels(kind).inc()
                delay = self.queue.retry(key)
                log.warning("sync %s %s failed (%s); retry in %.2fs", kind, key[1], e, delay)
            finally:
                self.queue.done(key)

    # --- reconcile ---

    def reconcile(self, kind: str, key: str) -> None:
        if kind == "HostEvent":
            self._event_back(key)
            return
        namespace, name = key.split("/", 1)
        virtual = self.virtual.informers[kind].get(key)
        hname = host_name(name, namespace, self.config.vcluster)
        host = self.host.informers[kind].get(f"{self.config.host_namespace}/{hname}")
        if virtual is None or not self._wanted(kind, virtual):
            if host is not None:
                self._delete_host(kind, hname)
            return
        if kind == "Pod":
            self._sync_pod(virtual, host)
        elif kind == "Service":
            self._sync_service(virtual, host)
        else:
            translate = configmaps.to_host if kind == "ConfigMap" else secrets.to_host
            desired = translate(virtual, self.config.vcluster, self.config.host_namespace)
            self._apply(kind, desired, host, compare=("data", "binaryData", "type", "metadata"))

    def _wanted(self, kind: str, virtual: Manifest) -> bool:
        if kind == "Service":
            # The virtual API server's own Service is served by the VirtualCluster's host
            # Service; a host copy would point at nothing.
            return (virtual["metadata"]["namespace"], virtual["metadata"]["name"]) != (
                "default",
                "kubernetes",
            )
        if kind == "Pod":
            return True
        flags = self.config.from_virtual
        if (kind == "ConfigMap" and flags.all_configmaps) or (
            kind == "Secret" and flags.all_secrets
        ):
            return True
        namespace, name = virtual["metadata"]["namespace"], virtual["metadata"]["name"]
        return any(
            name in pods.references(p.get("spec") or {})[kind]
            for p in self.virtual.informers["Pod"].items()
            if p["metadata"]["namespace"] == namespace
        )

    def _apply(
        self, kind: str, desired: Manifest, host: Manifest | None, compare: tuple[str, ...]
    ) -> None:
        resource = self.host.resources[kind]
        if host is None:
            resource.create(body=desired, namespace=self.config.host_namespace)
            return
        if all(_same(desired.get(f), host.get(f), f) for f in compare):
            return  # already right: adopted as it is
        body = {**host, **{f: desired[f] for f in compare if f in desired}}
        resource.replace(body=body, namespace=self.config.host_namespace)

    def _delete_host(self, kind: str, hname: str) -> None:
        try:
            self.host.resources[kind].delete(name=hname, namespace=self.config.host_namespace)
        except ApiException as e:
            if e.status != 404:
                raise

    # pods

    def _context(self, namespace: str) -> pods.Context:
        api_ip = self._api_ip()
        dns = self.virtual.informers["Service"].get("kube-system/kube-dns")
        dns_ip = self._host_cluster_ip_of(dns) if dns else None
        return pods.Context(
            vcluster=self.config.vcluster,
            host_namespace=self.config.host_namespace,
            api_ip=api_ip,
            dns_ip=dns_ip,
            services=[
                pods.VirtualService(
                    s["metadata"]["name"],
                    (s.get("spec") or {}).get("clusterIP", ""),
                    (s.get("spec") or {}).get("ports") or [],
                )
                for s in self.virtual.informers["Service"].items()
                if s["metadata"]["namespace"] == namespace
            ],
            isolation=self.config.isolation,
        )

    def _api_ip(self) -> str:
        """Host ClusterIP of the virtual API server's Service; fixed for its lifetime."""
        if self._api_ip_cache is None:
            svc = self.host.resources["Service"].get(
                name=self.config.service_name, namespace=self.config.host_namespace
            )
            self._api_ip_cache = str(svc.to_dict()["spec"]["clusterIP"])
        return self._api_ip_cache

    def _host_cluster_ip_of(self, virtual_service: Manifest) -> str | None:
        meta = virtual_service["metadata"]
        hname = host_name(meta["name"], meta["namespace"], self.config.vcluster)
        host = self.host.informers["Service"].get(f"{self.config.host_namespace}/{hname}")
        return ((host or {}).get("spec") or {}).get("clusterIP")

    def _sync_pod(self, virtual: Manifest, host: Manifest | None) -> None:
        meta = virtual["metadata"]
        if host is not None and host["metadata"].get("annotations", {}).get(
            keys.OBJECT_UID
        ) != meta.get("uid"):
            # A new virtual pod under an old name: replace the old host pod.
            self._delete_host("Pod", host["metadata"]["name"])
            return
        if host is None:
            if meta.get("deletionTimestamp"):
                self._finish_virtual_delete(virtual)
                return
            problems = pod_security.violations(
                virtual.get("spec") or {}, self.config.pod_security_level
            )
            if problems:
                if meta.get("uid") not in self._refused:  # one Event per pod, not per resync
                    message = f"not synced to the host: {'; '.join(problems)}"
                    self._event(virtual, "PodSecurity", message)
                    self._refused.add(meta.get("uid"))
                return
            desired = pods.to_host(virtual, self._context(meta["namespace"]))
            try:
                created = (
                    self.host.resources["Pod"]
                    .create(body=desired, namespace=self.config.host_namespace)
                    .to_dict()
                )
            except ApiException as e:
                if e.status != 409:
                    raise
                # It exists but our informer cannot see it: someone stripped our labels.
                existing = (
                    self.host.resources["Pod"]
                    .get(name=desired["metadata"]["name"], namespace=self.config.host_namespace)
                    .to_dict()
                )
                self._restore_metadata(virtual, existing)
                return
            # The kubelet waits for the token volume, so the pod may come first; owned by the
            # pod, the Secret goes with it, even if this process dies in between.
            self._ensure_token(virtual, created)
            return
        if meta.get("deletionTimestamp"):
            self._delete_host("Pod", host["metadata"]["name"])
            return
        secret_key = (
            f"{self.config.host_namespace}/{pods.token_secret_name(host['metadata']['name'])}"
        )
        if self.host.informers["Secret"].get(secret_key) is None:
            self._ensure_token(virtual, host)  # a crash between pod and Secret
        self._restore_metadata(virtual, host)
        self._status_back(virtual, host)

    def _restore_metadata(self, virtual: Manifest, host: Manifest) -> None:
        """Labels and annotations someone changed on the host pod are put back (the rest of a
        pod's spec is immutable)."""
        wanted = host_metadata(virtual, "Pod", self.config.vcluster, self.config.host_namespace)
        if _same(wanted, host["metadata"], "metadata"):
            return
        patch = {"metadata": {part: wanted[part] for part in ("labels", "annotations")}}
        self.host.resources["Pod"].patch(
            body=patch,
            name=host["metadata"]["name"],
            namespace=self.config.host_namespace,
            content_type="application/merge-patch+json",
        )

    def _ensure_token(self, virtual: Manifest, host_pod: Manifest) -> None:
        meta = virtual["metadata"]
        sa = (virtual.get("spec") or {}).get("serviceAccountName", "default")
        review = self._virtual_core.create_namespaced_service_account_token(
            sa,
            meta["namespace"],
            client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600 * 24 * 365)
            ),
        )
        # The CA comes from the ConfigMap informer: no extra API call per pod.
        root_ca = self.virtual.informers["ConfigMap"].get(f"{meta['namespace']}/kube-root-ca.crt")
        ca = ((root_ca or {}).get("data") or {}).get("ca.crt")
        if review.status is None or not review.status.token or not ca:
            raise RuntimeError(f"no token or CA yet for {meta['namespace']}/{sa}")
        token = review.status.token
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": pods.token_secret_name(host_pod["metadata"]["name"]),
                "namespace": self.config.host_namespace,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": host_pod["metadata"]["name"],
                        "uid": host_pod["metadata"]["uid"],
                    }
                ],
                "labels": {
                    keys.MANAGED_BY: keys.MANAGED_BY_VALUE,
                    keys.VCLUSTER: self.config.vcluster,
                },
            },
            "type": "Opaque",
            "data": {
                "token": base64.b64encode(token.encode()).decode(),
                "ca.crt": base64.b64encode(ca.encode()).decode(),
                "namespace": base64.b64encode(meta["namespace"].encode()).decode(),
            },
        }
        try:
            self.host.resources["Secret"].create(body=body, namespace=self.config.host_namespace)
        except ApiException as e:
            if e.status != 409:
                raise

    def _status_back(self, virtual: Manifest, host: Manifest) -> None:
        meta = virtual["metadata"]
        node = (host.get("spec") or {}).get("nodeName")
        if node and not (virtual.get("spec") or {}).get("nodeName"):
            self._ensure_virtual_node(node)
            self._virtual_core.create_namespaced_binding(
                meta["namespace"],
                client.V1Binding(
                    metadata=client.V1ObjectMeta(name=meta["name"]),
                    target=client.V1ObjectReference(kind="Node", name=node, api_version="v1"),
                ),
                _preload_content=False,
            )
        status = pods.status_to_virtual(host)
        if status and any(virtual.get("status", {}).get(k) != v for k, v in status.items()):
            self._virtual_core.patch_namespaced_pod_status(
                meta["name"], meta["namespace"], {"status": status}
            )

    def _ensure_virtual_node(self, name: str) -> None:
        nodes = self.virtual.resources["Node"]
        try:
            nodes.get(name=name)
        except ApiException as e:
            if e.status != 404:
                raise
            body = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {keys.MANAGED_BY: keys.MANAGED_BY_VALUE}},
            }
            try:
                nodes.create(body=body)
            except ApiException as e2:
                if e2.status != 409:
                    raise

    def _finish_virtual_delete(self, virtual: Manifest) -> None:
        meta = virtual["metadata"]
        try:
            self._virtual_core.delete_namespaced_pod(
                meta["name"], meta["namespace"], grace_period_seconds=0
            )
        except ApiException as e:
            if e.status != 404:
                raise

    def _event_back(self, key: str) -> None:
        host_event = self.host.informers["Event"].get(key)
        involved = (host_event or {}).get("involvedObject") or {}
        if host_event is None or involved.get("kind") != "Pod":
            return
        host_pod = self.host.informers["Pod"].get(
            f"{self.config.host_namespace}/{involved['name']}"
        )
        if host_pod is None:
            return
        ref = virtual_ref(
            host_pod["metadata"].get("labels") or {}, host_pod["metadata"].get("annotations") or {}
        )
        virtual_pod = (
            self.virtual.informers["Pod"].get(f"{ref.namespace}/{ref.name}") if ref else None
        )
        if virtual_pod is None:
            return
        body = events.to_virtual(host_event, virtual_pod)
        resource = self.virtual.resources["Event"]
        try:
            resource.create(body=body, namespace=body["metadata"]["namespace"])
        except ApiException as e:
            if e.status != 409:
                raise
            update = {k: body[k] for k in ("count", "lastTimestamp", "message") if k in body}
            resource.patch(
                body=update,
                name=body["metadata"]["name"],
                namespace=body["metadata"]["namespace"],
                content_type="application/merge-patch+json",
            )

    def _event(self, virtual: Manifest, reason: str, message: str) -> None:
        meta = virtual["metadata"]
        self.virtual.resources["Event"].create(
            namespace=meta["namespace"],
            body={
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
                "involvedObject": {
                    "kind": "Pod",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta.get("uid"),
                },
                "reason": reason,
                "message": message,
                "type": "Warning",
                "source": {"component": "tenantry-syncer"},
            },
        )

    # services

    def _sync_service(self, virtual: Manifest, host: Manifest | None) -> None:
        desired = services.to_host(virtual, self.config.vcluster, self.config.host_namespace)
        if host is None:
            self.host.resources["Service"].create(
                body=desired, namespace=self.config.host_namespace
            )
            return
        wanted_ip = services.needs_cluster_ip(virtual, host)
        if wanted_ip is None:
            return
        # ClusterIP is immutable: re-create the virtual Service with the host's address.
        meta = virtual["metadata"]
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta
            },
            "spec": {
                **{
                    k: v
                    for k, v in (virtual.get("spec") or {}).items()
                    if k not in ("clusterIP", "clusterIPs")
                },
                "clusterIP": wanted_ip,
                "clusterIPs": [wanted_ip],
            },
        }
        resource = self.virtual.resources["Service"]
        resource.delete(name=meta["name"], namespace=meta["namespace"])
        resource.create(body=body, namespace=meta["namespace"])


def _same(desired: Any, current: Any, field: str) -> bool:
    if field == "metadata":
        return all(
            (current or {}).get(part, {}).items() >= (desired or {}).get(part, {}).items()
            for part in ("labels", "annotations")
        )
    return bool(desired == current)
