"""Command-line pieces the syncer and the node agent share."""

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from tenantry_api.config import Document, DocumentT, load


def load_document(prog: str, document_type: type[DocumentT], path: Path) -> DocumentT | None:
    """The document at ``path``, or None after printing one line that says what is wrong."""
    try:
        return load(document_type, path.read_text())
    except (OSError, ValidationError) as e:
        print(f"{prog}: {path}: {e}", file=sys.stderr)
        return None


def check_config(prog: str, document_types: Sequence[type[Document]], path: Path) -> int:
    """`<prog> check-config --config FILE`: does this build understand the document? Its
    ``kind`` picks which of ``document_types`` it must be."""
    try:
        kind = json.loads(path.read_text()).get("kind")
    except (OSError, ValueError, AttributeError) as e:
        print(f"{prog}: {path}: not a JSON config document: {e}", file=sys.stderr)
        return 1
    by_kind = {t.model_fields["kind"].default: t for t in document_types}
    if kind not in by_kind:
        print(f"{prog}: {path}: kind {kind!r} is not one of {sorted(by_kind)}", file=sys.stderr)
        return 1
    document = load_document(prog, by_kind[kind], path)
    if document is None:
        return 1
    print(f"{prog}: {path}: valid {document.kind} {document.api_version}")
    return 0
