"""`make images`: every image the components reference by default, built here under the very
names and tags they render, then published into the registry store on loopback.

    python -m tenantry_local.images [--force] [--no-publish] [--storage DIR] [--store DIR]
    python -m tenantry_local.images --list

Tenantry's own images come from syncer/Dockerfile and node-agent/Dockerfile (buildah bud);
the upstream ones (kube-apiserver, kube-controller-manager, etcd, kine, coredns, pause) are
made of the binaries `make testbin` built from the pinned sources, laid out as upstream's
images are; busybox (the demo's workloads) of Debian's static busybox. Each image carries a
fingerprint of its inputs, so a second run with nothing changed only compares fingerprints.
See docs/air-gapped.md.
"""

import argparse
import fcntl
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tenantry import _meta

from tenantry_local import ociimage
from tenantry_local.imagebuild import (
    HOST_CA_BUNDLE,
    BuildError,
    FileImage,
    Tools,
    digest_of,
    missing_tools,
    python_base,
    registry_serves,
    uv_base,
)
from tenantry_local.registry import IMAGE_STORE, Registry, mirror_path
from tenantry_local.testbin import REPO, TESTBIN, binary
from tenantry_local.testbin import module_dir as go_module_dir

WORK = TESTBIN / "images" / "work"
# kubeadm's PauseVersion at the Kubernetes pin (cmd/kubeadm/app/constants), also the TAG of
# build/pause/Makefile there; containerd 1.6's own default (pause:3.6) is older. A node's
# containerd is given this as its sandbox_image.
PAUSE_VERSION = "3.10.1"
PAUSE_IMAGE = f"registry.k8s.io/pause:{PAUSE_VERSION}"
# Not a component's: what `make demo` and the end-to-end tier run inside the tenant, under
# Docker Hub's name, so a tenant writes `image: busybox:1.35.0` as it would anywhere.
BUSYBOX_IMAGE = f"docker.io/library/busybox:{ociimage.busybox_version()}"
# What the two Dockerfiles read (with .dockerignore); a change rebuilds both images.
CONTEXT = (
    "pyproject.toml",
    "uv.lock",
    "api",
    "syncer",
    "node-agent",
    ".dockerignore",
    "components/pyproject.toml",
    "local/pyproject.toml",
)


@dataclass(frozen=True)
class DockerfileImage:
    reference: str
    dockerfile: str


Image = DockerfileImage | FileImage


@dataclass
class Result:
    reference: str
    status: str
    image_id: str = ""
    digest: str = ""
    """The manifest digest in the registry it was published to."""
    compressed: int = 0
    """Bytes of the config and the (gzip) layers, as the registry stores them."""


def catalog(work: Path = WORK) -> list[Image]:
    """Every image the components default to, with what it is made of."""

    def bin_(name: str) -> Path:
        return TESTBIN / name

    return [
        DockerfileImage(_meta.tenantry_image("syncer"), "syncer/Dockerfile"),
        DockerfileImage(_meta.tenantry_image("node-agent"), "node-agent/Dockerfile"),
        # registry.k8s.io's server images: the binary in /usr/local/bin of a distroless base,
        # run as root. Upstream's entrypoint is /go-runner, which only execs its arguments:
        # here there is none, so `command: [kube-apiserver]` and `args: [kube-apiserver, ...]`
        # both work. kube-apiserver carries cap_net_bind_service=+ep, as upstream's does.
        FileImage(
            _meta.kubernetes_image("kube-apiserver"),
            ((bin_("kube-apiserver"), "/usr/local/bin/kube-apiserver"),),
            user="0",
            bind_cap=True,
        ),
        FileImage(
            _meta.kubernetes_image("kube-controller-manager"),
            ((bin_("kube-controller-manager"), "/usr/local/bin/kube-controller-manager"),),
            user="0",
        ),
        # registry.k8s.io/etcd: /usr/local/bin/etcd on distroless, root, no entrypoint.
        FileImage(_meta.ETCD_IMAGE, ((bin_("etcd"), "/usr/local/bin/etcd"),), user="0"),
        # rancher/kine: /bin/kine, user nobody, a /db it owns. Ours links glibc (CGO, SQLite),
        # so the libraries it links come along.
        FileImage(
            _meta.KINE_IMAGE,
            ((bin_("kine"), "/bin/kine"),),
            user="65534:65534",
            entrypoint=("/bin/kine",),
            libraries=True,
            dirs=(("/db", "65534:65534"),),
        ),
        # coredns/coredns: /coredns with cap_net_bind_service=+ep, nonroot, Debian's CA bundle.
        FileImage(
            _meta.COREDNS_IMAGE,
            (
                (bin_("coredns"), "/coredns"),
                (work / "ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"),
            ),
            user="65532:65532",
            entrypoint=("/coredns",),
            bind_cap=True,
        ),
        # docker.io/library/busybox: /bin/busybox and its applets' links, root, CMD sh.
        FileImage(
            BUSYBOX_IMAGE,
            ((ociimage.BUSYBOX, "/bin/busybox"),),
            user="0",
            links=tuple((f"/bin/{applet}", "busybox") for applet in ociimage.APPLETS),
            cmd=("sh",),
        ),
        # build/pause: /pause, static, user 65535.
        FileImage(
            PAUSE_IMAGE, ((work / "pause", "/pause"),), user="65535:65535", entrypoint=("/pause",)
        ),
    ]


def epoch(*paths: str) -> int:
    """SOURCE_DATE_EPOCH of an image: the time of the last commit touching its inputs."""
    done = subprocess.run(
        ["git", "log", "-1", "--format=%ct", "--", *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


def dockerfile_bases(dockerfile: Path) -> tuple[str, str]:
    """The python and uv images a Dockerfile builds FROM, fully qualified."""
    text = dockerfile.read_text()
    python = re.findall(r"^FROM (\S+)", text, re.M)[0]
    uv = re.findall(r"--from=(ghcr\.io/astral-sh/uv:\S+)", text)[0]
    return (python if "/" in python else f"docker.io/library/{python}"), uv


def makefile_uv_version() -> str:
    match = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    if not match:
        raise BuildError("images: the Makefile sets no UV_VERSION")
    return match.group(1)


def check_pin(image: FileImage) -> None:
    """A .testbin binary's stamp must record the version the image's tag says."""
    source = image.files[0][0]
    if source.parent != TESTBIN:
        return
    binary(source.name)  # MissingBinaryError names `make testbin`
    stamp = (TESTBIN / ".stamps" / source.name).read_text().split()
    tag = image.reference.rpartition(":")[2]
    if stamp[1].removeprefix("v") != tag.removeprefix("v").removesuffix("-0"):
        raise BuildError(f"images: {image.reference}: .testbin/{source.name} is {stamp[1]}")


def make_pause(tools: Tools, work: Path) -> None:
    """Kubernetes' build/pause/linux/pause.c at the pin, as its Makefile compiles it."""
    source = go_module_dir("kube-apiserver") / "build" / "pause"
    tag = re.search(r"^TAG \?= (\S+)$", (source / "Makefile").read_text(), re.M)
    if not tag or tag.group(1) != PAUSE_VERSION:
        raise BuildError(
            f"images: build/pause/Makefile's TAG is not {PAUSE_VERSION}: bump PAUSE_VERSION"
        )
    k8s = _meta.KUBERNETES_VERSION
    cflags = ["-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{PAUSE_VERSION}-{k8s}"]
    gcc = tools.run("gcc --version", ["gcc", "--version"]).splitlines()[0]
    stamp = digest_of(source / "linux" / "pause.c", " ".join(cflags), gcc)
    out, stamp_file = work / "pause", work / "pause.stamp"
    if out.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    tools.run("pause: gcc", ["gcc", *cflags, "-o", str(out), str(source / "linux" / "pause.c")])
    tools.run("pause: strip", ["strip", str(out)])
    stamp_file.write_text(stamp)


def base_ca_bundle(tools: Tools, base: str, out: Path) -> None:
    """Debian's CA bundle from the python base (never this machine's), for CoreDNS."""
    container = tools.buildah("ca bundle: from", "from", "--pull=never", base)
    try:
        root = Path(tools.buildah("ca bundle: mount", "mount", container))
        data = (root / "etc/ssl/certs/ca-certificates.crt").read_bytes()
    finally:
        tools.buildah("ca bundle: rm", "rm", container)
    if not out.exists() or out.read_bytes() != data:
        out.write_bytes(data)


def ensure_base(tools: Tools, reference: str, make: Callable[[], str]) -> str:
    fingerprint = tools.fingerprint(reference)
    if fingerprint == "":
        return "pulled earlier"
    if registry_serves(reference):
        tools.buildah(f"{reference}: pull", "pull", "--quiet", reference)
        return "pulled"
    return make()


def build(image: Image, tools: Tools, work: Path, base_ids: str, force: bool) -> str:
    if isinstance(image, DockerfileImage):
        when = epoch(image.dockerfile, *CONTEXT)
        fingerprint = digest_of(
            *(REPO / p for p in (image.dockerfile, *CONTEXT)), base_ids, str(when)
        )
    else:
        check_pin(image)
        when = epoch("hack/testbin", "hack/images")
        fingerprint = image.fingerprint(when)
    if not force and tools.fingerprint(image.reference) == fingerprint:
        return "up to date"
    started = time.monotonic()
    if isinstance(image, FileImage):
        image.build(tools, work, when, fingerprint)
        return f"built in {time.monotonic() - started:.0f}s"
    print(f"images: {image.reference}: buildah bud (about a minute; log {tools.logs})", flush=True)
    mount = ["-v", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"] if HOST_CA_BUNDLE.exists() else []
    tools.buildah(
        f"{image.reference}: buildah bud",
        "bud",
        "--quiet",
        "--isolation",
        "chroot",
        "--pull=never",
        "--timestamp",
        str(when),
        *mount,
        "--label",
        f"dev.tenantry.fingerprint={fingerprint}",
        "-f",
        image.dockerfile,
        "-t",
        image.reference,
        ".",
        log=image.reference.replace("/", "_"),
    )
    return f"built in {time.monotonic() - started:.0f}s"


def publish(tools: Tools, results: list[Result], store: Path, work: Path) -> None:
    """Push each image into the registry store (skipped when its manifest there already
    names the same config), noting the manifest digest and compressed size."""
    registry = Registry(work / "publish-registry", storage=store).start()
    try:
        for result in results:
            path = mirror_path(result.reference)
            if not _published(registry, path, result.image_id):
                tools.run(
                    f"{result.reference}: push",
                    [
                        "skopeo",
                        "copy",
                        "--quiet",
                        "--dest-tls-verify=false",
                        f"containers-storage:{result.reference}",
                        f"docker://{registry.address}/{path}",
                    ],
                    log="push-" + path.replace("/", "_"),
                )
            result.digest, manifest = registry.manifest(path)
            blobs = [manifest["config"], *manifest["layers"]]
            result.compressed = sum(int(b["size"]) for b in blobs)
    finally:
        registry.stop()


def _published(registry: Registry, path: str, image_id: str) -> bool:
    if not registry.has(path):
        return False
    _, manifest = registry.manifest(path)
    return bool(manifest.get("config", {}).get("digest") == f"sha256:{image_id}")


def build_all(
    *,
    storage: Path | None = None,
    store: Path | None = IMAGE_STORE,
    work: Path = WORK,
    force: bool = False,
) -> list[Result]:
    """Build (and with a ``store``, publish) every image of the catalog; one line each.

    One build at a time per work directory: a second waits (two test workers, or `make images`
    beside `make demo`, would otherwise rewrite each other's files)."""
    if reason := missing_tools():
        raise BuildError(f"images: {reason}")
    work.mkdir(parents=True, exist_ok=True)
    with (work / ".lock").open("w") as lock:
        if not _try_lock(lock):
            print(f"images: waiting for another build in {work}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_all(storage, store, work, force)


def _try_lock(lock: IO[str]) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _build_all(storage: Path | None, store: Path | None, work: Path, force: bool) -> list[Result]:
    started = time.monotonic()
    tools = Tools(work / "logs", storage)
    python, uv = dockerfile_bases(REPO / "syncer" / "Dockerfile")
    if dockerfile_bases(REPO / "node-agent" / "Dockerfile") != (python, uv):
        raise BuildError("images: syncer/Dockerfile and node-agent/Dockerfile name different bases")
    if not uv.endswith(f":{makefile_uv_version()}"):
        raise BuildError(
            f"images: the Dockerfiles copy {uv}, the Makefile pins uv {makefile_uv_version()}"
        )
    when = epoch("hack/images")
    for reference, make in (
        (python, lambda: python_base(tools, work, python, when)),
        (uv, lambda: uv_base(tools, work, uv, uv.rpartition(":")[2], when)),
    ):
        print(f"images: base {reference}: {ensure_base(tools, reference, make)}", flush=True)
    base_ids = tools.image_id(python) + tools.image_id(uv)
    make_pause(tools, work)
    base_ca_bundle(tools, python, work / "ca-certificates.crt")
    images = catalog(work)
    results = []
    for i, image in enumerate(images, 1):
        status = build(image, tools, work, base_ids, force)
        results.append(Result(image.reference, status, tools.image_id(image.reference)))
        print(f"[{i}/{len(images)}] {image.reference:<50} {status}", flush=True)
    if store is not None:
        publish(tools, results, store, work)
    for r in results:
        size = f"{r.compressed / 1e6:6.1f} MB" if r.compressed else ""
        print(f"  {r.reference:<50} {r.image_id[:12]} {size} {r.digest}")
    where = f"; published to {store}" if store is not None else ""
    print(f"images: {len(results)} images in {time.monotonic() - started:.0f}s{where}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantry_local.images")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--no-publish", action="store_true", help="build only")
    parser.add_argument("--storage", type=Path, help="containers storage of its own")
    parser.add_argument("--store", type=Path, default=IMAGE_STORE, help="registry store")
    parser.add_argument("--list", action="store_true", help="print the references and exit")
    args = parser.parse_args(argv)
    if args.list:
        for image in catalog():
            print(f"{image.reference} -> {mirror_path(image.reference)}")
        return 0
    try:
        build_all(
            storage=args.storage, store=None if args.no_publish else args.store, force=args.force
        )
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
