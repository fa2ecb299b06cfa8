"""The VirtualCluster's control plane boots from the very commands and flags it ships.

The StatefulSet is rendered by the component (under mocks); its init container and its
control-plane containers are run as rendered, with only binary paths swapped for .testbin/,
ports remapped on 127.0.0.1, and mount paths mapped into a temporary directory.
"""

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tenantry import VirtualCluster
from tenantry_api.config import CONFIG_KEY

from tests.integration.conftest import require
from tests.support.kube import Kube, deployment, wait_for
from tests.support.localcluster import LocalCluster, api_client, free_port, stop_pids, wait_http
from tests.support.testbin import binary
from tests.unit.mocks import deploy

NAMESPACE = "vc-host"
MOUNTS = ("/pki", "/data", "/etc/tenantry")


@dataclass
class Rendered:
    init: list[dict[str, Any]]
    containers: dict[str, dict[str, Any]]
    config_json: str


def render() -> Rendered:
    d = deploy(lambda: VirtualCluster("vc", {"namespace": NAMESPACE}))
    pod = d.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["template"]["spec"]
    config = d.one("kubernetes:core/v1:ConfigMap").inputs["data"][CONFIG_KEY]
    return Rendered(pod["initContainers"], {c["name"]: c for c in pod["containers"]}, config)


class Local:
    """Maps a container's view (mounts, ports, binaries) onto this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.api_port = free_port()
        self.store_port = free_port()
        self.kcm_port = free_port()
        for mount in MOUNTS:
            (root / mount.strip("/")).mkdir(parents=True, exist_ok=True)

    def arg(self, value: str) -> str:
        for mount in MOUNTS:
            if value == mount or value.startswith(f"{mount}/"):
                value = str(self.root / mount.strip("/")) + value[len(mount) :]
            value = value.replace(f"={mount}/", f"={self.root / mount.strip('/')}/")
            value = value.replace(f"//{mount}/", f"//{self.root / mount.strip('/')}/")
        value = value.replace("127.0.0.1:2379", f"127.0.0.1:{self.store_port}")
        return value.replace("--secure-port=6443", f"--secure-port={self.api_port}")

    def argv(self, container: dict[str, Any]) -> list[str]:
        command = [*container["command"], *container.get("args", [])]
        program = command[0]
        path = (
            str(Path(sys.executable).parent / program)
            if program.startswith("tenantry-")
            else str(binary(program))
        )
        extra = [f"--secure-port={self.kcm_port}"] if program == "kube-controller-manager" else []
        return [path, *(self.arg(a) for a in command[1:]), *extra]

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"


class ControlPlane:
    def __init__(self, rendered: Rendered, local: Local, host_kubeconfig: Path) -> None:
        self.rendered = rendered
        self.local = local
        self.host_kubeconfig = host_kubeconfig
        self.pids: dict[str, int] = {}

    def init(self) -> str:
        (self.local.root / "etc/tenantry" / CONFIG_KEY).write_text(self.rendered.config_json)
        (init,) = self.rendered.init
        done = subprocess.run(
            self.local.argv(init),
            env={**os.environ, "KUBECONFIG": str(self.host_kubeconfig)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        # The sidecars' kubeconfigs name the in-pod API port: remap it like the flags.
        for conf in (self.local.root / "pki").glob("*.conf"):
            text = conf.read_text()
            conf.write_text(text.replace("127.0.0.1:6443", f"127.0.0.1:{self.local.api_port}"))
        return done.stdout

    def start(self) -> None:
        logs = self.local.root / "logs"
        logs.mkdir(exist_ok=True)
        for name in ("kine", "kube-apiserver", "kube-controller-manager"):
            log = (logs / f"{name}.log").open("ab")
            proc = subprocess.Popen(
                self.local.argv(self.rendered.containers[name]),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.pids[name] = proc.pid

    def stop(self) -> None:
        stop_pids(self.pids)
        self.pids = {}

    def restore_conf_ports(self) -> None:
        for conf in (self.local.root / "pki").glob("*.conf"):
            conf.write_text(
                conf.read_text().replace(f"127.0.0.1:{self.local.api_port}", "127.0.0.1:6443")
            )


def tenant_kubeconfig(host: Kube, local: Local, root: Path) -> Path:
    """The tenant's kubeconfig from the vc-vc Secret, its server remapped to the local port;
    its CA and client cert are also written out to poll /readyz."""
    data = {
        k: base64.b64decode(v)
        for k, v in host.get("v1", "Secret", "vc-vc", NAMESPACE)["data"].items()
    }
    for key in ("certificate-authority", "client-certificate", "client-key"):
        (root / key).write_bytes(data[key])
    config = json.loads(data["config"])
    config["clusters"][0]["cluster"]["server"] = local.server
    path = root / "tenant.kubeconfig"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def control_plane(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    root = Path(tmp_path_factory.mktemp("vc"))
    plane = ControlPlane(render(), Local(root), cluster.kubeconfig)
    try:
        yield plane
    finally:
        plane.stop()


def connect(local: Local, kubeconfig: Path) -> Kube:
    """A client of the virtual API once /readyz says so (discovery needs every group up)."""
    root = kubeconfig.parent
    tls = (root / "certificate-authority", root / "client-certificate", root / "client-key")
    wait_http(f"{local.server}/readyz", 120, tls)
    return Kube(api_client(kubeconfig))


def test_the_control_plane_boots_serves_a_tenant_and_survives_a_restart(
    control_plane: ControlPlane, kube: Kube, tmp_path: Path
) -> None:
    control_plane.init()
    pki_before = kube.get("v1", "Secret", "vc-pki-vc", NAMESPACE)["data"]
    control_plane.start()
    kubeconfig = tenant_kubeconfig(kube, control_plane.local, tmp_path)
    tenant = connect(control_plane.local, kubeconfig)

    tenant.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    tenant.create(deployment("web", "shop", replicas=2))
    # The controller-manager, running with the shipped flags, does its work.
    wait_for(lambda: tenant.list("apps/v1", "ReplicaSet", "shop"), what="ReplicaSet created")
    wait_for(lambda: len(tenant.list("v1", "Pod", "shop")) == 2, what="2 pods created")

    # Restart: the init container runs again and changes nothing; data and certs survive.
    control_plane.stop()
    control_plane.restore_conf_ports()
    second = control_plane.init()
    assert "pki re-issued: nothing" in second
    assert "tenant kubeconfig unchanged" in second
    assert kube.get("v1", "Secret", "vc-pki-vc", NAMESPACE)["data"] == pki_before
    control_plane.start()
    tenant = connect(control_plane.local, kubeconfig)
    assert tenant.get("apps/v1", "Deployment", "web", "shop")["spec"]["replicas"] == 2
