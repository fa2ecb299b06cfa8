"""Command line of tenantry-syncer.

Only `check-config` exists so far: it reads the SyncerConfig document the components write.
The `init` and `run` commands named by the StatefulSet come with the control-plane work.
"""

import sys

from tenantry_api.cli import check_config_main
from tenantry_api.config import SyncerConfig


def main(argv: list[str] | None = None) -> int:
    return check_config_main("tenantry-syncer", SyncerConfig, argv)


if __name__ == "__main__":
    sys.exit(main())
