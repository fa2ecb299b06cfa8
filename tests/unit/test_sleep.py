"""Sleep: what the component renders, and the sleeper's awake hours."""

import datetime as dt

import pytest
from tenantry import ExposureType
from tenantry_api import keys
from tenantry_api.config import (
    SLEEPER_CONFIG_KEY,
    SleeperConfig,
    SleepSettings,
    config_hash,
    load,
)
from tenantry_syncer.sleeper import AwakeHours

from tests.unit.test_virtual_cluster import STS, SVC, cluster

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CM = "kubernetes:core/v1:ConfigMap"


def test_without_sleep_there_is_no_sleeper_and_the_service_targets_the_api_server() -> None:
    d = cluster({})
    assert d.of_type(DEPLOYMENT) == []
    assert d.one(STS).inputs["spec"]["replicas"] == 1
    service = d.one(SVC, "acme-service").inputs["spec"]
    assert service["selector"]["app.kubernetes.io/name"] == "tenantry-vcluster"


def test_sleep_puts_the_sleeper_in_front_of_the_api_server() -> None:
    d = cluster(
        {
            "sleep": {
                "after_minutes": 15,
                "awake_hours": "08:00-18:00",
                "awake_days": ["Mon", "Fri"],
                "time_zone": "Europe/Berlin",
            },
            "exposure": {"type": ExposureType.LOAD_BALANCER},
        }
    )
    # The sleeper owns the replica count.
    assert "replicas" not in d.one(STS).inputs["spec"]
    service = d.one(SVC, "acme-service").inputs["spec"]
    assert service["type"] == "LoadBalancer"
    assert service["selector"]["app.kubernetes.io/name"] == "tenantry-sleeper"
    assert service["ports"][0]["targetPort"] == 6443
    headless = d.one(SVC, "acme-service-headless").inputs["spec"]
    assert headless["selector"]["app.kubernetes.io/name"] == "tenantry-vcluster"
    pod = d.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["tenantry-syncer", "sleep"]
    assert container["args"][:2] == ["--config", f"/etc/tenantry/{SLEEPER_CONFIG_KEY}"]
    assert "--upstream=acme-headless.acme.svc:6443" in container["args"]
    # The settings travel in the sleeper's document, which its pod template hashes.
    document = load(SleeperConfig, d.one(CM).inputs["data"][SLEEPER_CONFIG_KEY])
    assert document.sleep == SleepSettings(
        idle_seconds=900,
        awake_hours="08:00-18:00",
        awake_days=["Mon", "Fri"],
        time_zone="Europe/Berlin",
    )
    template = d.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]
    assert template["annotations"] == {keys.CONFIG_HASH: config_hash(document.to_json())}
    rules = d.one(ROLE, "acme-sleeper-role").inputs["rules"]
    assert rules[0] == {
        "apiGroups": ["apps"],
        "resources": ["statefulsets"],
        "resourceNames": ["acme"],
        "verbs": ["get", "patch"],
    }


BERLIN = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("hours", "days", "when", "awake"),
    [
        ("08:00-18:00", "", dt.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN), True),
        ("08:00-18:00", "", dt.datetime(2026, 11, 30, 18, 0, tzinfo=BERLIN), False),
        ("08:00-18:00", "Sat,Sun", dt.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN), False),
        # Past midnight: Friday 22:00 to Saturday 02:00 belongs to Friday.
        ("22:00-02:00", "Fri", dt.datetime(2026, 12, 5, 1, 0, tzinfo=BERLIN), True),
        ("22:00-02:00", "Fri", dt.datetime(2026, 12, 4, 1, 0, tzinfo=BERLIN), False),
    ],
)
def test_awake_hours(hours: str, days: str, when: dt.datetime, awake: bool) -> None:
    settings = SleepSettings.model_validate(
        {
            "idle_seconds": 60,
            "awake_hours": hours,
            "awake_days": days.split(",") if days else [],
            "time_zone": "Europe/Berlin",
        }
    )
    found = AwakeHours.of(settings)
    assert found is not None
    assert found.contains(when) is awake


def test_no_awake_hours_means_none() -> None:
    assert AwakeHours.of(SleepSettings(idle_seconds=60)) is None
