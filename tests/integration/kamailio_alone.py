"""A real Kamailio on its own (deploy/kamailio/kamailio.cfg), for the tests of the ACD's reader of it.

No PBX and no phone farm: the location table is filled by REGISTERs (``sip_register``), and the
dispatcher's two PBXs are two UDP sockets of the test, one that answers OPTIONS (a PBX alive) and one
that never answers (a PBX dead). Everything is the test's own: a free SIP port on the loopback, run
files and pid file in a temporary folder, so it never meets the e2e lane's Kamailio (port 5080).
Kamailio missing is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAMAILIO_CFG = REPO / "deploy" / "kamailio" / "kamailio.cfg"
AGENTS = {"agent1": "k1secret", "agent2": "k2secret"}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SipPeer:
    """A UDP socket standing for a PBX in the dispatcher: ``answers`` 200 to every OPTIONS, or nothing."""

    def __init__(self, answers: bool) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.answers = answers
        self.probes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            text = data.decode(errors="replace")
            if not text.startswith("OPTIONS "):
                continue
            self.probes += 1
            if self.answers:
                keep = [
                    line
                    for line in text.split("\r\n")
                    if line.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")
                ]
                reply = "\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0", "", ""])
                with contextlib.suppress(OSError):
                    self.sock.sendto(reply.encode(), sender)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Kamailio:
    process: subprocess.Popen[bytes]
    folder: Path
    sip: str  # "127.0.0.1:<port>": where phones register
    alive: SipPeer  # dispatcher duid=pbx1: answers its probes
    dead: SipPeer  # dispatcher duid=pbx2: never answers

    @property
    def control(self) -> str:
        return str(self.folder / "rpc.sock")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.folder / "kamailio.log").read_text(errors="replace").splitlines()[-30:])
        return ""


def binary() -> str:
    found = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    assert found is not None, "kamailio is not installed (make kamailio: Debian's kamailio package)"
    return found


@contextlib.contextmanager
def kamailio(location_timer: int = 1) -> Iterator[Kamailio]:
    """Kamailio with the shipped configuration, its RPC socket answering; stopped on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="acd-kam-"))  # short: a unix socket's path is at most 107 bytes
    alive, dead = SipPeer(answers=True), SipPeer(answers=False)
    process: subprocess.Popen[bytes] | None = None
    try:
        db = folder / "db"
        db.mkdir(mode=0o700)
        rows = ["key_name(string) key_type(int) value_type(int) key_value(string) expires(int)"]
        rows += [f"{user}:0:0:{password}:0" for user, password in AGENTS.items()]
        (db / "agents").write_text("\n".join(rows) + "\n")
        (folder / "dispatcher.list").write_text(
            f"1 sip:127.0.0.1:{alive.port} 0 0 duid=pbx1\n1 sip:127.0.0.1:{dead.port} 0 0 duid=pbx2\n"
        )
        sip = f"127.0.0.1:{free_udp_port()}"
        defines = {
            "LISTEN": f"udp:{sip}",
            "DISPATCHER_LIST": f'"{folder / "dispatcher.list"}"',
            "AGENTS_DB": f'"text://{db}"',
            "RPC_SOCKET": f'"{folder / "rpc.sock"}"',
            "RPC_FIFO": f'"{folder / "rpc.fifo"}"',
            "LOCATION_TIMER": str(location_timer),
        }
        argv = [binary(), "-f", str(KAMAILIO_CFG), "-Y", str(folder), "-P", str(folder / "kamailio.pid")]
        for name, value in defines.items():
            argv += ["-A", f"{name}={value}"]
        argv += ["-DD", "-E", "-m", "32", "-M", "8"]
        with (folder / "kamailio.log").open("wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        found = Kamailio(process, folder, sip, alive, dead)
        deadline = time.monotonic() + 10
        while not (folder / "rpc.sock").exists():
            assert process.poll() is None, f"kamailio exited with {process.returncode}:\n{found.log()}"
            assert time.monotonic() < deadline, f"kamailio's RPC socket not there after 10 s:\n{found.log()}"
            time.sleep(0.05)
        yield found
    finally:
        if process is not None:
            stop(process)
        alive.close()
        dead.close()
        shutil.rmtree(folder, ignore_errors=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Kamailio's process group, SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
