"""What the agent asks containerd over CRI: its version, and which runtime handlers it knows.

gRPC is only ever imported by the short-lived probe (``python -m tenantry_node_agent.cri``):
loading grpc costs ~25 MB of resident memory that the idle agent would otherwise keep for
its whole life. The agent runs the probe as a child process and reads its JSON.
"""

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

PROBE_TIMEOUT = 30.0


class CriError(RuntimeError):
    pass


@dataclass(frozen=True)
class RuntimeStatus:
    runtime_name: str
    runtime_version: str
    runtime_handlers: list[str]
    """Handlers the runtime lists in StatusResponse.runtime_handlers (empty on containerd 1.6)."""
    configured_runtimes: list[str]
    """Runtime names in the verbose status's CRI config (``containerd.runtimes``)."""

    def knows(self, handler: str) -> tuple[bool, str]:
        """Whether ``handler`` is served, and from which source that was learned."""
        if self.runtime_handlers:
            return handler in self.runtime_handlers, "runtime_handlers"
        return handler in self.configured_runtimes, "verbose status config"


def probe(socket: str, timeout: float = PROBE_TIMEOUT) -> RuntimeStatus:
    """Ask containerd at ``socket`` (a path) for its status, in a child process."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tenantry_node_agent.cri", socket],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise CriError(f"CRI probe of {socket} timed out after {timeout}s") from e
    if done.returncode != 0:
        raise CriError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    data = json.loads(done.stdout)
    return RuntimeStatus(**data)


def _configured_runtimes(info: dict[str, str]) -> list[str]:
    # containerd puts its CRI config, as JSON, under the verbose info key "config".
    config: dict[str, Any] = json.loads(info.get("config", "{}"))
    runtimes = (config.get("containerd") or {}).get("runtimes") or {}
    return sorted(runtimes)


def _probe_main(socket: str) -> int:
    import grpc  # noqa: PLC0415 -- only the probe process pays for grpc

    from tenantry_node_agent.cri_v1 import api_pb2, api_pb2_grpc  # noqa: PLC0415

    with grpc.insecure_channel(f"unix://{socket}") as channel:
        runtime = api_pb2_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            version = runtime.Version(api_pb2.VersionRequest(), timeout=10)
            status = runtime.Status(api_pb2.StatusRequest(verbose=True), timeout=10)
        except grpc.RpcError as e:
            print(f"CRI at {socket}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    result = RuntimeStatus(
        runtime_name=version.runtime_name,
        runtime_version=version.runtime_version,
        runtime_handlers=sorted(h.name for h in status.runtime_handlers if h.name),
        configured_runtimes=_configured_runtimes(dict(status.info)),
    )
    print(json.dumps(result.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(_probe_main(sys.argv[1]))
