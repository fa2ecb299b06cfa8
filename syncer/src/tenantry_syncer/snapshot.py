"""`tenantry-syncer snapshot`: the virtual control plane's state to S3 (or any S3-compatible
store), and what restore.py reads back.

A snapshot is two objects under ``<prefix>/<host namespace>/<vcluster>/<UTC stamp>/``:

- ``snapshot.tar.gz``: ``state.db``, a consistent copy of kine's SQLite database taken with
  SQLite's online backup API while the control plane runs, and ``pki.json``, the PKI Secret's
  entries;
- ``manifest.json``: a ``SnapshotManifest`` (version, time, size and SHA-256 of the archive,
  the SHA-256 of each file in it, and the objects counted by resource), written last, so a
  snapshot without a manifest is an unfinished one.
"""

import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenantry_api.config import API_VERSION, SnapshotConfig

from tenantry_syncer.init import SecretStore

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
else:
    S3Client = object

log = logging.getLogger(__name__)

ARCHIVE = "snapshot.tar.gz"
MANIFEST = "manifest.json"
DB_FILE = "state.db"
"""kine's database in the store volume (control_plane.py's kine endpoint)."""
PKI_FILE = "pki.json"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_STAMP = re.compile(r"^\d{8}T\d{12}Z$")
CHUNK = 1 << 20

try:
    VERSION = version("tenantry-syncer")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    VERSION = "0.0.0"


class SnapshotError(Exception):
    """A snapshot cannot be taken or restored; the message says why."""


class SnapshotManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Literal["tenantry.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["SnapshotManifest"] = "SnapshotManifest"
    vcluster: str
    host_namespace: str
    store: Literal["sqlite"] = "sqlite"
    tenantry_version: str
    created: dt.datetime
    archive: str
    """Name of the archive beside the manifest."""
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    files: dict[str, str]
    """SHA-256 of each file in the archive."""
    objects: dict[str, int]
    """Objects in the store, counted by resource (``deployments``, ``widgets.example.com``)."""


@dataclass(frozen=True)
class Location:
    """A snapshot's folder in a bucket."""

    bucket: str
    key: str
    """``<prefix>/<namespace>/<vcluster>/<stamp>``, without a trailing slash."""

    @classmethod
    def parse(cls, uri: str) -> "Location":
        """``s3://bucket/<folder>``, or the folder's archive or manifest."""
        match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
        if not match:
            raise SnapshotError(f"{uri!r} is not an s3://<bucket>/<key> URI")
        key = match.group(2).rstrip("/")
        for leaf in (ARCHIVE, MANIFEST):
            key = key.removesuffix(f"/{leaf}")
        return cls(match.group(1), key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def archive(self) -> str:
        return f"{self.key}/{ARCHIVE}"

    @property
    def manifest(self) -> str:
        return f"{self.key}/{MANIFEST}"


def base_key(prefix: str, namespace: str, vcluster: str) -> str:
    """The folder holding every snapshot of one virtual cluster."""
    return "/".join(p for p in (prefix.strip("/"), namespace, vcluster) if p)


def s3_client(region: str | None, endpoint_url: str | None) -> S3Client:
    """An S3 client from the default credential chain: environment variables (the
    credentials Secret), web identity (IRSA, workload identity) or the instance's role."""
    import boto3  # noqa: PLC0415 - only the snapshot commands pay for importing boto3
    from botocore.config import Config  # noqa: PLC0415

    config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
    return boto3.client(
        "s3", region_name=region or None, endpoint_url=endpoint_url or None, config=config
    )


# --- the store ---


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: one read
    transaction, so kine keeps writing while it runs)."""
    if not source.is_file():
        raise SnapshotError(f"{source} does not exist: is this the control plane's store volume?")
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def resource_of(key: str) -> str | None:
    """The resource of a kine key: ``/registry/deployments/ns/name`` → ``deployments``,
    ``/registry/example.com/widgets/ns/name`` → ``widgets.example.com``."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] or parts[1] != "registry":
        return None
    if "." in parts[2] and len(parts) >= 5:
        return f"{parts[3]}.{parts[2]}"
    return parts[2]


def count_objects(db: Path) -> dict[str, int]:
    """Live objects in a kine database by resource: the newest row of each key, not deleted."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name FROM kine WHERE id IN (SELECT MAX(id) FROM kine GROUP BY name) "
            "AND deleted = 0"
        ).fetchall()
    except sqlite3.DatabaseError as e:
        raise SnapshotError(f"{db} is not a kine database: {e}") from e
    finally:
        conn.close()
    counts = Counter(r for (name,) in rows if (r := resource_of(name)) is not None)
    return dict(sorted(counts.items()))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- snapshot ---


def take(
    config: SnapshotConfig,
    data_dir: Path,
    work_dir: Path,
    *,
    secrets: SecretStore,
    s3: S3Client,
    now: dt.datetime | None = None,
) -> tuple[Location, SnapshotManifest, list[str]]:
    """Take a snapshot, upload it, then apply retention. Returns the snapshot's location, its
    manifest and the folders retention deleted."""
    now = now or dt.datetime.now(dt.UTC)
    bucket, prefix = config.snapshots.bucket, config.snapshots.prefix
    pki = secrets.read(config.pki_secret)
    if pki is None:
        raise SnapshotError(
            f"PKI Secret {config.pki_secret} not found in {config.host_namespace}: "
            "has the control plane ever started?"
        )
    location = Location(
        bucket,
        f"{base_key(prefix, config.host_namespace, config.vcluster)}/{now.strftime(STAMP_FORMAT)}",
    )
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        staged = Path(tmp)
        db = staged / DB_FILE
        backup_sqlite(data_dir / DB_FILE, db)
        objects = count_objects(db)
        (staged / PKI_FILE).write_text(
            json.dumps({k: v.hex() for k, v in sorted(pki.items())}, indent=1)
        )
        files = {name: sha256_file(staged / name) for name in (DB_FILE, PKI_FILE)}
        archive = staged / ARCHIVE
        with tarfile.open(archive, "w:gz") as tar:
            for name in (DB_FILE, PKI_FILE):
                tar.add(staged / name, arcname=name)
        manifest = SnapshotManifest(
            vcluster=config.vcluster,
            host_namespace=config.host_namespace,
            tenantry_version=VERSION,
            created=now,
            archive=ARCHIVE,
            size=archive.stat().st_size,
            sha256=sha256_file(archive),
            files=files,
            objects=objects,
        )
        with archive.open("rb") as f:  # multipart, streamed from the file
            s3.upload_fileobj(
                f,
                bucket,
                location.archive,
                ExtraArgs={"Metadata": {"sha256": manifest.sha256}},
            )
    # The manifest goes last: a folder without one is an unfinished snapshot.
    s3.put_object(
        Bucket=bucket,
        Key=location.manifest,
        Body=manifest.model_dump_json(by_alias=True, indent=2).encode(),
        ContentType="application/json",
    )
    deleted = apply_retention(s3, config)
    return location, manifest, deleted


def _folders(s3: S3Client, bucket: str, base: str) -> dict[str, set[str]]:
    """Snapshot folders under ``base`` (by stamp) and which of our two files each holds."""
    found: dict[str, set[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{base}/"):
        for obj in page.get("Contents", []):
            parts = obj["Key"][len(base) + 1 :].split("/")
            if len(parts) == 2 and _STAMP.match(parts[0]) and parts[1] in (ARCHIVE, MANIFEST):
                found.setdefault(parts[0], set()).add(parts[1])
    return found


def list_snapshots(
    s3: S3Client, bucket: str, prefix: str, namespace: str, vcluster: str
) -> list[tuple[Location, SnapshotManifest]]:
    """This virtual cluster's complete snapshots, newest first: folders with a stamp name,
    both files and a manifest that names this virtual cluster. Nothing else counts."""
    base = base_key(prefix, namespace, vcluster)
    found = []
    for stamp, files in _folders(s3, bucket, base).items():
        if files != {ARCHIVE, MANIFEST}:
            continue
        location = Location(bucket, f"{base}/{stamp}")
        try:
            manifest = read_manifest(s3, location)
        except SnapshotError as e:
            log.warning("ignoring %s: %s", location.uri, e)
            continue
        if manifest.vcluster == vcluster and manifest.host_namespace == namespace:
            found.append((location, manifest))
    return sorted(found, key=lambda item: item[0].key, reverse=True)


def apply_retention(s3: S3Client, config: SnapshotConfig) -> list[str]:
    """Delete this virtual cluster's complete snapshots beyond the newest ``retention``; only
    their two files are deleted, never anything else under the prefix."""
    bucket, retention = config.snapshots.bucket, config.snapshots.retention
    snapshots = list_snapshots(
        s3, bucket, config.snapshots.prefix, config.host_namespace, config.vcluster
    )
    deleted = []
    for location, _ in snapshots[retention:]:
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": location.manifest}, {"Key": location.archive}]},
        )
        deleted.append(location.uri)
        log.info("retention: deleted %s", location.uri)
    return deleted


def read_manifest(s3: S3Client, location: Location) -> SnapshotManifest:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.manifest)["Body"].read()
    except ClientError as e:
        raise SnapshotError(f"cannot read {location.uri}/{MANIFEST}: {e}") from e
    try:
        manifest = SnapshotManifest.model_validate_json(body)
    except ValidationError as e:
        raise SnapshotError(
            f"{location.uri}/{MANIFEST} is not a valid Tenantry snapshot manifest "
            f"(corrupt, or not a Tenantry snapshot): {e.errors()[0]['msg']}"
        ) from e
    if manifest.archive != ARCHIVE:
        raise SnapshotError(f"{location.uri}/{MANIFEST} names an unknown archive")
    return manifest


def manifest_summary(manifest: SnapshotManifest) -> str:
    total = sum(manifest.objects.values())
    return f"{total} objects, {manifest.size} bytes, sha256 {manifest.sha256[:12]}…"


__all__ = [
    "Location",
    "SnapshotError",
    "SnapshotManifest",
    "apply_retention",
    "count_objects",
    "list_snapshots",
    "read_manifest",
    "s3_client",
    "sha256_file",
    "take",
]
