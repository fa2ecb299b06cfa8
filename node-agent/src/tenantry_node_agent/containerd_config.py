"""Where and how a runtime handler goes into containerd's configuration, per containerd version.

Pure functions of text in, text out, so every version's placement is unit-tested:

- containerd 1.x reads config version 2; the handler is added to ``config.toml`` itself
  (kata-deploy does the same), with a backup and a marker of what was added.
- containerd 2.0 and 2.1 read version 3 and honour ``imports``: the handler is a drop-in file
  whose path is added to ``config.toml``'s ``imports``.
- containerd 2.2 and later import ``/etc/containerd/conf.d/*.toml`` by default: the drop-in is
  all there is, ``config.toml`` is not touched (unless it sets ``imports`` itself, which
  replaces that default; then the drop-in is imported explicitly, as for 2.0).
"""

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import tomlkit
from tomlkit.items import Table

CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3 = "io.containerd.cri.v1.runtime"
CONF_D = "conf.d"


class Placement(StrEnum):
    INLINE = "inline"
    """containerd 1.x: the runtime table is written into config.toml."""
    IMPORTS = "imports"
    """containerd 2.0, 2.1: a drop-in file, listed in config.toml's imports."""
    CONF_D = "conf.d"
    """containerd 2.2+: a drop-in file in conf.d, imported by default."""


@dataclass(frozen=True, order=True)
class ContainerdVersion:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> "ContainerdVersion":
        """Parse what containerd reports (``1.6.20~ds1``, ``v2.1.3``, ``2.2.0-rc.1``)."""
        match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if not match:
            raise ValueError(f"not a containerd version: {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3] or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def config_version(self) -> int:
        """The config schema this containerd is meant to read: 2 for 1.x, 3 for 2.x."""
        return 2 if self.major < 2 else 3


class ConfigError(ValueError):
    pass


def config_version_of(text: str | None) -> int:
    """The ``version`` of a config file; a missing file or key means version 1 to containerd."""
    if text is None:
        return 0
    try:
        return int(tomllib.loads(text).get("version", 1))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config.toml is not valid TOML: {e}") from e


def placement_for(version: ContainerdVersion, config_text: str | None) -> Placement:
    if version.major < 2:
        return Placement.INLINE
    if (version.major, version.minor) >= (2, 2):
        # An explicit `imports` in config.toml replaces the built-in conf.d default.
        explicit = config_text is not None and "imports" in tomllib.loads(config_text)
        return Placement.IMPORTS if explicit else Placement.CONF_D
    return Placement.IMPORTS


def runtimes_path(config_version: int) -> tuple[str, ...]:
    """Where runtime handlers live in a config of ``config_version``."""
    plugin = CRI_V2 if config_version == 2 else CRI_V3
    return ("plugins", plugin, "containerd", "runtimes")


def drop_in(handler: str, runtime: dict[str, Any], config_version: int) -> str:
    """A complete drop-in file holding one runtime handler."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Added by the Tenantry node agent: runtime handler {handler}."))
    doc.add(tomlkit.comment("It is removed again when the agent uninstalls; do not edit."))
    doc["version"] = config_version
    _set_runtime(doc, handler, runtime, config_version)
    return tomlkit.dumps(doc)


@dataclass(frozen=True)
class Edit:
    """What an edit of config.toml added, so exactly that can be taken out again."""

    text: str
    created_tables: tuple[tuple[str, ...], ...]
    """Tables that did not exist before, outermost first."""
    added_import: str = ""


def add_runtime(text: str | None, handler: str, runtime: dict[str, Any]) -> Edit:
    """config.toml (containerd 1.x, version 2) with ``handler``'s runtime table set."""
    doc = tomlkit.parse(text) if text else _new_document(2)
    created = _set_runtime(doc, handler, runtime, 2)
    return Edit(tomlkit.dumps(doc), created)


def add_import(text: str | None, path: str, config_version: int) -> Edit:
    """config.toml with ``path`` appended to ``imports`` (containerd 2.0, 2.1)."""
    doc = tomlkit.parse(text) if text else _new_document(config_version)
    imports = doc.get("imports")
    if imports is None:
        doc["imports"] = [path]
        return Edit(tomlkit.dumps(doc), (("imports",),), path)
    if path not in imports:
        imports.append(path)
    return Edit(tomlkit.dumps(doc), (), path)


def remove_added(text: str, handler: str, edit_created: list[list[str]], added_import: str) -> str:
    """Take our entries out of a config.toml that someone else changed after we edited it.

    Only used when the file no longer matches what we wrote; otherwise the backup is restored
    byte for byte.
    """
    doc = tomlkit.parse(text)
    if added_import:
        imports = doc.get("imports")
        if imports is not None and added_import in imports:
            imports.remove(added_import)
    else:
        runtimes = _get(doc, runtimes_path(2))
        if runtimes is not None and handler in runtimes:
            del runtimes[handler]
    # Innermost first: drop the tables we created once they are empty.
    for path in sorted((tuple(p) for p in edit_created), key=len, reverse=True):
        parent = _get(doc, path[:-1]) if len(path) > 1 else doc
        if parent is not None and path[-1] in parent:
            value = parent[path[-1]]
            if not value or (isinstance(value, Table | dict) and len(value) == 0):
                del parent[path[-1]]
    return tomlkit.dumps(doc)


def has_runtime(text: str | None, handler: str, runtime: dict[str, Any]) -> bool:
    """True when ``text`` already holds ``handler`` with exactly ``runtime``."""
    if not text:
        return False
    node: Any = tomllib.loads(text)
    for key in (*runtimes_path(config_version_of(text)), handler):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return bool(node == runtime)


def has_import(text: str | None, path: str) -> bool:
    return bool(text) and path in tomllib.loads(text or "").get("imports", [])


def _new_document(config_version: int) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    doc["version"] = config_version
    return doc


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    node = doc
    for key in path:
        if key not in node:
            return None
        node = node[key]
    return node


def _set_runtime(
    doc: tomlkit.TOMLDocument, handler: str, runtime: dict[str, Any], config_version: int
) -> tuple[tuple[str, ...], ...]:
    created: list[tuple[str, ...]] = []
    node: Any = doc
    path: tuple[str, ...] = ()
    for key in runtimes_path(config_version):
        path = (*path, key)
        if key not in node:
            # Super-tables: no header of their own, like containerd's own examples.
            node[key] = tomlkit.table(is_super_table=True)
            created.append(path)
        node = node[key]
    table = tomlkit.table()
    for key, value in runtime.items():
        if isinstance(value, dict):
            sub = tomlkit.table()
            sub.update(value)
            table[key] = sub
        else:
            table[key] = value
    node[handler] = table
    return tuple(created)
