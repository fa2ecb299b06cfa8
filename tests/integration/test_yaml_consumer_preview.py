"""examples/yaml, previewed by the real engine against a local cluster: the pinned pulumi CLI, the
YAML language host built from github.com/pulumi/pulumi-yaml, the Tenantry plugin (a Python plugin
directory, run through the Python language host in .testbin/) and the pulumi-kubernetes
provider. The program is the example's own Pulumi.yaml; only its `packages:` path is made
absolute, because the project is copied to a temporary directory."""

import subprocess
from pathlib import Path

import yaml
from tenantry_local.cluster import LocalCluster
from tenantry_local.quickstart import ENGINE_BINARIES, engine_env
from tenantry_local.testbin import REPO, binary

from tests.integration.conftest import CLUSTER_BINARIES
from tests.support.testbin import require

EXAMPLE = REPO / "examples" / "yaml"


def test_yaml_consumer_previews_against_the_real_engine(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    require(*CLUSTER_BINARIES, *ENGINE_BINARIES, "pulumi-language-yaml")
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    assert project["packages"] == {"tenantry": "../../provider"}
    project["packages"] = {"tenantry": str(REPO / "provider")}
    work = tmp_path / "project"
    work.mkdir()
    (work / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (tmp_path / "state").mkdir()
    env = engine_env(tmp_path / "home", cluster.kubeconfig, f"file://{tmp_path / 'state'}")

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary("pulumi")), *args, "--non-interactive", "--color", "never"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    done = pulumi("stack", "init", "dev")
    assert done.returncode == 0, done.stderr
    # kwok nodes run no container: the tenant kubeconfig is never written, so do not wait on it.
    done = pulumi("config", "set", "readKubeconfig", "false")
    assert done.returncode == 0, done.stderr
    done = pulumi("preview", "--diff")
    assert done.returncode == 0, done.stdout + done.stderr
    for token in (
        "tenantry:index:VirtualNode",
        "tenantry:index:VirtualCluster",
        "tenantry:index:TenantPolicy",
        "kubernetes:node.k8s.io/v1:RuntimeClass",
        "kubernetes:apps/v1:StatefulSet",
    ):
        assert token in done.stdout, f"{token} not in the preview:\n{done.stdout}"
