"""A VirtualNode's isolation as the syncer enforces it, and the host access it rewrites for
pods under that sandbox."""

from tenantry_api.config import DEFAULT_HOST_PATH_ROOT
from tenantry_api.config import Isolation as SyncerIsolation
from tenantry_api.config import SandboxRewrites as SyncerSandboxRewrites

from tenantry import validation
from tenantry.common import Isolation, check_tolerations
from tenantry.tenant_policy import TenantPolicySpec
from tenantry.validation import FieldError
from tenantry.virtual_cluster.args import SandboxRewrites


def resolve_isolation(args: Isolation | None) -> SyncerIsolation | None:
    if args is None:
        return None
    validation.dns_label("isolation.runtime_class_name", args["runtime_class_name"])
    return SyncerIsolation(
        runtime_class_name=args["runtime_class_name"],
        backend=args.get("backend"),
        host_path_root=validation.host_path_root(
            "isolation.host_path_root", args.get("host_path_root", DEFAULT_HOST_PATH_ROOT)
        ),
        node_selector=validation.labels("isolation.node_selector", args.get("node_selector", {})),
        tolerations=check_tolerations("isolation.tolerations", args.get("tolerations", [])),
    )


def resolve_sandbox_rewrites(
    args: SandboxRewrites, policy: TenantPolicySpec | None
) -> SyncerSandboxRewrites:
    # The policy's admission refuses every hostPath on the host, the tenant's too: rewriting
    # one would only trade the syncer's Event for a host refusal.
    fenced = policy is not None and policy.admission
    if fenced and args.get("host_path", False):
        raise FieldError(
            "sandbox_rewrites.host_path",
            "the TenantPolicy's admission refuses every hostPath volume, so a rewritten one "
            "would be refused on the host; leave it off or set policy.admission.enabled false",
        )
    return SyncerSandboxRewrites(
        host_path=args.get("host_path", not fenced),
        host_network=args.get("host_network", True),
        host_port=args.get("host_port", True),
    )
