"""Command line of the Tenantry syncer.

Only `check-config` exists so far: it reads the SyncerConfig document the VirtualCluster component
writes and reports whether this build understands it.
The `init` and `run` commands named by the StatefulSet come with the control-plane work.
"""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError
from tenantry_api.config import SyncerConfig, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantry-syncer")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a SyncerConfig document")
    check.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        document = load(SyncerConfig, args.config.read_text())
    except (OSError, ValidationError) as e:
        print(f"tenantry-syncer: {args.config}: {e}", file=sys.stderr)
        return 1
    print(f"tenantry-syncer: {args.config}: valid {document.kind} {document.api_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
