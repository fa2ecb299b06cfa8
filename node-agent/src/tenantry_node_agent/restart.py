"""Restarting containerd after its config changed.

- ``systemd``: host systemd's ``RestartUnit`` over D-Bus, on systemd's private socket (no
  bus daemon needed, and the agent needs no systemctl binary or host mount namespace).
- ``signal``: for hosts without systemd whose init supervises containerd (runit, s6, OpenRC's
  supervise-daemon): SIGTERM to the pid in the pid file, then wait until a new containerd
  writes its pid. containerd reloads nothing on SIGHUP, so a restart is the only way.
- ``none``: the operator restarts containerd; the agent waits for the handler to show up.

Running containers are unaffected in every case: their shims outlive containerd.
"""

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

SYSTEMD_PRIVATE_SOCKET = "/run/systemd/private"
CONTAINERD_UNIT = "containerd.service"


class RestartError(RuntimeError):
    pass


def restart_systemd(
    unit: str = CONTAINERD_UNIT, socket_path: str = SYSTEMD_PRIVATE_SOCKET, timeout: float = 10
) -> str:
    """Ask host systemd to restart ``unit``; returns the job path systemd queued."""
    from jeepney import DBusAddress, MessageType, Parser, new_method_call  # noqa: PLC0415
    from jeepney.auth import BEGIN, Authenticator  # noqa: PLC0415
    from jeepney.low_level import HeaderFields  # noqa: PLC0415

    manager = DBusAddress(
        "/org/freedesktop/systemd1",
        bus_name="org.freedesktop.systemd1",
        interface="org.freedesktop.systemd1.Manager",
    )
    call = new_method_call(manager, "RestartUnit", "ss", (unit, "replace"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        # systemd's private socket is a direct peer-to-peer D-Bus connection: authenticate,
        # then call, with no bus daemon and so no Hello (jeepney's connections always send one).
        auth = Authenticator()
        for request in auth:
            sock.sendall(request)
            auth.feed(sock.recv(1024))
        sock.sendall(BEGIN + call.serialise(serial=1))
        parser = Parser()
        while True:
            reply = parser.get_next_message()
            if reply is None:
                data = sock.recv(4096)
                if not data:
                    raise OSError("systemd closed the connection")
                parser.add_data(data)
            elif reply.header.fields.get(HeaderFields.reply_serial) == 1:
                break  # anything else (a signal) is not the answer
    except OSError as e:
        raise RestartError(f"systemd at {socket_path}: {e}") from e
    finally:
        sock.close()
    if reply.header.message_type is MessageType.error:
        raise RestartError(f"systemd refused to restart {unit}: {reply.body}")
    return str(reply.body[0])


def restart_by_signal(pid_file: Path, timeout: float = 60) -> int:
    """SIGTERM the containerd in ``pid_file``; returns the pid of the one that replaced it."""
    try:
        old = int(pid_file.read_text().strip())
    except (OSError, ValueError) as e:
        raise RestartError(f"cannot read containerd's pid from {pid_file}: {e}") from e
    # Already gone is fine: its supervisor is starting a new one.
    with contextlib.suppress(ProcessLookupError):
        os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            new = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            new = old
        if new != old and _alive(new):
            return new
        time.sleep(0.1)
    raise RestartError(f"no new containerd in {pid_file} {timeout}s after SIGTERM to {old}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
