"""examples/typescript, previewed by the real engine against a local cluster: the pinned pulumi
CLI, Tenantry's stand-in Node.js language host (.testbin/pulumi-language-nodejs, which runs
the program through @pulumi/pulumi's own runner and ts-node), the Tenantry plugin (a Python
plugin directory, run through the Python stand-in) and the pulumi-kubernetes provider.

The program is the example's own index.ts, tsconfig.json, package.json and Pulumi.yaml, copied
to a temporary directory; only the `packages:` path is made absolute. Its node_modules is laid
out from hack/tsc (`make tsc`) with @pulumi/tenantry compiled from sdk/nodejs."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from tenantry_local.cluster import LocalCluster
from tenantry_local.quickstart import ENGINE_BINARIES, engine_env
from tenantry_local.testbin import REPO, binary

from tests.integration.conftest import CLUSTER_BINARIES
from tests.support.testbin import require, unavailable
from tests.support.typescript import TSC, consumer_node_modules

EXAMPLE = REPO / "examples" / "typescript"


def require_node_toolchain() -> None:
    missing = [
        reason
        for reason, ok in (
            ("tsc is missing: run `make tsc`", TSC.exists()),
            ("node is not on PATH", shutil.which("node") is not None),
        )
        if not ok
    ]
    if missing:
        unavailable("; ".join(missing))


@pytest.fixture
def project(cluster: LocalCluster, tmp_path: Path) -> Path:
    require(*CLUSTER_BINARIES, *ENGINE_BINARIES, "pulumi-language-nodejs")
    require_node_toolchain()
    meta = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    assert meta["runtime"] == "nodejs"
    assert meta["packages"] == {"tenantry": "../../provider"}
    meta["packages"] = {"tenantry": str(REPO / "provider")}
    work = tmp_path / "project"
    work.mkdir()
    (work / "Pulumi.yaml").write_text(yaml.safe_dump(meta))
    for name in ("index.ts", "tsconfig.json", "package.json"):
        shutil.copy(EXAMPLE / name, work / name)
    consumer_node_modules(tmp_path)  # tmp_path/node_modules: Node.js looks there from work/
    return work


class Pulumi:
    def __init__(self, work: Path, cluster: LocalCluster) -> None:
        state = work.parent / "state"
        state.mkdir()
        self.work = work
        self.env = engine_env(work.parent / "home", cluster.kubeconfig, f"file://{state}")

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary("pulumi")), *args, "--non-interactive", "--color", "never"],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def stack(self, **config: str) -> None:
        done = self("stack", "init", "dev")
        assert done.returncode == 0, done.stderr
        # kwok nodes run no container: the tenant kubeconfig is never written, so do not wait.
        for key, value in {"readKubeconfig": "false", **config}.items():
            done = self("config", "set", key, value)
            assert done.returncode == 0, done.stderr


def test_typescript_consumer_previews_against_the_real_engine(
    project: Path, cluster: LocalCluster
) -> None:
    pulumi = Pulumi(project, cluster)
    pulumi.stack()
    done = pulumi("preview", "--diff")
    assert done.returncode == 0, done.stdout + done.stderr
    for token in (
        "tenantry:index:VirtualNode",
        "tenantry:index:VirtualCluster",
        "tenantry:index:TenantPolicy",
        "kubernetes:node.k8s.io/v1:RuntimeClass",
        "kubernetes:apps/v1:StatefulSet",
        "acme-sandbox",
    ):
        assert token in done.stdout, f"{token} not in the preview:\n{done.stdout}"


def test_a_bad_tenant_name_fails_the_preview(project: Path, cluster: LocalCluster) -> None:
    # Stack config reaches the program through the Node.js host, and the component's
    # validation error reaches the user: an invalid tenant name fails the preview.
    pulumi = Pulumi(project, cluster)
    pulumi.stack(tenant="Not_A_DNS_Label")
    done = pulumi("preview", "--diff")
    assert done.returncode != 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "'Not_A_DNS_Label-sandbox' is not a valid RFC 1123 label" in output, output


def test_a_type_error_fails_the_preview(project: Path, cluster: LocalCluster) -> None:
    # The program is type-checked (ts-node, with the project's tsconfig.json) before it runs:
    # an input the generated SDK does not accept fails the preview with the compiler's error.
    source = project / "index.ts"
    text = source.read_text()
    assert "preset: tenantry.CloudPreset.BARE," in text
    source.write_text(text.replace("preset: tenantry.CloudPreset.BARE,", 'preset: "nonsense",'))
    pulumi = Pulumi(project, cluster)
    pulumi.stack()
    done = pulumi("preview", "--diff")
    assert done.returncode != 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "TS2322" in output, output
    assert "tenantry:index:VirtualNode" not in done.stdout, output
