"""The real `kubectl` from `.testbin/`, run against one kubeconfig, as a user runs it."""

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tenantry_api.types import Manifest

from tenantry_local.testbin import binary

T = TypeVar("T")


class KubectlError(RuntimeError):
    def __init__(self, args: tuple[str, ...], code: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {code}: {stderr.strip()}")
        self.stderr = stderr


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        try:
            done = subprocess.run(
                [str(binary("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            # One error type for callers that wait: a server that hangs is one that fails.
            raise KubectlError(args, -1, f"no answer within {timeout:.0f}s") from e
        if done.returncode != 0:
            raise KubectlError(args, done.returncode, done.stderr)
        return done.stdout

    def json(self, *args: str) -> Manifest:
        parsed: Manifest = json.loads(self(*args, "-o", "json"))
        return parsed

    def apply(self, manifests: list[Manifest]) -> str:
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
        return self("apply", "-f", "-", stdin=body)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, every: float = 1) -> T:
    """Poll ``check`` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got is not None and got is not False:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
