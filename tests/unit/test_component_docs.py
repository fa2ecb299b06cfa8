"""docs/components/*.md carry the input and output tables of provider/schema.json, current."""

import json
from pathlib import Path

import pytest
from tenantry_local import component_docs
from tenantry_local.component_docs import PAGES, SCHEMA, render


@pytest.mark.parametrize("token", sorted(PAGES))
def test_component_page_tables_match_the_schema(token: str) -> None:
    page = PAGES[token].read_text()
    assert page == render(page, token, json.loads(SCHEMA.read_text())), (
        f"{PAGES[token].name} is stale: run `make docs` and commit the result"
    )


def test_every_input_and_output_of_the_schema_is_in_its_page() -> None:
    schema = json.loads(SCHEMA.read_text())
    for token, path in PAGES.items():
        page = path.read_text()
        resource = schema["resources"][token]
        for name in [*resource["inputProperties"], *resource["properties"]]:
            assert f"| `{name}`" in page, f"{name} missing from {path.name}"


def test_a_changed_schema_makes_the_page_stale(tmp_path: Path) -> None:
    schema = json.loads(SCHEMA.read_text())
    token = "tenantry:index:VirtualNode"
    page = PAGES[token].read_text()
    schema["resources"][token]["inputProperties"]["preset"]["description"] = "changed"
    assert render(page, token, schema) != page
    assert "| `preset` / `preset` | [CloudPreset](#cloudpreset) | changed |" in render(
        page, token, schema
    )
    assert component_docs.main(["--check"]) == 0
