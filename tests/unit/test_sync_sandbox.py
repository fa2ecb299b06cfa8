"""The syncer's sandbox verdict (resources/sandbox.py): refused, admitted on the exemption
table, or rewritten to the tenant's own resource; host access never passes unchanged."""

import copy
import itertools
from typing import Any

import pytest
from tenantry_api.config import PodSecurityLevel, SandboxRewrites
from tenantry_api.runtimes import RuntimeBackend
from tenantry_api.sandbox import PssCheck, exemptions
from tenantry_syncer.resources import sandbox
from tenantry_syncer.resources.sandbox import Policy, judge, tenant_path

TENANT_DIR = "/var/lib/tenantry/tenants/acme"
PRIVILEGED, BASELINE = PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE
GVISOR = RuntimeBackend.GVISOR


def policy(
    level: PodSecurityLevel = PRIVILEGED,
    backend: RuntimeBackend | None = GVISOR,
    **switches: bool,
) -> Policy:
    return Policy(level, backend, SandboxRewrites(**switches), TENANT_DIR)


def spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "busybox"}], **extra}


def container(**extra: Any) -> dict[str, Any]:
    return spec(containers=[{"name": "c", "image": "busybox", **extra}])


HOST_NETWORK = spec(
    hostNetwork=True,
    dnsPolicy="ClusterFirstWithHostNet",
    # As the API server defaults a hostNetwork pod's ports.
    containers=[{"name": "c", "ports": [{"containerPort": 8080, "hostPort": 8080}]}],
)
HOST_PORT = container(ports=[{"containerPort": 80, "hostPort": 80, "hostIP": "0.0.0.0"}])
HOST_PATH = spec(volumes=[{"name": "r", "hostPath": {"path": "/run/containerd"}}])


def checks(found: list[Any]) -> set[PssCheck]:
    return {getattr(f, "check", None) or f.violation.check for f in found}


def test_a_clean_pod_passes_untouched_everywhere() -> None:
    for level, backend in itertools.product([BASELINE, PRIVILEGED], [None, GVISOR]):
        v = judge(spec(), policy(level, backend))
        assert (v.spec, v.rewrites, v.admitted, v.refused) == (spec(), [], [], [])


@pytest.mark.parametrize("level", [BASELINE, PRIVILEGED])
@pytest.mark.parametrize("backend", [None, RuntimeBackend.RUNC_HARDENED])
@pytest.mark.parametrize("pod", [HOST_NETWORK, HOST_PORT, HOST_PATH], ids=["net", "port", "path"])
def test_without_a_sandbox_host_access_is_refused(
    level: PodSecurityLevel, backend: RuntimeBackend | None, pod: dict[str, Any]
) -> None:
    v = judge(pod, policy(level, backend))
    assert v.refused
    assert not v.rewrites
    assert not v.admitted
    assert checks(v.refused) & {PssCheck.HOST_NETWORK, PssCheck.HOST_PORT, PssCheck.HOST_PATH}


@pytest.mark.parametrize("level", [BASELINE, PRIVILEGED])
def test_host_network_becomes_the_pods_own(level: PodSecurityLevel) -> None:
    v = judge(HOST_NETWORK, policy(level))
    assert v.refused == []
    assert "hostNetwork" not in v.spec
    assert v.spec["dnsPolicy"] == "ClusterFirst"
    # The defaulted hostPort goes with it: the port is the pod's own.
    assert v.spec["containers"][0]["ports"] == [{"containerPort": 8080}]
    assert {r.field for r in v.rewrites} == {
        "spec.hostNetwork",
        "spec.dnsPolicy",
        "spec.containers[0].ports[0].hostPort",
    }
    assert checks(v.rewrites) == {PssCheck.HOST_NETWORK}
    assert HOST_NETWORK["hostNetwork"] is True  # pure


@pytest.mark.parametrize("level", [BASELINE, PRIVILEGED])
def test_host_port_becomes_a_plain_container_port(level: PodSecurityLevel) -> None:
    v = judge(HOST_PORT, policy(level))
    assert v.refused == []
    assert v.spec["containers"][0]["ports"] == [{"containerPort": 80}]
    (rewrite,) = v.rewrites
    assert (rewrite.check, rewrite.field) == (
        PssCheck.HOST_PORT,
        "spec.containers[0].ports[0].hostPort",
    )
    assert "rule hostPort" in str(rewrite)


def test_host_path_becomes_the_tenants_directory_at_privileged() -> None:
    v = judge(HOST_PATH, policy(PRIVILEGED))
    assert v.refused == []
    source = v.spec["volumes"][0]["hostPath"]
    assert source["path"].startswith(f"{TENANT_DIR}/")
    assert source["path"] == tenant_path(TENANT_DIR, "/run/containerd")
    assert source["type"] == "DirectoryOrCreate"
    (rewrite,) = v.rewrites
    assert rewrite.field == "spec.volumes[0].hostPath"
    assert source["path"] in rewrite.detail


def test_host_path_at_baseline_is_refused_because_the_host_namespace_would_refuse_it() -> None:
    v = judge(HOST_PATH, policy(BASELINE))
    (refused,) = v.refused
    assert refused.field == "spec.volumes[0].hostPath"
    assert "only at privileged" in str(refused)
    assert v.rewrites == []


@pytest.mark.parametrize(
    ("kind", "made"),
    [("", "DirectoryOrCreate"), ("Directory", "DirectoryOrCreate"), ("File", "FileOrCreate")],
)
def test_host_path_types_start_empty_in_the_tenants_directory(kind: str, made: str) -> None:
    pod = spec(volumes=[{"name": "r", "hostPath": {"path": "/etc/x", "type": kind}}])
    assert judge(pod, policy()).spec["volumes"][0]["hostPath"]["type"] == made


@pytest.mark.parametrize("kind", ["Socket", "CharDevice", "BlockDevice"])
def test_a_host_socket_or_device_has_no_tenant_copy(kind: str) -> None:
    pod = spec(
        volumes=[{"name": "s", "hostPath": {"path": "/run/containerd/x.sock", "type": kind}}]
    )
    v = judge(pod, policy())
    (refused,) = v.refused
    assert refused.check is PssCheck.HOST_PATH
    assert kind in refused.detail


def test_tenant_paths_are_flat_and_never_leave_the_tenants_directory() -> None:
    seen = set()
    for path in ["/", "/etc", "/etc/", "/../../etc", "/a/b", "a/b", "/a-b", "/a/../../.."]:
        mapped = tenant_path(TENANT_DIR, path)
        parent, name = mapped.rsplit("/", 1)
        assert parent == TENANT_DIR
        assert name not in ("", ".", "..")
        seen.add(mapped)
    # Same normalised path, same directory; different paths, different directories.
    assert tenant_path(TENANT_DIR, "/etc/") == tenant_path(TENANT_DIR, "/etc")
    assert tenant_path(TENANT_DIR, "/a/b") != tenant_path(TENANT_DIR, "/a-b")
    assert tenant_path(TENANT_DIR, "/../../etc") == tenant_path(TENANT_DIR, "/etc")


@pytest.mark.parametrize(
    ("pod", "switch"),
    [(HOST_NETWORK, "host_network"), (HOST_PORT, "host_port"), (HOST_PATH, "host_path")],
)
def test_a_rewrite_switched_off_refuses_the_pod_and_names_the_switch(
    pod: dict[str, Any], switch: str
) -> None:
    off = Policy(PRIVILEGED, GVISOR, SandboxRewrites.model_validate({switch: False}), TENANT_DIR)
    v = judge(pod, off)
    assert v.refused
    assert any(f"sandbox_rewrites.{switch}" in str(r) for r in v.refused)
    # The control: switched on, the same pod passes.
    assert judge(pod, policy()).refused == []


def test_exemptions_come_from_the_table_only_at_privileged_under_a_sandbox() -> None:
    pod = container(securityContext={"privileged": True})
    v = judge(pod, policy(PRIVILEGED))
    (admitted,) = v.admitted
    assert admitted.exemption == exemptions(GVISOR)[PssCheck.PRIVILEGED]
    assert admitted.exemption.reason in str(admitted)
    assert v.refused == []
    assert v.spec == pod
    for level, backend in [(BASELINE, GVISOR), (PRIVILEGED, None)]:
        assert checks(judge(pod, policy(level, backend)).refused) == {PssCheck.PRIVILEGED}


def test_host_pid_follows_the_table_and_host_ipc_is_refused_under_gvisor() -> None:
    v = judge(spec(hostPID=True, hostIPC=True), policy())
    assert checks(v.admitted) == {PssCheck.HOST_PID}
    assert checks(v.refused) == {PssCheck.HOST_IPC}
    kata = judge(spec(hostPID=True), policy(backend=RuntimeBackend.KATA))
    assert checks(kata.refused) == {PssCheck.HOST_PID}


def test_only_namespaced_sysctls_are_exempted() -> None:
    pod = spec(
        securityContext={
            "sysctls": [{"name": "net.core.somaxconn", "value": "1"}, {"name": "vm.swappiness"}]
        }
    )
    v = judge(pod, policy())
    assert [a.violation.field for a in v.admitted] == ["spec.securityContext.sysctls[0].name"]
    assert [r.field for r in v.refused] == ["spec.securityContext.sysctls[1].name"]


def test_an_ephemeral_containers_share_of_the_verdict() -> None:
    pod = spec(
        ephemeralContainers=[
            {"name": "ok", "image": "busybox"},
            {"name": "bad", "image": "busybox", "securityContext": {"privileged": True}},
        ]
    )
    v = judge(pod, policy(BASELINE))
    assert v.under("spec.ephemeralContainers[0].").refused == []
    (refused,) = v.under("spec.ephemeralContainers[1].").refused
    assert refused.field == "spec.ephemeralContainers[1].securityContext.privileged"


HOST_ACCESS = [
    HOST_NETWORK,
    HOST_PORT,
    HOST_PATH,
    spec(hostIPC=True),
    spec(hostPID=True),
]


def _host_access_left(pod: dict[str, Any]) -> list[str]:
    left = [k for k in ("hostNetwork", "hostPID", "hostIPC") if pod.get(k)]
    left += [
        str(p["hostPort"])
        for c in pod.get("containers") or []
        for p in c.get("ports") or []
        if p.get("hostPort")
    ]
    left += [
        v["hostPath"]["path"]
        for v in pod.get("volumes") or []
        if "hostPath" in v and not v["hostPath"]["path"].startswith(f"{TENANT_DIR}/")
    ]
    return left


@pytest.mark.parametrize("pod", HOST_ACCESS)
def test_host_access_never_passes_unchanged_in_any_configuration(pod: dict[str, Any]) -> None:
    configs = itertools.product(
        PodSecurityLevel,
        [None, *RuntimeBackend],
        *[[True, False]] * 3,
    )
    for level, backend, net, port, path in configs:
        p = policy(level, backend, host_network=net, host_port=port, host_path=path)
        v = judge(copy.deepcopy(pod), p)
        if v.refused:
            continue
        left = _host_access_left(v.spec)
        # Only the table may let host PID through, and only for a backend that contains it.
        allowed = {"hostPID"} if PssCheck.HOST_PID in p.exemptions else set()
        assert set(left) <= allowed, (p, left)


def test_the_switches_name_real_fields() -> None:
    assert set(sandbox.SWITCHES.values()) == set(SandboxRewrites.model_fields)
