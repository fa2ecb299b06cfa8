"""`make images` for real: every image the quickstart renders is built under its rendered
name, a second build from scratch (a containers storage, registry store and work directory
of its own) gives the same digests, the registry on loopback serves them all, and the
syncer image runs its entry point with a read-only root filesystem as uid 65532."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tenantry_local.cluster import LocalCluster
from tenantry_local.imagebuild import Tools, missing_tools
from tenantry_local.images import PAUSE_IMAGE, WORK, Result, build_all
from tenantry_local.registry import (
    IMAGE_STORE,
    Registry,
    mirror_path,
    registry_available,
    write_hosts_dir,
)
from tenantry_syncer.resources import coredns

from tests.support.containerd import CONTAINERD, Containerd
from tests.support.example_runs import run
from tests.support.runimage import RUNC, run_in_image
from tests.support.testbin import require, unavailable

BINARIES = ("kube-apiserver", "kube-controller-manager", "etcd", "kine", "coredns")
SYNCER_LIMIT = 150_000_000  # compressed bytes


def needs_images() -> None:
    if reason := missing_tools() or registry_available():
        unavailable(reason)
    require(*BINARIES)


@pytest.fixture(scope="session")
def built() -> dict[str, Result]:
    """The images as `make images` leaves them (built here when it did not run first)."""
    needs_images()
    return {r.reference: r for r in build_all()}


@pytest.fixture(scope="session")
def rebuilt(
    built: dict[str, Result], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Result]]:
    root = tmp_path_factory.mktemp("rebuild")
    try:
        yield {
            r.reference: r
            for r in build_all(storage=root / "storage", store=root / "store", work=root / "work")
        }
    finally:
        tools = Tools(root / "logs", root / "storage")
        tools.run("cleanup: rm", ["buildah", "rm", "--all"])
        tools.run("cleanup: rmi", ["buildah", "rmi", "--all", "--force"])
        shutil.rmtree(root, ignore_errors=True)


def quickstart_images() -> set[str]:
    """Every image reference the quickstart renders: its containers', and the ones its
    config documents name (the tenant's CoreDNS)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key == "image" or key.endswith("_image")) and value:
                    found.add(value)
                elif isinstance(value, str) and key.endswith(".json"):
                    walk(json.loads(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(run("quickstart").kubernetes_objects())
    return found


def test_a_second_build_from_scratch_gives_the_same_digests(
    built: dict[str, Result], rebuilt: dict[str, Result]
) -> None:
    # Control: the second build really built every image (nothing was found up to date).
    assert all(r.status != "up to date" for r in rebuilt.values()), rebuilt
    assert set(rebuilt) == set(built)
    first = {ref: (r.image_id, r.digest) for ref, r in built.items()}
    second = {ref: (r.image_id, r.digest) for ref, r in rebuilt.items()}
    assert all(image_id and digest for image_id, digest in first.values())
    assert second == first


def test_the_registry_serves_every_image_the_quickstart_renders(
    built: dict[str, Result], cluster: LocalCluster
) -> None:
    wanted = quickstart_images()
    # What the quickstart renders: its control plane, syncer, agent and the tenant's CoreDNS.
    assert {"kube-apiserver", "tenantry/syncer", "tenantry/node-agent", "coredns/coredns"} <= {
        mirror_path(ref).partition(":")[0] for ref in wanted
    }
    assert cluster.registry is not None
    for reference in sorted(wanted):
        assert reference in built, f"make images does not build {reference}"
        shown = skopeo_inspect(f"{cluster.registry.address}/{mirror_path(reference)}")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["Digest"] == built[reference].digest
    # Control: a tag nobody published is not served.
    missing = skopeo_inspect(f"{cluster.registry.address}/tenantry/syncer:never-built")
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr


def skopeo_inspect(where: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{where}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_syncer_image_stays_small(built: dict[str, Result]) -> None:
    syncer = next(r for ref, r in built.items() if "/tenantry/syncer:" in ref)
    assert 0 < syncer.compressed < SYNCER_LIMIT


@pytest.fixture
def tools() -> Tools:
    if not Path(RUNC).exists():
        unavailable(f"{RUNC} is missing: run `make testbin` (hack/node/install.sh)")
    return Tools(WORK / "logs")


def test_the_syncer_image_runs_read_only_as_65532(
    built: dict[str, Result], tools: Tools, tmp_path: Path
) -> None:
    syncer = next(ref for ref in built if "/tenantry/syncer:" in ref)
    shown = run_in_image(
        tools, syncer, ["tenantry-syncer", "--help"], tmp_path / "help", user=(65532, 65532)
    )
    assert shown.returncode == 0, shown.stderr
    assert "usage" in shown.stdout
    # Controls: the root filesystem really is read-only, and the uid is 65532.
    probe = "import os; print(os.getuid()); open('/opt/venv/probe', 'w')"
    wrote = run_in_image(
        tools, syncer, ["python", "-c", probe], tmp_path / "probe", user=(65532, 65532)
    )
    assert wrote.stdout.strip() == "65532"
    assert wrote.returncode != 0
    assert "Read-only file system" in wrote.stderr


@pytest.mark.parametrize(
    ("image", "argv"),
    [
        ("kube-apiserver", ["kube-apiserver", "--version"]),
        ("kube-controller-manager", ["kube-controller-manager", "--version"]),
        ("etcd", ["etcd", "--version"]),
        ("rancher/kine", ["kine", "--version"]),
        ("coredns/coredns", ["/coredns", "-version"]),
    ],
)
def test_the_rendered_commands_run_in_the_upstream_images(
    built: dict[str, Result], tools: Tools, tmp_path: Path, image: str, argv: list[str]
) -> None:
    """The components' `command:` is a bare name (`kine`, `kube-apiserver`): the image's PATH
    must find it, as upstream's does. Run as the image's user, with the one capability the
    upstream binaries carry as a file capability (`cap_net_bind_service=+ep`)."""
    reference = next(ref for ref in built if mirror_path(ref).partition(":")[0] == image)
    shown = run_in_image(
        tools, reference, argv, tmp_path / "run", capabilities=("NET_BIND_SERVICE",)
    )
    assert shown.returncode == 0, shown.stderr
    tag = reference.rpartition(":")[2].removeprefix("v").removesuffix("-0")
    assert tag in shown.stdout + shown.stderr


def test_the_pause_image_is_kubernetes_pause(
    built: dict[str, Result], tools: Tools, tmp_path: Path
) -> None:
    shown = run_in_image(tools, PAUSE_IMAGE, ["/pause", "-v"], tmp_path / "pause")
    assert shown.returncode == 0, shown.stderr
    assert "pause.c v3.10.1" in shown.stdout + shown.stderr


def rendered_capabilities() -> dict[str, tuple[str, ...]]:
    """The capabilities the shipped pods add, per image: the quickstart's containers and
    the tenant CoreDNS the syncer deploys."""
    containers: list[dict[str, Any]] = [
        c
        for obj in run("quickstart").kubernetes_objects()
        if obj["type"] == "kubernetes:apps/v1:StatefulSet"
        for c in obj["inputs"]["spec"]["template"]["spec"]["containers"]
    ]
    containers += [
        c
        for obj in coredns.manifests(quickstart_coredns_image())
        if obj["kind"] == "Deployment"
        for c in obj["spec"]["template"]["spec"]["containers"]
    ]
    return {
        mirror_path(c["image"]).partition(":")[0]: tuple(
            (c.get("securityContext") or {}).get("capabilities", {}).get("add", [])
        )
        for c in containers
    }


def quickstart_coredns_image() -> str:
    (image,) = {i for i in quickstart_images() if "coredns" in i}
    return image


def test_the_bind_capability_is_set_as_upstream_sets_it(
    built: dict[str, Result], tools: Tools, tmp_path: Path
) -> None:
    """kube-apiserver and coredns carry `cap_net_bind_service=+ep`, as upstream's images do;
    so, as with upstream's, a container that drops every capability cannot even exec them
    (kube-controller-manager has none and runs: the control). The shipped pods add that one
    capability back, and with it they run."""
    added = rendered_capabilities()
    for image, argv, runs in (
        ("kube-apiserver", ["kube-apiserver", "--version"], False),
        ("coredns/coredns", ["/coredns", "-version"], False),
        ("kube-controller-manager", ["kube-controller-manager", "--version"], True),
    ):
        reference = next(ref for ref in built if mirror_path(ref).partition(":")[0] == image)
        bundle = tmp_path / image.replace("/", "_")
        shown = run_in_image(tools, reference, argv, bundle)
        assert (shown.returncode == 0) == runs, (image, shown.stderr)
        shipped = run_in_image(tools, reference, argv, bundle, capabilities=added[image])
        assert shipped.returncode == 0, (image, added[image], shipped.stderr)


def test_containerd_pulls_through_the_hosts_toml_mirror(built: dict[str, Result]) -> None:
    """Debian's containerd 1.6 reads the hosts.toml files `write_hosts_dir` renders: the
    pause image comes from the registry on loopback under its upstream name."""
    if not Path(CONTAINERD).exists() or os.geteuid() != 0:
        unavailable(f"needs root and {CONTAINERD}: run `make testbin` (hack/node/install.sh)")
    root = Path(tempfile.mkdtemp(prefix="tpull-", dir="/tmp"))  # short: sockets live under it
    registry = Registry(root / "registry", storage=IMAGE_STORE).start()
    write_hosts_dir(root / "certs.d", registry.address)
    node = Containerd(root / "containerd").start()
    try:
        pull = ("images", "pull", "--hosts-dir", str(root / "certs.d"))
        pulled = node.ctr(*pull, PAUSE_IMAGE, check=False)
        assert pulled.returncode == 0, pulled.stderr
        assert PAUSE_IMAGE in node.ctr("images", "ls", "-q").stdout
        # Control: a tag the mirror lacks fails; the mirror is the only host asked.
        missing = node.ctr(*pull, "registry.k8s.io/pause:0.0-never-built", check=False)
        assert missing.returncode != 0
        assert "not found" in missing.stderr
        assert "registry.k8s.io/v2" not in missing.stderr
    finally:
        node.stop()
        registry.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_two_builds_at_once_take_turns(built: dict[str, Result]) -> None:
    # Two test workers, or `make images` beside `make demo`: before the lock, the second
    # rewrote the first's publish registry config under it ("unsupported version").
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "tenantry_local.images"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in started]
    for p, out in zip(started, outputs, strict=True):
        assert p.returncode == 0, out
        assert "unsupported version" not in out, out
    # The control that they really overlapped: one of them had to wait for the other.
    assert sum(f"waiting for another build in {WORK}" in out for out in outputs) == 1, outputs
