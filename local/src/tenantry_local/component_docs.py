"""The input and output tables of docs/components/*.md, generated from provider/schema.json.

    uv run python -m tenantry_local.component_docs          rewrite the generated sections
    uv run python -m tenantry_local.component_docs --check  exit 1 when a page is stale

Each page keeps its own prose; only the text between `<!-- generated from the schema -->` and
`<!-- end of generated -->` is written here. tests/unit/test_component_docs.py fails when a
page drifts from the schema (`make docs` regenerates).
"""

import json
import re
import sys
from typing import Any

from tenantry_local.testbin import REPO

SCHEMA = REPO / "provider" / "schema.json"
PAGES = {
    "tenantry:index:TenantPolicy": REPO / "docs" / "components" / "tenant-policy.md",
    "tenantry:index:VirtualCluster": REPO / "docs" / "components" / "virtual-cluster.md",
    "tenantry:index:VirtualNode": REPO / "docs" / "components" / "virtual-node.md",
}
BEGIN = "<!-- generated from the schema: `make docs` -->"
END = "<!-- end of generated -->"
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


def text(description: str | None) -> str:
    """One table cell: whitespace collapsed, pipes escaped."""
    return " ".join((description or "").split()).replace("|", "\\|")


def short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def type_of(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = short(spec["$ref"])
        return f"[{name}](#{name.lower()})"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {type_of(spec['items'])}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {type_of(spec['additionalProperties'])}"
    return str(kind)


def referenced(spec: dict[str, Any], types: dict[str, Any], seen: list[str]) -> None:
    """Every type ``spec`` mentions, depth first, each once, in order of first mention."""
    if "$ref" in spec:
        token = spec["$ref"].removeprefix("#/types/")
        if token not in seen:
            seen.append(token)
            for prop in types[token].get("properties", {}).values():
                referenced(prop, types, seen)
    for key in ("items", "additionalProperties"):
        if key in spec:
            referenced(spec[key], types, seen)


def describe(spec: dict[str, Any], types: dict[str, Any]) -> str:
    """A property's description, else that of the type it refers to."""
    if spec.get("description"):
        return text(spec["description"])
    if "$ref" in spec:
        return text(types[spec["$ref"].removeprefix("#/types/")].get("description"))
    return ""


def property_table(props: dict[str, Any], required: list[str], types: dict[str, Any]) -> list[str]:
    rows = [
        "| name (YAML, TypeScript, Go, .NET / Python) | type | description |",
        "| --- | --- | --- |",
    ]
    for name in sorted(props):
        spec = props[name]
        mark = " **(required)**" if name in required else ""
        rows.append(
            f"| `{name}` / `{snake(name)}` | {type_of(spec)} | {describe(spec, types)}{mark} |"
        )
    return rows


def generated(token: str, schema: dict[str, Any]) -> str:
    resource = schema["resources"][token]
    types = schema["types"]
    lines = [BEGIN, "", f"Type token `{token}`.", "", "### Inputs", ""]
    lines += property_table(resource["inputProperties"], resource.get("requiredInputs", []), types)
    lines += ["", "### Outputs", "", "| name | type | description |", "| --- | --- | --- |"]
    for name in sorted(resource["properties"]):
        spec = resource["properties"][name]
        lines.append(f"| `{name}` | {type_of(spec)} | {text(spec.get('description'))} |")
    seen: list[str] = []
    for spec in resource["inputProperties"].values():
        referenced(spec, types, seen)
    if seen:
        lines += ["", "### Input types"]
    for type_token in seen:
        spec = types[type_token]
        lines += ["", f"#### {short(type_token)}", ""]
        if spec.get("description"):
            lines += [text(spec["description"]), ""]
        if "enum" in spec:
            lines += ["| value | description |", "| --- | --- |"]
            lines += [f"| `{e['value']}` | {text(e.get('description'))} |" for e in spec["enum"]]
        else:
            lines += property_table(spec.get("properties", {}), spec.get("required", []), types)
    lines += ["", END]
    return "\n".join(lines)


def render(page: str, token: str, schema: dict[str, Any]) -> str:
    """``page`` with its generated section replaced (appended when it has none)."""
    section = generated(token, schema)
    if BEGIN in page and END in page:
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + section + tail
    return page.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str]) -> int:
    schema = json.loads(SCHEMA.read_text())
    stale = []
    for token, path in PAGES.items():
        current = path.read_text()
        fresh = render(current, token, schema)
        if fresh != current:
            stale.append(str(path.relative_to(REPO)))
            if "--check" not in argv:
                path.write_text(fresh)
    if stale and "--check" in argv:
        sys.stderr.write(f"stale, run `make docs`: {', '.join(stale)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
