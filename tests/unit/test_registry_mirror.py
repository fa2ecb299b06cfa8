"""The registry on loopback mirrors ghcr.io, registry.k8s.io and docker.io at once: each image
is stored under its reference without the host, and containerd's hosts.toml for each host
sends pulls there, in keys containerd 1.6 reads."""

import tomllib
from pathlib import Path

import pytest
from tenantry_local.registry import MIRRORED_HOSTS, hosts_toml, mirror_path, write_hosts_dir

# The keys of containerd 1.6.20's hosts.toml (remotes/docker/config/hosts.go: hostFileConfig).
CONTAINERD_16_HOST_KEYS = {"capabilities", "ca", "client", "skip_verify", "header", "override_path"}


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("ghcr.io/tenantry/syncer:0.1.0", "tenantry/syncer:0.1.0"),
        ("registry.k8s.io/kube-apiserver:v1.34.10", "kube-apiserver:v1.34.10"),
        ("registry.k8s.io/coredns/coredns:v1.12.1", "coredns/coredns:v1.12.1"),
        ("docker.io/rancher/kine:v0.17.5", "rancher/kine:v0.17.5"),
        ("localhost:5000/a/b:1", "a/b:1"),
    ],
)
def test_the_mirror_path_drops_the_host(reference: str, path: str) -> None:
    assert mirror_path(reference) == path


@pytest.mark.parametrize("reference", ["rancher/kine:v0.17.5", "ghcr.io/tenantry/syncer"])
def test_a_reference_without_host_or_tag_is_refused(reference: str) -> None:
    with pytest.raises(ValueError, match=r"does not start with a registry host|has no tag"):
        mirror_path(reference)


def test_hosts_toml_sends_every_pull_to_the_registry() -> None:
    config = tomllib.loads(hosts_toml("registry.k8s.io", "127.0.0.1:5000"))
    assert set(config) == {"server", "host"}
    assert config["server"] == "http://127.0.0.1:5000"
    assert config["host"] == {"http://127.0.0.1:5000": {"capabilities": ["pull", "resolve"]}}
    for host in config["host"].values():
        assert set(host) <= CONTAINERD_16_HOST_KEYS


def test_write_hosts_dir_writes_one_file_per_upstream_host(tmp_path: Path) -> None:
    written = write_hosts_dir(tmp_path, "127.0.0.1:5000")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        f"{host}/hosts.toml" for host in sorted(MIRRORED_HOSTS)
    ]
    assert {"docker.io", "ghcr.io", "registry.k8s.io"} == set(MIRRORED_HOSTS)
