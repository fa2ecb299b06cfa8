"""`tenantry-syncer restore`: seed the store volume and the PKI Secret from a snapshot
(snapshot.py), before the control plane first starts.

Restore refuses a snapshot whose archive does not match its manifest byte for byte, whose
files do not match their checksums, or whose database fails SQLite's integrity check; and it
refuses to replace data that is already there unless it is told to overwrite.
"""

import gzip
import hashlib
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantry_api import keys
from tenantry_api.config import SyncerConfig

from tenantry_syncer.init import SecretStore
from tenantry_syncer.snapshot import (
    ARCHIVE,
    CHUNK,
    DB_FILE,
    PKI_FILE,
    Location,
    SnapshotError,
    SnapshotManifest,
    read_manifest,
    sha256_file,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
else:
    S3Client = object

MARKER = ".tenantry-restore.json"
"""Written into the store volume by restore: which snapshot it holds, and whether the restore
finished (so a restarted pod neither restores twice nor refuses its own restore)."""


def _download_verified(
    s3: S3Client, location: Location, manifest: SnapshotManifest, target: Path
) -> None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    digest = hashlib.sha256()
    size = 0
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.archive)["Body"]
        with target.open("wb") as out:
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except ClientError as e:
        raise SnapshotError(f"cannot read {location.uri}/{ARCHIVE}: {e}") from e
    if size != manifest.size or digest.hexdigest() != manifest.sha256:
        raise SnapshotError(
            f"{location.uri}/{ARCHIVE} is corrupt or truncated: {size} bytes with SHA-256 "
            f"{digest.hexdigest()}, but the manifest says {manifest.size} bytes with SHA-256 "
            f"{manifest.sha256}; refusing to restore it"
        )


def _members(tar: tarfile.TarFile, expected: Mapping[str, str]) -> Iterator[tarfile.TarInfo]:
    names = {m.name: m for m in tar.getmembers()}
    if set(names) != set(expected):
        raise SnapshotError(f"the archive holds {sorted(names)}, expected {sorted(expected)}")
    for name in expected:
        if not names[name].isfile():
            raise SnapshotError(f"{name} in the archive is not a regular file")
        yield names[name]


def _unpack(archive: Path, manifest: SnapshotManifest, into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in _members(tar, manifest.files):
                source = tar.extractfile(member)
                assert source is not None
                with source, (into / member.name).open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as e:
        raise SnapshotError(f"the archive cannot be read: {e}") from e
    for name, expected in manifest.files.items():
        if sha256_file(into / name) != expected:
            raise SnapshotError(f"{name} in the archive does not match its checksum")
    conn = sqlite3.connect(into / DB_FILE)
    try:
        (result,) = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as e:
        raise SnapshotError(f"{DB_FILE} in the archive is not a database: {e}") from e
    finally:
        conn.close()
    if result != "ok":
        raise SnapshotError(f"{DB_FILE} in the archive fails SQLite's integrity check: {result}")


@dataclass(frozen=True)
class Restored:
    location: Location
    manifest: SnapshotManifest | None
    """None when the volume already held this snapshot (a restarted pod)."""


def _marker(data_dir: Path) -> dict[str, str]:
    try:
        value = json.loads((data_dir / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_marker(data_dir: Path, uri: str, state: str) -> None:
    tmp = data_dir / f"{MARKER}.tmp"
    tmp.write_text(json.dumps({"uri": uri, "state": state}))
    tmp.replace(data_dir / MARKER)


def restore(
    uri: str,
    config: SyncerConfig,
    data_dir: Path,
    work_dir: Path,
    *,
    secrets: SecretStore,
    s3: S3Client,
    overwrite: bool = False,
) -> Restored:
    """Seed the store volume and the PKI Secret from a snapshot, before the control plane
    starts. Existing data (a database in the volume, or the PKI Secret) is only replaced when
    ``overwrite`` is set; the volume of a pod that already restored this snapshot is left as
    it is."""
    location = Location.parse(uri)
    marker = _marker(data_dir)
    if marker.get("uri") == location.uri and marker.get("state") == "done":
        return Restored(location, None)
    resuming = marker.get("uri") == location.uri  # a restore of this snapshot died midway
    db = data_dir / DB_FILE
    existing = [
        what
        for what, present in (
            (f"the store volume has {DB_FILE}", db.exists() and db.stat().st_size > 0),
            (f"the PKI Secret {config.pki_secret} exists", secrets.read(config.pki_secret)),
        )
        if present
    ]
    if existing and not (overwrite or resuming):
        raise SnapshotError(
            f"refusing to restore {location.uri} over data that is already there "
            f"({'; '.join(existing)}); set overwrite to replace it"
        )
    manifest = read_manifest(s3, location)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        staged = Path(tmp)
        _download_verified(s3, location, manifest, staged / ARCHIVE)
        _unpack(staged / ARCHIVE, manifest, staged)
        try:
            pki = {
                k: bytes.fromhex(v) for k, v in json.loads((staged / PKI_FILE).read_text()).items()
            }
        except (ValueError, AttributeError) as e:
            raise SnapshotError(f"{PKI_FILE} in the archive is not a PKI document: {e}") from e
        # Everything is verified: from here on, data is replaced.
        _write_marker(data_dir, location.uri, "started")
        secrets.write(
            config.pki_secret,
            pki,
            {keys.MANAGED_BY: keys.MANAGED_BY_VALUE, keys.VCLUSTER: config.vcluster},
        )
        for stale in (f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
            (data_dir / stale).unlink(missing_ok=True)
        staging = data_dir / f".{DB_FILE}.restore"
        shutil.copyfile(staged / DB_FILE, staging)
        staging.replace(db)
    _write_marker(data_dir, location.uri, "done")
    return Restored(location, manifest)


__all__ = ["MARKER", "Restored", "restore"]
