"""Tenantry's stand-in for Pulumi's Node.js language host (`pulumi-language-nodejs`).

Upstream's host is a Go program in a module that the Go module proxy reachable here refuses at
every version (docs/testing.md), so the engine built into `.testbin/` could not run a
TypeScript program such as `examples/typescript`. This is a minimal replacement for Tenantry's
tests, built on the Python stand-in (`language_host.py`: handshake, no required plugins, the
gRPC server). Its one real method is `Run`: it runs `node` on the program runner that ships in
the `@pulumi/pulumi` package (`@pulumi/pulumi/cmd/run`), resolved from the program directory
upward through `node_modules` as Node.js resolves it, with the flags and environment that
runner reads:

- `--monitor`, `--engine`, `--project`, `--stack`, `--organization`, `--root-directory`,
  `--parallel`, `--dry-run` (a flag, only when true), `--pwd` (the program directory);
- `PULUMI_CONFIG` and `PULUMI_CONFIG_SECRET_KEYS` (JSON), as for Python;
- `PULUMI_NODEJS_TYPESCRIPT` from the runtime option `typescript` (default true: the runner
  then registers ts-node, its vendored copy over the project's `typescript`), and
  `PULUMI_NODEJS_TSCONFIG_PATH` from the option `tsconfig`.

The program is `main` from Pulumi.yaml, else `.` (the runner then takes package.json's
`main`). `RunPlugin` (Node.js plugins), `nodeargs`, package managers and dependency
installation are not supported: the tests lay `node_modules` out themselves (`make tsc`).

The engine starts it as `pulumi-language-nodejs [flags] ENGINE_ADDRESS`;
`.testbin/pulumi-language-nodejs` is the wrapper `hack/testbin/build.sh` writes, which runs
this file in the workspace virtualenv; Python puts this directory on `sys.path`, so
`language_host` imports from beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import grpc
from language_host import (
    HOST_VERSION,
    BaseLanguageHost,
    run_response,
    runtime_options,
    serve,
)
from pulumi.runtime.proto import language_pb2
from typing_extensions import override

RUNNER = Path("node_modules", "@pulumi", "pulumi", "cmd", "run")


def find_runner(start: Path) -> Path | None:
    """`node_modules/@pulumi/pulumi/cmd/run` in ``start`` or the nearest parent that has it."""
    for directory in (start, *start.parents):
        if (directory / RUNNER / "index.js").is_file():
            return directory / RUNNER
    return None


class NodejsLanguageHost(BaseLanguageHost):
    dependencies_note = "node_modules is laid out by the tests (`make tsc`), nothing to do"

    def __init__(self, engine_address: str, node: str) -> None:
        super().__init__(engine_address)
        self.node = node

    @override
    def About(
        self, request: language_pb2.AboutRequest, context: grpc.ServicerContext
    ) -> language_pb2.AboutResponse:
        version = subprocess.run(
            [self.node, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        return language_pb2.AboutResponse(
            executable=self.node,
            version=version.removeprefix("v"),
            metadata={"host": f"tenantry stand-in {HOST_VERSION}"},
        )

    @override
    def Run(
        self, request: language_pb2.RunRequest, context: grpc.ServicerContext
    ) -> language_pb2.RunResponse:
        info = request.info
        directory = Path(info.program_directory or request.pwd or ".").resolve()
        runner = find_runner(directory)
        if runner is None:
            return language_pb2.RunResponse(
                error=f"no {RUNNER} in {directory} or above: install @pulumi/pulumi"
            )
        options = runtime_options(info)
        args = [
            self.node,
            str(runner),
            f"--monitor={request.monitor_address}",
            f"--engine={self.engine_address}",
            f"--project={request.project}",
            f"--stack={request.stack}",
            f"--organization={request.organization}",
            f"--root-directory={info.root_directory or directory}",
            f"--parallel={request.parallel}",
            f"--pwd={directory}",
        ]
        if request.dryRun:
            args.append("--dry-run")
        args += [info.entry_point or ".", *request.args]
        env = {
            **os.environ,
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
            "PULUMI_NODEJS_TYPESCRIPT": "false" if options.get("typescript") is False else "true",
        }
        if options.get("tsconfig"):
            env["PULUMI_NODEJS_TSCONFIG_PATH"] = str(options["tsconfig"])
        # The program's output goes to this host's stdout and stderr, which the engine shows.
        done = subprocess.run(args, env=env, cwd=directory, check=False)
        return run_response(done.returncode)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tracing", default="", help="accepted for compatibility; unused")
    parser.add_argument("--root", default="", help="accepted for compatibility; unused")
    parser.add_argument("engine_address", nargs="?", default="")
    args, _unknown = parser.parse_known_args(argv)
    node = shutil.which("node")
    if node is None:
        raise SystemExit("pulumi-language-nodejs: node is not on PATH")
    serve(NodejsLanguageHost(args.engine_address, node))


if __name__ == "__main__":
    main()
