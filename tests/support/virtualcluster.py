"""A VirtualCluster's control plane, run on this machine from the commands the component
renders: only binary paths, ports and mount paths are mapped."""

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry import Sync, VirtualCluster, VirtualClusterArgs
from tenantry_api.config import CONFIG_KEY
from tenantry_api.naming import kubeconfig_secret_name
from tenantry_api.types import Manifest
from tenantry_local.cluster import free_port, stop_pids, wait_http
from tenantry_local.kube import Kube
from tenantry_local.testbin import binary
from tenantry_syncer.kube import api_client_from

from tests.support.kube import namespace
from tests.support.mocks import deploy

MOUNTS = ("/pki", "/data", "/etc/tenantry", "/scratch")


@dataclass
class Rendered:
    init: list[dict[str, Any]]
    containers: dict[str, dict[str, Any]]
    documents: dict[str, str]
    """The ConfigMap's config documents by key, as the pods find them in /etc/tenantry."""
    jobs: dict[str, dict[str, Any]]
    """Containers of the other workloads the component renders, by name: the snapshot
    CronJob's, the sleeper Deployment's."""

    @property
    def config_json(self) -> str:
        """The SyncerConfig document."""
        return self.documents[CONFIG_KEY]


def render(
    name: str, namespace: str, sync: Sync | None = None, extra: VirtualClusterArgs | None = None
) -> Rendered:
    """The control plane and syncer as the component renders them; ``sync`` is the component's
    `sync` argument (the optional kinds' switches), ``extra`` any other arguments."""
    args: VirtualClusterArgs = {"namespace": namespace, **(extra or {})}
    if sync is not None:
        args["sync"] = sync
    d = deploy(lambda: VirtualCluster(name, args))
    pod = d.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["template"]["spec"]
    documents = dict(d.one("kubernetes:core/v1:ConfigMap").inputs["data"])
    jobs = {
        c["name"]: c
        for job in d.of_type("kubernetes:batch/v1:CronJob")
        for c in job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    }
    jobs.update(
        (c["name"], c)
        for deployment in d.of_type("kubernetes:apps/v1:Deployment")
        for c in deployment.inputs["spec"]["template"]["spec"]["containers"]
    )
    return Rendered(
        pod["initContainers"], {c["name"]: c for c in pod["containers"]}, documents, jobs
    )


class Local:
    """Maps a container's view (mounts, ports, binaries) onto this machine."""

    def __init__(self, root: Path, *, read_only_root: tuple[str, ...] = ()) -> None:
        self.root = root
        self.read_only_root = read_only_root
        """Containers run as in the pod (readOnlyRootFilesystem): no writable temporary
        directory, unless their env names one on a volume. Not the others: outside a pod they
        reach the host through a kubeconfig, whose certificates the client writes to /tmp."""
        self.api_port = free_port()
        self.store_port = free_port()
        self.kcm_port = free_port()
        self.syncer_port = free_port()
        for mount in MOUNTS:
            (root / mount.strip("/")).mkdir(parents=True, exist_ok=True)

    def arg(self, value: str) -> str:
        for mount in MOUNTS:
            if value == mount or value.startswith(f"{mount}/"):
                value = str(self.root / mount.strip("/")) + value[len(mount) :]
            value = value.replace(f"={mount}/", f"={self.root / mount.strip('/')}/")
            if value.endswith(f"={mount}"):
                value = value[: -len(mount)] + str(self.root / mount.strip("/"))
            value = value.replace(f"//{mount}/", f"//{self.root / mount.strip('/')}/")
        value = value.replace("127.0.0.1:2379", f"127.0.0.1:{self.store_port}")
        value = value.replace("--port=8080", f"--port={self.syncer_port}")
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
        argv = [path, *(self.arg(a) for a in command[1:]), *extra]
        return self._read_only(argv) if container["name"] in self.read_only_root else argv

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's own env values, mount paths mapped."""
        return {e["name"]: self.arg(e["value"]) for e in container.get("env", []) if "value" in e}

    def _read_only(self, argv: list[str]) -> list[str]:
        """``argv`` in a mount namespace of its own where the temporary directories and its
        working directory are read-only, as a read-only root filesystem leaves them."""
        cwd = self.root / "read-only"
        cwd.mkdir(exist_ok=True)
        # The root holds the container's volumes: writable again when it lies under /tmp (a
        # clone there, as the fresh-start check makes), then the working directory read-only.
        script = (
            'root=$1; shift; for d in /tmp /var/tmp /usr/tmp; do [ -d "$d" ] && mount --bind -o ro '
            '"$d" "$d"; done; mount --bind "$root" "$root" && mount -o remount,bind,rw "$root" && '
            'mount --bind -o ro "$0" "$0" && cd "$0" && exec "$@"'
        )
        unshare = ["unshare", "--mount", "--propagation", "private"]
        return [*unshare, "sh", "-c", script, str(cwd), str(self.root), *argv]

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"


class ControlPlane:
    def __init__(
        self,
        rendered: Rendered,
        local: Local,
        host_kubeconfig: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.rendered = rendered
        self.local = local
        self.host_kubeconfig = host_kubeconfig
        self.env = {**os.environ, **(env or {}), "KUBECONFIG": str(host_kubeconfig)}
        """What a pod's environment would hold (``env`` stands for envFrom Secrets)."""
        self.pids: dict[str, int] = {}

    def run(self, container: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """Run one container to completion, as an init container or a Job would."""
        for key, document in self.rendered.documents.items():
            (self.local.root / "etc/tenantry" / key).write_text(document)
        return subprocess.run(
            self.local.argv(container),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def init(self) -> str:
        """Run the init containers in order; returns what they printed."""
        out = ""
        for container in self.rendered.init:
            done = self.run(container)
            assert done.returncode == 0, done.stderr
            out += done.stdout
        # The sidecars' kubeconfigs name the in-pod API port: remap it like the flags.
        for conf in (self.local.root / "pki").glob("*.conf"):
            text = conf.read_text()
            conf.write_text(text.replace("127.0.0.1:6443", f"127.0.0.1:{self.local.api_port}"))
        return out

    def start(self, *names: str) -> None:
        """Start containers as rendered (default: the control plane, not the syncer)."""
        logs = self.local.root / "logs"
        logs.mkdir(exist_ok=True)
        for name in names or ("kine", "kube-apiserver", "kube-controller-manager"):
            log = (logs / f"{name}.log").open("ab")
            proc = subprocess.Popen(
                self.local.argv(self.rendered.containers[name]),
                # Outside a pod the syncer reaches the host through a kubeconfig.
                env={**self.env, **self.local.env(self.rendered.containers[name])},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.pids[name] = proc.pid

    def kill(self, name: str) -> None:
        """SIGKILL one container, as a crash or an eviction would."""
        stop_pids({name: self.pids.pop(name)}, grace=0)

    def stop(self) -> None:
        stop_pids(self.pids)
        self.pids = {}

    def restore_conf_ports(self) -> None:
        for conf in (self.local.root / "pki").glob("*.conf"):
            conf.write_text(
                conf.read_text().replace(f"127.0.0.1:{self.local.api_port}", "127.0.0.1:6443")
            )


def tenant_kubeconfig(host: Kube, local: Local, root: Path, name: str, namespace: str) -> Path:
    """The tenant's kubeconfig from the vc-<name> Secret, its server remapped to the local port;
    its CA and client cert are also written out to poll /readyz."""
    data = {
        k: base64.b64decode(v)
        for k, v in host.get("v1", "Secret", kubeconfig_secret_name(name), namespace)[
            "data"
        ].items()
    }
    for key in ("certificate-authority", "client-certificate", "client-key"):
        (root / key).write_bytes(data[key])
    config = json.loads(data["config"])
    config["clusters"][0]["cluster"]["server"] = local.server
    path = root / "tenant.kubeconfig"
    path.write_text(json.dumps(config))
    return path


def connect(local: Local, kubeconfig: Path) -> Kube:
    """A client of the virtual API once /readyz says so (discovery needs every group up)."""
    root = kubeconfig.parent
    tls = (root / "certificate-authority", root / "client-certificate", root / "client-key")
    wait_http(f"{local.server}/readyz", 120, tls)
    return Kube(api_client_from(kubeconfig))


def api_service(name: str, namespace: str) -> Manifest:
    """The Service the component puts in front of the virtual API server: pods reach
    `kubernetes.default` through its ClusterIP."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 443, "targetPort": 6443}], "selector": {"app": name}},
    }


@dataclass
class Synced:
    plane: ControlPlane
    tenant: Kube
    kubeconfig: Path
    """The tenant's kubeconfig."""


@contextmanager
def synced(
    host: Kube,
    host_kubeconfig: Path,
    root: Path,
    rendered: Rendered,
    *,
    name: str,
    namespace_: str,
    syncer: bool = True,
    read_only_root: tuple[str, ...] = (),
) -> Iterator[Synced]:
    """The host namespace with the API Service, the control plane booted and the rendered
    syncer container ready (without ``syncer``, a test runs its own); every process is stopped
    on the way out, whatever failed."""
    host.create(namespace(namespace_))
    host.create(api_service(name, namespace_))
    plane = ControlPlane(rendered, Local(root, read_only_root=read_only_root), host_kubeconfig)
    try:
        plane.init()
        plane.start()
        kubeconfig = tenant_kubeconfig(host, plane.local, root, name, namespace_)
        tenant = connect(plane.local, kubeconfig)
        if syncer:
            plane.start("syncer")
            wait_http(f"http://127.0.0.1:{plane.local.syncer_port}/readyz", 120)
        yield Synced(plane, tenant, kubeconfig)
    finally:
        plane.stop()
