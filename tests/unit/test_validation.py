"""The semantic checks behind every component's args."""

from decimal import Decimal

import pytest
from tenantry.validation import FieldError, cidr, label_key, quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Decimal(1)),
        ("100m", Decimal("0.1")),
        ("512Mi", Decimal(512 * 2**20)),
        ("20Gi", Decimal(20 * 2**30)),
        ("1.5", Decimal("1.5")),
        ("2k", Decimal(2000)),
        ("1e3", Decimal(1000)),
        ("0", Decimal(0)),
        ("250u", Decimal("0.000250")),
    ],
)
def test_quantities_parse_like_kubernetes(text: str, value: Decimal) -> None:
    assert quantity("f", text) == value


@pytest.mark.parametrize("text", ["", "ten", "512MB", "1 Gi", "Mi", "--1", "1.2.3", "1Ki2"])
def test_malformed_quantities_are_refused(text: str) -> None:
    with pytest.raises(FieldError) as e:
        quantity("quota.hard.x", text)
    assert e.value.field == "quota.hard.x"


@pytest.mark.parametrize("text", ["10.0.0.0/8", "fd00::/8", "0.0.0.0/0"])
def test_valid_cidrs(text: str) -> None:
    assert str(cidr("f", text)) == text


@pytest.mark.parametrize("text", ["10.0.0.0/33", "10.0.0.1/8", "banana", ""])
def test_invalid_cidrs(text: str) -> None:
    with pytest.raises(FieldError):
        cidr("f", text)


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "tenantry.dev/tenant", "a_b.c-d"])
def test_valid_label_keys(key: str) -> None:
    assert label_key("f", key) == key


@pytest.mark.parametrize("key", ["", "-a", "a/", "Bad_Prefix/x", "x" * 64, "a/b/c"])
def test_invalid_label_keys(key: str) -> None:
    with pytest.raises(FieldError):
        label_key("f", key)
