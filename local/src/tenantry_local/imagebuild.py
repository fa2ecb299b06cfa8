"""The buildah side of `make images` (tenantry_local.images): running buildah and skopeo with
a readable failure, images made of files (the upstream binaries), and the two FROM bases
of the Dockerfiles, pulled when a registry serves them and made here otherwise."""

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.testbin import REPO

FINGERPRINT_LABEL = "dev.tenantry.fingerprint"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Build-time only: a TLS-inspecting proxy's CA reaches the build as a read-only mount.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PYPI_SIMPLE = "https://pypi.org/simple"
HACK = REPO / "hack" / "images"


TOOLS = ("buildah", "skopeo", "mmdebstrap", "setcap", "gcc")


class BuildError(RuntimeError):
    pass


def missing_tools() -> str:
    """Why `make images` cannot run here, or ''."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} missing: run `make testbin` (hack/node/install.sh)"
    if os.geteuid() != 0:
        return "make images needs root (buildah's chroot isolation, mmdebstrap's root mode)"
    return ""


@dataclass
class Tools:
    """buildah and skopeo over one containers storage (``storage``: a directory of its own,
    else the machine's), logging each step's output under ``logs``."""

    logs: Path
    storage: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ}
        if self.storage is not None:
            conf = self.storage / "storage.conf"
            self.storage.mkdir(parents=True, exist_ok=True)
            conf.write_text(
                "[storage]\n"
                'driver = "overlay"\n'
                f'graphroot = "{self.storage}/graph"\n'
                f'runroot = "{self.storage}/run"\n'
            )
            self.env["CONTAINERS_STORAGE_CONF"] = str(conf)

    def run(
        self, step: str, argv: list[str], *, log: str = "", env: dict[str, str] | None = None
    ) -> str:
        """Run ``argv``; its stdout. On failure: the step, the command, the log's end."""
        path = self.logs / f"{log or step.replace(' ', '-').replace('/', '_')}.log"
        with path.open("w") as out:
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                env={**self.env, **(env or {})},
                cwd=REPO,
                check=False,
            )
            out.write(done.stdout)
        if done.returncode != 0:
            tail = "\n".join("  | " + line for line in path.read_text().splitlines()[-25:])
            raise BuildError(
                f"images: {step}: FAILED (exit {done.returncode}): {' '.join(argv)}\n"
                f"images: whole log: {path}; its last lines:\n{tail}"
            )
        return done.stdout

    def buildah(self, step: str, *args: str, log: str = "") -> str:
        return self.run(step, ["buildah", *args], log=log).strip()

    def inspect(self, reference: str) -> dict[str, Any] | None:
        """buildah's view of a local image, or None."""
        done = subprocess.run(
            ["buildah", "inspect", "--type", "image", reference],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        return dict(json.loads(done.stdout)) if done.returncode == 0 else None

    def image_id(self, reference: str) -> str:
        info = self.inspect(reference)
        if info is None:
            raise BuildError(f"images: {reference} is not in the containers storage")
        return str(info["FromImageID"])

    def fingerprint(self, reference: str) -> str | None:
        """Our fingerprint label on a local image; '' for an image without one (pulled)."""
        info = self.inspect(reference)
        if info is None:
            return None
        labels = ((info.get("OCIv1") or {}).get("config") or {}).get("Labels") or {}
        return str(labels.get(FINGERPRINT_LABEL, ""))

    def commit(self, container: str, reference: str, epoch: int, fingerprint: str) -> None:
        self.buildah(
            f"{reference}: config",
            "config",
            "--label",
            f"{FINGERPRINT_LABEL}={fingerprint}",
            container,
        )
        self.buildah(
            f"{reference}: commit",
            "commit",
            "--quiet",
            "--rm",
            "--timestamp",
            str(epoch),
            container,
            reference,
        )


def digest_of(*parts: str | bytes | Path) -> str:
    """sha256 over strings, bytes and files (a directory: each file under it, by name)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for f in files:
                if "__pycache__" in f.parts or f.name.endswith(".pyc"):
                    continue
                h.update(str(f.relative_to(REPO) if f.is_relative_to(REPO) else f).encode())
                h.update(f.read_bytes())
        else:
            h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class FileImage:
    """An image of a few files, as upstream's static-binary images are: ``files`` are
    (source on this machine, path in the image); the first gets ``cap_net_bind_service=+ep``
    when ``bind_cap`` (as upstream sets it); ``libraries`` copies in the shared objects the
    first file links (kine: CGO for SQLite)."""

    reference: str
    files: tuple[tuple[Path, str], ...]
    user: str
    entrypoint: tuple[str, ...] = ()
    bind_cap: bool = False
    libraries: bool = False
    dirs: tuple[tuple[str, str], ...] = ()
    """(path, uid:gid) of empty directories, e.g. kine's /db."""
    links: tuple[tuple[str, str], ...] = ()
    """(path, target) of symbolic links, e.g. busybox's applets."""
    cmd: tuple[str, ...] = ()

    def fingerprint(self, epoch: int) -> str:
        """Of what lands in the image: the files' bytes and places, the config, the epoch
        (never a path on this machine, so two checkouts give the same label)."""
        layout = (
            self.reference,
            self.user,
            self.entrypoint,
            self.bind_cap,
            self.dirs,
            self.links,
            self.cmd,
        )
        places = [dst for _, dst in self.files] + [str(lib) for lib in self._libs()]
        contents = [src.read_bytes() for src, _ in self.files]
        contents += [lib.resolve().read_bytes() for lib in self._libs()]
        return digest_of(repr(layout), *places, *contents, str(epoch))

    def _libs(self) -> list[Path]:
        if not self.libraries:
            return []
        out = subprocess.run(
            ["ldd", str(self.files[0][0])], capture_output=True, text=True, check=True
        )
        libs = []
        for line in out.stdout.splitlines():
            words = line.split()
            path = words[2] if "=>" in words and len(words) > 2 else words[0]
            if path.startswith("/"):
                libs.append(Path(path))
        return libs

    def build(self, tools: Tools, work: Path, epoch: int, fingerprint: str) -> None:
        stage = work / "files" / self.reference.replace("/", "_")
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        container = tools.buildah(f"{self.reference}: from scratch", "from", "scratch")
        copies = [(src, dst) for src, dst in self.files]
        copies += [(lib.resolve(), str(lib)) for lib in self._libs()]
        for i, (src, dst) in enumerate(copies):
            staged = stage / f"{i}-{Path(dst).name}"
            shutil.copy2(src, staged)
            if i == 0 and self.bind_cap:
                tools.run(
                    f"{self.reference}: setcap", ["setcap", "cap_net_bind_service=+ep", str(staged)]
                )
            tools.buildah(
                f"{self.reference}: copy {dst}",
                "copy",
                "--quiet",
                "--chown",
                "0:0",
                container,
                str(staged),
                dst,
            )
        for path, owner in self.dirs:
            empty = stage / "empty"
            empty.mkdir(exist_ok=True)
            tools.buildah(
                f"{self.reference}: dir {path}",
                "copy",
                "--quiet",
                "--chown",
                owner,
                container,
                str(empty),
                path,
            )
        by_dir: dict[str, list[tuple[str, str]]] = {}
        for path, target in self.links:
            by_dir.setdefault(str(Path(path).parent), []).append((Path(path).name, target))
        for i, (directory, links) in enumerate(sorted(by_dir.items())):
            staged_dir = stage / f"links-{i}"
            staged_dir.mkdir()
            for name, target in links:
                (staged_dir / name).symlink_to(target)
                # A fixed time, like the copied files' (theirs are their sources'), so a second
                # build gives the same layer.
                os.utime(staged_dir / name, (epoch, epoch), follow_symlinks=False)
            tools.buildah(
                f"{self.reference}: links in {directory}",
                "copy",
                "--quiet",
                "--chown",
                "0:0",
                container,
                str(staged_dir),
                directory,
            )
        config = ["--env", f"PATH={DEFAULT_PATH}", "--user", self.user, "--workingdir", "/"]
        config += ["--entrypoint", json.dumps(list(self.entrypoint))] if self.entrypoint else []
        config += ["--cmd", json.dumps(list(self.cmd))] if self.cmd else []
        tools.buildah(f"{self.reference}: config", "config", *config, container)
        tools.commit(container, self.reference, epoch, fingerprint)


def python_base(tools: Tools, work: Path, reference: str, epoch: int) -> str:
    """The stand-in for python:<v>-slim-bookworm: Debian's python3 on minbase
    (hack/images/python-base.sh), with the official image's PATH, LANG and CMD."""
    fingerprint = digest_of(HACK / "python-base.sh", HACK / "python-base.packages", str(epoch))
    if tools.fingerprint(reference) == fingerprint:
        return "up to date"
    tar = work / "python-base.tar"
    print(
        f"images: {reference}: mmdebstrap bookworm minbase + python3 (about 90 s; log {tar}.log)",
        flush=True,
    )
    tools.run(
        f"{reference}: mmdebstrap",
        ["bash", str(HACK / "python-base.sh"), str(tar)],
        env={"SOURCE_DATE_EPOCH": str(epoch)},
    )
    container = tools.buildah(f"{reference}: from scratch", "from", "scratch")
    tools.buildah(f"{reference}: add rootfs", "add", "--quiet", container, str(tar), "/")
    tools.buildah(
        f"{reference}: config",
        "config",
        "--env",
        f"PATH={DEFAULT_PATH}",
        "--env",
        "LANG=C.UTF-8",
        "--cmd",
        '["python3"]',
        container,
    )
    tools.commit(container, reference, epoch, fingerprint)
    tar.unlink()
    return "made with mmdebstrap"


def uv_base(tools: Tools, work: Path, reference: str, version: str, epoch: int) -> str:
    """The stand-in for ghcr.io/astral-sh/uv:<version>: /uv and /uvx from the uv wheel on
    PyPI (its sha256 pinned in hack/images/uv-wheel.sha256), ENTRYPOINT /uv, as upstream's."""
    pins = [
        line.split()
        for line in (HACK / "uv-wheel.sha256").read_text().splitlines()
        if line and line[0] != "#"
    ]
    wanted = [(sha, name) for sha, name in pins if name.startswith(f"uv-{version}-")]
    if not wanted:
        raise BuildError(
            f"images: hack/images/uv-wheel.sha256 pins no uv {version} wheel: bump it too"
        )
    sha, name = wanted[0]
    fingerprint = digest_of(sha, str(epoch))
    if tools.fingerprint(reference) == fingerprint:
        return "up to date"
    wheel = work / name
    if not wheel.exists() or hashlib.sha256(wheel.read_bytes()).hexdigest() != sha:
        request = urllib.request.Request(
            f"{PYPI_SIMPLE}/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            files = {f["filename"]: f["url"] for f in json.load(response)["files"]}
        if name not in files:
            raise BuildError(f"images: PyPI lists no {name}")
        with urllib.request.urlopen(files[name], timeout=300) as response:
            wheel.write_bytes(response.read())
    got = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if got != sha:
        raise BuildError(f"images: {name} has sha256 {got}, hack/images/uv-wheel.sha256 pins {sha}")
    stage = work / "uv"
    stage.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for tool in ("uv", "uvx"):
            (stage / tool).write_bytes(z.read(f"uv-{version}.data/scripts/{tool}"))
            (stage / tool).chmod(0o755)
    container = tools.buildah(f"{reference}: from scratch", "from", "scratch")
    tools.buildah(
        f"{reference}: copy",
        "copy",
        "--quiet",
        "--chown",
        "0:0",
        container,
        str(stage / "uv"),
        str(stage / "uvx"),
        "/",
    )
    tools.buildah(f"{reference}: config", "config", "--entrypoint", '["/uv"]', container)
    tools.commit(container, reference, epoch, fingerprint)
    return "made from the PyPI wheel"


def registry_serves(reference: str) -> bool:
    """True when the registry of ``reference`` answers for it (never here: no registry on
    the internet is reachable)."""
    try:
        done = subprocess.run(
            ["skopeo", "inspect", "--raw", "--retry-times", "0", f"docker://{reference}"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def timed(label: str, started: float) -> str:
    return f"{label} in {time.monotonic() - started:.0f}s"
