"""The tenant's ResourceQuota and LimitRange: vcluster isolated mode's numbers, merged with
the tenant's own and checked."""

from tenantry import validation
from tenantry.tenant_policy.args import TenantPolicyArgs
from tenantry.validation import FieldError

DEFAULT_QUOTA: dict[str, str] = {
    "requests.cpu": "10",
    "requests.memory": "20Gi",
    "requests.storage": "100Gi",
    "requests.ephemeral-storage": "60Gi",
    "limits.cpu": "20",
    "limits.memory": "40Gi",
    "limits.ephemeral-storage": "160Gi",
    "services.nodeports": "0",
    "services.loadbalancers": "1",
    "count/endpoints": "40",
    "count/pods": "20",
    "count/services": "20",
    "count/secrets": "100",
    "count/configmaps": "100",
    "count/persistentvolumeclaims": "20",
}
"""vcluster isolated mode's ResourceQuota."""

DEFAULT_LIMITS: dict[str, str] = {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"}
DEFAULT_REQUESTS: dict[str, str] = {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "3Gi"}
"""vcluster isolated mode's LimitRange defaults for containers."""


def resolve_quota(args: TenantPolicyArgs, prefix: str) -> dict[str, str] | None:
    """The ResourceQuota's hard limits, or None when it is disabled."""
    quota_args = args.get("quota", {})
    if not quota_args.get("enabled", True):
        return None
    quota = {**DEFAULT_QUOTA, **quota_args.get("hard", {})}
    validation.quantities(f"{prefix}quota.hard", quota)
    return quota


def resolve_limits(
    args: TenantPolicyArgs, prefix: str
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """(default limits, default requests) of the LimitRange, both None when it is disabled."""
    lr_args = args.get("limit_range", {})
    if not lr_args.get("enabled", True):
        return None, None
    limits = {**DEFAULT_LIMITS, **lr_args.get("default", {})}
    requests = {**DEFAULT_REQUESTS, **lr_args.get("default_request", {})}
    parsed_limits = validation.quantities(f"{prefix}limit_range.default", limits)
    parsed_requests = validation.quantities(f"{prefix}limit_range.default_request", requests)
    for resource, request in parsed_requests.items():
        limit = parsed_limits.get(resource)
        if limit is not None and request > limit:
            raise FieldError(
                f"{prefix}limit_range.default_request.{resource}",
                f"{requests[resource]} is above the default limit {limits[resource]}",
            )
    return limits, requests
