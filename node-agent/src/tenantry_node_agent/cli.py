"""Command line of the Tenantry node agent.

Only `check-config` exists so far: it reads the NodeAgentConfig document the VirtualNode component
writes and reports whether this build understands it.
The `run`, `preflight` and `uninstall` commands come with the node-agent work.
"""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError
from tenantry_api.config import NodeAgentConfig, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantry-node-agent")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a NodeAgentConfig document")
    check.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        document = load(NodeAgentConfig, args.config.read_text())
    except (OSError, ValidationError) as e:
        print(f"tenantry-node-agent: {args.config}: {e}", file=sys.stderr)
        return 1
    print(f"tenantry-node-agent: {args.config}: valid {document.kind} {document.api_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
