"""A free loopback TCP port, for the servers the tests and benchmarks start (the ACD, Prometheus).

One helper for all of them; the port is free when asked, so a server that binds it at once gets it.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
