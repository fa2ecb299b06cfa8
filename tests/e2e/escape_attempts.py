"""Run inside a pod, not imported: ``python -c <this file> NODE_IP DEVICE SOCKET ATTEMPT...``.
Each escape named is tried, and what the pod saw is written as JSON to its termination message,
``{attempt: "ok <what it got>" | "<error> <errno>: <message>"}``. Standard library only: it
runs in the syncer image, as root (the pod overrides the image's user)."""

import ctypes
import errno
import json
import os
import socket
import sys
import time

INIT_MODULE = 175  # x86_64
MNT_DETACH = 2
libc = ctypes.CDLL(None, use_errno=True)


def checked(rc: int) -> None:
    if rc != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def failure(e: OSError) -> str:
    return f"{type(e).__name__} {errno.errorcode.get(e.errno or 0, e.errno)}: {e.strerror}"


def host_file() -> str:
    with open("/host/secret") as f:
        return f.read()


def containerd_socket() -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(3)
        s.connect(f"/containerd/{SOCKET}")
    return "connected"


def kubelet_port() -> str:
    # kube-router fences a new pod at its next sync: the last of ten tries is the verdict.
    last: OSError | str = ""
    for _ in range(10):
        try:
            with socket.create_connection((NODE_IP, 10250), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                last = s.recv(400).decode(errors="replace").splitlines()[-1]
        except OSError as e:
            last = e
        time.sleep(1)
    if isinstance(last, OSError):
        raise last
    return last


def pid_1() -> str:
    with open("/proc/1/cmdline") as f:
        return f.read().split("\0")[0]


def kernel_module() -> str:
    # Not a module: a kernel that loads modules answers ENOEXEC once past the capability check.
    checked(libc.syscall(INIT_MODULE, b"\0" * 64, ctypes.c_ulong(64), b""))
    return "loaded"


def block_device() -> str:
    # Read-write: the kernel refuses (EBUSY) a read-only mount of a superblock mounted rw.
    os.makedirs("/work/mnt", exist_ok=True)
    checked(libc.mount(DEVICE.encode(), b"/work/mnt", b"ext4", ctypes.c_ulong(0), None))
    try:
        return " ".join(sorted(os.listdir("/work/mnt")))
    finally:
        checked(libc.umount2(b"/work/mnt", MNT_DETACH))


NODE_IP, DEVICE, SOCKET = sys.argv[1:4]
seen = {}
for name in sys.argv[4:]:
    try:
        seen[name] = "ok " + globals()[name.replace("-", "_")]()
    except OSError as e:
        seen[name] = failure(e)
with open("/dev/termination-log", "w") as log:
    json.dump(seen, log)
