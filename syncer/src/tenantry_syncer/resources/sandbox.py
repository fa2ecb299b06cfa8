"""What the syncer does with the host access a pod asks for: refuse it, let it through on an
exemption the sandbox earns (api/ `sandbox.exemptions`), or give the pod the tenant's own
resource instead (vNode's idea, inside the contract):

- hostNetwork: the pod's own network; hostPorts the API server defaulted from it go too, and
  `ClusterFirstWithHostNet` becomes `ClusterFirst`;
- hostPort: a plain container port;
- hostPath: a directory of the tenant's own under the VirtualNode's `host_path_root`, one per
  normalised path, never a path of the host.

Rewrites only happen under a sandbox, each can be switched off (`SyncerConfig.sandbox_rewrites`)
and then the pod is refused. Pure: the I/O is in syncers/pods.py.
"""

import copy
import hashlib
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tenantry_api.config import PodSecurityLevel, SandboxRewrites
from tenantry_api.runtimes import RuntimeBackend, is_sandboxed
from tenantry_api.sandbox import NAMESPACED_SYSCTLS, NEVER_EXEMPT, Exemption, PssCheck, exemptions
from tenantry_api.types import Manifest

from tenantry_syncer.resources.pod_security import Finding, Violation, findings

HOST_PATH_TYPES = {
    # What the tenant's copy of a host path is made as: it starts empty, so "must exist"
    # becomes "create"; a host socket or device has no tenant copy.
    "": "DirectoryOrCreate",
    "Directory": "DirectoryOrCreate",
    "DirectoryOrCreate": "DirectoryOrCreate",
    "File": "FileOrCreate",
    "FileOrCreate": "FileOrCreate",
}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
SWITCHES = {
    PssCheck.HOST_NETWORK: "host_network",
    PssCheck.HOST_PORT: "host_port",
    PssCheck.HOST_PATH: "host_path",
}
"""The rules a rewrite answers, and the `sandbox_rewrites` switch of each."""


@dataclass(frozen=True)
class Policy:
    """What a pod is judged against: the syncer's level, its sandbox, its switches."""

    level: PodSecurityLevel
    backend: RuntimeBackend | None
    """The VirtualNode's backend every synced pod runs under; None: no VirtualNode."""
    rewrites: SandboxRewrites = field(default_factory=SandboxRewrites)
    tenant_dir: str = ""
    """The tenant's directory on the node (`<host_path_root>/<host namespace>`)."""

    @property
    def sandboxed(self) -> bool:
        return self.backend is not None and is_sandboxed(self.backend)

    @property
    def exemptions(self) -> Mapping[PssCheck, Exemption]:
        """Exemptions apply only to a sandboxed pod whose tenant chose `privileged`: at
        baseline the tenant asked for the baseline, sandbox or not."""
        if self.backend is None or not self.sandboxed:
            return {}
        if self.level is not PodSecurityLevel.PRIVILEGED:
            return {}
        table = exemptions(self.backend)
        return {check: e for check, e in table.items() if check not in NEVER_EXEMPT}


class Rewrite(Finding):
    """A field given the tenant's own resource instead of the host's; ``detail`` says which."""


@dataclass(frozen=True)
class Admitted:
    violation: Violation
    exemption: Exemption

    def __str__(self) -> str:
        e = self.exemption
        return f"{self.violation.field}: {e.reason} (rule {e.check.value}; source {e.source})"


@dataclass
class Verdict:
    spec: Manifest
    """The pod spec to translate: the virtual one with the rewrites applied."""
    rewrites: list[Rewrite] = field(default_factory=list)
    admitted: list[Admitted] = field(default_factory=list)
    refused: list[Violation] = field(default_factory=list)

    def under(self, prefix: str) -> "Verdict":
        """Only what concerns fields under ``prefix`` (one ephemeral container)."""
        return Verdict(
            self.spec,
            [r for r in self.rewrites if r.field.startswith(prefix)],
            [a for a in self.admitted if a.violation.field.startswith(prefix)],
            [v for v in self.refused if v.field.startswith(prefix)],
        )


def tenant_path(tenant_dir: str, path: str) -> str:
    """The tenant's copy of host path ``path``: flat under ``tenant_dir``, named by the
    normalised path and its hash, so no tenant-made symlink or `..` leads out of it."""
    normal = posixpath.normpath("/" + path)
    slug = _SLUG.sub("-", normal.strip("/"))[:100] or "root"
    digest = hashlib.sha256(normal.encode()).hexdigest()[:10]
    return f"{tenant_dir}/{slug}-{digest}"


def _containers(spec: Manifest) -> list[tuple[str, Manifest]]:
    # Ephemeral containers take no ports; they are judged like the others elsewhere.
    return [
        (f"spec.{name}[{i}]", c)
        for name in ("initContainers", "containers")
        for i, c in enumerate(spec.get(name) or [])
    ]


def _drop_host_ports(spec: Manifest, check: PssCheck, detail: str) -> list[Rewrite]:
    done = []
    for path, container in _containers(spec):
        for j, port in enumerate(container.get("ports") or []):
            if port.get("hostPort"):
                done.append(Rewrite(check, f"{path}.ports[{j}].hostPort", detail))
                port.pop("hostPort")
                port.pop("hostIP", None)
    return done


def _host_network(spec: Manifest) -> list[Rewrite]:
    if not spec.get("hostNetwork"):
        return []
    spec.pop("hostNetwork")
    # The API server gave every port of a hostNetwork pod hostPort = containerPort.
    done = [Rewrite(PssCheck.HOST_NETWORK, "spec.hostNetwork", "the pod's own network")]
    done += _drop_host_ports(
        spec, PssCheck.HOST_NETWORK, "dropped with hostNetwork: the port is the pod's own"
    )
    if spec.get("dnsPolicy") == "ClusterFirstWithHostNet":
        spec["dnsPolicy"] = "ClusterFirst"
        done.append(Rewrite(PssCheck.HOST_NETWORK, "spec.dnsPolicy", "ClusterFirst"))
    return done


def _host_paths(spec: Manifest, tenant_dir: str) -> tuple[list[Rewrite], list[Violation]]:
    done, refused = [], []
    for i, volume in enumerate(spec.get("volumes") or []):
        source = volume.get("hostPath")
        if source is None:
            continue
        where = f"spec.volumes[{i}].hostPath"
        kind = source.get("type") or ""
        if kind not in HOST_PATH_TYPES:
            refused.append(
                Violation(
                    PssCheck.HOST_PATH,
                    where,
                    f"type {kind}: a host socket or device has no tenant copy",
                )
            )
            continue
        path = tenant_path(tenant_dir, source.get("path", "/"))
        volume["hostPath"] = {"path": path, "type": HOST_PATH_TYPES[kind]}
        done.append(Rewrite(PssCheck.HOST_PATH, where, f"the tenant's {path}"))
    return done, refused


def _switched_off(v: Violation) -> Violation:
    switch = SWITCHES[v.check]
    return Violation(
        v.check, v.field, f"{v.detail}; its sandbox rewrite is off (sandbox_rewrites.{switch})"
    )


def _beyond_the_sandbox(v: Violation, spec: Manifest) -> bool:
    """A sysctl Linux does not namespace is the node's, whatever the sandbox."""
    if v.check is not PssCheck.SYSCTLS:
        return False
    i = int(v.field.split("[")[1].split("]")[0])
    name = str(((spec.get("securityContext") or {}).get("sysctls") or [])[i].get("name", ""))
    return not name.startswith(NAMESPACED_SYSCTLS)


def judge(spec: Manifest, policy: Policy) -> Verdict:
    """Rewrite what may be rewritten, then check the rest. Pure: ``spec`` is not modified."""
    out = copy.deepcopy(spec)
    rewrites: list[Rewrite] = []
    refused: list[Violation] = []
    switches = policy.rewrites
    if policy.sandboxed:
        if switches.host_network:
            rewrites += _host_network(out)
        if switches.host_port:
            rewrites += _drop_host_ports(out, PssCheck.HOST_PORT, "a plain container port")
        # A rewritten hostPath is still a hostPath volume to the host's admission: only a
        # host namespace at privileged (the tenant's level here) takes it.
        if switches.host_path and policy.level is PodSecurityLevel.PRIVILEGED:
            done, refused = _host_paths(out, policy.tenant_dir)
            rewrites += done
    rewritten = {r.field for r in rewrites}
    table = policy.exemptions
    admitted: list[Admitted] = []
    for v in findings(out, policy.level):
        if v.field in rewritten or any(v.field == r.field for r in refused):
            continue
        if v.check in table and not _beyond_the_sandbox(v, out):
            admitted.append(Admitted(v, table[v.check]))
        elif policy.sandboxed and v.check in SWITCHES and not getattr(switches, SWITCHES[v.check]):
            refused.append(_switched_off(v))
        elif policy.sandboxed and v.check is PssCheck.HOST_PATH and switches.host_path:
            refused.append(
                Violation(
                    v.check,
                    v.field,
                    f"{v.detail} at pod_security_level {policy.level.value}; rewritten to "
                    "the tenant's directory only at privileged",
                )
            )
        else:
            refused.append(v)
    return Verdict(out, rewrites, admitted, refused)
