"""Run one of examples/ under Pulumi mocks and print what it registered, as JSON.

    examples/.venv/bin/python -m tests.support.examples NAME [KEY=VALUE ...]

NAME is a folder of examples/, or ``quickstart`` for the quickstart at the repository's root.

It runs in the examples' own virtualenv (the cloud SDKs and boto3 live there, see
examples/pyproject.toml), with the same recording monitor as the unit tests
(tests/support/mocks.py). The clouds answer with fixed values: each cluster resource returns a
kubeconfig naming the cluster, so a test can follow it into the kubernetes Provider, and boto3's
STS client is stubbed (no credentials, no network). Config comes from the project's
Pulumi.yaml defaults, then Pulumi.dev.yaml, then the KEY=VALUE arguments.
"""

import base64
import dataclasses
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml

from tests.support.mocks import _Mocks, deploy, deploy_failing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACCOUNT = "123456789012"
GKE_ENDPOINT = "203.0.113.10"


def mock_kubeconfig(cluster: str) -> str:
    """The kubeconfig a mocked cloud returns for ``cluster``."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster: {{server: 'https://{cluster}.example'}}\n"
    )


class CloudMocks(_Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "eks:index:Cluster":
            state["kubeconfigJson"] = mock_kubeconfig(f"eks-{args.name}")
        elif args.typ == "gcp:container/cluster:Cluster":
            state["name"] = args.inputs.get("name", args.name)
            state["endpoint"] = GKE_ENDPOINT
            state["masterAuth"] = {"clusterCaCertificate": "bW9jay1jYQ=="}
        elif args.typ.startswith("azure-native:"):
            # Azure names default to the Pulumi name (plus a suffix, in reality).
            state["name"] = args.inputs.get("resourceName") or args.inputs.get(
                "resourceGroupName", args.name
            )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            encoded = base64.b64encode(mock_kubeconfig(f"aks-{args.args['resourceName']}").encode())
            return {"kubeconfigs": [{"name": "clusterUser", "value": encoded.decode()}]}, []
        return super().call(args)


def stub_boto3() -> None:
    """boto3.client returns real clients whose calls are answered by botocore's Stubber."""
    import boto3  # noqa: PLC0415 - only the examples' virtualenv has it
    from botocore.stub import Stubber  # noqa: PLC0415

    real: Any = boto3.client

    def client(service: str, region_name: str | None = None, **_: Any) -> Any:
        made = real(
            service,
            region_name=region_name or "eu-west-1",
            aws_access_key_id="mock",
            aws_secret_access_key="mock",  # never sent: the Stubber answers
        )
        stubber = Stubber(made)
        if service == "sts":
            identity = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "UserId": "X"}
            stubber.add_response("get_caller_identity", identity)
        stubber.activate()
        return made

    setattr(boto3, "client", client)  # noqa: B010 - replacing a typed, overloaded function


def config(project_dir: Path, overrides: list[str]) -> tuple[str, dict[str, str]]:
    """The project's name and its stack config, as Pulumi hands it to a program."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    name: str = project["name"]
    values: dict[str, Any] = {
        key: spec["value"] for key, spec in project.get("config", {}).items() if "value" in spec
    }
    stack = project_dir / "Pulumi.dev.yaml"
    if stack.is_file():
        values.update(yaml.safe_load(stack.read_text()).get("config", {}))
    for override in overrides:
        key, _, value = override.partition("=")
        values[key if ":" in key else f"{name}:{key}"] = value
    return name, {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


def main(argv: list[str]) -> int:
    example, *overrides = argv
    project_dir = EXAMPLES.parent if example == "quickstart" else EXAMPLES / example
    project, values = config(project_dir, overrides)
    pulumi.runtime.set_all_config(values)
    stub_boto3()
    sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    report: dict[str, Any]
    try:
        deployment = deploy(program, CloudMocks(), project=project)
        report = {"resources": [dataclasses.asdict(r) for r in deployment.resources]}
    except Exception:
        # A failing example is reported with its error and whatever it registered first.
        error, registered = deploy_failing(program, CloudMocks(), project=project)
        report = {
            "error": str(error),
            "error_type": type(error).__name__,
            "resources": [dataclasses.asdict(r) for r in registered],
        }
    sys.stdout.write(json.dumps(report, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
