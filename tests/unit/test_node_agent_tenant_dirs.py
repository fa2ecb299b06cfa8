"""The node agent's tenant directories for the syncer's hostPath rewrite."""

import os
from pathlib import Path

from tenantry_api.config import NodeAgentConfig
from tenantry_api.runtimes import RuntimeBackend
from tenantry_node_agent import tenant_dirs
from tenantry_node_agent.agent import Agent, Options


def test_each_tenant_gets_a_marked_directory_and_a_departed_one_is_removed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tenants"
    first = tenant_dirs.converge(root, ["acme", "globex"])
    assert sorted(first.created) == ["acme", "globex"]
    assert (root / "acme" / tenant_dirs.MARKER).read_text() == "acme"
    assert os.stat(root / "acme").st_mode & 0o777 == tenant_dirs.MODE
    (root / "acme" / "data-1234").mkdir()
    (root / "acme" / "data-1234" / "f").write_text("kept")
    again = tenant_dirs.converge(root, ["acme", "globex"])
    assert (again.created, again.removed) == ([], [])
    assert (root / "acme" / "data-1234" / "f").read_text() == "kept"
    # globex leaves: its directory goes, with what its pods wrote.
    (root / "globex" / "x").write_text("gone")
    gone = tenant_dirs.converge(root, ["acme"])
    assert gone.removed == ["globex"]
    assert not (root / "globex").exists()
    assert (root / "acme").is_dir()


def test_only_directories_the_agent_made_are_removed_and_symlinks_are_not_followed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tenants"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("host data")
    root.mkdir()
    (root / "foreign").mkdir()  # not ours: no marker
    (root / "link").symlink_to(outside)
    tenant_dirs.converge(root, ["acme"])
    # A tenant leaves a symlink to the host inside its directory, then leaves.
    (root / "acme" / "escape").symlink_to(outside)
    done = tenant_dirs.converge(root, [])
    assert done.removed == ["acme"]
    assert (root / "foreign").is_dir()
    assert (root / "link").is_symlink()
    assert (outside / "precious").read_text() == "host data"


def test_the_agent_step_follows_its_config(tmp_path: Path) -> None:
    config = NodeAgentConfig(
        backend=RuntimeBackend.GVISOR,
        handler="tenantry-gvisor",
        containerd_config=str(tmp_path / "config.toml"),
        tenant_namespaces=["acme"],
        host_path_root=str(tmp_path / "tenants"),
    )
    done = Agent(Options(config=config, node_name="n")).tenant_dirs()
    assert done is not None
    assert done.created == ["acme"]
    assert (tmp_path / "tenants" / "acme").is_dir()
    # Without a root the step does nothing.
    bare = config.model_copy(update={"host_path_root": None})
    assert Agent(Options(config=bare, node_name="n")).tenant_dirs() is None
