"""The config documents components write and agents read (api/config)."""

import pytest
from pydantic import ValidationError
from tenantry_api.config import NodeAgentConfig, SyncerConfig, load
from tenantry_api.runtimes import RuntimeBackend

SYNCER = SyncerConfig(
    vcluster="vc1", host_namespace="acme", service_name="vc1", kubeconfig_secret="vc-vc1"
)


def test_documents_round_trip_with_api_version_and_kind() -> None:
    text = SYNCER.to_json()
    assert '"apiVersion": "tenantry.dev/v1alpha1"' in text
    assert '"kind": "SyncerConfig"' in text
    assert load(SyncerConfig, text) == SYNCER


def test_unknown_fields_are_refused_not_ignored() -> None:
    text = SYNCER.to_json().replace('"vcluster"', '"surprise": 1, "vcluster"')
    with pytest.raises(ValidationError, match="surprise"):
        load(SyncerConfig, text)


def test_the_wrong_kind_is_refused() -> None:
    agent = NodeAgentConfig(backend=RuntimeBackend.GVISOR, handler="tenantry-gvisor")
    with pytest.raises(ValidationError, match="kind"):
        load(SyncerConfig, agent.to_json())


def test_agent_handler_must_match_its_backend() -> None:
    with pytest.raises(ValidationError, match="expected 'tenantry-kata'"):
        NodeAgentConfig(backend=RuntimeBackend.KATA, handler="tenantry-gvisor")


def test_names_are_checked() -> None:
    with pytest.raises(ValidationError, match="vcluster"):
        SyncerConfig(
            vcluster="VC", host_namespace="acme", service_name="vc", kubeconfig_secret="vc-vc"
        )
