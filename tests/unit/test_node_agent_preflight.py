"""Preflight verdicts, node patches and io limits of the node agent (pure parts)."""

from pathlib import Path

import pytest
from tenantry_api import keys
from tenantry_api.config import IoLimits
from tenantry_api.runtimes import RuntimeBackend
from tenantry_node_agent import iolimits, node_status
from tenantry_node_agent.cri import RuntimeStatus
from tenantry_node_agent.preflight import Facts, cgroup_facts, find_binaries, judge

GOOD = Facts(
    kernel="6.1.0-18-amd64",
    cgroup_version=2,
    io_controller=True,
    containerd_version="1.6.20~ds1",
    config_version=2,
    binaries={"runsc": "/usr/bin/runsc", "containerd-shim-runsc-v1": "/usr/bin/x"},
)


def with_(**changes: object) -> Facts:
    return Facts(**{**GOOD.__dict__, **changes})


def test_a_good_node_passes() -> None:
    assert judge(GOOD, RuntimeBackend.GVISOR).passed


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (with_(kernel="4.9.0"), "kernel 4.9.0 is older than 4.14"),
        (with_(cgroup_version=0), "no cgroup hierarchy"),
        (with_(containerd_version="unreachable: refused"), "cannot read the containerd version"),
        (with_(containerd_version="1.5.9"), "containerd 1.5.9 is not supported"),
        (
            with_(config_version=1),
            "config.toml is version 1, but containerd 1.6.20 reads version 2",
        ),
        (
            with_(containerd_version="2.1.0", config_version=2),
            "config.toml is version 2, but containerd 2.1.0 reads version 3",
        ),
        (
            with_(binaries={"runsc": "", "containerd-shim-runsc-v1": ""}),
            "gvisor runtime binaries missing: containerd-shim-runsc-v1, runsc",
        ),
    ],
)
def test_each_failure_has_a_clear_reason(facts: Facts, reason: str) -> None:
    verdict = judge(facts, RuntimeBackend.GVISOR)
    assert not verdict.passed
    assert reason in verdict.reason


def test_no_config_file_is_fine_containerd_runs_on_defaults() -> None:
    assert judge(with_(config_version=0), RuntimeBackend.GVISOR).passed


def test_a_failed_node_is_never_labelled_ready() -> None:
    verdict = judge(with_(kernel="3.10.0"), RuntimeBackend.GVISOR)
    patch = node_status.preflight_patch(with_(kernel="3.10.0"), verdict, "tenantry-gvisor")
    labels = patch["metadata"]["labels"]
    assert labels[keys.NODE_PREFLIGHT] == "failed"
    assert labels[keys.runtime_ready_label("tenantry-gvisor")] is None  # removed
    assert "older than" in patch["metadata"]["annotations"][keys.NODE_PREFLIGHT_REASON]


def test_cgroup_detection(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert cgroup_facts(v2) == (2, True)
    (v2 / "cgroup.controllers").write_text("cpu memory\n")
    assert cgroup_facts(v2) == (2, False)
    hybrid = tmp_path / "hybrid"
    for sub in ("memory", "cpu", "unified"):
        (hybrid / sub).mkdir(parents=True)
    assert cgroup_facts(hybrid) == (1, False)


def test_binaries_are_found_under_the_host_root_and_reported_as_host_paths(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    runsc = tmp_path / "usr" / "bin" / "runsc"
    runsc.write_text("#!/bin/sh\n")
    runsc.chmod(0o755)
    found = find_binaries(RuntimeBackend.GVISOR, tmp_path, ["/usr/local/bin", "/usr/bin"])
    assert found == {"runsc": "/usr/bin/runsc", "containerd-shim-runsc-v1": ""}


def test_handler_confirmation_source() -> None:
    old = RuntimeStatus("containerd", "1.6.20", [], ["runc", "tenantry-gvisor"])
    assert old.knows("tenantry-gvisor") == (True, "verbose status config")
    new = RuntimeStatus("containerd", "2.1.0", ["runc"], ["runc", "tenantry-gvisor"])
    # Where the runtime fills runtime_handlers, that list is the truth.
    assert new.knows("tenantry-gvisor") == (False, "runtime_handlers")


def test_io_limit_lines() -> None:
    limits = IoLimits(weight=50, read_bps=1048576, write_iops=100)
    assert iolimits.io_weight(limits) == "default 50"
    assert iolimits.io_max("8:0", limits) == "8:0 rbps=1048576 wiops=100"
    assert iolimits.io_max("8:0", IoLimits()) is None


def test_io_limits_unsupported_on_cgroup_v1_with_a_reason() -> None:
    support = iolimits.support(1, False)
    assert not support.ok
    assert support.reason == "CgroupV1"
    assert "io controller" in support.message


@pytest.mark.parametrize(
    "layout",
    [
        "kubepods/burstable/pod{uid}",
        "kubepods/pod{uid}",
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{suid}.slice",
    ],
)
def test_pod_cgroups_are_found_for_both_cgroup_drivers(tmp_path: Path, layout: str) -> None:
    uid = "0b9c-11aa"
    pod = tmp_path / layout.format(uid=uid, suid=uid.replace("-", "_"))
    pod.mkdir(parents=True)
    assert iolimits.pod_cgroups(tmp_path, uid) == [pod]
    written = iolimits.apply(pod, IoLimits(weight=10, write_bps=5), ["8:0"])
    assert (pod / "io.weight").read_text() == "default 10"
    assert (pod / "io.max").read_text() == "8:0 wbps=5"
    assert len(written) == 2


def test_conditions_are_strategic_merge_entries() -> None:
    patch = node_status.condition(keys.CONDITION_IO_LIMITS, False, "CgroupV1", "why")
    (entry,) = patch["status"]["conditions"]
    assert entry["type"] == "TenantryIOLimits"
    assert entry["status"] == "False"
