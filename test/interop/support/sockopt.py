"""Reads TCP_NODELAY of a socket held by another process (the test process hosting Parley).

Node can set TCP_NODELAY but cannot read it back, so the test asks the kernel: pidfd_open +
pidfd_getfd (Linux >= 5.6, needs ptrace rights over the target: the same user with ptrace
allowed, or CAP_SYS_PTRACE) duplicate each socket fd of the target; the one whose local port is
the server's and whose peer port is the client's is the server side of that connection.

    /usr/bin/python3 sockopt.py PID SERVER_PORT CLIENT_PORT
prints {"nodelay": 0|1} or {"error": "..."} and exits 0 (found) / 2 (not found or no rights).
"""

import ctypes
import json
import os
import socket
import sys

SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438


def main() -> int:
    pid, server_port, client_port = (int(v) for v in sys.argv[1:4])
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        print(json.dumps({"error": f"pidfd_open: {os.strerror(ctypes.get_errno())}"}))
        return 2
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                err = ctypes.get_errno()
                if err in (1, 13):  # EPERM / EACCES: no ptrace rights over the test process
                    print(json.dumps({"error": f"pidfd_getfd: {os.strerror(err)}"}))
                    return 2
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.family not in (socket.AF_INET, socket.AF_INET6) or s.type != socket.SOCK_STREAM:
                    continue
                try:
                    local, peer = s.getsockname(), s.getpeername()
                except OSError:
                    continue
                if local[1] == server_port and peer[1] == client_port:
                    print(json.dumps({"nodelay": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)}))
                    return 0
            finally:
                s.close()  # closes our duplicate only
    finally:
        os.close(pidfd)
    print(json.dumps({"error": "no such connection"}))
    return 2


sys.exit(main())
