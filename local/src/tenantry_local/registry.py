"""A container registry on loopback (Debian's docker-registry, distribution 2.8), and the
containerd mirror configuration that points the upstream registries at it.

    python -m tenantry_local.registry up   [--dir DIR] [--storage DIR]
    python -m tenantry_local.registry down [--dir DIR]

One registry serves every upstream host: a repository is stored under its reference without
the host (``ghcr.io/tenantry/syncer`` as ``tenantry/syncer``), which is the path containerd asks
a mirror for, so one ``hosts.toml`` per host (``certs.d/<host>/hosts.toml``) is enough.
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry.image_mirror import split_registry

from tenantry_local.processes import alive, free_port
from tenantry_local.testbin import TESTBIN

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
# Where `make images` publishes; the local cluster's registry serves the same store.
IMAGE_STORE = TESTBIN / "images" / "registry"
DEFAULT_DIR = TESTBIN / "images" / "registry-server"
# The hosts the components' default images come from.
MIRRORED_HOSTS = ("docker.io", "ghcr.io", "registry.k8s.io")
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


class RegistryUnavailableError(RuntimeError):
    pass


def registry_available() -> str:
    """Why no registry can run here, or ''."""
    if not os.access(REGISTRY_BINARY, os.X_OK):
        return f"{REGISTRY_BINARY} is missing: run `make testbin` (hack/node/install.sh)"
    return ""


def split_reference(reference: str) -> tuple[str, str, str]:
    """(host, repository, tag) of a fully qualified ``host/repository:tag``."""
    host, rest = split_registry(reference)
    if host is None:
        raise ValueError(f"{reference!r} does not start with a registry host")
    repository, _, tag = rest.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"{reference!r} has no tag")
    return host, repository, tag


def mirror_path(reference: str) -> str:
    """``repository:tag`` of ``reference`` in the mirror: its upstream host dropped."""
    _, repository, tag = split_reference(reference)
    return f"{repository}:{tag}"


def hosts_toml(host: str, address: str) -> str:
    """containerd's ``certs.d/<host>/hosts.toml`` sending pulls of ``host`` to the plain-HTTP
    registry at ``address`` (host:port). Only keys containerd 1.6 reads (server, host.*'s
    capabilities); ``server`` is the registry too, so a missing image fails instead of
    reaching for the internet."""
    return (
        f"# Written by tenantry_local.registry: {host} is mirrored by {address}.\n"
        f'server = "http://{address}"\n\n'
        f'[host."http://{address}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )


def write_hosts_dir(
    config_path: Path, address: str, hosts: tuple[str, ...] = MIRRORED_HOSTS
) -> list[Path]:
    """One ``<config_path>/<host>/hosts.toml`` per mirrored host, for containerd's
    ``[plugins."io.containerd.grpc.v1.cri".registry] config_path``."""
    written = []
    for host in hosts:
        path = config_path / host / "hosts.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(hosts_toml(host, address))
        written.append(path)
    return written


@dataclass
class Registry:
    """A docker-registry process whose config, log and state (``registry.json``: pid, port,
    storage) live in ``root``; another process can stop it from that state."""

    root: Path
    storage: Path = IMAGE_STORE
    port: int = 0
    host: str = "127.0.0.1"
    """Loopback, or the host end of a real node's veth: its containerd pulls from there."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def state_file(self) -> Path:
        return self.root / "registry.json"

    def command(self) -> list[str]:
        """Write the config for a free port; the command line that serves it."""
        if reason := registry_available():
            raise RegistryUnavailableError(reason)
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        config = {  # JSON is YAML: the registry reads it as its config file
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                # Several registries may serve one store: none may purge another's uploads.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.address, "secret": "tenantry-local-registry"},
        }
        path = self.root / "config.yml"
        path.write_text(json.dumps(config, indent=2))
        return [str(REGISTRY_BINARY), "serve", str(path)]

    def start(self, timeout: float = 30) -> "Registry":
        argv = self.command()
        log = (self.root / "registry.log").open("ab")
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        state = {
            "pid": proc.pid,
            "port": self.port,
            "storage": str(self.storage),
            "host": self.host,
        }
        self.state_file.write_text(json.dumps(state))
        try:
            self.wait_ready(timeout, proc)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float, proc: "subprocess.Popen[bytes] | None" = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                log = (self.root / "registry.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"docker-registry exited with {proc.returncode}:\n{log}")
            if self.ping():
                return
            time.sleep(0.2)
        raise TimeoutError(f"registry at {self.url} not ready after {timeout}s")

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    @classmethod
    def running(cls, root: Path) -> "Registry | None":
        """The registry whose state is in ``root``, when it is still answering."""
        try:
            state = json.loads((root / "registry.json").read_text())
        except (OSError, ValueError):
            return None
        registry = cls(root, Path(state["storage"]), int(state["port"]), state["host"])
        return registry if alive(int(state["pid"])) and registry.ping() else None

    def stop(self, grace: float = 10) -> None:
        """Stop the process recorded in ``registry.json`` (by its pid) and forget it."""
        try:
            pid = int(json.loads(self.state_file.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)

    # --- the registry API (distribution v2) ---

    def _get(self, path: str, method: str = "GET") -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(
            f"{self.url}/v2/{path}", method=method, headers={"Accept": MANIFEST_TYPES}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(response.headers.items()), response.read()

    def repositories(self) -> list[str]:
        _, body = self._get("_catalog?n=1000")
        return list(json.loads(body)["repositories"])

    def manifest(self, path: str) -> tuple[str, dict[str, Any]]:
        """(digest, manifest) of ``repository:tag``; raises urllib's HTTPError 404 if absent."""
        repository, _, tag = path.rpartition(":")
        headers, body = self._get(f"{repository}/manifests/{tag}")
        return headers["Docker-Content-Digest"], dict(json.loads(body))

    def has(self, path: str) -> bool:
        try:
            self.manifest(path)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantry_local.registry")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--storage", type=Path, default=IMAGE_STORE)
    args = parser.parse_args(argv)
    if args.command == "down":
        Registry(args.dir).stop()
        print(f"registry in {args.dir} stopped")
        return 0
    registry = Registry.running(args.dir) or Registry(args.dir, args.storage).start()
    print(f"registry up: {registry.url} (storage {registry.storage})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
