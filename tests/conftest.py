"""Run-wide test settings.

`make test` runs the suite on two pytest-xdist workers (`--dist loadgroup`). Each test module
is one group, so a module's fixtures are made once, on one worker; the end-to-end tier is one
group of its own, because its files share one tenant and run in order.
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.partition("::")[0]
        group = "e2e" if path.startswith("tests/e2e/") else path
        item.add_marker(pytest.mark.xdist_group(group))
