"""Checks of single settings, shared by the documents in config.py and by the components,
each raising ValueError with a message that says what is wrong."""

import re
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator

_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_ENDPOINT_URL = re.compile(r"^https?://[^/\s]+/?$")

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def check_day(value: str) -> str:
    if value not in DAYS:
        raise ValueError(f"{value!r} is not one of {', '.join(DAYS)}")
    return value


Day = Annotated[str, AfterValidator(check_day)]


def check_awake_hours(value: str) -> str:
    """HH:MM-HH:MM, not empty; an end before the start runs over midnight."""
    if value and (not _HOURS.fullmatch(value) or value[:5] == value[6:]):
        raise ValueError(f"{value!r} is not a range HH:MM-HH:MM")
    return value


def check_time_zone(value: str) -> str:
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"{value!r} is not an IANA time zone") from e
    return value


def check_region(value: str) -> str:
    if value and not _REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not a region name")
    return value


def check_endpoint_url(value: str) -> str:
    """http(s)://host[:port], kept without its trailing slash."""
    if value and not _ENDPOINT_URL.fullmatch(value):
        raise ValueError(f"{value!r} is not http(s)://host[:port]")
    return value.rstrip("/")


def check_bucket(value: str) -> str:
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValueError(f"{value!r} is not an S3 bucket name")
    return value


def check_prefix(value: str) -> str:
    if value != value.strip("/") or "//" in value:
        raise ValueError(f"{value!r} must not start or end with '/'")
    return value


def check_retention(value: int) -> int:
    if value < 1:
        raise ValueError(f"{value} must keep at least one snapshot")
    return value


Region = Annotated[str, AfterValidator(check_region)]
EndpointUrl = Annotated[str, AfterValidator(check_endpoint_url)]


AwakeHours = Annotated[str, AfterValidator(check_awake_hours)]
TimeZone = Annotated[str, AfterValidator(check_time_zone)]
Bucket = Annotated[str, AfterValidator(check_bucket)]
Prefix = Annotated[str, AfterValidator(check_prefix)]
Retention = Annotated[int, AfterValidator(check_retention)]

__all__ = [
    "DAYS",
    "AwakeHours",
    "Bucket",
    "Day",
    "EndpointUrl",
    "Prefix",
    "Region",
    "Retention",
    "TimeZone",
    "check_awake_hours",
    "check_bucket",
    "check_day",
    "check_endpoint_url",
    "check_prefix",
    "check_region",
    "check_retention",
    "check_time_zone",
]
