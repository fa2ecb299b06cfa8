"""Command line of tenantry-node-agent.

Only `check-config` exists so far: it validates the NodeAgentConfig document VirtualNode
writes. The `run`, `preflight` and `uninstall` commands come with the node-agent work.
"""

import argparse
import sys
from pathlib import Path

from tenantry_api.cli import check_config
from tenantry_api.config import NodeAgentConfig

PROG = "tenantry-node-agent"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a NodeAgentConfig document")
    check.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    return check_config(PROG, NodeAgentConfig, args.config)


if __name__ == "__main__":
    sys.exit(main())
