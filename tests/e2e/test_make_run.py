"""``make run ACD_PBXS=2`` (deploy/local/run.sh): two PBXs behind Kamailio, the ACD and the demo traffic.

The script runs for a bounded time as a person runs it, then gets Ctrl-C (SIGINT to its process
group). While it runs, the demo's callers enter through Kamailio and the ACD has agents answer calls
on both PBXs (the dialplan's ``AcdAnswered`` as an agent answers an offer, seen on each PBX's AMI);
after it, nothing it started is left: the PBXs', the farm's and Kamailio's processes are gone, their
ports free (and the ACD's and Prometheus's), the farm's registrations with Kamailio removed.

The script stops every Asterisk of the root on its way out, the e2e session's PBX and farm too, so
those are started again afterwards when they ran before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from e2e_stack import ASTERISK_ROOT, REPO, read_secrets, run_script

import phonefarm.kamailio as kamailio_lab
from phonefarm import AmiClient
from phonefarm.ports import free_port

STATE = Path(os.environ.get("ACD_STATE_DIR", "/var/lib/acd"))
SECRETS = Path(os.environ.get("ACD_SECRETS_FILE", str(STATE / "secrets.env")))
FARM_KAMAILIO_CONF = ASTERISK_ROOT / "etc" / "asterisk-farm" / "pjsip-kamailio.conf"
INSTANCES = ("pbx", "farm", "pbx2")
# seconds from the script's start until an answered call on each PBX: the PBX and the farm (up to 10 s
# for the phones' registrations), Kamailio and pbx2, the phones' registrations with Kamailio (up to
# 10 s), the ACD with its embedded PostgreSQL, the logins, then callers at one a second. Measured 38 s
# on an idle machine; over 60 s with the machine's load at 50 (the embedded PostgreSQL alone took 10 s)
ROUTED_BOUND = 120.0
STOP_BOUND = 40.0  # seconds from Ctrl-C to the script's end
UDP_PORTS = (5060, 5062, 5070, 5080)  # SIP: the PBX, pbx2, the farm, Kamailio
TCP_PORTS = (5038, 5039, 5040)  # AMI: the PBX, the farm, pbx2


def running_pids() -> dict[str, int]:
    """The pids the pid files name, of processes that still run: the three Asterisks and Kamailio."""
    found = {}
    for name, path in [*((i, STATE / "run" / f"{i}.pid") for i in INSTANCES), ("kamailio", kamailio_lab.pid_file())]:
        with contextlib.suppress(OSError, ValueError):
            pid = int(path.read_text())
            if Path(f"/proc/{pid}").exists():
                found[name] = pid
    return found


def port_free(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a connection in TIME_WAIT holds nothing
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def config(tmp_path: Path, http_port: int) -> Path:
    """The shipped acd.toml, with its own HTTP port and database folder."""
    text = (REPO / "acd.toml").read_text()
    for old, new in (
        ("port = 8080", f"port = {http_port}"),
        ('data_dir = "var/pg"', f'data_dir = "{tmp_path}/pg"'),
        ('journal_dir = "var/journal"', f'journal_dir = "{tmp_path}/journal"'),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "acd.toml"
    path.write_text(text)
    return path


def last_lines(log: Path, count: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-count:])


async def answered_on_each_pbx(secret: str, script: subprocess.Popen[bytes], log: Path) -> dict[str, int]:
    """Watch each PBX's AMI (connecting as it comes up) until an agent answered an ACD call on each."""
    clients: dict[str, AmiClient] = {}
    answered = dict.fromkeys(kamailio_lab.PBX_AMI_PORTS, 0)
    began = time.monotonic()
    try:
        while not all(answered.values()):
            elapsed = time.monotonic() - began
            tail = last_lines(log)
            assert script.poll() is None, f"run.sh ended (rc {script.returncode}):\n{tail}"
            assert elapsed < ROUTED_BOUND, f"answered calls per PBX after {elapsed:.0f} s: {answered}\n{tail}"
            for name, port in kamailio_lab.PBX_AMI_PORTS.items():
                if name not in clients:
                    client = AmiClient("127.0.0.1", port, "observer", secret, name=name)
                    with contextlib.suppress(Exception):
                        await client.connect(timeout=2)
                        clients[name] = client
                else:
                    answered[name] = sum(1 for e in clients[name].events() if e.get("UserEvent") == "AcdAnswered")
            await asyncio.sleep(0.5)
    finally:
        for client in clients.values():
            client.close()
    return answered


def test_make_run_two_pbxs_spreads_calls_and_stops_everything(tmp_path: Path) -> None:
    was_running = bool(running_pids().keys() & {"pbx", "farm"})
    run_script("build")
    run_script("install")  # this tree's dialplan, as `make run` installs it
    secret = read_secrets(SECRETS)["ACD_AMI_OBSERVER_SECRET"]
    http_port, prometheus_port = free_port(), free_port()
    env = {
        **os.environ,
        "ACD_PBXS": "2",
        "ACD_CONFIG": str(config(tmp_path, http_port)),
        "ACD_DEMO_CALLS_PER_MINUTE": "60",
        "ACD_PROMETHEUS_ADDRESS": f"127.0.0.1:{prometheus_port}",
        "PY": sys.executable,
    }
    log = tmp_path / "run.log"
    began = time.monotonic()
    with log.open("wb") as out:
        script = subprocess.Popen(
            ["bash", str(REPO / "deploy" / "local" / "run.sh")],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pids: dict[str, int] = {}
    try:
        answered = asyncio.run(answered_on_each_pbx(secret, script, log))
        routed_s = time.monotonic() - began
        pids = running_pids()
        assert set(pids) == {*INSTANCES, "kamailio"}, pids
        assert FARM_KAMAILIO_CONF.exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGINT)  # Ctrl-C
        stopped = time.monotonic()
        try:
            script.wait(STOP_BOUND)
        except subprocess.TimeoutExpired:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(5)
            raise AssertionError(f"run.sh still ran {STOP_BOUND:.0f} s after Ctrl-C") from None
        stop_s = time.monotonic() - stopped
        try:
            output = log.read_text(errors="replace")
            assert "run: everything stopped." in output, output[-3000:]
            left = {name: pid for name, pid in pids.items() if Path(f"/proc/{pid}").exists()}
            assert not left, f"still running after run.sh: {left}"
            assert not running_pids(), running_pids()
            assert not kamailio_lab.pid_file().exists()
            assert not FARM_KAMAILIO_CONF.exists()
            taken = [p for p in UDP_PORTS if not port_free(p, socket.SOCK_DGRAM)]
            taken += [p for p in (*TCP_PORTS, http_port, prometheus_port) if not port_free(p, socket.SOCK_STREAM)]
            assert not taken, f"ports still held: {taken}"
        finally:
            if was_running:
                run_script("start", "all")
    print(f"answered per PBX {answered} after {routed_s:.1f} s; stopped in {stop_s:.1f} s")
