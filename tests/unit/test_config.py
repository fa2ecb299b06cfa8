"""The config documents components write and agents read (api/config)."""

import pytest
from pydantic import ValidationError
from tenantry_api.config import (
    NodeAgentConfig,
    SleeperConfig,
    SleepSettings,
    SnapshotConfig,
    SnapshotSettings,
    SyncerConfig,
    config_hash,
    load,
)
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


SLEEPER = SleeperConfig(
    vcluster="vc1",
    host_namespace="acme",
    sleep=SleepSettings(idle_seconds=1800, awake_hours="08:00-18:00", awake_days=["Mon"]),
)
SNAPSHOTS = SnapshotConfig(
    vcluster="vc1", host_namespace="acme", snapshots=SnapshotSettings(bucket="backups")
)


def test_sleep_and_snapshot_documents_round_trip_with_their_defaults() -> None:
    assert load(SleeperConfig, SLEEPER.to_json()) == SLEEPER
    assert load(SnapshotConfig, SNAPSHOTS.to_json()) == SNAPSHOTS
    assert SNAPSHOTS.pki_secret == SYNCER.pki_secret == "vc-pki-vc1"
    assert (SNAPSHOTS.snapshots.prefix, SNAPSHOTS.snapshots.retention) == ("tenantry", 7)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"idle_seconds": 0}, "idle_seconds"),
        ({"idle_seconds": 60, "awake_hours": "8-18"}, "awake_hours"),
        ({"idle_seconds": 60, "awake_hours": "08:00-08:00"}, "awake_hours"),
        ({"idle_seconds": 60, "awake_hours": "08:00-18:00", "awake_days": ["Mo"]}, "awake_days"),
        ({"idle_seconds": 60, "awake_days": ["Mon"]}, "needs awake_hours"),
        ({"idle_seconds": 60, "awake_hours": "08:00-18:00", "time_zone": "Mars/Base"}, "time_zone"),
    ],
)
def test_bad_sleep_settings_name_their_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SleepSettings.model_validate(settings)
    # The control: the same document without the bad field is accepted.
    SleepSettings.model_validate({"idle_seconds": 60})


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"bucket": "Backups"}, "bucket"),
        ({"bucket": "a..b"}, "bucket"),
        ({"bucket": "backups", "prefix": "/team"}, "prefix"),
        ({"bucket": "backups", "retention": 0}, "retention"),
        ({"bucket": "backups", "region": "EU West"}, "region"),
        ({"bucket": "backups", "endpoint_url": "minio:9000"}, "endpoint_url"),
    ],
)
def test_bad_snapshot_settings_name_their_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SnapshotSettings.model_validate(settings)
    assert SnapshotSettings.model_validate({"bucket": "backups"}).bucket == "backups"


def test_an_endpoint_url_keeps_no_trailing_slash() -> None:
    url = SnapshotSettings(bucket="b-1", endpoint_url="https://minio:9000/").endpoint_url
    assert url == "https://minio:9000"


def test_the_config_hash_changes_with_any_document_it_covers() -> None:
    base = config_hash(SYNCER.to_json())
    assert base == config_hash(SYNCER.to_json())
    changed = SYNCER.model_copy(update={"coredns_image": "coredns:1"})
    assert config_hash(changed.to_json()) != base
    assert config_hash(SYNCER.to_json(), SLEEPER.to_json()) != base
