"""Command line of tenantry-node-agent.

run          the DaemonSet's command: every step, then keep the node converged; on SIGTERM
             uninstall only if the DaemonSet no longer selects the node
preflight    check the node and publish the result; install nothing
uninstall    remove the handler and restore the node now
check-config validate a NodeAgentConfig document
"""

import argparse
import json
import os
import sys
from pathlib import Path

from tenantry_api.cli import check_config
from tenantry_api.config import NodeAgentConfig

PROG = "tenantry-node-agent"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a NodeAgentConfig document")
    check.add_argument("--config", type=Path, required=True)
    for name, text in (
        ("run", "install, verify and label; keep the node converged until SIGTERM"),
        ("preflight", "check the node and publish the result; install nothing"),
        ("uninstall", "remove the handler and restore the node"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", type=Path, required=True)
        command.add_argument(
            "--node-name", default=os.environ.get("NODE_NAME", ""), help="default: $NODE_NAME"
        )
        command.add_argument(
            "--kubeconfig",
            type=Path,
            help="JSON kubeconfig (default: in-cluster, or no API writes outside a cluster)",
        )
        command.add_argument(
            "--host-root", type=Path, default=Path("/"), help="where the host's / is mounted"
        )
        command.add_argument("--cgroup-root", type=Path, default=Path("/sys/fs/cgroup"))
        command.add_argument(
            "--daemonset",
            default=os.environ.get("TENANTRY_DAEMONSET", ""),
            help="NAMESPACE/NAME of the agent's DaemonSet (default: $TENANTRY_DAEMONSET)",
        )
        command.add_argument("--resync-seconds", type=float, default=60.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(PROG, [NodeAgentConfig], args.config)
    # Imported here: `check-config` and `--help` stay light.
    from tenantry_node_agent.agent import Agent, Options  # noqa: PLC0415
    from tenantry_node_agent.kube import Kube  # noqa: PLC0415

    config = NodeAgentConfig.model_validate_json(args.config.read_text())
    kube = None
    if args.kubeconfig is not None:
        kube = Kube.from_kubeconfig(args.kubeconfig)
    elif "KUBERNETES_SERVICE_HOST" in os.environ:
        kube = Kube.in_cluster()
    if kube is not None and not args.node_name:
        print(f"{PROG}: --node-name or $NODE_NAME is required", file=sys.stderr)
        return 2
    daemonset = tuple(args.daemonset.split("/", 1)) if "/" in args.daemonset else None
    agent = Agent(
        Options(
            config=config,
            node_name=args.node_name,
            kube=kube,
            host_root=args.host_root,
            cgroup_root=args.cgroup_root,
            daemonset=daemonset,
            resync_seconds=args.resync_seconds,
        )
    )
    if args.command == "preflight":
        facts, verdict = agent.preflight()
        print(json.dumps({"passed": verdict.passed, "reason": verdict.reason, **facts.__dict__}))
        return 0 if verdict.passed else 1
    if args.command == "uninstall":
        agent.uninstall()
        return 0
    from tenantry_node_agent.agent import stop_on_sigterm  # noqa: PLC0415

    return agent.serve(stop_on_sigterm())


if __name__ == "__main__":
    sys.exit(main())
