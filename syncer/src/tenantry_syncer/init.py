"""`tenantry-syncer init`: the init container that prepares the virtual control plane.

1. Load the PKI Secret from the host (absent on first boot), complete it with `pki.ensure`,
   and write it back only when something changed. The serving certificate names the
   ClusterIPs of the virtual cluster's Service: synced pods reach the API there.
2. Write every file the control-plane containers read into the PKI directory, plus the
   kubeconfigs of the controller-manager and the syncer (both talk to 127.0.0.1 in the pod).
3. Write the tenant kubeconfig Secret `vc-<name>` (keys config, certificate-authority,
   client-certificate, client-key), again only when it changed.

Running it twice changes nothing: no Secret is updated and no file is rewritten.
"""

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenantry_api import keys
from tenantry_api.config import SyncerConfig

from tenantry_syncer import pki
from tenantry_syncer.kube import replace_or_create

log = logging.getLogger(__name__)

LOCAL_API = "https://127.0.0.1:6443"
"""The virtual API server as its sidecars see it: same pod, loopback."""


class SecretStore(Protocol):
    def read(self, name: str) -> dict[str, bytes] | None: ...

    def write(self, name: str, data: Mapping[str, bytes], labels: Mapping[str, str]) -> None: ...


@dataclass(frozen=True)
class Outcome:
    pki_changed: list[str]
    pki_secret_written: bool
    kubeconfig_secret_written: bool
    files_written: list[str]


def _write_if_changed(path: Path, data: bytes, mode: int) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)  # atomic: a container never reads half a key
    return True


def run(
    config: SyncerConfig, pki_dir: Path, secrets: SecretStore, service_ips: Sequence[str]
) -> Outcome:
    labels = {keys.MANAGED_BY: keys.MANAGED_BY_VALUE, keys.VCLUSTER: config.vcluster}
    stored = secrets.read(config.pki_secret) or {}
    sans = pki.server_names(
        config.service_name, config.host_namespace, [*service_ips, *config.extra_sans]
    )
    result = pki.ensure(stored, sans)
    pki_written = result.entries != stored
    if pki_written:
        # Persist before anything uses the new material, so a crash cannot orphan it.
        secrets.write(config.pki_secret, result.entries, labels)
        log.info("PKI secret %s updated: %s", config.pki_secret, ", ".join(result.changed))

    e = result.entries
    files = dict(e)
    files["controller-manager.conf"] = pki.kubeconfig(
        LOCAL_API,
        e["ca.crt"],
        e["controller-manager.crt"],
        e["controller-manager.key"],
        "system:kube-controller-manager",
    ).encode()
    files["syncer.conf"] = pki.kubeconfig(
        LOCAL_API, e["ca.crt"], e["syncer.crt"], e["syncer.key"], "tenantry-syncer"
    ).encode()
    pki_dir.mkdir(parents=True, exist_ok=True)
    written = [
        name
        for name, data in sorted(files.items())
        if _write_if_changed(
            pki_dir / name, data, 0o600 if name.endswith((".key", ".conf")) else 0o644
        )
    ]

    tenant = {
        "config": pki.kubeconfig(
            config.endpoint, e["ca.crt"], e["admin.crt"], e["admin.key"], "admin"
        ).encode(),
        "certificate-authority": e["ca.crt"],
        "client-certificate": e["admin.crt"],
        "client-key": e["admin.key"],
    }
    kubeconfig_written = secrets.read(config.kubeconfig_secret) != tenant
    if kubeconfig_written:
        secrets.write(config.kubeconfig_secret, tenant, labels)
        log.info("tenant kubeconfig secret %s written", config.kubeconfig_secret)
    return Outcome(result.changed, pki_written, kubeconfig_written, written)


class ServiceMissingError(Exception):
    """The virtual API server's Service is not there (yet)."""


def service_ips(api: client.ApiClient, namespace: str, name: str) -> list[str]:
    """The ClusterIPs of the virtual API server's Service. Synced pods get the first as
    KUBERNETES_SERVICE_HOST and verify the serving certificate against it."""
    try:
        service = client.CoreV1Api(api).read_namespaced_service(name, namespace)
    except ApiException as e:
        if e.status == 404:
            # Created beside the StatefulSet; the kubelet retries this init container.
            raise ServiceMissingError(f"Service {namespace}/{name} does not exist yet") from None
        raise
    spec = service.spec
    if spec is None:
        return []
    ips = spec.cluster_ips or ([spec.cluster_ip] if spec.cluster_ip else [])
    return [ip for ip in ips if ip != "None"]


class KubernetesSecretStore:
    """Secrets in the virtual cluster's host namespace, through the official client."""

    def __init__(self, namespace: str, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace = namespace

    def read(self, name: str) -> dict[str, bytes] | None:
        try:
            secret = self._core.read_namespaced_secret(name, self._namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def write(self, name: str, data: Mapping[str, bytes], labels: Mapping[str, str]) -> None:
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, labels=dict(labels)),
            type="Opaque",
            data={k: base64.b64encode(v).decode() for k, v in data.items()},
        )
        replace_or_create(
            lambda: self._core.replace_namespaced_secret(name, self._namespace, body),
            lambda: self._core.create_namespaced_secret(self._namespace, body),
        )
