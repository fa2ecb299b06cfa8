"""provider/schema.json is what Pulumi's analyzer infers from the components, and is current."""

import json
from pathlib import Path

from tenantry.provider import schema_text

SCHEMA = Path(__file__).parents[2] / "provider" / "schema.json"


def test_committed_schema_matches_a_fresh_generation() -> None:
    assert SCHEMA.read_text() == schema_text(), (
        "provider/schema.json is stale: run `make schema` and commit the result"
    )


def test_schema_lists_the_three_resources_with_inputs_and_outputs() -> None:
    resources = json.loads(SCHEMA.read_text())["resources"]
    expected = {
        "tenantry:index:TenantPolicy": (
            {
                "namespace",
                "quota",
                "limitRange",
                "network",
                "admission",
                "isolation",
                "podSecurity",
            },
            {"namespace", "quotaName", "admissionPolicyName"},
        ),
        "tenantry:index:VirtualCluster": (
            {
                "namespace",
                "store",
                "exposure",
                "sync",
                "policy",
                "isolation",
                "images",
                "sandboxRewrites",
            },
            {"namespace", "serviceName", "kubeconfigSecretName", "endpoint", "kubeconfig"},
        ),
        "tenantry:index:VirtualNode": (
            {
                "preset",
                "backend",
                "runtimeClassName",
                "overhead",
                "agent",
                "ioLimits",
                "hostPathRoot",
            },
            {
                "runtimeClassName",
                "handler",
                "backend",
                "nodeSelector",
                "allowPrivileged",
                "hostPathRoot",
                "agentDaemonsetName",
            },
        ),
    }
    assert set(resources) == set(expected)
    for token, (inputs, outputs) in expected.items():
        assert resources[token]["isComponent"] is True
        assert inputs <= set(resources[token]["inputProperties"]), token
        assert outputs == set(resources[token]["properties"]), token
