"""How `make test` splits the suite over xdist workers (tests/conftest.py)."""

from tests.conftest import work_unit


def test_a_module_is_one_unit_and_the_e2e_tier_is_one_for_all_its_files() -> None:
    a = "tests/integration/test_syncer_optional_kinds.py::test_a_pod_runs"
    b = "tests/integration/test_syncer_optional_kinds.py::test_orphans[x-y]"
    assert work_unit(a) == work_unit(b) == "tests/integration/test_syncer_optional_kinds.py"
    assert work_unit("tests/integration/test_leader.py::test_one") != work_unit(a)
    e2e = {work_unit(f"tests/e2e/test_{n}.py::test_x") for n in ("1_workloads", "3_lifecycle")}
    assert e2e == {"tests/e2e"}
