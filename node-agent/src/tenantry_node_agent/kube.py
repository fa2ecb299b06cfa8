"""The few Kubernetes API calls the agent makes, over plain HTTPS.

Not the official client on purpose: importing ``kubernetes.client`` alone costs ~40 MB of
resident memory, the agent's whole budget. The agent reads and patches one Node, lists the
pods on it and reads one DaemonSet; stdlib HTTPS does that in a few lines.
"""

import contextlib
import json
import os
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
Json = dict[str, Any]


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass
class Kube:
    server: str
    context: ssl.SSLContext
    token: str = ""

    @classmethod
    def in_cluster(cls) -> "Kube":
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
        token = (SERVICE_ACCOUNT / "token").read_text().strip()
        return cls(f"https://{host}:{port}", context, token)

    @classmethod
    def from_kubeconfig(cls, path: Path) -> "Kube":
        """A JSON kubeconfig with file references (CA, client certificate and key) or a token.

        In a cluster the agent uses its ServiceAccount; kubeconfigs are for tests and local
        runs, which write them as JSON (JSON is YAML, so kubectl reads them too). No YAML
        parser is carried for them."""
        try:
            config = json.loads(path.read_text())
        except ValueError as e:
            raise ValueError(f"{path}: only JSON kubeconfigs are supported ({e})") from None
        current = config["current-context"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        tls = ssl.create_default_context(cafile=cluster.get("certificate-authority"))
        if "client-certificate" in user:
            tls.load_cert_chain(user["client-certificate"], user["client-key"])
        return cls(cluster["server"], tls, user.get("token", ""))

    def request(
        self, method: str, path: str, body: Json | None = None, content_type: str = ""
    ) -> Json:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                result: Json = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail).get("message", detail)
            raise KubeError(e.code, detail) from None

    # --- the calls the agent makes ---

    def node(self, name: str) -> Json:
        return self.request("GET", f"/api/v1/nodes/{name}")

    def patch_node(self, name: str, patch: Json) -> Json:
        return self.request("PATCH", f"/api/v1/nodes/{name}", patch, "application/merge-patch+json")

    def patch_node_status(self, name: str, patch: Json) -> Json:
        # Strategic merge: conditions merge by type, so the kubelet's own are kept.
        return self.request(
            "PATCH",
            f"/api/v1/nodes/{name}/status",
            patch,
            "application/strategic-merge-patch+json",
        )

    def pods_on(self, node: str) -> list[Json]:
        selector = urllib.parse.quote(f"spec.nodeName={node}")
        items: list[Json] = self.request("GET", f"/api/v1/pods?fieldSelector={selector}")["items"]
        return items

    def daemonset(self, namespace: str, name: str) -> Json | None:
        try:
            return self.request("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}")
        except KubeError as e:
            if e.status == 404:
                return None
            raise
