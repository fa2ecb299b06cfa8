"""The quickstart stack as `make demo` runs it: the pulumi CLI from `.testbin/` on a file
backend, configured for the cluster it deploys to. tests/e2e drives the very same steps."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tenantry_local.node import RealNode
from tenantry_local.quickstart import PROJECT_DIR, engine_env
from tenantry_local.testbin import binary

STACK = "demo"
TENANT = "acme"
NODE_PORT = 31443
"""The tenant API server's node port on the local real node (one cluster, one tenant)."""


def local_settings(node: RealNode, tenant: str = TENANT) -> dict[str, str]:
    """The quickstart's config for the local cluster: the agent laid out for the real node,
    and the tenant API exposed on that node's address, which this machine routes to."""
    return {
        "tenant": tenant,
        "nodeAgent": json.dumps(node.agent_settings()),
        "exposure": "NodePort",
        "exposureHost": node.net.node_ip,
        "exposureNodePort": str(NODE_PORT),
        "readKubeconfig": "true",
    }


def remote_settings(image_registry: str | None) -> dict[str, str]:
    """The quickstart's config for a cluster of TENANTRY_KUBECONFIG: the images from their own
    registries, or every one from the mirror TENANTRY_IMAGE_REGISTRY names."""
    settings = {"readKubeconfig": "true"}
    if image_registry:
        settings["imageRegistry"] = image_registry
    return settings


@dataclass
class DemoStack:
    state_dir: Path
    """The file backend and PULUMI_HOME."""
    kubeconfig: Path
    """The host cluster's."""
    project_dir: Path = PROJECT_DIR
    name: str = STACK

    def env(self) -> dict[str, str]:
        return engine_env(self.state_dir / "home", self.kubeconfig, f"file://{self.state_dir}")

    def run(self, *args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
        """The CLI's run; its output is captured when ``quiet``, else shown as it comes."""
        return subprocess.run(
            [str(binary("pulumi")), *args],
            cwd=self.project_dir,
            env=self.env(),
            stdout=subprocess.PIPE if quiet else None,
            text=True,
            check=False,
        )

    def pulumi(self, *args: str, quiet: bool = False) -> str:
        """Run the CLI, which must succeed; its output is shown, or returned when ``quiet``."""
        if not quiet:
            print(f"$ pulumi {' '.join(args)}", flush=True)
        done = self.run(*args, quiet=quiet)
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, ["pulumi", *args], done.stdout)
        return done.stdout or ""

    def select(self, settings: dict[str, str] | None = None) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.pulumi("login", f"file://{self.state_dir}", quiet=True)
        self.pulumi("stack", "select", "--create", self.name, quiet=True)
        for key, value in (settings or {}).items():
            self.pulumi("config", "set", key, value, quiet=True)

    def up(self, *, expect_no_changes: bool = False) -> None:
        # --refresh: a restarted local cluster has lost what an earlier run created.
        extra = ["--expect-no-changes"] if expect_no_changes else ["--refresh"]
        self.pulumi("up", "--yes", "--skip-preview", "--color", "never", *extra)

    def outputs(self) -> dict[str, str]:
        out = self.pulumi("stack", "output", "--json", "--show-secrets", quiet=True)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(out).items()}

    def write_kubeconfig(self, path: Path) -> Path:
        """The stack's tenant kubeconfig (a secret output) in ``path``, readable by its owner
        only; created with that mode, so it is never readable by others, even briefly."""
        config = self.outputs().get("kubeconfig", "")
        if not config:
            raise RuntimeError(f"stack {self.name} has no kubeconfig output (readKubeconfig?)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config)
        return path

    def exists(self) -> bool:
        listed = self.pulumi("stack", "ls", "--json", quiet=True) if self.state_dir.exists() else ""
        return any(s["name"] == self.name for s in json.loads(listed or "[]"))

    def destroy(self) -> None:
        self.pulumi("login", f"file://{self.state_dir}", quiet=True)
        self.pulumi("stack", "select", self.name, quiet=True)
        self.pulumi("destroy", "--yes", "--skip-preview", "--color", "never")
