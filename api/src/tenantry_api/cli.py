"""Command-line pieces the syncer and the node agent share."""

import sys
from pathlib import Path

from pydantic import ValidationError

from tenantry_api.config import DocumentT, load


def load_document(prog: str, document_type: type[DocumentT], path: Path) -> DocumentT | None:
    """The document at ``path``, or None after printing one line that says what is wrong."""
    try:
        return load(document_type, path.read_text())
    except (OSError, ValidationError) as e:
        print(f"{prog}: {path}: {e}", file=sys.stderr)
        return None


def check_config(prog: str, document_type: type[DocumentT], path: Path) -> int:
    """`<prog> check-config --config FILE`: does this build understand the document?"""
    document = load_document(prog, document_type, path)
    if document is None:
        return 1
    print(f"{prog}: {path}: valid {document.kind} {document.api_version}")
    return 0
