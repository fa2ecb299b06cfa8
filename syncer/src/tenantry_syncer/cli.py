"""Command line of tenantry-syncer.

- `init`: the init container; prepares the PKI and the tenant kubeconfig (see init.py).
- `run`: the syncer container; leader-elected sync with /healthz, /readyz and /metrics.
- `snapshot`: the snapshot CronJob; the store and the PKI to S3, then retention (snapshot.py).
- `restore <uri>`: the restore init container; seeds the store and the PKI from a snapshot.
- `sleep`: the sleeper Deployment; passes the tenant's API traffic through, puts the control
  plane to sleep after inactivity and wakes it on a request or an annotation (sleeper.py).
- `check-config`: validate a config document (SyncerConfig, SleeperConfig or SnapshotConfig).

`init`, `run` and `restore` read the SyncerConfig; `sleep` its SleeperConfig and `snapshot` its
SnapshotConfig, each with `--config`. Flags carry only the pod's wiring (paths and ports).
"""

import argparse
import faulthandler
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes.dynamic import DynamicClient
from tenantry_api.cli import check_config, load_document
from tenantry_api.config import Document, SleeperConfig, SnapshotConfig, SyncerConfig

from tenantry_syncer import init, pki, restore, sleeper, snapshot
from tenantry_syncer.controller.leader import LeaderElector
from tenantry_syncer.controller.metrics import HealthServer
from tenantry_syncer.kube import api_client_from, host_api
from tenantry_syncer.sync import Syncer

PROG = "tenantry-syncer"
DOCUMENTS: list[type[Document]] = [SyncerConfig, SleeperConfig, SnapshotConfig]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate a config document")
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
    run_cmd = commands.add_parser("run", help="sync the virtual cluster onto the host")
    run_cmd.add_argument("--config", type=Path, required=True)
    run_cmd.add_argument("--pki-dir", type=Path, required=True)
    run_cmd.add_argument("--kubeconfig", type=Path, default=init_cmd.get_default("kubeconfig"))
    run_cmd.add_argument("--port", type=int, default=8080, help="health and metrics port")
    run_cmd.add_argument("--workers", type=int, default=8)
    snap_cmd = commands.add_parser("snapshot", help="snapshot the store and the PKI to S3")
    restore_cmd = commands.add_parser("restore", help="seed the store and the PKI from S3")
    restore_cmd.add_argument("uri", help="s3://<bucket>/<snapshot folder>")
    restore_cmd.add_argument(
        "--overwrite", action="store_true", help="replace data that is already there"
    )
    restore_cmd.add_argument("--region", default="")
    restore_cmd.add_argument("--endpoint-url", default="", help="for S3-compatible stores")
    for cmd in (snap_cmd, restore_cmd):
        cmd.add_argument("--config", type=Path, required=True)
        cmd.add_argument("--data-dir", type=Path, required=True, help="the store's volume")
        # Resolved when the command runs: a read-only root may have no temporary directory.
        cmd.add_argument("--work-dir", type=Path, help="scratch space (default: $TMPDIR)")
        cmd.add_argument("--kubeconfig", type=Path, default=init_cmd.get_default("kubeconfig"))
    _sleep_parser(commands, init_cmd.get_default("kubeconfig"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "check-config":
        return check_config(PROG, DOCUMENTS, args.config)
    if args.command == "sleep":
        sleeper_config = load_document(PROG, SleeperConfig, args.config)
        return 1 if sleeper_config is None else sleep(args, sleeper_config)
    if args.command == "snapshot":
        snapshot_config = load_document(PROG, SnapshotConfig, args.config)
        return 1 if snapshot_config is None else snapshot_command(args, snapshot_config)
    config = load_document(PROG, SyncerConfig, args.config)
    if config is None:
        return 1
    if args.command == "run":
        return run(config, args.pki_dir, args.kubeconfig, args.port, args.workers)
    if args.command == "restore":
        return restore_command(args, config)
    api = host_api(args.kubeconfig)
    store = init.KubernetesSecretStore(config.host_namespace, api)
    try:
        ips = init.service_ips(api, config.host_namespace, config.service_name)
        outcome = init.run(config, args.pki_dir, store, ips)
    except (pki.PKIError, init.ServiceMissingError) as e:
        print(f"{PROG} init: {e}", file=sys.stderr)
        return 1
    changed = ", ".join(outcome.pki_changed) or "nothing"
    kubeconfig = "written" if outcome.kubeconfig_secret_written else "unchanged"
    print(
        f"{PROG} init: pki re-issued: {changed}; {len(outcome.files_written)} files written; "
        f"tenant kubeconfig {kubeconfig}"
    )
    return 0


def snapshot_command(args: argparse.Namespace, config: SnapshotConfig) -> int:
    store = init.KubernetesSecretStore(config.host_namespace, host_api(args.kubeconfig))
    s3 = snapshot.s3_client(config.snapshots.region, config.snapshots.endpoint_url)
    work_dir = _work_dir(args)

    def take() -> str:
        location, manifest, deleted = snapshot.take(
            config, args.data_dir, work_dir, secrets=store, s3=s3
        )
        summary = snapshot.manifest_summary(manifest)
        return f"{location.uri}: {summary}; retention deleted {len(deleted)}"

    return _reported("snapshot", take)


def restore_command(args: argparse.Namespace, config: SyncerConfig) -> int:
    store = init.KubernetesSecretStore(config.host_namespace, host_api(args.kubeconfig))
    s3 = snapshot.s3_client(args.region, args.endpoint_url)
    work_dir = _work_dir(args)

    def seed() -> str:
        done = restore.restore(
            args.uri,
            config,
            args.data_dir,
            work_dir,
            secrets=store,
            s3=s3,
            overwrite=args.overwrite,
        )
        if done.manifest is None:
            return f"{done.location.uri} already restored; nothing to do"
        return f"{done.location.uri}: {snapshot.manifest_summary(done.manifest)}"

    return _reported("restore", seed)


def _reported(command: str, action: Callable[[], str]) -> int:
    """Runs ``action`` and prints its one-line outcome, or the SnapshotError that stopped it."""
    try:
        outcome = action()
    except snapshot.SnapshotError as e:
        print(f"{PROG} {command}: {e}", file=sys.stderr)
        return 1
    print(f"{PROG} {command}: {outcome}")
    return 0


def _work_dir(args: argparse.Namespace) -> Path:
    return args.work_dir if args.work_dir is not None else Path(tempfile.gettempdir())


def _sleep_parser(commands: Any, kubeconfig: Path | None) -> None:
    cmd = commands.add_parser("sleep", help="sleep after inactivity, wake on a request")
    cmd.add_argument("--config", type=Path, required=True)
    cmd.add_argument("--kubeconfig", type=Path, default=kubeconfig)
    cmd.add_argument("--upstream", required=True, help="host:port of the API server")
    cmd.add_argument("--listen-port", type=int, default=6443)
    cmd.add_argument("--health-port", type=int, default=8080)


def sleep(args: argparse.Namespace, config: SleeperConfig) -> int:
    host_name, _, port = args.upstream.rpartition(":")
    control = sleeper.Sleeper(config, host_api(args.kubeconfig), (host_name, int(port)))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    listener = sleeper.listen(args.listen_port)
    health = HealthServer(args.health_port, ready=lambda: True).start()
    threading.Thread(target=control.serve, args=(listener, stop), daemon=True).start()
    try:
        control.run(stop)
    finally:
        listener.close()
        health.stop()
    return 0


def run(
    config: SyncerConfig, pki_dir: Path, kubeconfig: Path | None, port: int, workers: int
) -> int:
    host = host_api(kubeconfig)
    syncer = Syncer(config, api_client_from(pki_dir / "syncer.conf"), host, workers=workers)
    elector = LeaderElector(
        DynamicClient(host).resources.get(api_version="coordination.k8s.io/v1", kind="Lease"),  # type: ignore[no-untyped-call]
        config.host_namespace,
        f"tenantry-syncer-{config.vcluster}",
        identity=os.environ.get("POD_NAME") or socket.gethostname(),
    )
    stop = threading.Event()
    faulthandler.register(signal.SIGUSR1)  # every thread's stack, for a stuck syncer
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    health = HealthServer(port, ready=lambda: syncer.ready).start()
    threading.Thread(target=elector.run, args=(stop,), daemon=True).start()
    try:
        syncer.run(stop, leading=elector.leading)
    finally:
        health.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
