"""The stand-in Node.js language host (hack/testbin/language-hosts/nodejs_language_host.py),
over real gRPC.

The engine's side is played by a LanguageRuntime client; @pulumi/pulumi's runner by an
index.js that records what it was given, found in a node_modules above the program.
tests/integration/test_typescript_consumer_preview.py runs the host under the real engine."""

import json
import shutil
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from nodejs_language_host import RUNNER, NodejsLanguageHost
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

RECORDER = """
const fs = require("fs");
fs.writeFileSync(process.env.RECORD_TO, JSON.stringify({
  argv: process.argv.slice(2), cwd: process.cwd(),
  config: process.env.PULUMI_CONFIG, secretKeys: process.env.PULUMI_CONFIG_SECRET_KEYS,
  typescript: process.env.PULUMI_NODEJS_TYPESCRIPT,
}));
process.exit(Number(process.env.EXIT_WITH || "0"));
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[language_pb2_grpc.LanguageRuntimeStub]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    (tmp_path / RUNNER).mkdir(parents=True)
    (tmp_path / RUNNER / "index.js").write_text(RECORDER)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
        NodejsLanguageHost("127.0.0.1:1234", node), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        server.stop(grace=None)


def run_request(program: Path, dry_run: bool) -> language_pb2.RunRequest:
    info = language_pb2.ProgramInfo(
        root_directory=str(program), program_directory=str(program), entry_point="."
    )
    return language_pb2.RunRequest(
        project="p",
        stack="s",
        pwd=str(program),
        config={"p:tenant": "acme", "p:token": "x"},
        configSecretKeys=["p:token"],
        dryRun=dry_run,
        parallel=8,
        monitor_address="127.0.0.1:999",
        organization="org",
        info=info,
    )


def test_run_passes_the_engine_contract_to_the_sdk_runner(
    host: language_pb2_grpc.LanguageRuntimeStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "app" / "src"  # the runner is two directories up
    program.mkdir(parents=True)
    record = tmp_path / "record.json"
    monkeypatch.setenv("RECORD_TO", str(record))
    response = host.Run(run_request(program, dry_run=True))
    assert response.error == ""
    assert not response.bail
    seen = json.loads(record.read_text())
    assert seen["argv"] == [
        "--monitor=127.0.0.1:999",
        "--engine=127.0.0.1:1234",
        "--project=p",
        "--stack=s",
        "--organization=org",
        f"--root-directory={program}",
        "--parallel=8",
        f"--pwd={program}",
        "--dry-run",
        ".",
    ]
    assert seen["cwd"] == str(program)
    assert json.loads(seen["config"]) == {"p:tenant": "acme", "p:token": "x"}
    assert json.loads(seen["secretKeys"]) == ["p:token"]
    assert seen["typescript"] == "true"

    host.Run(run_request(program, dry_run=False))
    assert "--dry-run" not in json.loads(record.read_text())["argv"]


def test_run_reports_exit_codes_and_a_missing_runner(
    host: language_pb2_grpc.LanguageRuntimeStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "record.json"))
    monkeypatch.setenv("EXIT_WITH", "32")
    assert host.Run(run_request(tmp_path, dry_run=True)).bail
    monkeypatch.setenv("EXIT_WITH", "3")
    assert host.Run(run_request(tmp_path, dry_run=True)).error.endswith("exit code: 3")
    elsewhere = Path("/")
    assert "install @pulumi/pulumi" in host.Run(run_request(elsewhere, dry_run=True)).error
