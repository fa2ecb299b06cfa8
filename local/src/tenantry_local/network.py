"""The real node's network: a network namespace of its own per cluster, joined to the host by
one veth pair.

Why a namespace and not a bridge on the host: kube-proxy (iptables mode), the kubelet and the
CNI plugins all write fixed chain names (KUBE-SERVICES, KUBE-FIREWALL, CNI-HOSTPORT-...), so two
clusters' nodes in one network namespace would overwrite each other's rules, and their rules
would sit in the host's tables. In a namespace of its own each node has its own tables, its own
127.0.0.1 (kubelet 10250/10248, kube-proxy, CoreDNS and containerd's stream server on fixed
ports), its own bridge and pod veths; deleting the namespace removes all of that at once.

Addresses of cluster slot N (one /24 each, 10.230.N.0/24, unique while the namespace exists):

    10.230.N.0/25     pods (CNI bridge ``tbrN`` inside the namespace, gateway .1)
    10.230.N.253/30   host end of the veth (``tntNh``): the API server binds and advertises it,
                      so the ``kubernetes`` Service (10.96.0.1:443, kube-proxy's DNAT) reaches it
    10.230.N.254/30   node end (``tntNn``): the kubelet's node IP, CoreDNS, kube-proxy's healthz

The host gets one route (the pod range via the node end) so replies reach pods; pods get no
default route out of the namespace and the host does not forward (its ip_forward stays as it
is), so nothing a pod sends leaves through the machine's own interfaces.
"""

import ipaddress
import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

BASE = ipaddress.ip_network("10.230.0.0/16")
NETNS_PREFIX = "tenantry-local-"
NETNS_DIR = Path("/run/netns")
SLOTS = 250


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@dataclass(frozen=True)
class NodeNetwork:
    slot: int

    @property
    def block(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{BASE.network_address + (self.slot << 8)}/24")

    @property
    def netns(self) -> str:
        return f"{NETNS_PREFIX}{self.slot}"

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def pod_cidr(self) -> str:
        return str(next(self.block.subnets(new_prefix=25)))

    @property
    def pod_gateway(self) -> str:
        return str(self.block.network_address + 1)

    @property
    def host_ip(self) -> str:
        return str(self.block.network_address + 253)

    @property
    def node_ip(self) -> str:
        return str(self.block.network_address + 254)

    @property
    def bridge(self) -> str:
        return f"tbr{self.slot}"

    @property
    def host_veth(self) -> str:
        return f"tnt{self.slot}h"

    @property
    def node_veth(self) -> str:
        return f"tnt{self.slot}n"

    def enter(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the node's network namespace only (``ip netns exec`` would also
        give it a mount namespace of its own, hiding the kubelet's volume mounts from
        containerd)."""
        return ["nsenter", f"--net={self.netns_path}", "--", *argv]

    def cni_config(self, ipam_dir: Path) -> str:
        """The pods' network: a bridge with the node as gateway, host-local addresses from the
        pod range, portmap for hostPorts. No masquerade: the API server and CoreDNS see pod
        addresses, and the host routes replies back through the veth."""
        return json.dumps(
            {
                "cniVersion": "1.0.0",
                "name": "tenantry-local",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": self.bridge,
                        "isGateway": True,
                        "ipMasq": False,
                        "hairpinMode": True,
                        "ipam": {
                            "type": "host-local",
                            "ranges": [[{"subnet": self.pod_cidr, "gateway": self.pod_gateway}]],
                            "routes": [{"dst": "0.0.0.0/0"}],
                            "dataDir": str(ipam_dir),
                        },
                    },
                    {"type": "portmap", "capabilities": {"portMappings": True}},
                ],
            },
            indent=2,
        )

    # --- lifecycle ---

    def create(self) -> None:
        """The veth pair, addresses and routes (the namespace itself is made by ``claim``)."""
        n = ["-n", self.netns]
        ip("link", "add", self.host_veth, "type", "veth", "peer", "name", self.node_veth,
           "netns", self.netns)  # fmt: skip
        ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_veth)
        ip("link", "set", self.host_veth, "up")
        ip(*n, "addr", "add", f"{self.node_ip}/30", "dev", self.node_veth)
        ip(*n, "link", "set", self.node_veth, "up")
        ip(*n, "link", "set", "lo", "up")
        ip("route", "add", self.pod_cidr, "via", self.node_ip, "dev", self.host_veth)
        # Forwarding between the bridge and the veth, inside the namespace only.
        subprocess.run(self.enter(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]), check=True)

    def delete(self) -> None:
        """Remove the namespace: its veth end (and so the host's), bridge, pod veths, routes
        and every iptables rule written in it go with it once no process is left inside."""
        if self.netns_path.exists():
            ip("netns", "delete", self.netns, check=False)
        # A namespace already gone leaves nothing; a host end whose peer died goes with it.
        ip("link", "delete", self.host_veth, check=False)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _routed() -> list[ipaddress.IPv4Network]:
    out = ip("-j", "-4", "route", "show", "table", "all", check=False).stdout or "[]"
    nets = []
    for route in json.loads(out):
        dst = route.get("dst", "")
        if dst and dst != "default":
            try:
                nets.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue
    return nets


def claim() -> NodeNetwork:
    """The first free slot, claimed by creating its namespace (``ip netns add`` fails when
    another cluster holds it, so two start-ups never share one). Slots whose /24 the host
    already routes (any other network) are skipped."""
    routed = _routed()
    for slot in range(SLOTS):
        net = NodeNetwork(slot)
        if net.netns_path.exists() or any(r.overlaps(net.block) for r in routed):
            continue
        if ip("netns", "add", net.netns, check=False).returncode == 0:
            return net
    raise RuntimeError(f"no free node network slot in {BASE} ({SLOTS} namespaces in use)")
