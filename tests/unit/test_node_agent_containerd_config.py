"""The node agent's containerd config editing: placement per version, the runtime tables,
backup/marker/revert byte identity, and the fingerprint."""

import json
import tomllib
from pathlib import Path

import pytest
from tenantry_api import keys
from tenantry_api.runtimes import RuntimeBackend, handler_name
from tenantry_node_agent import containerd_config as cc
from tenantry_node_agent.backends import BACKENDS, extra_files
from tenantry_node_agent.node_files import NodeFiles, Plan

HANDLER = handler_name(RuntimeBackend.GVISOR)
GVISOR = BACKENDS[RuntimeBackend.GVISOR].runtime_table({}, "/etc/containerd")

# A containerd 1.x config as a node image ships it: comments, odd spacing, tables in
# containerd's indented style. Revert must give these exact bytes back.
ORIGINAL_V2 = """\
# managed by the node image
version = 2
root = "/var/lib/containerd"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"   # pinned
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = true
"""


def runtimes(text: str, version: int = 2) -> dict[str, object]:
    node: object = tomllib.loads(text)
    for key in cc.runtimes_path(version):
        assert isinstance(node, dict)
        node = node[key]
    assert isinstance(node, dict)
    return node


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("1.6.20~ds1", cc.ContainerdVersion(1, 6, 20)),
        ("v1.7.27", cc.ContainerdVersion(1, 7, 27)),
        ("2.1.3", cc.ContainerdVersion(2, 1, 3)),
        ("v2.2.0-rc.1", cc.ContainerdVersion(2, 2, 0)),
    ],
)
def test_containerd_versions_parse_as_reported(reported: str, expected: object) -> None:
    assert cc.ContainerdVersion.parse(reported) == expected


@pytest.mark.parametrize(
    ("version", "config", "placement"),
    [
        ("1.6.20", ORIGINAL_V2, cc.Placement.INLINE),
        ("1.7.27", None, cc.Placement.INLINE),
        ("2.0.5", "version = 3\n", cc.Placement.IMPORTS),
        ("2.1.3", "version = 3\n", cc.Placement.IMPORTS),
        ("2.2.0", "version = 3\n", cc.Placement.CONF_D),
        ("2.2.0", None, cc.Placement.CONF_D),
        # An explicit imports list replaces 2.2's conf.d default: import the drop-in ourselves.
        ("2.2.1", 'version = 3\nimports = ["/etc/containerd/other.toml"]\n', cc.Placement.IMPORTS),
    ],
)
def test_placement_follows_kata_deploy_per_containerd_version(
    version: str, config: str | None, placement: cc.Placement
) -> None:
    assert cc.placement_for(cc.ContainerdVersion.parse(version), config) is placement


def test_config_versions_expected_per_containerd_major() -> None:
    assert cc.ContainerdVersion(1, 6).config_version == 2
    assert cc.ContainerdVersion(2, 1).config_version == 3


def test_inline_edit_adds_the_runtime_where_containerd_1x_reads_it() -> None:
    edit = cc.add_runtime(ORIGINAL_V2, HANDLER, GVISOR)
    assert edit.text.startswith(ORIGINAL_V2)  # appended: nothing of the original is rewritten
    found = runtimes(edit.text)
    assert found[HANDLER] == GVISOR
    assert "runc" in found
    assert edit.created_tables == ()


def test_drop_in_for_containerd_2_is_a_version_3_document() -> None:
    text = cc.drop_in(HANDLER, GVISOR, 3)
    assert tomllib.loads(text)["version"] == 3
    assert runtimes(text, 3)[HANDLER] == GVISOR


def test_imports_edit_appends_to_an_existing_list() -> None:
    edit = cc.add_import('version = 3\nimports = ["/a.toml"]\n', "/etc/containerd/conf.d/x.toml", 3)
    assert tomllib.loads(edit.text)["imports"] == ["/a.toml", "/etc/containerd/conf.d/x.toml"]


def test_every_backend_has_a_runtime_table_and_binaries() -> None:
    for backend, spec in BACKENDS.items():
        paths = {name: f"/usr/bin/{name}" for name in spec.binaries}
        table = spec.runtime_table(paths, "/etc/containerd")
        assert table["runtime_type"].startswith("io.containerd.")
        assert spec.binaries
        # Only sandboxes withhold host devices; runc-hardened shares the host kernel anyway.
        assert table.get("privileged_without_host_devices", False) is (
            backend is not RuntimeBackend.RUNC_HARDENED
        )
    hardened = BACKENDS[RuntimeBackend.RUNC_HARDENED].runtime_table(
        {"runc": "/usr/sbin/runc"}, "/etc/containerd"
    )
    assert hardened["base_runtime_spec"] == "/etc/containerd/tenantry-runc-hardened.json"
    assert hardened["options"] == {"BinaryName": "/usr/sbin/runc"}
    spec = json.loads(extra_files(RuntimeBackend.RUNC_HARDENED)["tenantry-runc-hardened.json"])
    assert len(spec["process"]["capabilities"]["bounding"]) == 9
    assert "CAP_SYS_ADMIN" not in spec["process"]["capabilities"]["bounding"]


def plan(placement: cc.Placement, backend: RuntimeBackend = RuntimeBackend.GVISOR) -> Plan:
    version = 2 if placement is cc.Placement.INLINE else 3
    return Plan(
        handler=handler_name(backend),
        placement=placement,
        runtime=BACKENDS[backend].runtime_table({"runc": "/usr/bin/runc"}, "/etc/containerd"),
        config_version=version,
        extra_files=extra_files(backend),
    )


@pytest.mark.parametrize(
    ("placement", "original"),
    [
        (cc.Placement.INLINE, ORIGINAL_V2),
        (cc.Placement.INLINE, None),
        (cc.Placement.IMPORTS, 'version = 3\n\n# keep me\nimports = ["/a.toml"]  # x\n'),
        (cc.Placement.IMPORTS, None),
        (cc.Placement.CONF_D, "version = 3\n"),
    ],
)
@pytest.mark.parametrize("backend", [RuntimeBackend.GVISOR, RuntimeBackend.RUNC_HARDENED])
def test_install_then_revert_restores_the_node_byte_for_byte(
    tmp_path: Path, placement: cc.Placement, original: str | None, backend: RuntimeBackend
) -> None:
    config = tmp_path / "config.toml"
    if original is not None:
        config.write_bytes(original.encode())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    files = NodeFiles(config, handler_name(backend))

    assert files.install(plan(placement, backend))
    state = files.state()
    assert state is not None
    assert state.placement is placement
    if placement is cc.Placement.CONF_D:
        assert config.read_text() == original  # 2.2+: config.toml is never touched
    else:
        assert files.backup.exists() or original is None

    files.revert()
    if original is None:
        assert not config.exists()
    else:
        assert config.read_bytes() == original.encode()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_install_is_idempotent(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ORIGINAL_V2)
    files = NodeFiles(config, HANDLER)
    assert files.install(plan(cc.Placement.INLINE))
    written = config.read_bytes()
    assert not files.install(plan(cc.Placement.INLINE))
    assert config.read_bytes() == written


def test_revert_keeps_someone_elses_later_change(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ORIGINAL_V2)
    files = NodeFiles(config, HANDLER)
    files.install(plan(cc.Placement.INLINE))
    config.write_text(config.read_text().replace("pause:3.10", "pause:3.11"))
    files.revert()
    text = config.read_text()
    assert "pause:3.11" in text  # their change survives
    assert HANDLER not in runtimes(text)  # ours is gone
    assert "runc" in runtimes(text)


def test_a_replaced_config_is_the_new_original(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ORIGINAL_V2)
    files = NodeFiles(config, HANDLER)
    files.install(plan(cc.Placement.INLINE))
    replaced = ORIGINAL_V2.replace("# managed by the node image", "# re-imaged")
    config.write_text(replaced)  # node config management rewrote it, our entry is gone
    assert files.install(plan(cc.Placement.INLINE))
    files.revert()
    assert config.read_text() == replaced


def test_fingerprint_changes_with_the_config_and_only_then(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ORIGINAL_V2)
    files = NodeFiles(config, HANDLER)
    empty = files.fingerprint()
    assert files.fingerprint() == empty
    files.install(plan(cc.Placement.INLINE))
    installed = files.fingerprint()
    assert installed != empty
    files.record_applied()
    files.install(plan(cc.Placement.INLINE))
    state = files.state()
    assert state is not None
    assert state.applied_fingerprint == files.fingerprint() == installed


def test_the_agent_refuses_to_take_over_a_file_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / f"{HANDLER}.toml").write_text("# someone else's\n")
    files = NodeFiles(tmp_path / "config.toml", HANDLER)
    with pytest.raises(cc.ConfigError, match="not created by the agent"):
        files.install(plan(cc.Placement.CONF_D))


def test_ready_label_is_the_runtime_class_selector() -> None:
    assert keys.runtime_ready_label(HANDLER) == "runtime.tenantry.dev/tenantry-gvisor"
