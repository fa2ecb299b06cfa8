"""The syncer and node agent read the documents the components write."""

from pathlib import Path

import pytest
from tenantry_api.config import NodeAgentConfig, SyncerConfig
from tenantry_api.runtimes import RuntimeBackend
from tenantry_node_agent import cli as agent_cli
from tenantry_syncer import cli as syncer_cli


def syncer_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    config = SyncerConfig(
        vcluster="vc", host_namespace="acme", service_name="vc", kubeconfig_secret="vc-vc"
    )
    path.write_text(config.to_json())
    return path


def test_syncer_accepts_its_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = syncer_config_file(tmp_path)
    assert syncer_cli.main(["check-config", "--config", str(path)]) == 0
    assert "valid SyncerConfig tenantry.dev/v1alpha1" in capsys.readouterr().out


def test_agent_refuses_a_syncer_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = syncer_config_file(tmp_path)
    assert agent_cli.main(["check-config", "--config", str(path)]) == 1
    assert "kind" in capsys.readouterr().err


def test_agent_accepts_its_config(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        NodeAgentConfig(backend=RuntimeBackend.SYSBOX, handler="tenantry-sysbox").to_json()
    )
    assert agent_cli.main(["check-config", "--config", str(path)]) == 0


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    assert syncer_cli.main(["check-config", "--config", str(tmp_path / "nope.json")]) == 1
