"""VirtualNode's object graph under Pulumi mocks."""

import json
from typing import Any

from tenantry import CloudPreset, Compute, RuntimeBackend, VirtualNode, VirtualNodeArgs
from tenantry_api import keys
from tenantry_api.config import CONFIG_KEY, NodeAgentConfig, config_hash, load

from tests.support.mocks import Deployment, deploy

VN = "tenantry:index:VirtualNode"
RC = "kubernetes:node.k8s.io/v1:RuntimeClass"
DS = "kubernetes:apps/v1:DaemonSet"
CR = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
SA = "kubernetes:core/v1:ServiceAccount"
CM = "kubernetes:core/v1:ConfigMap"


def node(args: VirtualNodeArgs, name: str = "sandbox") -> tuple[Deployment, VirtualNode]:
    made: list[VirtualNode] = []

    def program() -> dict[str, Any]:
        vn = VirtualNode(name, args)
        made.append(vn)
        return {
            "runtime_class_name": vn.runtime_class_name,
            "handler": vn.handler,
            "node_selector": vn.node_selector,
            "agent": vn.agent_daemonset_name,
        }

    return deploy(program), made[0]


def test_bare_preset_deploys_the_agent_and_schedules_only_on_ready_nodes() -> None:
    d, vn = node({})
    component = d.component(VN)
    assert d.kinds(component) == sorted([RC, DS, CR, CRB, SA, CM])
    assert all(r.parent == component.urn for r in d.resources if r is not component)
    rc = d.one(RC).inputs
    assert rc["metadata"]["name"] == "sandbox"
    assert rc["handler"] == "tenantry-gvisor"
    assert rc["scheduling"]["nodeSelector"] == {"runtime.tenantry.dev/tenantry-gvisor": "ready"}
    assert rc["overhead"] == {"podFixed": {"cpu": "100m", "memory": "64Mi"}}
    assert d.outputs["runtime_class_name"] == "sandbox"
    assert d.outputs["agent"] == "tenantry-node-agent-sandbox"
    assert vn.isolation == {
        "runtime_class_name": "sandbox",
        "backend": RuntimeBackend.GVISOR,
        "node_selector": {"runtime.tenantry.dev/tenantry-gvisor": "ready"},
        "tolerations": [],
        "allow_privileged": True,
        "host_path_root": "/var/lib/tenantry/tenants",
    }


def test_agent_has_only_the_host_mounts_it_needs() -> None:
    d, _ = node({})
    pod = d.one(DS).inputs["spec"]["template"]["spec"]
    host_paths = {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert host_paths == {
        "/etc/containerd",
        "/run/systemd/private",
        # The socket's directory: containerd re-creates the socket when it restarts.
        "/run/containerd",
        "/sys/fs/cgroup",
        "/usr",
        "/opt",
        # The tenants' hostPath directories, which the agent makes and removes.
        "/var/lib/tenantry/tenants",
    }
    (container,) = pod["containers"]
    read_only = {m["mountPath"] for m in container["volumeMounts"] if m.get("readOnly")}
    # The runtime binaries are only looked at, under --host-root.
    assert {"/host/usr", "/host/opt"} <= read_only
    assert "--host-root=/host" in container["args"]
    assert "hostPID" not in pod  # systemd restarts need no host processes
    assert container["image"] == "ghcr.io/tenantry/node-agent:0.1.0"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"].get("privileged") is not True
    assert pod["serviceAccountName"] == "tenantry-node-agent-sandbox"


def test_containerd_mounts_follow_the_agents_paths() -> None:
    d, _ = node(
        {
            "agent": {
                "restart_strategy": "signal",
                "containerd_config": "/var/lib/node/etc/containerd/config.toml",
                "containerd_socket": "/var/lib/node/run/containerd.sock",
                "containerd_pid_file": "/var/lib/node/pid/containerd.pid",
                "binary_dirs": ["/opt/node/bin", "/var/lib/node/bin"],
            }
        }
    )
    volumes = host_volumes(d)
    assert volumes["/var/lib/node/etc/containerd"] == ("containerd-config", "Directory")
    assert volumes["/var/lib/node/run"] == ("containerd-run", "Directory")
    assert volumes["/var/lib/node/pid"] == ("containerd-pid", "Directory")
    assert not {"/etc/containerd", "/run/containerd"} & set(volumes)
    mounts = d.one(DS).inputs["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    # Mounted where the agent's config says they are.
    assert {m["mountPath"] for m in mounts} >= {"/var/lib/node/run", "/var/lib/node/pid"}
    config = load(NodeAgentConfig, d.one(CM).inputs["data"][CONFIG_KEY])
    assert config.binary_dirs == ["/opt/node/bin", "/var/lib/node/bin"]
    # Outside /usr and /opt, a binary directory is mounted for preflight, read-only.
    assert volumes["/var/lib/node/bin"] == ("host-bin-0", "Directory")
    assert {"mountPath": "/host/var/lib/node/bin", "name": "host-bin-0", "readOnly": True} in mounts
    assert "/opt/node/bin" not in volumes
    assert config.containerd_socket == "/var/lib/node/run/containerd.sock"
    assert config.containerd_pid_file == "/var/lib/node/pid/containerd.pid"


def test_containerd_files_in_one_directory_are_one_writable_mount() -> None:
    d, _ = node(
        {
            "agent": {
                "restart_strategy": "signal",
                "containerd_config": "/var/lib/node/containerd/config.toml",
                "containerd_socket": "/var/lib/node/containerd/containerd.sock",
                "containerd_pid_file": "/var/lib/node/containerd/containerd.pid",
            }
        }
    )
    volumes = host_volumes(d)
    assert volumes["/var/lib/node/containerd"] == ("containerd-config", "Directory")
    mounts = d.one(DS).inputs["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    at = [m for m in mounts if m["mountPath"] == "/var/lib/node/containerd"]
    assert at == [{"name": "containerd-config", "mountPath": "/var/lib/node/containerd"}]


def test_agent_rbac_is_limited_to_nodes_and_pods() -> None:
    d, _ = node({})
    rules = d.one(CR).inputs["rules"]
    granted = {(res, verb) for r in rules for res in r["resources"] for verb in r["verbs"]}
    assert granted == {
        ("nodes", "get"),
        ("nodes", "patch"),
        ("nodes/status", "patch"),
        ("pods", "list"),
        ("daemonsets", "get"),
    }


def host_volumes(d: Deployment) -> dict[str, tuple[str, str]]:
    pod = d.one(DS).inputs["spec"]["template"]["spec"]
    return {
        v["hostPath"]["path"]: (v["name"], v["hostPath"]["type"])
        for v in pod["volumes"]
        if "hostPath" in v
    }


def test_a_signal_restart_sees_host_processes_and_containerds_pid_file() -> None:
    d, _ = node({"agent": {"restart_strategy": "signal"}})
    pod = d.one(DS).inputs["spec"]["template"]["spec"]
    assert pod["hostPID"] is True
    volumes = host_volumes(d)
    # The pid file sits beside the socket: their one directory mount holds both.
    assert volumes["/run/containerd"] == ("containerd-run", "Directory")
    # A host without systemd has no /run/systemd/private: a Socket mount would keep the pod
    # from starting. The systemd default mounts it (its control).
    assert "/run/systemd/private" not in volumes
    assert "/run/systemd/private" in host_volumes(node({})[0])
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["TENANTRY_DAEMONSET"] == "kube-system/tenantry-node-agent-sandbox"


def test_agent_config_is_the_api_document() -> None:
    d, _ = node(
        {"backend": RuntimeBackend.KATA, "io_limits": {"weight": 50}, "tenant_namespaces": ["acme"]}
    )
    config = load(NodeAgentConfig, d.one(CM).inputs["data"][CONFIG_KEY])
    assert config.backend == "kata"
    assert config.handler == "tenantry-kata"
    assert config.io_limits.weight == 50
    assert config.tenant_namespaces == ["acme"]
    assert d.one(RC).inputs["overhead"] == {"podFixed": {"cpu": "250m", "memory": "160Mi"}}


def test_gke_uses_the_builtin_gvisor_handler_and_no_agent() -> None:
    d, _ = node({"preset": CloudPreset.GKE})
    assert d.of_type(DS) == []
    rc = d.one(RC).inputs
    assert rc["handler"] == "gvisor"
    assert rc["scheduling"]["nodeSelector"] == {"sandbox.gke.io/runtime": "gvisor"}
    assert rc["scheduling"]["tolerations"][0]["key"] == "sandbox.gke.io/runtime"
    assert d.outputs["agent"] == ""


def test_aks_uses_the_kata_handler_and_no_agent() -> None:
    d, _ = node({"preset": CloudPreset.AKS})
    assert d.of_type(DS) == []
    assert d.one(RC).inputs["handler"] == "kata"


def test_eks_deploys_the_agent() -> None:
    d, _ = node({"preset": CloudPreset.EKS, "backend": RuntimeBackend.KATA})
    assert len(d.of_type(DS)) == 1
    assert d.one(RC).inputs["handler"] == "tenantry-kata"


def test_eks_on_nodes_is_the_default_compute_and_deploys_the_agent() -> None:
    d, _ = node({"preset": CloudPreset.EKS, "compute": Compute.NODES})
    assert len(d.of_type(DS)) == 1


def test_runc_hardened_never_allows_privileged() -> None:
    _, vn = node({"backend": RuntimeBackend.RUNC_HARDENED})
    assert vn.isolation["allow_privileged"] is False


def test_the_host_path_root_reaches_the_agent_and_the_isolation() -> None:
    d, vn = node({"host_path_root": "/srv/tenants", "tenant_namespaces": ["acme"]})
    config = json.loads(d.one(CM).inputs["data"]["config.json"])
    assert (config["host_path_root"], config["tenant_namespaces"]) == ("/srv/tenants", ["acme"])
    assert vn.isolation["host_path_root"] == "/srv/tenants"
    pod = d.one(DS).inputs["spec"]["template"]["spec"]
    (tenants,) = [v for v in pod["volumes"] if v["name"] == "tenant-dirs"]
    assert tenants["hostPath"] == {"path": "/srv/tenants", "type": "DirectoryOrCreate"}


def test_the_agent_pod_template_carries_the_hash_of_its_config() -> None:
    def template_hash(args: VirtualNodeArgs) -> str:
        d, _ = node(args)
        document = d.one(CM).inputs["data"][CONFIG_KEY]
        annotations = d.one(DS).inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {keys.CONFIG_HASH: config_hash(document)}
        return str(annotations[keys.CONFIG_HASH])

    gvisor = template_hash({"backend": RuntimeBackend.GVISOR})
    assert template_hash({"backend": RuntimeBackend.GVISOR}) == gvisor
    # A changed document rolls the agent pods.
    assert template_hash({"backend": RuntimeBackend.GVISOR, "tenant_namespaces": ["a"]}) != gvisor
