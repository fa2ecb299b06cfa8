"""The tenants' hostPath directories: `<host_path_root>/<host namespace>/`, where the syncer
puts a sandboxed pod's hostPath volumes instead of the host's paths.

The agent makes one per tenant namespace it is configured with, and removes the ones of
tenants it no longer has. Only directories it made (marked) are ever removed, so a root
shared with anything else loses nothing but ours. The volumes inside are made by the kubelet
(hostPath `DirectoryOrCreate` / `FileOrCreate`), as root.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MARKER = ".tenantry-tenant"
"""File in each directory the agent made; its content is the tenant namespace."""
MODE = 0o711
"""Others may pass through to the volumes the kubelet mounts, never list a tenant's."""


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def converge(root: Path, tenants: list[str], owner: tuple[int, int] | None = None) -> Outcome:
    """Make ``root``/<tenant> for every tenant, remove the marked ones of other tenants.

    ``owner`` (uid, gid) is given to each directory made; None keeps the agent's (root)."""
    outcome = Outcome()
    root.mkdir(parents=True, exist_ok=True)
    for tenant in tenants:
        path = root / tenant
        if (path / MARKER).is_file():
            continue
        path.mkdir(mode=MODE, exist_ok=True)
        os.chmod(path, MODE)  # mkdir's mode is masked by the umask
        if owner is not None:
            os.chown(path, *owner, follow_symlinks=False)
        (path / MARKER).write_text(tenant)
        outcome.created.append(tenant)
    for entry in sorted(root.iterdir()):
        if entry.name in tenants or entry.is_symlink() or not (entry / MARKER).is_file():
            continue
        # rmtree never follows a symlink a tenant left inside (fd-based on Linux).
        shutil.rmtree(entry)
        outcome.removed.append(entry.name)
    return outcome
