"""The virtual control plane's PKI (syncer init): idempotent, renewing, never a silent new CA."""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography import x509
from tenantry_api.config import SyncerConfig
from tenantry_syncer import init, pki

SANS = pki.server_names("vc", "acme", ["vc.example.com", "203.0.113.7"])
SERVICE_IP = "10.96.12.34"


class MemorySecrets:
    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, bytes]] = {}
        self.writes = 0

    def read(self, name: str) -> dict[str, bytes] | None:
        return dict(self.secrets[name]) if name in self.secrets else None

    def write(self, name: str, data: Mapping[str, bytes], labels: Mapping[str, str]) -> None:
        self.secrets[name] = dict(data)
        self.writes += 1


CONFIG = SyncerConfig(
    vcluster="vc",
    host_namespace="acme",
    service_name="vc",
    kubeconfig_secret="vc-vc",
    extra_sans=["vc.example.com"],
)


def cert(entries: Mapping[str, bytes], name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(entries[f"{name}.crt"])


def test_first_run_creates_everything() -> None:
    result = pki.ensure({}, SANS)
    assert set(result.changed) == {"ca", "front-proxy-ca", "sa"} | {
        leaf.name for leaf in pki.LEAVES
    }
    apiserver = cert(result.entries, "apiserver")
    names = apiserver.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "vc.acme.svc" in names.get_values_for_type(x509.DNSName)
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)
    assert "vc.example.com" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "203.0.113.7",
    }
    apiserver.verify_directly_issued_by(cert(result.entries, "ca"))
    cert(result.entries, "front-proxy-client").verify_directly_issued_by(
        cert(result.entries, "front-proxy-ca")
    )


def test_second_run_changes_no_bytes() -> None:
    first = pki.ensure({}, SANS)
    second = pki.ensure(first.entries, SANS)
    assert second.changed == []
    assert second.entries == first.entries


def test_a_tampered_leaf_is_reissued_and_the_rest_kept() -> None:
    first = pki.ensure({}, SANS).entries
    tampered = dict(first)
    tampered["admin.crt"] = first["syncer.crt"]  # a valid cert, but not admin's key or subject
    result = pki.ensure(tampered, SANS)
    assert result.changed == ["admin"]
    assert result.entries["ca.crt"] == first["ca.crt"]
    assert result.entries["apiserver.crt"] == first["apiserver.crt"]
    garbage = dict(
        first,
        **{"apiserver.crt": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
    )
    assert pki.ensure(garbage, SANS).changed == ["apiserver"]


def test_a_leaf_close_to_expiry_is_renewed_but_the_ca_is_kept() -> None:
    first = pki.ensure({}, SANS).entries
    later = dt.datetime.now(dt.UTC) + pki.LEAF_VALIDITY - pki.RENEW_BEFORE + dt.timedelta(days=1)
    result = pki.ensure(first, SANS, now=later)
    assert set(result.changed) == {leaf.name for leaf in pki.LEAVES}
    assert result.entries["ca.crt"] == first["ca.crt"]
    assert result.entries["sa.key"] == first["sa.key"]
    assert cert(result.entries, "admin").not_valid_after_utc > later + pki.RENEW_BEFORE


def test_new_exposure_names_reissue_only_the_serving_cert() -> None:
    first = pki.ensure({}, SANS).entries
    result = pki.ensure(first, [*SANS, "new.example.com"])
    assert result.changed == ["apiserver"]


@pytest.mark.parametrize("missing", ["ca.crt", "ca.key", "front-proxy-ca.key", "sa.key"])
def test_a_missing_ca_or_sa_key_is_an_error_not_a_new_one(missing: str) -> None:
    stored = dict(pki.ensure({}, SANS).entries)
    del stored[missing]
    with pytest.raises(pki.PKIError, match="refusing to create a new"):
        pki.ensure(stored, SANS)


def test_init_is_idempotent_on_secrets_and_files(tmp_path: Path) -> None:
    secrets = MemorySecrets()
    first = init.run(CONFIG, tmp_path / "pki", secrets, [SERVICE_IP])
    assert first.pki_secret_written
    assert first.kubeconfig_secret_written
    assert "controller-manager.conf" in first.files_written
    snapshot = {p.name: p.read_bytes() for p in (tmp_path / "pki").iterdir()}
    writes = secrets.writes

    second = init.run(CONFIG, tmp_path / "pki", secrets, [SERVICE_IP])
    assert second == init.Outcome([], False, False, [])
    assert secrets.writes == writes
    assert {p.name: p.read_bytes() for p in (tmp_path / "pki").iterdir()} == snapshot


def test_tenant_kubeconfig_secret_points_at_the_endpoint(tmp_path: Path) -> None:
    secrets = MemorySecrets()
    init.run(CONFIG, tmp_path, secrets, [SERVICE_IP])
    tenant = secrets.secrets["vc-vc"]
    assert set(tenant) == {"config", "certificate-authority", "client-certificate", "client-key"}
    assert b'"server": "https://vc.example.com"' not in tenant["config"]  # endpoint not set
    assert b'"server": "https://vc.acme.svc:443"' in tenant["config"]
    assert tenant["certificate-authority"] == secrets.secrets["vc-pki-vc"]["ca.crt"]


def ip_sans(entries: Mapping[str, bytes]) -> set[str]:
    names = cert(entries, "apiserver").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    return {str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)}


def test_the_serving_certificate_names_the_service_cluster_ip(tmp_path: Path) -> None:
    # Synced pods reach the virtual API at this IP (KUBERNETES_SERVICE_HOST) and verify it.
    secrets = MemorySecrets()
    init.run(CONFIG, tmp_path, secrets, [SERVICE_IP])
    assert ip_sans(secrets.secrets["vc-pki-vc"]) == {"127.0.0.1", SERVICE_IP}
    # A re-created Service has a new ClusterIP: only the serving certificate is re-issued.
    again = init.run(CONFIG, tmp_path, secrets, ["10.96.0.99"])
    assert again.pki_changed == ["apiserver"]
    assert ip_sans(secrets.secrets["vc-pki-vc"]) == {"127.0.0.1", "10.96.0.99"}
