"""The registry on loopback: started with its pid recorded, found and stopped by another
process from that record alone, and started by every local cluster."""

import subprocess
import sys
from pathlib import Path

from tenantry_local.cluster import LocalCluster
from tenantry_local.registry import Registry, registry_available

from tests.support.testbin import unavailable


def test_another_process_stops_the_registry_from_its_state(tmp_path: Path) -> None:
    if reason := registry_available():
        unavailable(reason)
    started = Registry(tmp_path / "server", storage=tmp_path / "store").start()
    assert started.ping()
    assert started.repositories() == []
    found = Registry.running(tmp_path / "server")
    assert found is not None
    assert found.address == started.address
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tenantry_local.registry",
            "down",
            "--dir",
            str(tmp_path / "server"),
        ],
        check=True,
        capture_output=True,
    )
    assert not started.ping()
    assert Registry.running(tmp_path / "server") is None


def test_the_local_cluster_runs_a_registry(cluster: LocalCluster) -> None:
    if reason := registry_available():
        unavailable(reason)
    assert cluster.registry is not None
    assert cluster.registry.ping()
    state = (cluster.root / "state.json").read_text()
    assert f'"registry": "{cluster.registry.address}"' in state
