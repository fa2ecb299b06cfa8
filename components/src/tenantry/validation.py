"""Validation of component args on entry.

The args TypedDict of each component is the single definition of its inputs: Pulumi's
analyzer reads it for the schema and docs, pydantic reads the very same class to check shapes
and types, and the component adds the semantic checks (names, quantities, CIDRs, conflicts).
Every failure becomes one TenantryInputError naming the component, the field and the reason,
raised before any resource is registered.
"""

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from tenantry_api.config import check_host_path_root
from tenantry_api.naming import is_dns1123_label

STRICT = ConfigDict(extra="forbid")
"""pydantic config for every args TypedDict: an unknown field is an error, not ignored."""

ArgsT = TypeVar("ArgsT")
SpecT = TypeVar("SpecT")


class TenantryInputError(pulumi.RunError):
    """Bad input to a Tenantry component. Raised before anything is registered."""

    def __init__(self, component: str, resource_name: str, field: str, reason: str) -> None:
        self.component = component
        self.resource_name = resource_name
        self.field = field
        self.reason = reason
        super().__init__(f"{component} '{resource_name}': {field}: {reason}")


class FieldError(ValueError):
    """A semantic check failed on ``field``; turned into a TenantryInputError by ``validate``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(args_type: type) -> TypeAdapter[Any]:
    # Building a TypeAdapter compiles a validator: once per args type is enough.
    if args_type not in _ADAPTERS:
        _ADAPTERS[args_type] = TypeAdapter(args_type)
    return _ADAPTERS[args_type]


def validate(
    component: str,
    resource_name: str,
    args_type: type[ArgsT],
    raw: object,
    resolve: Callable[[ArgsT], SpecT],
) -> SpecT:
    """Check ``raw`` against ``args_type``, then ``resolve`` it (defaults and semantic checks)
    into the spec the component renders. The first problem is raised as TenantryInputError."""
    try:
        args: ArgsT = _adapter(args_type).validate_python({} if raw is None else raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "args"
        raise TenantryInputError(component, resource_name, field, first["msg"]) from None
    try:
        return resolve(args)
    except FieldError as e:
        raise TenantryInputError(component, resource_name, e.field, e.reason) from None


ModelT = TypeVar("ModelT", bound=BaseModel)


def api_model(field: str, model_type: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    """``data`` as one of tenantry_api's models, which validate it once for every reader; the
    first problem becomes a FieldError under ``field`` (``sleep.awake_days[0]``)."""
    try:
        return model_type.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = field
        for part in first["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f".{part}"
        raise FieldError(where, first["msg"].removeprefix("Value error, ")) from None


# --- semantic checks, each raising FieldError(field, reason) ---


def dns_label(field: str, value: str) -> str:
    if not is_dns1123_label(value):
        raise FieldError(
            field,
            f"{value!r} is not a valid RFC 1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)",
        )
    return value


def host_path_root(field: str, value: str) -> str:
    try:
        return check_host_path_root(value)
    except ValueError as e:
        raise FieldError(field, str(e)) from None


_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def label_key(field: str, key: str) -> str:
    """A Kubernetes label or annotation key: optional DNS-subdomain prefix, then a name."""
    prefix, _, name = key.rpartition("/")
    if (prefix and not is_hostname(prefix)) or (
        len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name)
    ):
        raise FieldError(field, f"{key!r} is not a valid label key")
    return key


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def labels(field: str, values: Mapping[str, str]) -> Mapping[str, str]:
    for key, value in values.items():
        label_key(f"{field}.{key}", key)
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            raise FieldError(f"{field}.{key}", f"{value!r} is not a valid label value")
    return values


_QUANTITY = re.compile(
    r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def quantity(field: str, value: str) -> Decimal:
    """Parse a Kubernetes resource quantity (``100m``, ``512Mi``, ``1e3``) to its value."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise FieldError(
            field, f"{value!r} is not a valid Kubernetes quantity (e.g. 500m, 2, 512Mi)"
        )
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern only lets valid decimals through
        raise FieldError(field, f"{value!r} is not a valid Kubernetes quantity") from None
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return number.scaleb(int(suffix[1:]))
    return number.scaleb(_DECIMAL[suffix])


def quantities(field: str, values: Mapping[str, str]) -> dict[str, Decimal]:
    return {key: quantity(f"{field}.{key}", value) for key, value in values.items()}


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def is_hostname(value: str) -> bool:
    """An RFC 1123 subdomain: what Kubernetes accepts as a host name or label-key prefix."""
    return _HOSTNAME.fullmatch(value) is not None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def cidr(field: str, value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as e:
        raise FieldError(field, f"{value!r} is not a valid CIDR: {e}") from None


def cidrs(field: str, values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [cidr(f"{field}[{i}]", value) for i, value in enumerate(values)]
