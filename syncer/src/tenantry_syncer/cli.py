"""Command line of tenantry-syncer.

- `init`: the init container; prepares the PKI and the tenant kubeconfig (see init.py).
- `check-config`: validate a SyncerConfig document.

The `run` command named by the StatefulSet comes with the syncer work.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

from tenantry_api.cli import check_config, load_document
from tenantry_api.config import SyncerConfig

from tenantry_syncer import init, pki
from tenantry_syncer.kube import host_api

PROG = "tenantry-syncer"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a SyncerConfig document")
    check.add_argument("--config", type=Path, required=True)
    init_cmd = commands.add_parser("init", help="prepare the PKI and the tenant kubeconfig")
    init_cmd.add_argument("--config", type=Path, required=True)
    init_cmd.add_argument("--pki-dir", type=Path, required=True)
    init_cmd.add_argument(
        "--kubeconfig",
        type=Path,
        default=Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None,
        help="host cluster kubeconfig (default: $KUBECONFIG, else in-cluster)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "check-config":
        return check_config(PROG, SyncerConfig, args.config)
    config = load_document(PROG, SyncerConfig, args.config)
    if config is None:
        return 1
    store = init.KubernetesSecretStore(config.host_namespace, host_api(args.kubeconfig))
    try:
        outcome = init.run(config, args.pki_dir, store)
    except pki.PKIError as e:
        print(f"{PROG} init: {e}", file=sys.stderr)
        return 1
    changed = ", ".join(outcome.pki_changed) or "nothing"
    kubeconfig = "written" if outcome.kubeconfig_secret_written else "unchanged"
    print(
        f"{PROG} init: pki re-issued: {changed}; {len(outcome.files_written)} files written; "
        f"tenant kubeconfig {kubeconfig}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
