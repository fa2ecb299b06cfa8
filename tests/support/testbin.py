"""What a test does when something it needs is not built or installed."""

import os
from typing import NoReturn

import pytest
from tenantry_local.testbin import MissingBinaryError, binary


def unavailable(reason: str) -> NoReturn:
    """Fail when CI=true, whose machine must have everything; skip with ``reason`` elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require(*names: str) -> None:
    """Each of ``names`` is built in .testbin/, or the test is `unavailable`."""
    try:
        for name in names:
            binary(name)
    except MissingBinaryError as e:
        unavailable(str(e))
