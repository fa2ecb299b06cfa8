"""Command-line pieces the syncer and the node agent share."""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from tenantry_api.config import DocumentT, load


def check_config_main(prog: str, document_type: type[DocumentT], argv: list[str] | None) -> int:
    """`<prog> check-config --config FILE`: does this build understand the document?"""
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check-config", help=f"validate a {document_type.__name__} document"
    )
    check.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        document = load(document_type, args.config.read_text())
    except (OSError, ValidationError) as e:
        print(f"{prog}: {args.config}: {e}", file=sys.stderr)
        return 1
    print(f"{prog}: {args.config}: valid {document.kind} {document.api_version}")
    return 0
