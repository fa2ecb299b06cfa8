"""The local cluster's processes: free ports, waiting for one to answer, stopping by PID."""

import contextlib
import os
import signal
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str,
    timeout: float,
    tls: tuple[Path, Path, Path] | None = None,
    alive: Callable[[], None] = lambda: None,
) -> None:
    """Poll ``url`` until it answers 200; ``tls`` is (CA, client cert, client key) files."""
    context = None
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls[0]))
        context.load_cert_chain(str(tls[1]), str(tls[2]))
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        alive()
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                if response.status == 200:
                    return
        except Exception as e:
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


def stop_pids(pids: dict[str, int], grace: float = 10) -> None:
    # Reverse start order: kwok and the controllers before the apiserver, etcd last.
    for pid in reversed(list(pids.values())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    for pid in pids.values():
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    # Gone, not only signalled: a caller goes on to unmount and delete what they used.
    deadline = time.monotonic() + grace
    for pid in pids.values():
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask the kernel, and a zombie counts as gone
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rpartition(")")[2].split()[0] != "Z"
    return finished == 0
