"""examples/yaml asks only for what the schema offers: every Tenantry resource's properties are
inputs of its type (recursively, through object types and enums), and the required ones are
there. The real engine previews the program once it can run YAML (see examples/yaml/README.md).
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "provider" / "schema.json").read_text())
PROGRAM = ROOT / "examples" / "yaml" / "Pulumi.yaml"
INTERPOLATION = re.compile(r"^\$\{[^}]+\}$")


def problems(value: Any, spec: dict[str, Any], path: str) -> list[str]:
    """What in ``value`` the schema ``spec`` does not accept."""
    if isinstance(value, str) and INTERPOLATION.match(value):
        return []  # resolved by the engine
    if "$ref" in spec:
        token = spec["$ref"].removeprefix("#/types/")
        return problems(value, SCHEMA["types"][token], path)
    if "enum" in spec:
        allowed = [e["value"] for e in spec["enum"]]
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    kind = spec.get("type")
    if kind == "object" and "properties" in spec:
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        found = [f"{path}.{key}: no such input" for key in value if key not in spec["properties"]]
        found += [f"{path}.{key}: required" for key in spec.get("required", []) if key not in value]
        for key, item in value.items():
            if key in spec["properties"]:
                found += problems(item, spec["properties"][key], f"{path}.{key}")
        return found
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        item_spec = spec.get("additionalProperties", {})
        return [p for k, v in value.items() for p in problems(v, item_spec, f"{path}.{k}")]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, v in enumerate(value) for p in problems(v, spec["items"], f"{path}[{i}]")]
    expected: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if kind in expected and not isinstance(value, expected[kind]):
        return [f"{path}: expected {kind}, got {value!r}"]
    return []


def tenantry_resources() -> dict[str, dict[str, Any]]:
    program = yaml.safe_load(PROGRAM.read_text())
    return {
        name: resource
        for name, resource in program["resources"].items()
        if resource["type"].startswith("tenantry:")
    }


def test_the_program_uses_every_tenantry_component_it_needs() -> None:
    types = {r["type"] for r in tenantry_resources().values()}
    assert types == {"tenantry:VirtualNode", "tenantry:VirtualCluster"}


@pytest.mark.parametrize("name", sorted(tenantry_resources()))
def test_properties_are_inputs_of_the_schema(name: str) -> None:
    resource = tenantry_resources()[name]
    _, _, component = resource["type"].partition(":")
    spec = SCHEMA["resources"][f"tenantry:index:{component}"]
    as_object = {
        "type": "object",
        "properties": spec["inputProperties"],
        "required": spec.get("requiredInputs", []),
    }
    assert problems(resource.get("properties", {}), as_object, name) == []


def test_the_checker_catches_a_misspelt_input() -> None:
    spec = SCHEMA["resources"]["tenantry:index:VirtualCluster"]
    as_object = {"type": "object", "properties": spec["inputProperties"]}
    assert problems({"exposure": {"tpye": "ClusterIP"}}, as_object, "acme") == [
        "acme.exposure.tpye: no such input"
    ]
    assert problems({"exposure": {"type": "Public"}}, as_object, "acme") == [
        "acme.exposure.type: 'Public' is not one of "
        "['ClusterIP', 'LoadBalancer', 'NodePort', 'Ingress']"
    ]
