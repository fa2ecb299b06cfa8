"""The virtual control plane's PKI, as a pure function of what is already stored.

`ensure` takes the entries of the PKI Secret (PEM bytes by file name) and returns the complete
set: everything still valid is kept byte for byte, leaf certificates that are missing, expiring,
tampered with or issued for other names are re-issued, and a missing CA is an error, never a
silent new CA (that would lock every tenant client out).
"""

import base64
import datetime as dt
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)
"""Leaf certificates are re-issued this long before they expire."""
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clock skew between host nodes

CA = "ca"
FRONT_PROXY_CA = "front-proxy-ca"
SA = "sa"


class PKIError(Exception):
    """The stored PKI cannot be used as it is, and fixing it would lose trust."""


@dataclass(frozen=True)
class Leaf:
    name: str
    issuer: str
    common_name: str
    organization: str | None = None
    server: bool = False


LEAVES = (
    Leaf("apiserver", CA, "kube-apiserver", server=True),
    Leaf("admin", CA, "tenantry-admin", organization="system:masters"),
    Leaf("controller-manager", CA, "system:kube-controller-manager"),
    Leaf("syncer", CA, "tenantry-syncer", organization="system:masters"),
    Leaf("front-proxy-client", FRONT_PROXY_CA, "front-proxy-client"),
)


def server_names(service: str, namespace: str, extra: list[str]) -> list[str]:
    """Every name the virtual API server is reached by: its Service, the in-cluster
    `kubernetes` names tenants' pods use, loopback for its own sidecars, and exposure."""
    names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ]
    return names + [name for name in extra if name not in names]


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _subject(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _new_ca(common_name: str, now: dt.datetime) -> dict[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _subject(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return {"crt": cert.public_bytes(serialization.Encoding.PEM), "key": _pem_key(key)}


def _new_sa_keys() -> dict[str, bytes]:
    # RSA: every Kubernetes version accepts it for service-account token signing.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"key": _pem_key(key), "pub": public}


@dataclass(frozen=True)
class _Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _load_issuer(stored: Mapping[str, bytes], name: str) -> _Issuer:
    try:
        cert = x509.load_pem_x509_certificate(stored[f"{name}.crt"])
        key = serialization.load_pem_private_key(stored[f"{name}.key"], password=None)
    except KeyError as e:
        raise PKIError(
            f"{e.args[0]} is missing from the stored PKI while other entries exist; refusing to "
            "create a new CA, which would invalidate every issued credential. Restore it, or "
            "delete the whole PKI Secret to start over."
        ) from None
    except ValueError as e:
        raise PKIError(f"{name} is unreadable: {e}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise PKIError(f"{name}.key does not belong to {name}.crt")
    return _Issuer(cert, key)


def _leaf_is_current(
    stored: Mapping[str, bytes], leaf: Leaf, issuer: _Issuer, sans: list[str], now: dt.datetime
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(stored[f"{leaf.name}.crt"])
        key = serialization.load_pem_private_key(stored[f"{leaf.name}.key"], password=None)
        cert.verify_directly_issued_by(issuer.cert)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key() != cert.public_key():
        return False
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc - RENEW_BEFORE:
        return False
    if cert.subject != _subject(leaf.common_name, leaf.organization):
        return False
    if leaf.server:
        try:
            present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        return set(present) == {_general_name(n) for n in sans}
    return True


def _issue(leaf: Leaf, issuer: _Issuer, sans: list[str], now: dt.datetime) -> dict[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_subject(leaf.common_name, leaf.organization))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + LEAF_VALIDITY, issuer.cert.not_valid_after_utc))
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.SERVER_AUTH
                    if leaf.server
                    else ExtendedKeyUsageOID.CLIENT_AUTH
                ]
            ),
            critical=False,
        )
    )
    if leaf.server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in sans]), critical=False
        )
    cert = builder.sign(issuer.key, hashes.SHA256())
    return {"crt": cert.public_bytes(serialization.Encoding.PEM), "key": _pem_key(key)}


@dataclass(frozen=True)
class Result:
    entries: dict[str, bytes]
    changed: list[str]
    """Names (without extension) that were created or re-issued."""


def ensure(stored: Mapping[str, bytes], sans: list[str], now: dt.datetime | None = None) -> Result:
    """The complete PKI, re-using every stored entry that is still good."""
    now = now or dt.datetime.now(dt.UTC)
    entries = dict(stored)
    changed: list[str] = []
    if not stored:
        for name, common_name in ((CA, "tenantry-ca"), (FRONT_PROXY_CA, "tenantry-front-proxy-ca")):
            entries.update(
                {f"{name}.{ext}": data for ext, data in _new_ca(common_name, now).items()}
            )
            changed.append(name)
        entries.update({f"{SA}.{ext}": data for ext, data in _new_sa_keys().items()})
        changed.append(SA)
    if f"{SA}.key" not in entries or f"{SA}.pub" not in entries:
        raise PKIError(
            "the service-account key pair is missing from the stored PKI; refusing to create a "
            "new one, which would invalidate every service-account token"
        )
    issuers = {name: _load_issuer(entries, name) for name in (CA, FRONT_PROXY_CA)}
    for leaf in LEAVES:
        issuer = issuers[leaf.issuer]
        if not _leaf_is_current(entries, leaf, issuer, sans, now):
            entries.update(
                {
                    f"{leaf.name}.{ext}": data
                    for ext, data in _issue(leaf, issuer, sans, now).items()
                }
            )
            changed.append(leaf.name)
    return Result(entries=entries, changed=changed)


def kubeconfig(server: str, ca: bytes, cert: bytes, key: bytes, user: str) -> str:
    """A kubeconfig with embedded credentials; deterministic for the same inputs."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "vcluster",
                "cluster": {"server": server, "certificate-authority-data": b64(ca)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
            }
        ],
        "contexts": [{"name": "vcluster", "context": {"cluster": "vcluster", "user": user}}],
        "current-context": "vcluster",
    }
    return json.dumps(config, indent=2) + "\n"
