"""The local real node's pure parts: its addresses per cluster slot, the configs it renders,
and the supervisor that keeps containerd running."""

import ipaddress
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tenantry_local import containerd
from tenantry_local.images import PAUSE_IMAGE
from tenantry_local.network import SLOTS, NodeNetwork
from tenantry_local.node_config import corefile, kube_proxy_config, kubelet_config
from tenantry_local.pki import Pair


def test_every_slot_has_its_own_block_and_short_interface_names() -> None:
    blocks = [NodeNetwork(slot).block for slot in range(SLOTS)]
    assert len(set(blocks)) == SLOTS
    for slot in (0, SLOTS - 1):
        net = NodeNetwork(slot)
        pods = ipaddress.IPv4Network(net.pod_cidr)
        assert pods.subnet_of(net.block)
        assert ipaddress.ip_address(net.pod_gateway) in pods
        link = ipaddress.IPv4Network(f"{net.host_ip}/30", strict=False)
        assert ipaddress.ip_address(net.node_ip) in link
        assert not link.overlaps(pods)
        assert all(len(name) <= 15 for name in (net.bridge, net.host_veth, net.node_veth))


def test_pods_are_bridged_without_masquerade_in_their_range() -> None:
    net = NodeNetwork(7)
    config = json.loads(net.cni_config(Path("/x/ipam")))
    bridge = config["plugins"][0]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == net.bridge
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": net.pod_cidr, "gateway": net.pod_gateway}]]
    assert [p["type"] for p in config["plugins"]] == ["bridge", "portmap"]


def test_commands_enter_only_the_network_namespace() -> None:
    assert NodeNetwork(3).enter(["kubelet"]) == [
        "nsenter",
        "--net=/run/netns/tenantry-local-3",
        "--",
        "kubelet",
    ]


def test_the_kubelet_authenticates_and_authorizes_through_the_api_server() -> None:
    config = kubelet_config(
        runtime_socket=Path("/n/containerd.sock"),
        logs=Path("/n/pod-logs"),
        address="10.230.3.254",
        cgroup="tenantry-local-3",
        ca=Path("/pki/ca.crt"),
        serving=Pair(Path("/pki/k.crt"), Path("/pki/k.key")),
        cluster_dns=["10.96.0.10"],
    )
    assert config["authentication"] == {
        "anonymous": {"enabled": False},
        "webhook": {"enabled": True},
        "x509": {"clientCAFile": "/pki/ca.crt"},
    }
    assert config["authorization"] == {"mode": "Webhook"}
    assert config["readOnlyPort"] == 0
    assert config["tlsCertFile"] == "/pki/k.crt"
    assert config["cgroupRoot"] == "/tenantry-local-3"


def test_kube_proxy_and_coredns_serve_on_the_node_address() -> None:
    net = NodeNetwork(2)
    proxy = kube_proxy_config(Path("/n/kp.kubeconfig"), net)
    assert isinstance(proxy, dict)
    assert proxy["mode"] == "iptables"
    assert proxy["clusterCIDR"] == net.pod_cidr
    assert proxy["conntrack"]["maxPerCore"] == 0  # the kernel's table is left alone
    dns = corefile(Path("/n/dns.kubeconfig"), net)
    assert f"bind {net.node_ip}" in dns
    assert "kubeconfig /n/dns.kubeconfig local" in dns
    assert "forward" not in dns


def test_containerd_config_names_its_mirror_directory() -> None:
    root = Path("/n/containerd")
    text = containerd.config_toml(
        root,
        sandbox_image=PAUSE_IMAGE,
        cni_conf_dir=root / "cni",
        certs_dir=root / "certs.d",
    )
    assert f'config_path = "{root}/certs.d"' in text
    assert 'sandbox_image = "registry.k8s.io/pause:3.10.1"' in text
    assert "config_path" not in containerd.config_toml(
        root, sandbox_image="p", cni_conf_dir=root / "cni"
    )


def _wait(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail("timed out")


def test_the_supervisor_restarts_its_child_and_stops_on_sigterm(tmp_path: Path) -> None:
    pid_file, starts = tmp_path / "child.pid", tmp_path / "starts"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "tenantry_local.supervise", f"--pid-file={pid_file}",
         f"--starts-file={starts}", "--", "sleep", "60"]
    )  # fmt: skip
    try:
        _wait(lambda: starts.exists() and starts.read_text().strip() == "1")
        first = int(pid_file.read_text())
        subprocess.run(["kill", "-TERM", str(first)], check=True)  # as the agent's restart does
        _wait(lambda: starts.read_text().strip() == "2")
        assert int(pid_file.read_text()) != first
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        assert not pid_file.exists()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
