"""The stand-in Python language host (hack/testbin/language-hosts/language_host.py), over
real gRPC.

The engine's side is played by a LanguageRuntime client; the program runner by a script that
records what it was given. tests/integration/test_pulumi_up.py runs it under the real engine.
"""

import json
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from language_host import EXIT_ERROR_ALREADY_SHOWN, LanguageHost
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

RECORDER = """
import json, os, sys
out = os.environ["RECORD_TO"]
with open(out, "w") as f:
    json.dump({"argv": sys.argv[1:], "config": os.environ.get("PULUMI_CONFIG"),
               "secret_keys": os.environ.get("PULUMI_CONFIG_SECRET_KEYS"),
               "virtual_env": os.environ.get("VIRTUAL_ENV"), "cwd": os.getcwd()}, f)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[language_pb2_grpc.LanguageRuntimeStub]:
    runner = tmp_path / "runner.py"
    runner.write_text(RECORDER)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
        LanguageHost("127.0.0.1:1234", runner), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        server.stop(grace=None)


def fake_venv(root: Path) -> Path:
    """A virtualenv whose python is the one running the tests."""
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to(sys.executable)
    return root / "venv"


def run_request(tmp_path: Path, **extra: object) -> language_pb2.RunRequest:
    info = language_pb2.ProgramInfo(
        root_directory=str(tmp_path), program_directory=str(tmp_path), entry_point="."
    )
    info.options.update({"virtualenv": "venv"})
    request = language_pb2.RunRequest(
        project="p",
        stack="s",
        pwd=str(tmp_path),
        config={"p:tenant": "acme", "p:token": "x"},
        configSecretKeys=["p:token"],
        dryRun=True,
        parallel=8,
        monitor_address="127.0.0.1:999",
        organization="org",
        info=info,
    )
    for key, value in extra.items():
        setattr(request, key, value)
    return request


def test_run_passes_the_engine_contract_to_the_program_runner(
    host: language_pb2_grpc.LanguageRuntimeStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = fake_venv(tmp_path)
    record = tmp_path / "record.json"
    monkeypatch.setenv("RECORD_TO", str(record))
    response = host.Run(run_request(tmp_path))
    assert response.error == ""
    assert not response.bail
    got = json.loads(record.read_text())
    assert got["argv"] == [
        "--project=p",
        "--stack=s",
        "--parallel=8",
        "--dry_run=true",
        "--monitor=127.0.0.1:999",
        "--engine=127.0.0.1:1234",
        "--organization=org",
        f"--root_directory={tmp_path}",
        f"--pwd={tmp_path}",
        str(tmp_path),
    ]
    assert json.loads(got["config"]) == {"p:tenant": "acme", "p:token": "x"}
    assert json.loads(got["secret_keys"]) == ["p:token"]
    assert got["virtual_env"] == str(venv)
    assert got["cwd"] == str(tmp_path)


@pytest.mark.parametrize(
    "outcome",
    [
        (EXIT_ERROR_ALREADY_SHOWN, "", True),
        (1, "Program exited with non-zero exit code: 1", False),
    ],
)
def test_run_reports_a_failed_program(
    host: language_pb2_grpc.LanguageRuntimeStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outcome: tuple[int, str, bool],
) -> None:
    code, error, bail = outcome
    fake_venv(tmp_path)
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "record.json"))
    monkeypatch.setenv("EXIT_WITH", str(code))
    response = host.Run(run_request(tmp_path))
    assert (response.error, response.bail) == (error, bail)


def test_run_without_the_named_virtualenv_says_what_to_do(
    host: language_pb2_grpc.LanguageRuntimeStub, tmp_path: Path
) -> None:
    response = host.Run(run_request(tmp_path))
    assert "has no bin/python; run `make sync`" in response.error


def test_required_packages_are_none_so_nothing_is_downloaded(
    host: language_pb2_grpc.LanguageRuntimeStub,
) -> None:
    assert list(host.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest()).packages) == []
    assert list(host.GetRequiredPlugins(language_pb2.GetRequiredPluginsRequest()).plugins) == []


def test_run_plugin_streams_output_and_the_exit_code(
    host: language_pb2_grpc.LanguageRuntimeStub, tmp_path: Path
) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "__main__.py").write_text(
        "import os, sys\n"
        "print('port', sys.argv[1:], os.environ['FROM_ENGINE'], flush=True)\n"
        "print('oops', file=sys.stderr, flush=True)\n"
        "sys.exit(3)\n"
    )
    info = language_pb2.ProgramInfo(
        root_directory=str(plugin), program_directory=str(plugin), entry_point="."
    )
    responses = list(
        host.RunPlugin(
            language_pb2.RunPluginRequest(
                pwd=str(tmp_path), info=info, args=["127.0.0.1:5"], env=["FROM_ENGINE=yes"]
            )
        )
    )
    stdout = b"".join(r.stdout for r in responses)
    stderr = b"".join(r.stderr for r in responses)
    assert stdout == b"port ['127.0.0.1:5'] yes\n"
    assert stderr == b"oops\n"
    assert responses[-1].exitcode == 3
