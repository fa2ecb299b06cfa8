"""The sandbox exemption table: host access is never exempted, and every row says why."""

from pathlib import Path

import pytest
from tenantry_api.runtimes import RuntimeBackend, is_sandboxed
from tenantry_api.sandbox import BASELINE, NEVER_EXEMPT, RESTRICTED, PssCheck, exemptions


def test_the_levels_partition_the_checks() -> None:
    assert set(BASELINE) | set(RESTRICTED) == set(PssCheck)
    assert not set(BASELINE) & set(RESTRICTED)
    assert {PssCheck.HOST_PATH, PssCheck.HOST_NETWORK, PssCheck.HOST_PORT} == NEVER_EXEMPT


@pytest.mark.parametrize("backend", list(RuntimeBackend))
def test_no_backend_exempts_host_access_or_a_restricted_check(backend: RuntimeBackend) -> None:
    table = exemptions(backend)
    assert not table.keys() & NEVER_EXEMPT
    assert not table.keys() & set(RESTRICTED)
    for check, exemption in table.items():
        assert exemption.check is check
        assert exemption.reason
        assert exemption.source


def test_what_each_backend_exempts() -> None:
    # hostPID only where the node tier shows it contained (gVisor); hostIPC nowhere yet.
    assert set(exemptions(RuntimeBackend.GVISOR)) == {
        PssCheck.PRIVILEGED,
        PssCheck.CAPABILITIES,
        PssCheck.HOST_PID,
        PssCheck.SECCOMP,
        PssCheck.APPARMOR,
        PssCheck.PROC_MOUNT,
        PssCheck.SYSCTLS,
    }
    assert set(exemptions(RuntimeBackend.KATA)) == set(exemptions(RuntimeBackend.GVISOR)) - {
        PssCheck.HOST_PID
    }
    assert set(exemptions(RuntimeBackend.SYSBOX)) == {PssCheck.CAPABILITIES}
    assert not exemptions(RuntimeBackend.RUNC_HARDENED)
    assert not is_sandboxed(RuntimeBackend.RUNC_HARDENED)
    assert PssCheck.HOST_PID in exemptions(RuntimeBackend.GVISOR)
    assert (
        "test_the_escape_is_contained"
        in exemptions(RuntimeBackend.GVISOR)[PssCheck.HOST_PID].source
    )


DOC = Path(__file__).parents[2] / "docs" / "admission.md"


def test_the_docs_table_is_the_exemption_table() -> None:
    lines = DOC.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| check | gvisor |"))
    backends = [RuntimeBackend(c.strip()) for c in lines[header].strip("|").split("|")[1:]]
    rows = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        check, *cells = (c.strip() for c in line.strip("|").split("|"))
        rows[PssCheck(check.strip("`"))] = cells
    assert set(rows) == set(BASELINE)
    for check, cells in rows.items():
        for backend, cell in zip(backends, cells, strict=True):
            assert cell.startswith("exempt") == (check in exemptions(backend)), (check, backend)
