"""The Tenantry plugin: hosts the components for every Pulumi language.

`provider/__main__.py` calls `main()`; `python -m tenantry.provider schema` prints the schema
that Pulumi's own analyzer infers from the components' typed args (committed as
`provider/schema.json`).
"""

import json
import sys

from pulumi.provider.experimental import component_provider_host
from pulumi.provider.experimental.component import ComponentProvider

from tenantry import COMPONENTS
from tenantry._meta import VERSION

PACKAGE = "tenantry"


def schema() -> dict[str, object]:
    """The package schema, exactly as the plugin host serves it."""
    provider = ComponentProvider(list(COMPONENTS), PACKAGE, version=VERSION)
    assert provider.schema is not None  # ComponentProvider always builds one
    return json.loads(provider.schema)  # type: ignore[no-any-return]


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    component_provider_host(list(COMPONENTS), name=PACKAGE, version=VERSION)


if __name__ == "__main__":
    if sys.argv[1:] == ["schema"]:
        sys.stdout.write(schema_text())
    else:
        main()
