"""The syncer's column of issue 14's matrix, on two real API servers: every Pod Security
baseline and restricted field, with the syncer at baseline, privileged and restricted, with and
without a VirtualNode's gVisor sandbox, and with the sandbox rewrites switched off.

Each cell is refused (a virtual Event naming the rule and the field, no host pod), admitted
(the host pod has the field; under the sandbox an Event quotes the exemption table's reason),
or rewritten (an Event naming the field, and the host spec checked). Whatever the cells say,
every host pod is then searched for host access: none may reach the host unchanged. Ephemeral
containers are covered both ways."""

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tenantry_api import keys
from tenantry_api.config import (
    CONFIG_KEY,
    Isolation,
    PodSecurityLevel,
    SandboxRewrites,
    SyncerConfig,
    load,
)
from tenantry_api.naming import host_name
from tenantry_api.runtimes import RuntimeBackend
from tenantry_api.sandbox import PssCheck, exemptions
from tenantry_api.types import Manifest
from tenantry_local.cluster import LocalCluster, wait_http
from tenantry_local.kube import Kube
from tenantry_syncer.kube import api_client_from
from tenantry_syncer.resources.meta import NAMESPACE_LABEL

from tests.support.kube import namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import ControlPlane, render, synced

HOST_NS = "sync-sandbox"
VC = "vcs"
RUNTIME_CLASS = "tenantry-sandbox-matrix"
ROOT = "/var/lib/tenantry/tenants"
TENANT_DIR = f"{ROOT}/{HOST_NS}"
GVISOR = exemptions(RuntimeBackend.GVISOR)
BASELINE, PRIVILEGED, RESTRICTED = (
    PodSecurityLevel.BASELINE,
    PodSecurityLevel.PRIVILEGED,
    PodSecurityLevel.RESTRICTED,
)


@dataclass
class Setup:
    host: Kube
    tenant: Kube
    tenant_api: client.ApiClient
    plane: ControlPlane
    base: SyncerConfig
    current: SyncerConfig | None = None


@pytest.fixture(scope="module")
def setup(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    root = Path(tmp_path_factory.mktemp("sync-sandbox"))
    # The host's RuntimeClass admission refuses a pod whose class does not exist.
    runtime_class = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": RUNTIME_CLASS},
        "handler": "tenantry-gvisor",
    }
    if kube.get_or_none("node.k8s.io/v1", "RuntimeClass", RUNTIME_CLASS) is None:
        kube.create(runtime_class)
    rendered = render(VC, HOST_NS)
    try:
        with synced(kube, cluster.kubeconfig, root, rendered, name=VC, namespace_=HOST_NS) as s:
            base = load(SyncerConfig, rendered.config_json)
            yield Setup(kube, s.tenant, api_client_from(s.kubeconfig), s.plane, base)
    finally:
        kube.delete("node.k8s.io/v1", "RuntimeClass", RUNTIME_CLASS)


def configure(setup: Setup, config: SyncerConfig) -> None:
    """Restart the syncer on ``config`` (same identity, so it takes the lease at once)."""
    if setup.current == config:
        return
    plane = setup.plane
    if "syncer" in plane.pids:
        plane.kill("syncer")
    (plane.local.root / "etc/tenantry" / CONFIG_KEY).write_text(config.to_json())
    plane.start("syncer")
    wait_http(f"http://127.0.0.1:{plane.local.syncer_port}/readyz", 120)
    setup.current = config


def config_of(
    setup: Setup, level: PodSecurityLevel, sandboxed: bool, rewrites: bool = True
) -> SyncerConfig:
    isolation = (
        Isolation(
            runtime_class_name=RUNTIME_CLASS, backend=RuntimeBackend.GVISOR, host_path_root=ROOT
        )
        if sandboxed
        else None
    )
    switches = SandboxRewrites(host_path=rewrites, host_network=rewrites, host_port=rewrites)
    return setup.base.model_copy(
        update={"pod_security_level": level, "isolation": isolation, "sandbox_rewrites": switches}
    )


# --- the rows ---

HOST_ACCESS = {PssCheck.HOST_NETWORK, PssCheck.HOST_PORT, PssCheck.HOST_PATH}
HARDENED_POD: Manifest = {
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containers": [
        {
            "name": "c",
            "image": "busybox",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    ],
}


def _sc(**sc: Any) -> Manifest:
    return {"containers": [{"name": "c", "image": "busybox", "securityContext": sc}]}


def _hardened(pod: Callable[[Manifest], None]) -> Manifest:
    spec: Manifest = copy.deepcopy(HARDENED_POD)
    pod(spec)
    return spec


@dataclass(frozen=True)
class Row:
    name: str
    check: PssCheck
    spec: Manifest
    field: str
    """The field the Event must name."""
    on_host: Callable[[Manifest], bool]
    """True when the host pod still has the field as asked."""
    restricted: bool = False


def _ports(spec: Manifest) -> list[Manifest]:
    return [p for c in spec["containers"] for p in c.get("ports") or []]


ROWS = [
    Row(
        "host-network",
        PssCheck.HOST_NETWORK,
        {
            "hostNetwork": True,
            "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 8080}]}],
        },
        "spec.hostNetwork",
        lambda s: bool(s.get("hostNetwork")) or any(p.get("hostPort") for p in _ports(s)),
    ),
    Row(
        "host-pid",
        PssCheck.HOST_PID,
        {"hostPID": True, **_sc()},
        "spec.hostPID",
        lambda s: bool(s.get("hostPID")),
    ),
    Row(
        "host-ipc",
        PssCheck.HOST_IPC,
        {"hostIPC": True, **_sc()},
        "spec.hostIPC",
        lambda s: bool(s.get("hostIPC")),
    ),
    Row(
        "host-process",
        PssCheck.HOST_PROCESS,
        # The API requires hostNetwork with hostProcess.
        {"hostNetwork": True, **_sc(windowsOptions={"hostProcess": True})},
        "windowsOptions.hostProcess",
        lambda s: bool(s["containers"][0]["securityContext"].get("windowsOptions")),
    ),
    Row(
        "privileged",
        PssCheck.PRIVILEGED,
        _sc(privileged=True),
        "spec.containers[0].securityContext.privileged",
        lambda s: bool(s["containers"][0]["securityContext"].get("privileged")),
    ),
    Row(
        "capabilities",
        PssCheck.CAPABILITIES,
        _sc(capabilities={"add": ["SYS_ADMIN"]}),
        "spec.containers[0].securityContext.capabilities.add",
        lambda s: "SYS_ADMIN" in s["containers"][0]["securityContext"]["capabilities"]["add"],
    ),
    Row(
        "host-path-root",
        PssCheck.HOST_PATH,
        {**_sc(), "volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
        "spec.volumes[0].hostPath",
        lambda s: not s["volumes"][0]["hostPath"]["path"].startswith(f"{TENANT_DIR}/"),
    ),
    Row(
        "host-path-containerd",
        PssCheck.HOST_PATH,
        {**_sc(), "volumes": [{"name": "c", "hostPath": {"path": "/run/containerd"}}]},
        "spec.volumes[0].hostPath",
        lambda s: not s["volumes"][0]["hostPath"]["path"].startswith(f"{TENANT_DIR}/"),
    ),
    Row(
        "host-port",
        PssCheck.HOST_PORT,
        {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "ports": [{"containerPort": 80, "hostPort": 8081}],
                }
            ]
        },
        "spec.containers[0].ports[0].hostPort",
        lambda s: any(p.get("hostPort") for p in _ports(s)),
    ),
    Row(
        "apparmor",
        PssCheck.APPARMOR,
        _sc(appArmorProfile={"type": "Unconfined"}),
        "appArmorProfile.type",
        lambda s: s["containers"][0]["securityContext"]["appArmorProfile"]["type"] == "Unconfined",
    ),
    Row(
        "selinux",
        PssCheck.SELINUX,
        _sc(seLinuxOptions={"type": "spc_t"}),
        "seLinuxOptions.type",
        lambda s: s["containers"][0]["securityContext"]["seLinuxOptions"]["type"] == "spc_t",
    ),
    Row(
        "proc-mount",
        PssCheck.PROC_MOUNT,
        {"hostUsers": False, **_sc(procMount="Unmasked")},
        "spec.containers[0].securityContext.procMount",
        lambda s: s["containers"][0]["securityContext"].get("procMount") == "Unmasked",
    ),
    Row(
        "seccomp",
        PssCheck.SECCOMP,
        _sc(seccompProfile={"type": "Unconfined"}),
        "seccompProfile.type",
        lambda s: s["containers"][0]["securityContext"]["seccompProfile"]["type"] == "Unconfined",
    ),
    Row(
        "sysctl-namespaced",
        PssCheck.SYSCTLS,
        {
            "securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]},
            **_sc(),
        },
        "spec.securityContext.sysctls[0].name",
        lambda s: bool(s["securityContext"].get("sysctls")),
    ),
    Row(
        "sysctl-node",
        PssCheck.SYSCTLS,
        {"securityContext": {"sysctls": [{"name": "vm.swappiness", "value": "1"}]}, **_sc()},
        "spec.securityContext.sysctls[0].name",
        lambda s: bool(s["securityContext"].get("sysctls")),
    ),
    # restricted, each from a pod that is otherwise restricted-clean
    Row(
        "volume-types",
        PssCheck.VOLUME_TYPES,
        _hardened(lambda s: s.update(volumes=[{"name": "n", "nfs": {"server": "x", "path": "/"}}])),
        "spec.volumes[0]",
        lambda s: "nfs" in s["volumes"][0],
        restricted=True,
    ),
    Row(
        "privilege-escalation",
        PssCheck.PRIVILEGE_ESCALATION,
        _hardened(lambda s: s["containers"][0]["securityContext"].pop("allowPrivilegeEscalation")),
        "allowPrivilegeEscalation",
        lambda s: "allowPrivilegeEscalation" not in s["containers"][0]["securityContext"],
        restricted=True,
    ),
    Row(
        "run-as-non-root",
        PssCheck.RUN_AS_NON_ROOT,
        _hardened(lambda s: s["securityContext"].pop("runAsNonRoot")),
        "runAsNonRoot",
        lambda s: "runAsNonRoot" not in s["securityContext"],
        restricted=True,
    ),
    Row(
        "run-as-user",
        PssCheck.RUN_AS_USER,
        _hardened(lambda s: s["containers"][0]["securityContext"].update(runAsUser=0)),
        "spec.containers[0].securityContext.runAsUser",
        lambda s: s["containers"][0]["securityContext"].get("runAsUser") == 0,
        restricted=True,
    ),
    Row(
        "seccomp-required",
        PssCheck.SECCOMP_REQUIRED,
        _hardened(lambda s: s["securityContext"].pop("seccompProfile")),
        "seccompProfile.type",
        lambda s: "seccompProfile" not in s["securityContext"],
        restricted=True,
    ),
    Row(
        "capabilities-drop-all",
        PssCheck.CAPABILITIES_DROP_ALL,
        _hardened(lambda s: s["containers"][0]["securityContext"].pop("capabilities")),
        "capabilities.drop",
        lambda s: "capabilities" not in s["containers"][0]["securityContext"],
        restricted=True,
    ),
]
REWRITTEN = {"host-network", "host-port"}  # at baseline too; hostPath only at privileged


def expected(row: Row, level: PodSecurityLevel, sandboxed: bool, rewrites: bool) -> str:
    """The cell, written out from issue 14 rather than computed by the syncer's own code."""
    if row.restricted:
        return "refused" if level is RESTRICTED else "admitted"
    if sandboxed and rewrites:
        if row.name in REWRITTEN and level is not RESTRICTED:
            return "rewritten"
        if row.check is PssCheck.HOST_PATH and level is PRIVILEGED:
            return "rewritten"
    exempt = sandboxed and level is PRIVILEGED and row.check in GVISOR
    if exempt and row.name != "sysctl-node":  # only namespaced sysctls are the sandbox's
        assert row.check not in HOST_ACCESS
        return "admitted"
    return "refused"


COLUMNS = [
    (BASELINE, False, True),
    (PRIVILEGED, False, True),
    (BASELINE, True, True),
    (PRIVILEGED, True, True),
    (PRIVILEGED, True, False),
    (RESTRICTED, False, True),
    (RESTRICTED, True, True),
]


def _fresh_namespace(tenant: Kube, ns: str) -> None:
    """A virtual namespace whose default ServiceAccount exists: pods are refused before it."""
    tenant.create(namespace(ns))
    wait_for(
        lambda: tenant.get_or_none("v1", "ServiceAccount", "default", ns),
        timeout=60,
        what=f"{ns}/default ServiceAccount",
    )


def _events(tenant: Kube, ns: str, pod: str) -> list[Manifest]:
    return [e for e in tenant.list("v1", "Event", ns) if e["involvedObject"]["name"] == pod]


def _host_pod(host: Kube, ns: str, name: str) -> Manifest | None:
    return host.get_or_none("v1", "Pod", host_name(name, ns, VC), HOST_NS)


def _column_id(column: tuple[PodSecurityLevel, bool, bool]) -> str:
    level, sandboxed, rewrites = column
    return f"{level.value}-{'gvisor' if sandboxed else 'nosandbox'}{'' if rewrites else '-off'}"


@pytest.mark.parametrize("column", COLUMNS, ids=[_column_id(c) for c in COLUMNS])
def test_every_pss_field_through_the_syncer(
    setup: Setup, column: tuple[PodSecurityLevel, bool, bool]
) -> None:
    level, sandboxed, rewrites = column
    configure(setup, config_of(setup, level, sandboxed, rewrites))
    tenant, host = setup.tenant, setup.host
    ns = _column_id(column)
    _fresh_namespace(tenant, ns)
    # At restricted only the restricted rows: the baseline rows' pods are not hardened, and
    # the baseline floor is the baseline columns'.
    rows = [r for r in ROWS if r.restricted or level is not RESTRICTED]
    control = "control-hardened" if level is RESTRICTED else "control"
    pods = {control: HARDENED_POD if level is RESTRICTED else _sc()}
    pods.update({r.name: r.spec for r in rows})
    for name, spec in pods.items():
        tenant.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ns},
                "spec": spec,
            }
        )

    # The control syncs: a refusal below is the cell's, not a syncer that syncs nothing.
    wait_for(lambda: _host_pod(host, ns, control), timeout=120, what=f"{ns}: the control pod")
    failures = []
    for row in rows:
        outcome = expected(row, level, sandboxed, rewrites)
        try:
            _assert_cell(setup, ns, row, outcome, sandboxed)
        except (AssertionError, TimeoutError) as e:  # a cell that times out is one failure
            failures.append(f"{row.name} ({outcome}): {e}")
    # Whatever the cells say: no host pod of this column has host access.
    for found in host.list("v1", "Pod", HOST_NS, label_selector=f"{NAMESPACE_LABEL}={ns}"):
        failures += _host_access(found, level, sandboxed)
    for name in pods:  # fewer pods for the next column's syncer to resync
        tenant.delete("v1", "Pod", name, ns)
    assert not failures, "\n".join(failures)


def _assert_cell(setup: Setup, ns: str, row: Row, outcome: str, sandboxed: bool) -> None:
    tenant, host = setup.tenant, setup.host
    if outcome == "refused":
        event = wait_for(
            lambda: next(
                (e for e in _events(tenant, ns, row.name) if e["reason"] == "PodSecurity"), None
            ),
            timeout=60,
            what="a PodSecurity Event",
        )
        assert f"(rule {row.check.value}" in event["message"], event["message"]
        assert row.field in event["message"], event["message"]
        assert _host_pod(host, ns, row.name) is None, "refused, yet on the host"
        return
    found = wait_for(lambda: _host_pod(host, ns, row.name), timeout=60, what="the host pod")
    events = _events(tenant, ns, row.name)
    assert not [e for e in events if e["reason"] == "PodSecurity"], events
    if outcome == "admitted":
        assert row.on_host(found["spec"]), "admitted, but the field did not reach the host"
        if sandboxed and not row.restricted:
            reason = GVISOR[row.check].reason
            wait_for(
                lambda: any(
                    e["reason"] == "SandboxExemption"
                    and reason in e["message"]
                    and row.field in e["message"]
                    for e in _events(tenant, ns, row.name)
                ),
                timeout=30,
                what="a SandboxExemption Event quoting the table",
            )
        return
    assert outcome == "rewritten"
    assert not row.on_host(found["spec"]), "rewritten, yet the host pod has it as asked"
    wait_for(
        lambda: any(
            e["reason"] == "SandboxRewrite" and row.field in e["message"]
            for e in _events(tenant, ns, row.name)
        ),
        timeout=30,
        what="a SandboxRewrite Event naming the field",
    )


def _host_access(pod: Manifest, level: PodSecurityLevel, sandboxed: bool) -> list[str]:
    spec, name = pod["spec"], pod["metadata"]["name"]
    found = []
    for key in ("hostNetwork", "hostIPC", "hostPID"):
        if spec.get(key):
            if (
                key == "hostPID"
                and sandboxed
                and level is PRIVILEGED
                and PssCheck.HOST_PID in GVISOR
            ):
                continue  # the table's exemption, asserted with its Event above
            found.append(f"{name}: {key} reached the host")
    for c in spec["containers"] + spec.get("initContainers", []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                found.append(f"{name}: hostPort {p['hostPort']} reached the host")
    for v in spec.get("volumes") or []:
        path = (v.get("hostPath") or {}).get("path")
        if path is not None and not path.startswith(f"{TENANT_DIR}/"):
            found.append(f"{name}: hostPath {path} reached the host")
    return found


# --- ephemeral containers ---


def _add_ephemeral(setup: Setup, ns: str, pod: str, container: Manifest) -> None:
    core = client.CoreV1Api(setup.tenant_api)
    current = setup.tenant.get("v1", "Pod", pod, ns)
    existing = current["spec"].get("ephemeralContainers") or []
    core.patch_namespaced_pod_ephemeralcontainers(
        pod, ns, {"spec": {"ephemeralContainers": [*existing, container]}}
    )


def _synced_app(setup: Setup, ns: str) -> str:
    """A fresh namespace ``ns`` with a plain pod `app` already on the host."""
    _fresh_namespace(setup.tenant, ns)
    setup.tenant.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "app", "namespace": ns},
            "spec": _sc(),
        }
    )
    wait_for(lambda: _host_pod(setup.host, ns, "app"), timeout=120, what="the host pod")
    return ns


def test_ephemeral_containers_are_synced_after_the_check_or_refused_with_an_event(
    setup: Setup,
) -> None:
    configure(setup, config_of(setup, BASELINE, False))
    tenant, host = setup.tenant, setup.host
    ns = _synced_app(setup, "debugging")

    _add_ephemeral(
        setup, ns, "app", {"name": "debug", "image": "busybox", "targetContainerName": "c"}
    )

    def host_ephemeral() -> list[str]:
        found = _host_pod(host, ns, "app") or {}
        return [c["name"] for c in (found.get("spec") or {}).get("ephemeralContainers") or []]

    wait_for(lambda: host_ephemeral() == ["debug"], timeout=60, what="debug on the host pod")
    (synced,) = _host_pod(host, ns, "app")["spec"]["ephemeralContainers"]  # type: ignore[index]
    assert synced["targetContainerName"] == "c"
    # Rewritten like the pod's own containers: the virtual API, not the host's.
    env = {e["name"]: e.get("value") for e in synced.get("env") or []}
    assert "KUBERNETES_SERVICE_HOST" in env

    _add_ephemeral(
        setup,
        ns,
        "app",
        {"name": "root", "image": "busybox", "securityContext": {"privileged": True}},
    )
    event = wait_for(
        lambda: next(
            (
                e
                for e in _events(tenant, ns, "app")
                if e["reason"] == "PodSecurity" and "ephemeral container root" in e["message"]
            ),
            None,
        ),
        timeout=60,
        what="the refused ephemeral container's Event",
    )
    assert "spec.ephemeralContainers[1].securityContext.privileged" in event["message"]
    assert "(rule privileged" in event["message"]
    # The refused one never reaches the host; the synced one stays.
    virtual = tenant.get("v1", "Pod", "app", ns)
    assert [c["name"] for c in virtual["spec"]["ephemeralContainers"]] == ["debug", "root"]
    assert host_ephemeral() == ["debug"]
    assert keys.VCLUSTER in (_host_pod(host, ns, "app") or {})["metadata"]["labels"]


def test_under_the_sandbox_an_ephemeral_container_gets_the_tables_exemption_and_no_more(
    setup: Setup,
) -> None:
    configure(setup, config_of(setup, PRIVILEGED, True))
    tenant, host = setup.tenant, setup.host
    ns = _synced_app(setup, "debugging-sandboxed")
    _add_ephemeral(
        setup,
        ns,
        "app",
        {"name": "root", "image": "busybox", "securityContext": {"privileged": True}},
    )
    _add_ephemeral(
        setup,
        ns,
        "app",
        {
            "name": "spc",
            "image": "busybox",
            "securityContext": {"seLinuxOptions": {"type": "spc_t"}},
        },
    )

    def host_ephemeral() -> list[str]:
        found = _host_pod(host, ns, "app") or {}
        return [c["name"] for c in (found.get("spec") or {}).get("ephemeralContainers") or []]

    wait_for(lambda: host_ephemeral() == ["root"], timeout=60, what="root on the host pod")
    reason = GVISOR[PssCheck.PRIVILEGED].reason
    wait_for(
        lambda: any(
            e["reason"] == "SandboxExemption"
            and "ephemeral container root" in e["message"]
            and reason in e["message"]
            for e in _events(tenant, ns, "app")
        ),
        timeout=30,
        what="the exemption's Event, quoting the table",
    )
    refused = wait_for(
        lambda: next(
            (
                e
                for e in _events(tenant, ns, "app")
                if e["reason"] == "PodSecurity" and "ephemeral container spc" in e["message"]
            ),
            None,
        ),
        timeout=60,
        what="the refused ephemeral container's Event",
    )
    assert "(rule seLinuxOptions" in refused["message"]
    assert host_ephemeral() == ["root"]
