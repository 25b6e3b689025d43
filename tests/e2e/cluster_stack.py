"""Kamailio and a second PBX beside the e2e stack: the harness of the multi-PBX tests (docs/kamailio.md).

The e2e stack (e2e_stack.py) runs one PBX and the phone farm. For several PBXs behind Kamailio, this
adds, on the same loopback and so inside one lane or network namespace:

- ``pbx2``, a second Asterisk from the same root (``pbx.sh start pbx2``): SIP 5062, AMI 5040, its
  agents rung through Kamailio;
- Kamailio (Debian's package, ``deploy/kamailio/kamailio.cfg``) on 127.0.0.1:5080, dispatching over
  both PBXs and the registrar of the phones named in ``agents``: the farm registers those with it
  too (a file ``pjsip-kamailio.conf`` it includes), besides their usual registration with the PBX.

``cluster(stack)`` starts both, waits until the PBXs answer Kamailio's probes and the phones are
registered with it, and stops everything it started on the way out (each step bounded in time), also
after a failure. Kamailio missing is a ``StackError``: the test fails, it does not skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_stack import ASTERISK_ROOT, REPO, AmiInfo, PbxStack, StackError, read_secrets, run_script

KAMAILIO_CFG = REPO / "deploy" / "kamailio" / "kamailio.cfg"
KAMAILIO_ADDRESS = "127.0.0.1:5080"  # pbx.sh's ACD_KAMAILIO default: where pbx2 sends its agents' calls
# Kamailio's dispatcher set 1: the PBXs, by SIP URI
PBX_URIS = {"pbx": "sip:127.0.0.1:5060", "pbx2": "sip:127.0.0.1:5062"}
PBX2_AMI_PORT = 5040
FARM_KAMAILIO_CONF = ASTERISK_ROOT / "etc" / "asterisk-farm" / "pjsip-kamailio.conf"
STATE_DIR = Path(os.environ.get("ACD_STATE_DIR", "/var/lib/acd"))
# Kamailio's pid file, beside pbx.sh's (a leftover of a killed run is found there)
PID_FILE = STATE_DIR / "run" / "kamailio.pid"
# kamailio.cfg's bound: PROBE_INTERVAL * PROBE_FAILURES + fr_timer (seconds)
PROBE_BOUND = 3.0


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` every 0.1 s until true; the seconds it took. ``StackError`` after ``timeout``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise StackError(f"{what}: not after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - began


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@dataclass
class Kamailio:
    """A running Kamailio: its process and its JSON-RPC socket."""

    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    @property
    def rpc_socket(self) -> Path:
        return self.folder / "rpc.sock"

    def rpc(self, method: str, *params: str) -> Any:
        """One JSON-RPC call over Kamailio's unix datagram socket (jsonrpcs); its ``result``."""
        reply_path = self.folder / f"reply-{os.getpid()}-{time.monotonic_ns()}.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(reply_path))
            try:
                sock.settimeout(5)
                request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
                sock.sendto(json.dumps(request).encode(), str(self.rpc_socket))
                reply = json.loads(sock.recv(1 << 20))
            finally:
                reply_path.unlink(missing_ok=True)
        if "error" in reply:
            raise StackError(f"kamailio rpc {method}: {reply['error']}")
        return reply.get("result")

    def pbx_flags(self) -> dict[str, str]:
        """Each PBX (by name) and its dispatcher flags: 'A...' active, 'I...' inactive (probes unanswered)."""
        flags = {}
        for record in self.rpc("dispatcher.list")["RECORDS"]:
            for target in record["SET"]["TARGETS"]:
                dest = target["DEST"]
                flags[dest["URI"]] = dest["FLAGS"]
        return {name: flags.get(uri, "") for name, uri in PBX_URIS.items()}

    def registered(self) -> dict[str, list[str]]:
        """The location table: each registered AOR (agentN) and its contacts."""
        found: dict[str, list[str]] = {}
        for domain in self.rpc("ul.dump")["Domains"]:
            for aor in domain["Domain"]["AoRs"]:
                info = aor["Info"]
                found[info["AoR"]] = [c["Contact"]["Address"] for c in info["Contacts"]]
        return found

    def pids(self) -> list[int]:
        return [self.process.pid, *children_of(self.process.pid)]

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def write_agents_table(folder: Path, secrets: dict[str, str]) -> Path:
    """The agents' digest credentials as Kamailio's db_text table ``agents`` (htable's columns), mode 600."""
    db = folder / "db"
    db.mkdir(mode=0o700)
    rows = ["key_name(string) key_type(int) value_type(int) key_value(string) expires(int)"]
    for key, value in sorted(secrets.items()):
        name = key.removeprefix("ACD_").removesuffix("_SIP_SECRET").lower()
        if key.endswith("_SIP_SECRET") and value.isalnum():
            rows.append(f"{name}:0:0:{value}:0")
    table = db / "agents"
    table.touch(mode=0o600)
    table.write_text("\n".join(rows) + "\n")
    return db


def stop_leftover_kamailio() -> None:
    """A Kamailio of an earlier run that was killed before its teardown (its pid file says which) holds
    the port: it is stopped first. Only a process running this configuration is touched."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(PID_FILE.read_text())
        if str(KAMAILIO_CFG) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " "):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, sig)
                deadline = time.monotonic() + 5
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
    PID_FILE.unlink(missing_ok=True)


def start_kamailio(folder: Path, secrets: dict[str, str]) -> Kamailio:
    """Kamailio with deploy/kamailio/kamailio.cfg, its run files in ``folder``; returns once its RPC answers."""
    binary = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    if binary is None:
        raise StackError("kamailio is not installed (make kamailio: Debian's kamailio package)")
    db = write_agents_table(folder, secrets)
    dispatcher = folder / "dispatcher.list"
    # duid: the PBX's name, by which the ACD reads its dispatcher state (docs/pbxs.md)
    dispatcher.write_text("".join(f"1 {uri} 0 0 duid={name}\n" for name, uri in PBX_URIS.items()))
    log = folder / "kamailio.log"
    defines = {
        "LISTEN": f"udp:{KAMAILIO_ADDRESS}",
        "DISPATCHER_LIST": f'"{dispatcher}"',
        "AGENTS_DB": f'"text://{db}"',
        "RPC_SOCKET": f'"{folder / "rpc.sock"}"',
        "RPC_FIFO": f'"{folder / "rpc.fifo"}"',
    }
    stop_leftover_kamailio()
    PID_FILE.parent.mkdir(parents=True, exist_ok=True)
    argv = [binary, "-f", str(KAMAILIO_CFG), "-Y", str(folder), "-P", str(PID_FILE)]
    for name, value in defines.items():
        argv += ["-A", f"{name}={value}"]
    argv += ["-DD", "-E", "-m", "32", "-M", "8"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    kamailio = Kamailio(process, folder, log)
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise StackError(f"kamailio exited with {process.returncode}:\n{kamailio.tail()}")
            if not kamailio.rpc_socket.exists():
                return False
            with contextlib.suppress(OSError, StackError):
                return bool(kamailio.rpc("core.version"))
            return False

        wait_for(answers, 10, "Kamailio's JSON-RPC socket")
    except BaseException:
        stop_kamailio(kamailio)
        raise
    return kamailio


def stop_kamailio(kamailio: Kamailio) -> None:
    """SIGTERM to Kamailio's process group, SIGKILL after 5 s."""
    process = kamailio.process
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


def farm_registrations(agents: tuple[str, ...]) -> str:
    """The farm's extra registrations: each phone in ``agents`` also registers with Kamailio."""
    blocks = [f"; written by tests/e2e/cluster_stack.py while Kamailio runs at {KAMAILIO_ADDRESS}"]
    for agent in agents:
        blocks.append(
            f"[{agent}-kam]\ntype = registration\ntransport = transport-udp\noutbound_auth = {agent}-auth\n"
            f"server_uri = sip:{KAMAILIO_ADDRESS}\nclient_uri = sip:{agent}@{KAMAILIO_ADDRESS}\n"
            f"contact_user = {agent}\nexpiration = 120\nretry_interval = 2\nmax_retries = 100000\n"
        )
    return "\n".join(blocks)


def reload_farm(stack: PbxStack) -> None:
    """The farm reads its pjsip.conf again: Asterisk rereads a file only when its own time changed, not
    when a file it includes did, so pjsip.conf is touched first."""
    FARM_KAMAILIO_CONF.with_name("pjsip.conf").touch()
    said = stack.rx("farm", "module reload res_pjsip.so")
    if FARM_KAMAILIO_CONF.exists():
        shown = stack.rx("farm", "pjsip show registrations")
        if "-kam/" not in shown:
            raise StackError(f"the farm did not take {FARM_KAMAILIO_CONF}: {said}\n{shown[-600:]}")


@dataclass
class Cluster:
    """Kamailio and pbx2 running beside the e2e stack's PBX and farm."""

    stack: PbxStack
    kamailio: Kamailio
    pbx2: AmiInfo
    agents: tuple[str, ...]
    # seconds: Kamailio from exec to its RPC answering; pbx2 from start to fully booted
    started: dict[str, float] = field(default_factory=dict)

    def pbx2_pid(self) -> int:
        return int((STATE_DIR / "run" / "pbx2.pid").read_text())


@contextlib.contextmanager
def cluster(stack: PbxStack, agents: tuple[str, ...] = ("agent20",)) -> Iterator[Cluster]:
    """Start Kamailio and pbx2, register ``agents`` with Kamailio; stop all of it on the way out."""
    secrets = read_secrets(stack.secrets_file)
    folder = Path(tempfile.mkdtemp(prefix="acd-kamailio-"))  # short: unix socket paths are at most 107 bytes
    kamailio: Kamailio | None = None
    try:
        began = time.monotonic()
        kamailio = start_kamailio(folder, secrets)
        kamailio_s = time.monotonic() - began
        FARM_KAMAILIO_CONF.write_text(farm_registrations(agents))
        reload_farm(stack)
        began = time.monotonic()
        run_script("start", "pbx2", timeout=120)
        pbx2_s = time.monotonic() - began
        alive = kamailio
        # Asterisk sends a new registration after a random 1-10 s
        try:
            wait_for(lambda: set(agents) <= set(alive.registered()), 20, f"{agents} registered with Kamailio")
        except StackError as exc:
            farm = stack.rx("farm", "pjsip show registrations")
            raise StackError(f"{exc}\nthe farm's registrations:\n{farm}\nkamailio's log:\n{alive.tail()}") from None
        wait_for(lambda: all(f.startswith("A") for f in alive.pbx_flags().values()), 10, "both PBXs up in Kamailio")
        info = AmiInfo("127.0.0.1", PBX2_AMI_PORT, stack.pbx.user, stack.pbx.secret, stack.pbx.observer)
        yield Cluster(stack, kamailio, info, agents, {"kamailio": kamailio_s, "pbx2": pbx2_s})
    finally:
        problems = []
        if FARM_KAMAILIO_CONF.exists():
            FARM_KAMAILIO_CONF.unlink()
            try:
                reload_farm(stack)
            except subprocess.SubprocessError as exc:
                problems.append(f"farm reload: {exc}")
        try:
            run_script("stop", "pbx2", timeout=60)
        except StackError as exc:
            problems.append(str(exc))
        if kamailio is not None:
            stop_kamailio(kamailio)
        shutil.rmtree(folder, ignore_errors=True)
        if problems:
            raise StackError("; ".join(problems))
