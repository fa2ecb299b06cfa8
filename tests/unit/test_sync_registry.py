"""The registry is the one list of synced kinds: `sync.py` names none, and each kind switch
turns on exactly one registration."""

import re
from pathlib import Path

import pytest
from tenantry_api.config import SyncerConfig
from tenantry_syncer import sync
from tenantry_syncer.registry import REGISTRY

KIND_WORDS = re.compile(
    r"(?<!threading\.)\b(Pods?|Secrets?|ConfigMaps?|Services?|Endpoints|EndpointSlices?"
    r"|Ingress(es)?|Nodes?|Events?|CoreDNS|StorageClass(es)?|Namespaces?|PriorityClass(es)?|ServiceAccounts?"
    r"|NetworkPolic(y|ies)|PodDisruptionBudgets?|PersistentVolumeClaims?)\b"
)
BASE = {"vcluster": "vc", "host_namespace": "ns", "service_name": "vc", "kubeconfig_secret": "k"}


def enabled(**config: object) -> int:
    parsed = SyncerConfig.model_validate({**BASE, **config})
    return sum(r.enabled(parsed) for r in REGISTRY)


def test_sync_names_no_kind() -> None:
    source = Path(sync.__file__).read_text()
    assert [m.group(0) for m in KIND_WORDS.finditer(source)] == []
    # Nor imports one: the kinds' modules reach it through the registry only.
    imported = re.findall(r"from tenantry_syncer\.(\S+) import", source)
    assert {m for m in imported if m.startswith(("resources", "syncers"))} <= {"syncers.base"}


@pytest.mark.parametrize(
    "switch",
    [
        {"from_virtual": {"ingresses": True}},
        {"from_virtual": {"service_accounts": True}},
        {"from_virtual": {"network_policies": True}},
        {"from_virtual": {"pod_disruption_budgets": True}},
        {"from_virtual": {"priority_classes": True}},
        {"from_host": {"storage_classes": True}},
        {"coredns_image": "coredns:1.11"},
    ],
    ids=str,
)
def test_each_switch_turns_on_one_kind(switch: dict[str, object]) -> None:
    assert enabled(**switch) == enabled() + 1
