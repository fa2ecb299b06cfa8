"""The files the agent changes on the node, and how it puts them back.

Everything the agent adds is recorded in a state file next to containerd's config
(``tenantry-<handler>.state.json``): the placement, the files it created, and for an edit of
``config.toml`` the backup of the original bytes and the hash of what it wrote. Revert restores
the backup byte for byte when ``config.toml`` is still what the agent wrote; when someone changed
it since, only the agent's own entries are taken out, so their change survives.
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tenantry_node_agent import containerd_config as cc


def sha256(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()


class State(BaseModel):
    """The marker of what was added; written before containerd sees any change."""

    model_config = ConfigDict(extra="forbid")

    handler: str
    placement: cc.Placement
    created_files: list[str] = []
    created_dirs: list[str] = []
    edited: bool = False
    original_absent: bool = False
    installed_sha256: str = ""
    created_tables: list[list[str]] = []
    added_import: str = ""
    applied_fingerprint: str = ""
    """Fingerprint of the config containerd was last restarted with (and confirmed)."""


@dataclass(frozen=True)
class Plan:
    """What the node's files must look like for one handler."""

    handler: str
    placement: cc.Placement
    runtime: dict[str, object]
    config_version: int
    extra_files: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed)


class NodeFiles:
    def __init__(self, config: Path, handler: str) -> None:
        self.config = config
        self.dir = config.parent
        self.handler = handler
        self.state_path = self.dir / f"{handler}.tenantry-state.json"
        self.backup = self.dir / f"{config.name}.{handler}.tenantry-backup"
        self.drop_in = self.dir / cc.CONF_D / f"{handler}.toml"

    # --- reading ---

    def state(self) -> State | None:
        if not self.state_path.exists():
            return None
        return State.model_validate_json(self.state_path.read_text())

    def config_text(self) -> str | None:
        return self.config.read_text() if self.config.exists() else None

    def fingerprint(self) -> str:
        """Hash of every file containerd reads that the agent may have written."""
        digest = hashlib.sha256()
        state = self.state()
        paths = [
            self.config,
            self.drop_in,
            *(Path(p) for p in (state.created_files if state else [])),
        ]
        for path in sorted(set(paths)):
            digest.update(str(path).encode() + b"\0")
            digest.update(path.read_bytes() if path.exists() else b"<absent>")
            digest.update(b"\0")
        return digest.hexdigest()

    # --- install ---

    def install(self, plan: Plan) -> Outcome:
        """Make the node's files match ``plan``; idempotent. Returns what changed."""
        outcome = Outcome()
        state = self.state() or State(handler=plan.handler, placement=plan.placement)
        if state.placement != plan.placement:
            # containerd was upgraded under us: take the old placement out first.
            self.revert()
            state = State(handler=plan.handler, placement=plan.placement)
        for name, content in plan.extra_files.items():
            path = self.dir / name
            self._write_created(state, path, content, outcome)
        if plan.placement is cc.Placement.INLINE:
            self._edit_config(state, plan, outcome)
        else:
            if not self.drop_in.parent.is_dir():
                state.created_dirs.append(str(self.drop_in.parent))
                self._save(state)
                self.drop_in.parent.mkdir()
            text = cc.drop_in(plan.handler, plan.runtime, plan.config_version)
            self._write_created(state, self.drop_in, text, outcome)
            if plan.placement is cc.Placement.IMPORTS:
                self._edit_config(state, plan, outcome)
        self._save(state)
        return outcome

    def _write_created(self, state: State, path: Path, content: str, outcome: Outcome) -> None:
        if path.exists() and path.read_text() == content:
            return
        if str(path) not in state.created_files:
            if path.exists():
                raise cc.ConfigError(f"{path} exists and was not created by the agent")
            state.created_files.append(str(path))
            self._save(state)  # the marker first: a crash now still knows the file is ours
        _atomic_write(path, content.encode())
        outcome.changed.append(str(path))

    def _edit_config(self, state: State, plan: Plan, outcome: Outcome) -> None:
        current = self.config.read_bytes() if self.config.exists() else None
        text = current.decode() if current is not None else None
        if plan.placement is cc.Placement.INLINE:
            if cc.has_runtime(text, plan.handler, plan.runtime):
                return
            edit = cc.add_runtime(text, plan.handler, plan.runtime)
        else:
            if cc.has_import(text, str(self.drop_in)):
                return
            edit = cc.add_import(text, str(self.drop_in), plan.config_version)
        if not state.edited or sha256(current) != state.installed_sha256:
            # First edit, or config.toml was replaced since (our entry is gone): what is there
            # now is the original to come back to.
            if current is None:
                self.backup.unlink(missing_ok=True)
            else:
                _atomic_write(self.backup, current)
            state.original_absent = current is None
            state.created_tables = [list(p) for p in edit.created_tables]
        state.edited = True
        state.added_import = edit.added_import
        state.installed_sha256 = sha256(edit.text.encode())
        self._save(state)
        _atomic_write(self.config, edit.text.encode())
        outcome.changed.append(str(self.config))

    def record_applied(self) -> None:
        """containerd now runs with the current files: remember their fingerprint."""
        state = self.state()
        if state is not None:
            state.applied_fingerprint = self.fingerprint()
            self._save(state)

    # --- revert ---

    def revert(self) -> Outcome:
        """Remove exactly what was added; config.toml comes back byte-identical when it is
        still what the agent wrote."""
        outcome = Outcome()
        state = self.state()
        if state is None:
            return outcome
        if state.edited:
            current = self.config.read_bytes() if self.config.exists() else None
            if sha256(current) == state.installed_sha256:
                if state.original_absent:
                    self.config.unlink()
                else:
                    _atomic_write(self.config, self.backup.read_bytes())
            elif current is not None:
                restored = cc.remove_added(
                    current.decode(), state.handler, state.created_tables, state.added_import
                )
                _atomic_write(self.config, restored.encode())
            outcome.changed.append(str(self.config))
            self.backup.unlink(missing_ok=True)
        for created in state.created_files:
            path = Path(created)
            if path.exists():
                path.unlink()
                outcome.changed.append(created)
        for created in state.created_dirs:
            # Only if the agent made it and nothing else has been put there since.
            directory = Path(created)
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
        self.state_path.unlink()
        return outcome

    def _save(self, state: State) -> None:
        _atomic_write(self.state_path, (state.model_dump_json(indent=2) + "\n").encode())


def _atomic_write(path: Path, data: bytes) -> None:
    # Write-then-rename, keeping the mode of a file being replaced: containerd never reads a
    # half-written config.
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    tmp = path.with_name(f".{path.name}.tenantry-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
