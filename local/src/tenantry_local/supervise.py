"""A small supervisor, playing an init system's part where there is no systemd: it runs one
command, starts it again whenever it exits (after a short pause, as init systems do), writes
the running child's pid to a pid file and counts the starts in a file beside it.

The node agent's ``signal`` restart strategy SIGTERMs the pid in that file and relies on this to
bring containerd back. SIGTERM to the supervisor itself stops the child and ends it.

    python -m tenantry_local.supervise --pid-file F [--starts-file S] -- COMMAND...
"""

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

RESTART_PAUSE = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantry_local.supervise")
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--starts-file", type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    starts = 0
    while not stopping:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        if stopping:  # SIGTERM came while it was being started
            child.terminate()
        starts += 1
        args.pid_file.write_text(f"{child.pid}\n")
        if args.starts_file is not None:
            args.starts_file.write_text(f"{starts}\n")
        print(f"supervise: started {command[0]} (pid {child.pid}, start {starts})", flush=True)
        code = child.wait()
        print(f"supervise: {command[0]} exited with {code}", flush=True)
        if not stopping:
            time.sleep(RESTART_PAUSE)
    if child is not None:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    args.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
