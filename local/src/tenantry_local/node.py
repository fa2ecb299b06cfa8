"""The local cluster's one real node: the kubelet built at the Kubernetes pin on a containerd of
its own (Debian's, runc, supervised), CNI bridge networking, kube-proxy (iptables), NetworkPolicy
enforced by kube-router's policy controller (iptables and ipsets) and a CoreDNS for the cluster,
all inside the node's network namespace (tenantry_local.network says why and which addresses)
and its cgroup (tenantry_local.cgroups).

Every component has its own least-privilege identity, a client certificate from the cluster's
CA: the kubelet ``system:node:<name>`` in ``system:nodes`` (the Node authorizer and
NodeRestriction confine it to its own Node and its pods' objects), kube-proxy
``system:kube-proxy`` (the built-in ``system:node-proxier`` binding), CoreDNS and the policy
controller each a user of its own bound to a read-only ClusterRole. The kubelet serves with a
certificate from the same CA and authenticates and authorizes callers through the API server
(webhook), which calls it as ``kube-apiserver-kubelet-client`` (bound to
``system:kubelet-api-admin``).
"""

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tenantry_local import cgroups, containerd, network
from tenantry_local.images import PAUSE_IMAGE
from tenantry_local.kube import Kube
from tenantry_local.network import NodeNetwork
from tenantry_local.node_config import (
    NODE_NAME,
    corefile,
    kube_proxy_config,
    kubelet_config,
    netpol_argv,
)
from tenantry_local.ociimage import busybox_image
from tenantry_local.pki import DevPKI, Pair
from tenantry_local.registry import Registry, mirror_path, write_hosts_dir
from tenantry_local.testbin import TESTBIN, MissingBinaryError, binary

NODE_LABEL = "tenantry.dev/local-node"  # "real" on the real node
DNS_SERVICE_IP = "10.96.0.10"
KUBELET = TESTBIN / "node" / "kubelet"
GVISOR_DIR = TESTBIN / "node"
"""runsc and containerd-shim-runsc-v1 (hack/node/build-gvisor.sh)."""
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
HOST_TOOLS = (
    "/usr/sbin/iptables",
    "/usr/sbin/ipset",
    "/usr/sbin/conntrack",
    "/usr/bin/nsenter",
    "/usr/sbin/ip",
)
APISERVER_KUBELET_CLIENT = "kube-apiserver-kubelet-client"
# The kubelet sets these machine-wide at start (its protectKernelDefaults: false; true would
# only refuse to start). Their values before the first real node are kept here and put back
# when the last one goes.
KERNEL_TUNABLES = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
KERNEL_DEFAULTS = Path("/run/tenantry-local/kernel-defaults.json")
# The kubelet links every container's log here, whatever its --root-dir.
CONTAINER_LOG_LINKS = Path("/var/log/containers")
COREDNS_USER = "tenantry-local:coredns"
NETPOL_USER = "tenantry-local:kube-router-netpol"
NETPOL_HEALTH_PORT = 20244

# Spawns a named process; ``in_node`` runs it in the node's network namespace and cgroup.
Spawn = Callable[[str, list[str], bool], None]
WriteKubeconfig = Callable[[Path, Pair], None]


def missing() -> str:
    """Why a real node cannot run here, or ''."""
    absent = [p for p in (*containerd.DEBIAN_BINARIES, *HOST_TOOLS) if not Path(p).exists()]
    absent += [f"{containerd.CNI_BIN}/{p}" for p in CNI_PLUGINS]
    absent = [p for p in absent if not Path(p).exists()]
    if absent:
        return f"{', '.join(absent)} missing: run `make testbin` (hack/node/install.sh)"
    if not KUBELET.exists():
        return f"{KUBELET} is missing: run `make testbin` (hack/node/build-kubelet.sh)"
    try:
        for name in ("kube-proxy", "kube-router-netpol", "coredns"):
            binary(name)
    except MissingBinaryError as e:
        return str(e)
    if os.geteuid() != 0:
        return "the real node (network namespace, cgroups, containerd) needs root"
    return ""


def rbac(kube: Kube, net: NodeNetwork) -> None:
    """The API server's kubelet client, the read-only roles of CoreDNS and of the policy
    controller, and the DNS Service."""
    kube.create(_binding(APISERVER_KUBELET_CLIENT, "system:kubelet-api-admin"))
    _reader(kube, COREDNS_USER, [
        {"apiGroups": [""], "resources": ["services", "namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
         "verbs": ["list", "watch"]},
    ])  # fmt: skip
    _reader(kube, NETPOL_USER, [
        {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
         "verbs": ["get", "list", "watch"]},
    ])  # fmt: skip
    # kube-dns as clusters name it; its one endpoint is CoreDNS on the node (not a pod here).
    meta = {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
    ]
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", **meta},
            "spec": {"clusterIP": DNS_SERVICE_IP, "ports": ports},
        }
    )
    kube.create(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kube-dns-node",
                "namespace": "kube-system",
                "labels": {
                    "kubernetes.io/service-name": "kube-dns",
                    "endpointslice.kubernetes.io/managed-by": "tenantry-local",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [net.node_ip], "conditions": {"ready": True}}],
            "ports": ports,
        }
    )


def _reader(kube: Kube, user: str, rules: list[dict[str, object]]) -> None:
    """A ClusterRole of ``rules`` named after ``user``, bound to that user."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
    kube.create({**role, "metadata": {"name": user}, "rules": rules})
    kube.create(_binding(user, user))


def _binding(user: str, role: str) -> dict[str, object]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


class RealNode:
    """Starts (through the cluster's ``spawn``) and tears down one real node under ``root``."""

    def __init__(self, root: Path, net: NodeNetwork, cgroup: str) -> None:
        self.root = root
        self.net = net
        self.cgroup = cgroup
        self.containerd_dir = root / "containerd"
        self.socket = containerd.socket_of(self.containerd_dir)
        self.pid_file = self.containerd_dir / "containerd.pid"
        self.starts_file = self.containerd_dir / "containerd.starts"
        self._check_alive: Callable[[], None] = lambda: None

    def start(
        self,
        *,
        pki: DevPKI,
        registry: Registry | None,
        kube: Kube,
        spawn: Spawn,
        write_kubeconfig: WriteKubeconfig,
        progress: Callable[[str], None],
        check_alive: Callable[[], None],
        timeout: float,
    ) -> None:
        self._check_alive = check_alive
        self.root.mkdir(parents=True, exist_ok=True)
        rbac(kube, self.net)
        progress(f"real node: containerd in network namespace {self.net.netns}")
        cni_dir = self.containerd_dir / "cni"
        cni_dir.mkdir(parents=True, exist_ok=True)
        (cni_dir / "10-tenantry-local.conflist").write_text(
            self.net.cni_config(self.containerd_dir / "ipam")
        )
        # The upstream names resolve to the cluster's registry, which listens on the host end
        # of the veth: containerd runs in the node's namespace and cannot reach 127.0.0.1.
        certs_dir = self.containerd_dir / "certs.d"
        certs_dir.mkdir(parents=True, exist_ok=True)
        if registry is not None:
            write_hosts_dir(certs_dir, registry.address)
        config = self.containerd_dir / "config.toml"
        config.write_text(
            containerd.config_toml(
                self.containerd_dir,
                sandbox_image=PAUSE_IMAGE,
                cni_conf_dir=cni_dir,
                certs_dir=certs_dir,
            )
        )
        # containerd finds a runtime's shim on its PATH (and gVisor's shim finds runsc there):
        # this node's gVisor is `make testbin`'s, where a host's would be in /usr/local/bin.
        path = f"PATH={GVISOR_DIR}{os.pathsep}{os.environ.get('PATH', '')}"
        supervised = containerd.supervised(config, self.pid_file, self.starts_file)
        spawn("containerd", ["env", path, *supervised], True)
        self._wait(lambda: self.ctr("version", check=False).returncode == 0, timeout, "containerd")
        if registry is None or not registry.has(mirror_path(PAUSE_IMAGE)):
            # `make images` has not run: a stand-in pause image (busybox sleeping).
            progress(f"real node: no {PAUSE_IMAGE} in the registry, a stand-in imported")
            self.import_image(PAUSE_IMAGE, ["/bin/sleep", "2147483647"])

        progress(f"real node: kubelet {NODE_NAME} (node IP {self.net.node_ip})")
        save_kernel_defaults()
        node_user = f"system:node:{NODE_NAME}"
        client = pki.issue("kubelet", node_user, organization="system:nodes")
        serving = pki.issue(
            "kubelet-serving", node_user, server_hosts=[self.net.node_ip, NODE_NAME]
        )
        kubelet_kubeconfig = self.root / "kubelet.kubeconfig"
        write_kubeconfig(kubelet_kubeconfig, client)
        kubelet_config_file = self.root / "kubelet.json"
        settings = kubelet_config(
            runtime_socket=self.socket,
            logs=self.root / "pod-logs",
            address=self.net.node_ip,
            cgroup=self.cgroup,
            ca=pki.ca.cert,
            serving=serving,
            cluster_dns=[DNS_SERVICE_IP],
        )
        kubelet_config_file.write_text(json.dumps(settings))
        spawn(
            "kubelet",
            [
                str(KUBELET),
                f"--config={kubelet_config_file}",
                f"--kubeconfig={kubelet_kubeconfig}",
                f"--root-dir={self.root / 'kubelet'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={self.net.node_ip}",
                f"--node-labels={NODE_LABEL}=real",
            ],
            True,
        )

        self._start_services(pki, spawn, write_kubeconfig, progress)

        def node_ready() -> bool:
            node = kube.get_or_none("v1", "Node", NODE_NAME) or {}
            conditions = (node.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        self._wait(node_ready, timeout, f"Node {NODE_NAME} Ready")
        # The policy controller finds its node's addresses in the Node object at start.
        progress("real node: NetworkPolicy (kube-router's policy controller)")
        netpol = pki.issue("kube-router-netpol", NETPOL_USER)
        netpol_kubeconfig = self.root / "kube-router-netpol.kubeconfig"
        write_kubeconfig(netpol_kubeconfig, netpol)
        argv = netpol_argv(binary("kube-router-netpol"), netpol_kubeconfig, NETPOL_HEALTH_PORT)
        spawn("kube-router-netpol", argv, True)
        self._wait(lambda: _ok(f"http://{self.net.node_ip}:10256/healthz"), timeout, "kube-proxy")
        self._wait(lambda: _ok(f"http://{self.net.node_ip}:8181/ready"), timeout, "CoreDNS")
        self._wait(
            lambda: _ok(f"http://{self.net.node_ip}:{NETPOL_HEALTH_PORT}/healthz"),
            timeout,
            "the NetworkPolicy controller (kube-router)",
        )

    def _start_services(
        self,
        pki: DevPKI,
        spawn: Spawn,
        write_kubeconfig: WriteKubeconfig,
        progress: Callable[[str], None],
    ) -> None:
        """kube-proxy and CoreDNS, each as its own user."""
        progress("real node: kube-proxy (iptables) and CoreDNS")
        proxy = pki.issue("kube-proxy", "system:kube-proxy")
        proxy_kubeconfig = self.root / "kube-proxy.kubeconfig"
        write_kubeconfig(proxy_kubeconfig, proxy)
        proxy_config = self.root / "kube-proxy.json"
        proxy_config.write_text(json.dumps(kube_proxy_config(proxy_kubeconfig, self.net)))
        spawn("kube-proxy", [str(binary("kube-proxy")), f"--config={proxy_config}"], True)
        dns = pki.issue("coredns", COREDNS_USER)
        dns_kubeconfig = self.root / "coredns.kubeconfig"
        write_kubeconfig(dns_kubeconfig, dns)
        (self.root / "Corefile").write_text(corefile(dns_kubeconfig, self.net))
        spawn("coredns", [str(binary("coredns")), "-conf", str(self.root / "Corefile")], True)

    def agent_settings(self) -> dict[str, object]:
        """The VirtualNode's ``agent`` input for this node: its containerd lives under the
        cluster's directory, has no systemd and is started again by its supervisor, and
        gVisor's binaries are the ones `make testbin` built."""
        return {
            "containerd_config": str(self.containerd_dir / "config.toml"),
            "containerd_socket": str(self.socket),
            "containerd_pid_file": str(self.pid_file),
            "restart_strategy": "signal",
            "binary_dirs": [str(GVISOR_DIR)],
        }

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return containerd.ctr(self.socket, *args, check=check)

    def import_image(self, name: str, command: list[str]) -> None:
        """A busybox image named ``name`` running ``command``, imported (no registry yet)."""
        tarball = self.containerd_dir / f"{name.replace('/', '_').replace(':', '_')}.tar"
        busybox_image(name, command, tarball)
        self.ctr("images", "import", str(tarball))

    def _wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()  # a process that exited fails the start at once, with its log
            if check():
                return
            time.sleep(0.5)
        logs = self.root.parent / "logs"
        raise TimeoutError(f"{what} not ready after {timeout}s (logs in {logs})")

    def remove_tasks(self) -> None:
        """Every container through containerd while it runs, so each shim exits cleanly."""
        done = self.ctr("tasks", "list", "--quiet", check=False)
        for task in done.stdout.split() if done.returncode == 0 else []:
            self.ctr("tasks", "delete", "--force", task, check=False)

    def teardown(self) -> None:
        """After the node's processes were stopped: what is left of their containers, shims,
        mounts, network namespace and cgroups; run again, it finds nothing to do."""
        containerd.kill_shims(self.containerd_dir)
        cgroups.kill_all(self.cgroup)
        containerd.unmount_under(self.root)
        self.net.delete()
        cgroups.remove(self.cgroup)
        remove_log_links(self.root)
        if not any(network.NETNS_DIR.glob(f"{network.NETNS_PREFIX}*")):
            restore_kernel_defaults()


def remove_log_links(root: Path) -> None:
    """The kubelet's links to its containers' logs under ``root`` (it removes a link only with
    its container, and a torn-down node removes no containers)."""
    if CONTAINER_LOG_LINKS.is_dir():
        for link in CONTAINER_LOG_LINKS.iterdir():
            if link.is_symlink() and str(link.readlink()).startswith(f"{root}/"):
                link.unlink()


def save_kernel_defaults() -> None:
    if KERNEL_DEFAULTS.exists():
        return  # another real node runs: the file holds the values from before it
    KERNEL_DEFAULTS.parent.mkdir(parents=True, exist_ok=True)
    values = {k: (Path("/proc/sys") / k).read_text().strip() for k in KERNEL_TUNABLES}
    KERNEL_DEFAULTS.write_text(json.dumps(values))


def restore_kernel_defaults() -> None:
    if not KERNEL_DEFAULTS.exists():
        return
    for key, value in json.loads(KERNEL_DEFAULTS.read_text()).items():
        (Path("/proc/sys") / key).write_text(value)
    KERNEL_DEFAULTS.unlink()


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
