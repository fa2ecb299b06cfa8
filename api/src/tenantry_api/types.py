"""Types every package shares."""

from typing import Any

Manifest = dict[str, Any]
"""A Kubernetes object as the API server and the kubernetes client's dicts carry it."""

__all__ = ["Manifest"]
