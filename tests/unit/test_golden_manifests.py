"""Golden files of every registration the quickstart, the examples and a few feature-rich
programs make under mocks: type, name, parent, provider and inputs of each child manifest.

A refactor must leave them byte-identical; a deliberate change of what is rendered is made
with `TENANTRY_UPDATE_GOLDEN=1 uv run pytest tests/unit/test_golden_manifests.py` and its
diff reviewed in the same commit.
"""

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tenantry import (
    ExposureType,
    RuntimeBackend,
    TenantPolicy,
    VirtualCluster,
    VirtualNode,
)
from tenantry_api.config import PodSecurityLevel

from tests.support.example_runs import run
from tests.support.examples import mock_kubeconfig
from tests.support.mocks import deploy

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("TENANTRY_UPDATE_GOLDEN") == "1"

EXAMPLES: dict[str, tuple[str, ...]] = {
    "quickstart": (),
    "eks": (),
    "gke": (),
    "aks": (),
    "bare": (f"kubeconfig={mock_kubeconfig('bare-metal')}",),
    "multi-tenant": (f"kubeconfig={mock_kubeconfig('shared')}",),
}


def every_feature() -> None:
    """One tenant with each optional feature of the three components switched on."""
    sandbox = VirtualNode(
        "kata",
        {
            "backend": RuntimeBackend.KATA,
            "overhead": {"memory": "160Mi"},
            "io_limits": {"weight": 200, "read_bps": 1_000_000, "write_iops": 500},
            "tenant_namespaces": ["full"],
            "agent": {"restart_strategy": "signal", "node_selector": {"pool": "kata"}},
        },
    )
    VirtualCluster(
        "full",
        {
            "store": {"size": "10Gi", "storage_class": "fast"},
            "exposure": {
                "type": ExposureType.INGRESS,
                "host": "full.example.com",
                "ingress_class_name": "nginx",
                "annotations": {"a": "b"},
            },
            "sync": {
                "all_configmaps": True,
                "all_secrets": True,
                "ingresses": True,
                "service_accounts": True,
                "network_policies": True,
                "pod_disruption_budgets": True,
                "priority_classes": True,
                "max_priority": 1000,
                "storage_classes": True,
                "mirror_nodes": True,
            },
            "isolation": sandbox.isolation,
            "sandbox_rewrites": {"host_port": False},
            "policy": {
                "quota": {"hard": {"count/pods": "20"}},
                "network": {"public_egress": True, "ingress_from_namespaces": ["ingress"]},
                "admission": {"require_sandbox": True},
            },
            "snapshots": {
                "bucket": "backups",
                "prefix": "team/a",
                "region": "eu-west-1",
                "endpoint_url": "https://minio.example:9000",
                "credentials": {
                    "secret_name": "s3",
                    "service_account_annotations": {"eks.amazonaws.com/role-arn": "arn:x"},
                },
                "schedule": "*/30 * * * *",
                "retention": 5,
            },
            "restore_from": {
                "uri": "s3://backups/team/a/full/x",
                "overwrite": True,
                "region": "eu-west-1",
                "credentials_secret": "s3",
            },
            "sleep": {
                "after_minutes": 30,
                "awake_hours": "08:00-18:00",
                "awake_days": ["Mon", "Tue"],
                "time_zone": "Europe/Berlin",
            },
        },
    )
    for exposure in (ExposureType.NODE_PORT, ExposureType.LOAD_BALANCER):
        VirtualCluster(f"exposed-{exposure.value.lower()}", {"exposure": {"type": exposure}})
    TenantPolicy(
        "standalone",
        {
            "namespace": "team-b",
            "namespace_labels": {"team": "b"},
            "pod_security": {
                "level": PodSecurityLevel.RESTRICTED,
                "warn": PodSecurityLevel.RESTRICTED,
                "version": "v1.34",
            },
            "limit_range": {"default": {"cpu": "500m"}, "default_request": {"cpu": "100m"}},
            "network": {"egress_cidr": "10.0.0.0/8", "egress_except": ["10.1.0.0/16"]},
            "isolation": sandbox.isolation,
        },
    )
    VirtualNode("sysbox", {"backend": RuntimeBackend.SYSBOX})
    VirtualNode("runc", {"backend": RuntimeBackend.RUNC_HARDENED, "allow_privileged": False})


PROGRAMS: dict[str, Callable[[], None]] = {"every-feature": every_feature}


# An inline Automation API program earlier in the same process (test_examples_up) leaves its
# stack and project in the SDK's per-thread settings, which the mocks' URNs then read.
_URN_PREFIX = re.compile(r"urn:pulumi:[^:\"]*::[^:\"]*::")


def rendered(resources: list[dict[str, Any]]) -> str:
    # Registration order depends on when outputs resolve; the URN names each one uniquely.
    ordered = sorted(resources, key=lambda r: str(r["urn"]).split("::", 2)[-1])
    text = json.dumps(ordered, indent=1, sort_keys=True, default=repr) + "\n"
    return _URN_PREFIX.sub("urn:pulumi:stack::project::", text)


def check(name: str, resources: list[dict[str, Any]]) -> None:
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.write_text(rendered(resources))
    assert path.is_file(), f"{path} is missing: write it with TENANTRY_UPDATE_GOLDEN=1"
    assert rendered(resources) == path.read_text(), (
        f"{name} renders differently from {path}; if that is meant, update it "
        "with TENANTRY_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_render_as_the_golden_files(example: str) -> None:
    done = run(example, *EXAMPLES[example])
    assert done.error is None, done.error
    check(example, done.resources)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_programs_render_as_the_golden_files(program: str) -> None:
    deployment = deploy(PROGRAMS[program])
    check(program, [dataclasses.asdict(r) for r in deployment.resources])


def test_one_changed_input_differs_from_the_golden_file() -> None:
    # The control: the comparison sees a single changed value.
    resources = [dataclasses.asdict(r) for r in deploy(PROGRAMS["every-feature"]).resources]
    assert rendered(resources) == (GOLDEN / "every-feature.json").read_text()
    resources[-1]["inputs"]["changed"] = True
    assert rendered(resources) != (GOLDEN / "every-feature.json").read_text()
