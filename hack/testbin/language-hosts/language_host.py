"""Tenantry's stand-in for Pulumi's Python language host (`pulumi-language-python`).

Upstream's host is a Go program in a module that the Go module proxy reachable here refuses
at every version (docs/testing.md), so the engine built into `.testbin/` has no way to run a
Python program or a Python plugin. This is a minimal replacement, written for Tenantry's tests
and `make demo`, not a general one. It implements what the engine (3.259) calls to deploy a
Python program and to run a Python plugin:

- `Handshake`, `GetPluginInfo`, `About`, `GetProgramDependencies`;
- `GetRequiredPlugins` / `GetRequiredPackages`: none. The engine then starts each resource
  plugin when the program first needs it, found on `$PATH` (the tests and `make demo` put
  `.testbin/` first), and never tries to download one;
- `InstallDependencies`: nothing to do, `make sync` already made the workspace virtualenv;
- `Run`: runs the program in its virtualenv's Python through `pulumi-language-python-exec`,
  the program runner that ships in the Pulumi SDK's Go module, which `hack/testbin/build.sh`
  copies next to this host;
- `RunPlugin`: runs a plugin directory (a `PulumiPlugin.yaml` with `runtime: python` beside
  `__main__.py`, such as `provider/`) and streams its output and exit code to the engine.

Every other method answers UNIMPLEMENTED (no `pulumi new`, code generation or packing).

The engine starts it as `pulumi-language-python [flags] ENGINE_ADDRESS`; it prints the port it
listens on, as every plugin does. `.testbin/pulumi-language-python` is a two-line wrapper that
runs this file in the workspace virtualenv and passes `--exec-script`.

`BaseLanguageHost`, `run_response`, `stream_plugin` and `serve` are shared with the Node.js
stand-in, `nodejs_language_host.py` beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2
from typing_extensions import override

HOST_VERSION = "0.1.0"

# pulumi-language-python-exec's exit code for "the error was already shown to the user".
EXIT_ERROR_ALREADY_SHOWN = 32


def runtime_options(info: language_pb2.ProgramInfo) -> dict[str, Any]:
    """The `runtime.options` of Pulumi.yaml or PulumiPlugin.yaml, as sent by the engine."""
    if not info.HasField("options"):
        return {}
    return dict(json_format.MessageToDict(info.options))


def python_for(info: language_pb2.ProgramInfo, fallback: str) -> tuple[str, dict[str, str]]:
    """The interpreter that runs a program or plugin, and the environment that activates its
    virtualenv. `options.virtualenv` is relative to the project (or plugin) directory; without
    it, the program runs in the interpreter that runs this host (the workspace virtualenv)."""
    venv_option = runtime_options(info).get("virtualenv")
    if not venv_option:
        return fallback, {}
    venv = Path(info.root_directory or ".", str(venv_option)).resolve()
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(
            f"virtualenv {venv} (runtime option virtualenv: {venv_option}) has no bin/python; "
            "run `make sync`"
        )
    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return str(python), {"VIRTUAL_ENV": str(venv), "PATH": path}


def program_path(info: language_pb2.ProgramInfo, deprecated_program: str) -> str:
    """The file or directory to run: the entry point in the program directory."""
    if info.program_directory:
        return str(Path(info.program_directory, info.entry_point or "."))
    return deprecated_program or "."


class BaseLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """What the Python and Node.js stand-ins answer alike: a handshake, no required plugins or
    packages (so the engine starts each provider from `$PATH` and never downloads one), and
    nothing to install (`make sync` and `make tsc` made the dependencies). `Run`, `RunPlugin`
    and `About` are each host's own; everything else is UNIMPLEMENTED."""

    # Shown by `pulumi install`: where this runtime's dependencies come from instead.
    dependencies_note = "nothing to do"

    def __init__(self, engine_address: str) -> None:
        self.engine_address = engine_address

    @override
    def Handshake(
        self, request: language_pb2.LanguageHandshakeRequest, context: grpc.ServicerContext
    ) -> language_pb2.LanguageHandshakeResponse:
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    @override
    def GetPluginInfo(
        self, request: empty_pb2.Empty, context: grpc.ServicerContext
    ) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=HOST_VERSION)

    @override
    def GetRequiredPlugins(
        self, request: language_pb2.GetRequiredPluginsRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPluginsResponse:
        return language_pb2.GetRequiredPluginsResponse()

    @override
    def GetRequiredPackages(
        self, request: language_pb2.GetRequiredPackagesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPackagesResponse:
        return language_pb2.GetRequiredPackagesResponse()

    @override
    def InstallDependencies(
        self, request: language_pb2.InstallDependenciesRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.InstallDependenciesResponse]:
        note = f"tenantry language host: {self.dependencies_note}\n"
        yield language_pb2.InstallDependenciesResponse(stdout=note.encode())

    @override
    def GetProgramDependencies(
        self, request: language_pb2.GetProgramDependenciesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetProgramDependenciesResponse:
        return language_pb2.GetProgramDependenciesResponse()


def run_response(returncode: int) -> language_pb2.RunResponse:
    """The engine's view of a program's exit code. Both SDKs' runners exit with 32 when they
    already showed the error to the user; the engine then adds nothing (`bail`)."""
    if returncode == 0:
        return language_pb2.RunResponse()
    if returncode == EXIT_ERROR_ALREADY_SHOWN:
        return language_pb2.RunResponse(bail=True)
    return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {returncode}")


class LanguageHost(BaseLanguageHost):
    dependencies_note = "dependencies come from `make sync` (uv), nothing to do"

    def __init__(self, engine_address: str, exec_script: Path) -> None:
        super().__init__(engine_address)
        self.exec_script = exec_script

    @override
    def About(
        self, request: language_pb2.AboutRequest, context: grpc.ServicerContext
    ) -> language_pb2.AboutResponse:
        return language_pb2.AboutResponse(
            executable=sys.executable,
            version=".".join(str(part) for part in sys.version_info[:3]),
            metadata={"host": f"tenantry stand-in {HOST_VERSION}"},
        )

    @override
    def Run(
        self, request: language_pb2.RunRequest, context: grpc.ServicerContext
    ) -> language_pb2.RunResponse:
        try:
            python, venv_env = python_for(request.info, sys.executable)
        except FileNotFoundError as e:
            return language_pb2.RunResponse(error=str(e))
        args = [
            python,
            "-u",
            str(self.exec_script),
            f"--project={request.project}",
            f"--stack={request.stack}",
            f"--parallel={request.parallel}",
            f"--dry_run={'true' if request.dryRun else 'false'}",
            f"--monitor={request.monitor_address}",
            f"--engine={self.engine_address}",
            f"--organization={request.organization}",
            f"--root_directory={request.info.root_directory}",
        ]
        if request.pwd:
            args.append(f"--pwd={request.pwd}")
        args += [program_path(request.info, request.program), *request.args]
        env = {
            **os.environ,
            **venv_env,
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
        }
        # The program's output goes to this host's stdout and stderr, which the engine shows.
        done = subprocess.run(args, env=env, cwd=request.pwd or None, check=False)
        return run_response(done.returncode)

    @override
    def RunPlugin(
        self, request: language_pb2.RunPluginRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.RunPluginResponse]:
        python, venv_env = python_for(request.info, sys.executable)
        env = {**os.environ, **venv_env, **parse_env(request.env)}
        # Python runs a directory by running its __main__.py, with the directory on sys.path.
        proc = subprocess.Popen(
            [python, "-u", program_path(request.info, request.program), *request.args],
            cwd=request.pwd or None,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        yield from stream_plugin(proc, context)


def stream_plugin(
    proc: subprocess.Popen[bytes], context: grpc.ServicerContext
) -> Iterator[language_pb2.RunPluginResponse]:
    """A plugin process's stdout and stderr as they come, then its exit code; the process is
    terminated if the engine cancels the stream."""

    def stop() -> None:
        # The engine cancelled the stream: it is done with the plugin.
        if proc.poll() is None:
            proc.terminate()

    context.add_callback(stop)
    chunks: list[language_pb2.RunPluginResponse] = []
    ready = threading.Condition()

    def pump(stream: Any, field: str) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            with ready:
                chunks.append(language_pb2.RunPluginResponse(**{field: chunk}))
                ready.notify()
        with ready:
            open_streams.discard(field)
            ready.notify()

    open_streams = {"stdout", "stderr"}
    for stream, field in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
        threading.Thread(target=pump, args=(stream, field), daemon=True).start()
    while True:
        with ready:
            ready.wait_for(lambda: bool(chunks) or not open_streams)
            pending, chunks[:] = list(chunks), []
            finished = not open_streams
        yield from pending
        if finished:
            break
    yield language_pb2.RunPluginResponse(exitcode=proc.wait())


def parse_env(entries: Iterable[str]) -> Mapping[str, str]:
    """`KEY=VALUE` strings, as the engine sends a plugin's environment."""
    env: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep:
            env[key] = value
    return env


def serve(host: BaseLanguageHost) -> None:
    """Serves ``host`` on a free local port, printed first as every plugin does, until the
    engine ends it with SIGINT (or SIGTERM)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine ends a plugin with SIGINT, then kills it: stop serving, quietly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop(grace=1))
    server.wait_for_termination()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--exec-script", type=Path, required=True)
    parser.add_argument("--tracing", default="", help="accepted for compatibility; unused")
    parser.add_argument("--root", default="", help="accepted for compatibility; unused")
    parser.add_argument("engine_address", nargs="?", default="")
    args, _unknown = parser.parse_known_args(argv)
    if not args.exec_script.is_file():
        sys.exit(f"pulumi-language-python: {args.exec_script} is missing: run `make testbin`")

    serve(LanguageHost(args.engine_address, args.exec_script.resolve()))


if __name__ == "__main__":
    main()
