"""Tiny OCI images built locally, for the node tier and the local node until the registry
serves real ones: one layer holding Debian's static busybox and its applet links, written as an
OCI image layout tarball that `ctr images import` accepts."""

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry_local.testbin import REPO

BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh",
    "sleep",
    "cat",
    "ls",
    "nsenter",
    "hostname",
    "echo",
    "readlink",
    "true",
    "nc",
    "wget",
    "nslookup",
    "timeout",
    "httpd",
    "ps",
    "id",
    "mkdir",
    "grep",
    "env",
    "uname",
    "seq",
    "sed",
    "tail",
)
BUSYBOX_PACKAGE = "busybox-static"


def busybox_version() -> str:
    """Upstream's release in the Debian pin (hack/node/packages.env): 1:1.35.0-4+... -> 1.35.0."""
    pins = (REPO / "hack" / "node" / "packages.env").read_text()
    for line in pins.splitlines():
        name, _, version = line.partition("=")
        if name == BUSYBOX_PACKAGE:
            return version.partition(":")[2].partition("-")[0]
    raise LookupError(f"hack/node/packages.env pins no {BUSYBOX_PACKAGE}")


# containerd stores this name for an image it imports from an OCI layout.
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return f"sha256:{hashlib.sha256(self.data).hexdigest()}"

    def descriptor(self, **annotations: str) -> dict[str, Any]:
        described: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
        }
        if annotations:
            described["annotations"] = annotations
        return described


def _layer(busybox: Path) -> tuple[bytes, str]:
    """The gzipped layer and the diff id (digest of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("bin", "tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    uncompressed = raw.getvalue()
    # mtime=0: the same busybox always gives the same digest.
    return gzip.compress(
        uncompressed, mtime=0
    ), f"sha256:{hashlib.sha256(uncompressed).hexdigest()}"


def busybox_image(name: str, command: list[str], out: Path, busybox: Path = BUSYBOX) -> Path:
    """Write an OCI layout tarball of a busybox image running ``command``; returns its path."""
    if shutil.which(str(busybox)) is None:
        raise FileNotFoundError(f"{busybox} is missing (Debian busybox-static)")
    layer_data, diff_id = _layer(busybox)
    layer = Blob("application/vnd.oci.image.layer.v1.tar+gzip", layer_data)
    config = Blob(
        "application/vnd.oci.image.config.v1+json",
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": command, "Env": ["PATH=/bin"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode(),
    )
    manifest = Blob(
        "application/vnd.oci.image.manifest.v1+json",
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
            }
        ).encode(),
    )
    index = {
        "schemaVersion": 2,
        "manifests": [
            manifest.descriptor(
                **{IMAGE_NAME_ANNOTATION: name, "org.opencontainers.image.ref.name": name}
            )
        ],
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index).encode(),
        **{f"blobs/sha256/{b.digest.split(':')[1]}": b.data for b in (layer, config, manifest)},
    }
    with tarfile.open(out, "w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out
