"""The syncer and node agent read the documents the components write."""

from pathlib import Path

import pytest
from tenantry_api.config import NodeAgentConfig, SleeperConfig, SleepSettings, SyncerConfig
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


def test_syncer_checks_its_sleeper_and_snapshot_documents_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sleeper = SleeperConfig(
        vcluster="vc", host_namespace="acme", sleep=SleepSettings(idle_seconds=60)
    )
    path = tmp_path / "sleeper.json"
    path.write_text(sleeper.to_json())
    assert syncer_cli.main(["check-config", "--config", str(path)]) == 0
    assert "valid SleeperConfig" in capsys.readouterr().out
    path.write_text(sleeper.to_json().replace('"idle_seconds": 60.0', '"idle_seconds": -1'))
    assert syncer_cli.main(["check-config", "--config", str(path)]) == 1
    assert "idle_seconds" in capsys.readouterr().err


def test_a_command_refuses_the_document_of_another(tmp_path: Path) -> None:
    # `sleep` reads a SleeperConfig: handed the SyncerConfig, it stops before doing anything.
    path = syncer_config_file(tmp_path)
    argv = ["sleep", "--config", str(path), "--upstream", "127.0.0.1:1"]
    assert syncer_cli.main(argv) == 1


def test_help_needs_no_temporary_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    # The image's root filesystem is read-only: building the parser must not look for one.
    def no_tmp() -> str:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr("tempfile.gettempdir", no_tmp)
    with pytest.raises(SystemExit) as done:
        syncer_cli.main(["snapshot", "--help"])
    assert done.value.code == 0
