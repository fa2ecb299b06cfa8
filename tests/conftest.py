"""Run-wide test settings.

`make test` can run the suite on pytest-xdist workers (TEST_WORKERS). Each test module is one
unit of work, so a module's fixtures are made once, on one worker, and its tests run in order;
the end-to-end tier is one unit of its own, because its files share one tenant and run in order.

That is xdist's own scheduler for `--dist loadscope`, with the scope below. Its `loadgroup`
(markers) cannot do it: xdist 3.8.0 renames items through `_nodeid`, which pytest 9 no longer
reads, so the groups were silently ignored and modules spread over the workers.
"""

import pytest
from xdist.scheduler import LoadScopeScheduling


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, or the whole end-to-end tier."""
    path = nodeid.partition("::")[0]
    return "tests/e2e" if path.startswith("tests/e2e/") else path


class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ModuleScheduling:
    return ModuleScheduling(config, log)


FIGURE = "figure"
"""A test's measured figure (``record_property(FIGURE, text)``), printed in the run's summary:
workers' output is not shown, but their reports' properties reach the controller."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.stats
    reports = [r for outcome in ("passed", "failed") for r in stats.get(outcome, [])]
    figures = [
        (r.nodeid, value) for r in reports for key, value in r.user_properties if key == FIGURE
    ]
    if figures:
        terminalreporter.section("figures")
        for nodeid, value in figures:
            terminalreporter.line(f"{nodeid}: {value}")
