"""The quickstart stack (Pulumi.yaml at the repo root) run by the locally built engine.

Shared by `make demo` (tenantry_local.demo) and tests/integration/test_pulumi_up.py: the
environment that makes the engine use `.testbin/` and nothing downloaded, and what the stack
leaves on the API server.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from tenantry_api import keys
from tenantry_api.types import Manifest

from tenantry_local.kube import Kube
from tenantry_local.testbin import REPO, TESTBIN, binary

PROJECT_DIR = REPO
PROJECT_NAME = "tenantry-quickstart"
PASSPHRASE = "tenantry-local-only"
"""Passphrase of the local file backend's secrets; it guards nothing but throwaway stacks."""

ENGINE_BINARIES = ["pulumi", "pulumi-language-python", "pulumi-resource-kubernetes"]

# Every kind a Tenantry component creates (tenantry._k8s), namespaced or not.
KINDS: list[tuple[str, str, bool]] = [
    ("v1", "Namespace", False),
    ("v1", "ResourceQuota", True),
    ("v1", "LimitRange", True),
    ("v1", "ConfigMap", True),
    ("v1", "Secret", True),
    ("v1", "Service", True),
    ("v1", "ServiceAccount", True),
    ("apps/v1", "StatefulSet", True),
    ("apps/v1", "DaemonSet", True),
    ("networking.k8s.io/v1", "NetworkPolicy", True),
    ("networking.k8s.io/v1", "Ingress", True),
    ("rbac.authorization.k8s.io/v1", "Role", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
    ("node.k8s.io/v1", "RuntimeClass", False),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", False),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", False),
]

MANAGED = f"{keys.MANAGED_BY}={keys.MANAGED_BY_VALUE}"


def engine_env(home: Path, kubeconfig: Path | None, backend: str) -> dict[str, str]:
    """Environment for the pulumi CLI or the Automation API: the engine, the language host
    and the kubernetes provider all come from `.testbin/` (first on PATH: the engine prefers
    a plugin on PATH to any installed one), nothing is downloaded, state is in ``backend``.
    Without ``kubeconfig`` the provider sees none (render mode refuses one)."""
    for name in ENGINE_BINARIES:
        binary(name)
    env = {
        **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        "PATH": f"{TESTBIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend,
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def project_copy(dest: Path) -> Path:
    """The quickstart project in ``dest``, so stack files land there and not in the repo; its
    virtualenv option points back at the workspace virtualenv."""
    dest.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "__main__.py", dest / "__main__.py")
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    if project["runtime"]["options"]["virtualenv"] != ".venv":
        raise ValueError("Pulumi.yaml: runtime.options.virtualenv is not .venv")
    project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
    (dest / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    return dest


def tenantry_objects(kube: Kube) -> list[Manifest]:
    """Every object on the API server that carries Tenantry's managed-by label."""
    found: list[Manifest] = []
    for api_version, kind, _namespaced in KINDS:
        for item in kube.list(api_version, kind, label_selector=MANAGED):
            found.append({**item, "apiVersion": api_version, "kind": kind})
    return found


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str


def readiness(obj: Manifest) -> Readiness:
    """Whether a workload reports ready, as `kubectl get` would show it; other kinds are
    ready once they exist."""
    status = obj.get("status") or {}
    if obj["kind"] == "StatefulSet":
        want = int((obj.get("spec") or {}).get("replicas", 1))
        have = int(status.get("readyReplicas") or 0)
        return Readiness(have >= want, f"{have}/{want} ready")
    if obj["kind"] == "DaemonSet":
        want = int(status.get("desiredNumberScheduled") or 0)
        have = int(status.get("numberReady") or 0)
        return Readiness(want > 0 and have >= want, f"{have}/{want} ready")
    return Readiness(True, "present")


def object_name(obj: Manifest) -> str:
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])
