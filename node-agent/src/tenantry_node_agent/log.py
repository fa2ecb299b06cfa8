"""One JSON line per event on stderr: what the agent did, step by step."""

import json
import sys
import time
from typing import Any


def event(step: str, result: str, **detail: Any) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "step": step}
    record["result"] = result
    record.update(detail)
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)
