"""The real Pulumi engine, built from the Go module proxy, talks to the Tenantry plugin."""

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from tenantry_local.testbin import REPO, binary, versions

from tests.support.testbin import require

PLUGIN = REPO / "provider" / "pulumi-resource-tenantry"


def pulumi(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [str(binary("pulumi")), *args],
        env={
            **os.environ,
            "PULUMI_HOME": str(tmp_path / "pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DIY_BACKEND_URL": f"file://{tmp_path}",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"pulumi {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture(autouse=True)
def _engine() -> None:
    require("pulumi")


def test_cli_is_the_pinned_version_of_the_python_sdk(tmp_path: Path) -> None:
    cli = pulumi(tmp_path, "version").strip()
    assert cli == versions()["PULUMI_VERSION"]
    assert cli == f"v{version('pulumi')}"


def test_engine_reads_the_committed_schema_from_the_running_plugin(tmp_path: Path) -> None:
    # get-schema launches the plugin and asks it over gRPC; the committed file goes through
    # the same normalisation, so the two must be identical.
    served = json.loads(pulumi(tmp_path, "package", "get-schema", str(PLUGIN)))
    committed = json.loads(
        pulumi(tmp_path, "package", "get-schema", str(REPO / "provider" / "schema.json"))
    )
    assert served == committed
    assert set(served["resources"]) == {
        "tenantry:index:TenantPolicy",
        "tenantry:index:VirtualCluster",
        "tenantry:index:VirtualNode",
    }
