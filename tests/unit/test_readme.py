"""The README's example is a working program."""

import re
from pathlib import Path

from tests.support.mocks import deploy

README = Path(__file__).parents[2] / "README.md"


def test_readme_example_deploys_under_mocks() -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    d = deploy(lambda: exec(compile(example, "README.md", "exec"), {}))
    types = {r.type for r in d.resources}
    assert {
        "tenantry:index:VirtualNode",
        "tenantry:index:VirtualCluster",
        "tenantry:index:TenantPolicy",
    } <= types
    service = d.one("kubernetes:core/v1:Service", "acme-service")
    assert service.inputs["spec"]["type"] == "LoadBalancer"
