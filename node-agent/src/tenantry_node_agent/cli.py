"""Command line of tenantry-node-agent.

Only `check-config` exists so far: it reads the NodeAgentConfig document the components write.
The `run`, `preflight` and `uninstall` commands come with the node-agent work.
"""

import sys

from tenantry_api.cli import check_config_main
from tenantry_api.config import NodeAgentConfig


def main(argv: list[str] | None = None) -> int:
    return check_config_main("tenantry-node-agent", NodeAgentConfig, argv)


if __name__ == "__main__":
    sys.exit(main())
