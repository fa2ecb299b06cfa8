"""The node agent's restarts without a real init: systemd's D-Bus call against a fake systemd
on a unix socket (the wire protocol is real: jeepney on both ends), and the signal strategy
against a supervised child."""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jeepney import Parser, new_error, new_method_return
from tenantry_node_agent import restart


class FakeSystemd:
    """Speaks just enough D-Bus on a unix socket: SASL EXTERNAL, then one method call."""

    def __init__(self, path: Path, *, refuse: bool = False) -> None:
        self.path = path
        self.refuse = refuse
        self.calls: list[tuple[str, str, str, tuple[object, ...]]] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            buffer = b""
            while b"BEGIN\r\n" not in buffer:
                buffer += conn.recv(4096)
                if b"AUTH EXTERNAL" in buffer and b"OK" not in buffer:
                    conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                    buffer += b"OK"
            parser = Parser()
            parser.add_data(buffer.split(b"BEGIN\r\n", 1)[1])
            message = parser.get_next_message()
            while message is None:
                parser.add_data(conn.recv(4096))
                message = parser.get_next_message()
            fields = message.header.fields
            self.calls.append(
                (
                    str(fields[restart_field("path")]),
                    str(fields[restart_field("interface")]),
                    str(fields[restart_field("member")]),
                    tuple(message.body),
                )
            )
            if self.refuse:
                reply = new_error(message, "org.freedesktop.systemd1.NoSuchUnit", "s", ("no",))
            else:
                reply = new_method_return(message, "o", ("/org/freedesktop/systemd1/job/42",))
            conn.sendall(reply.serialise(serial=1))

    def close(self) -> None:
        self._thread.join(timeout=5)
        self._server.close()


def restart_field(name: str) -> object:
    from jeepney.low_level import HeaderFields  # noqa: PLC0415

    return getattr(HeaderFields, name)


def test_systemd_restart_is_one_restart_unit_call_over_the_private_socket(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path / "private")
    job = restart.restart_systemd(socket_path=str(fake.path))
    fake.close()
    assert job == "/org/freedesktop/systemd1/job/42"
    assert fake.calls == [
        (
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "RestartUnit",
            ("containerd.service", "replace"),
        )
    ]


def test_systemd_refusal_is_an_error(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path / "private", refuse=True)
    with pytest.raises(restart.RestartError, match="refused"):
        restart.restart_systemd(socket_path=str(fake.path))
    fake.close()


def test_no_systemd_socket_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(restart.RestartError, match="systemd at"):
        restart.restart_systemd(socket_path=str(tmp_path / "absent"))


def test_signal_restart_waits_for_the_supervisor_to_start_a_new_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "containerd.pid"
    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pid_file.write_text(f"{first.pid}\n")
    replacement: list[subprocess.Popen[bytes]] = []

    def supervise() -> None:  # what runit/s6 would do: start it again once it exits
        first.wait()
        replacement.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        pid_file.write_text(f"{replacement[0].pid}\n")

    threading.Thread(target=supervise, daemon=True).start()
    try:
        new = restart.restart_by_signal(pid_file, timeout=20)
        assert first.returncode == -signal.SIGTERM
        assert new == replacement[0].pid != first.pid
    finally:
        for proc in (first, *replacement):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def test_signal_restart_without_a_supervisor_times_out(tmp_path: Path) -> None:
    pid_file = tmp_path / "containerd.pid"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pid_file.write_text(f"{proc.pid}\n")
    with pytest.raises(restart.RestartError, match="no new containerd"):
        restart.restart_by_signal(pid_file, timeout=1)
    proc.wait()
