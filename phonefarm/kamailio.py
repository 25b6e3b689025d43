"""Kamailio in front of the lab's two PBXs: started and stopped the same way by ``make run ACD_PBXS=2``
and by the e2e tests (docs/kamailio.md, "Two PBXs and Kamailio on one machine").

On one loopback: Kamailio (Debian's package, ``deploy/kamailio/kamailio.cfg``) on 127.0.0.1:5080,
dispatching over ``pbx`` (SIP 5060) and ``pbx2`` (SIP 5062) and registrar of the farm's agents' phones
(their digest credentials from the secrets file of ``deploy/asterisk/pbx.sh``). Its run files (the
dispatcher list, the credentials table, the JSON-RPC socket, its log) live in a folder of the
caller's; its pid file beside pbx.sh's, so that a Kamailio of a killed run is found and stopped.

``python -m phonefarm.kamailio`` is the same for a shell script (``deploy/local/run.sh``): ``start``,
``wait`` (until both PBXs answer the probes and the agents are registered), ``farm-conf`` (the farm's
extra registrations), ``acd-config`` (an ``acd.toml`` turned into one for both PBXs and Kamailio) and
``stop``; every wait is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KAMAILIO_CFG = REPO / "deploy" / "kamailio" / "kamailio.cfg"
KAMAILIO_ADDRESS = "127.0.0.1:5080"  # pbx.sh's ACD_KAMAILIO default: where pbx2 sends its agents' calls
# Kamailio's dispatcher set 1: the PBXs, by name (their duid, the ACD's [[pbx]] names) and SIP URI
PBX_URIS = {"pbx": "sip:127.0.0.1:5060", "pbx2": "sip:127.0.0.1:5062"}
# each PBX's AMI port (pbx.sh: the PBX 5038, pbx2 5040)
PBX_AMI_PORTS = {"pbx": 5038, "pbx2": 5040}
# kamailio.cfg's bound: PROBE_INTERVAL * PROBE_FAILURES + fr_timer (seconds)
PROBE_BOUND = 3.0


class KamailioError(RuntimeError):
    """Kamailio could not be started, did not answer, or a wait ran out."""


def state_dir() -> Path:
    return Path(os.environ.get("ACD_STATE_DIR", "/var/lib/acd"))


def pid_file() -> Path:
    """Kamailio's pid file, beside pbx.sh's (a leftover of a killed run is found there)."""
    return state_dir() / "run" / "kamailio.pid"


def read_secrets(path: Path) -> dict[str, str]:
    pairs = (line.strip().split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def secrets_file() -> Path:
    return Path(os.environ.get("ACD_SECRETS_FILE", str(state_dir() / "secrets.env")))


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` every 0.1 s until true; the seconds it took. ``KamailioError`` after ``timeout``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise KamailioError(f"{what}: not after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - began


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
    """A Kamailio's run folder and JSON-RPC socket; ``process`` when started by this process."""

    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "kamailio.log"

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
            raise KamailioError(f"kamailio rpc {method}: {reply['error']}")
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
        if self.process is None:
            return []
        return [self.process.pid, *children_of(self.process.pid)]

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def write_agents_table(folder: Path, secrets: dict[str, str]) -> Path:
    """The agents' digest credentials as Kamailio's db_text table ``agents`` (htable's columns), mode 600."""
    db = folder / "db"
    db.mkdir(mode=0o700, exist_ok=True)
    rows = ["key_name(string) key_type(int) value_type(int) key_value(string) expires(int)"]
    for key, value in sorted(secrets.items()):
        name = key.removeprefix("ACD_").removesuffix("_SIP_SECRET").lower()
        if key.endswith("_SIP_SECRET") and value.isalnum():
            rows.append(f"{name}:0:0:{value}:0")
    table = db / "agents"
    table.touch(mode=0o600)
    table.chmod(0o600)
    table.write_text("\n".join(rows) + "\n")
    return db


def stop_by_pid_file() -> bool:
    """Stop the Kamailio the pid file names (SIGTERM to its process group, SIGKILL after 5 s): a
    leftover of a run killed before its teardown, or the one ``start`` left running. Only a process
    running this configuration is touched. Whether one was running."""
    path = pid_file()
    found = False
    with contextlib.suppress(OSError, ValueError):
        pid = int(path.read_text())
        if str(KAMAILIO_CFG) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " "):
            found = True
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, sig)
                deadline = time.monotonic() + 5
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not Path(f"/proc/{pid}").exists():
                    break
    path.unlink(missing_ok=True)
    return found


def start_kamailio(folder: Path, secrets: dict[str, str]) -> Kamailio:
    """Kamailio with deploy/kamailio/kamailio.cfg, its run files in ``folder`` (a short path: a unix
    socket's is at most 107 bytes), in a session of its own; returns once its RPC answers."""
    binary = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    if binary is None:
        raise KamailioError("kamailio is not installed (make kamailio: Debian's kamailio package)")
    folder.mkdir(parents=True, exist_ok=True)
    db = write_agents_table(folder, secrets)
    dispatcher = folder / "dispatcher.list"
    # duid: the PBX's name, by which the ACD reads its dispatcher state (docs/pbxs.md)
    dispatcher.write_text("".join(f"1 {uri} 0 0 duid={name}\n" for name, uri in PBX_URIS.items()))
    defines = {
        "LISTEN": f"udp:{KAMAILIO_ADDRESS}",
        "DISPATCHER_LIST": f'"{dispatcher}"',
        "AGENTS_DB": f'"text://{db}"',
        "RPC_SOCKET": f'"{folder / "rpc.sock"}"',
        "RPC_FIFO": f'"{folder / "rpc.fifo"}"',
    }
    stop_by_pid_file()
    pid_file().parent.mkdir(parents=True, exist_ok=True)
    argv = [binary, "-f", str(KAMAILIO_CFG), "-Y", str(folder), "-P", str(pid_file())]
    for name, value in defines.items():
        argv += ["-A", f"{name}={value}"]
    argv += ["-DD", "-E", "-m", "32", "-M", "8"]
    kamailio = Kamailio(folder)
    with kamailio.log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    kamailio.process = process
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise KamailioError(f"kamailio exited with {process.returncode}:\n{kamailio.tail()}")
            if not kamailio.rpc_socket.exists():
                return False
            with contextlib.suppress(OSError, KamailioError):
                return bool(kamailio.rpc("core.version"))
            return False

        wait_until(answers, 10, "Kamailio's JSON-RPC socket")
    except BaseException:
        stop_kamailio(kamailio)
        raise
    return kamailio


def stop_kamailio(kamailio: Kamailio) -> None:
    """SIGTERM to Kamailio's process group, SIGKILL after 5 s."""
    process = kamailio.process
    if process is None:
        return
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


def wait_ready(kamailio: Kamailio, agents: Sequence[str], timeout: float = 20) -> None:
    """Until ``agents`` are registered with Kamailio and every PBX answers its probes (each bounded);
    ``KamailioError`` naming what is missing. Asterisk sends a new registration after a random 1-10 s."""

    def registered() -> bool:
        with contextlib.suppress(OSError, KamailioError):
            return set(agents) <= set(kamailio.registered())
        return False

    def pbxs_up() -> bool:
        with contextlib.suppress(OSError, KamailioError):
            return all(f.startswith("A") for f in kamailio.pbx_flags().values())
        return False

    try:
        wait_until(registered, timeout, f"{' '.join(agents)} registered with Kamailio")
    except KamailioError as exc:
        with contextlib.suppress(OSError, KamailioError):
            exc.add_note(f"registered: {sorted(kamailio.registered())}")
        raise
    try:
        wait_until(pbxs_up, 10, "both PBXs answering Kamailio's probes")
    except KamailioError as exc:
        with contextlib.suppress(OSError, KamailioError):
            exc.add_note(f"dispatcher: {kamailio.pbx_flags()}")
        raise


def farm_registrations(agents: Sequence[str]) -> str:
    """The farm's extra registrations (its ``pjsip-kamailio.conf``): each phone in ``agents`` also
    registers with Kamailio."""
    blocks = [f"; written while Kamailio runs at {KAMAILIO_ADDRESS} (phonefarm/kamailio.py); removed after"]
    for agent in agents:
        blocks.append(
            f"[{agent}-kam]\ntype = registration\ntransport = transport-udp\noutbound_auth = {agent}-auth\n"
            f"server_uri = sip:{KAMAILIO_ADDRESS}\nclient_uri = sip:{agent}@{KAMAILIO_ADDRESS}\n"
            f"contact_user = {agent}\nexpiration = 120\nretry_interval = 2\nmax_retries = 100000\n"
        )
    return "\n".join(blocks)


_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"-]+)\s*\]\]?")
_PER_PBX_KEY = re.compile(r"^\s*(host|port|user)\s*=")


def two_pbx_config(text: str, control: Path) -> str:
    """``acd.toml``'s text for the lab's two PBXs behind Kamailio: ``[ami]`` loses its address (each
    ``[[pbx]]`` says its own), then ``[[pbx]]`` ``pbx`` and ``pbx2`` and ``[kamailio]`` reading the
    socket ``control``. ``ValueError`` when the file already lists PBXs or a Kamailio."""
    lines = []
    table = ""
    for line in text.splitlines():
        header = _TABLE.match(line)
        if header:
            table = header.group(1)
            if table in ("pbx", "kamailio"):
                raise ValueError(f"it has a [{table}] table already: ACD_PBXS=2 writes [[pbx]] and [kamailio] itself")
        if table == "ami" and _PER_PBX_KEY.match(line):
            continue
        lines.append(line)
    lines.append("\n# ACD_PBXS=2 (deploy/local/run.sh): the two PBXs of pbx.sh behind Kamailio (docs/kamailio.md)")
    for name, port in PBX_AMI_PORTS.items():
        lines.append(f'[[pbx]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {port}\n')
    lines.append(f'[kamailio]\ncontrol = "{control}"\n')
    return "\n".join(lines)


def _configured_phones(config: str) -> list[str]:
    from acd.settings import SettingsError, load  # the ACD's own reading of its file
    from phonefarm.demo import demo_phones

    try:
        agents = load(config).routing.agents
    except SettingsError as exc:
        raise ValueError(f"{config}: " + "; ".join(str(p) for p in exc.problems)) from None
    phones, _missing = demo_phones(agents, int(os.environ.get("ACD_FARM_AGENTS", "20")))
    return phones


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phonefarm.kamailio", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start Kamailio in the background; return once its RPC answers")
    start.add_argument("--folder", type=Path, required=True, help="its run files (a short path)")
    wait = commands.add_parser("wait", help="until both PBXs answer the probes and the agents are registered")
    wait.add_argument("--folder", type=Path, required=True)
    wait.add_argument("-c", "--config", required=True, help="the ACD's config file: its agents' phones")
    wait.add_argument("--timeout", type=float, default=30)
    farm = commands.add_parser("farm-conf", help="print the farm's registrations with Kamailio")
    farm.add_argument("-c", "--config", required=True, help="the ACD's config file: its agents' phones")
    config = commands.add_parser("acd-config", help="print the ACD's config for both PBXs and Kamailio")
    config.add_argument("-c", "--config", required=True, help="the ACD's config file for one PBX")
    config.add_argument("--folder", type=Path, required=True, help="Kamailio's run files (its RPC socket)")
    commands.add_parser("stop", help="stop the Kamailio of the pid file, if any")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            kamailio = start_kamailio(args.folder.resolve(), read_secrets(secrets_file()))
            assert kamailio.process is not None
            print(f"kamailio: pid {kamailio.process.pid}, listening on {KAMAILIO_ADDRESS}, log {kamailio.log}")
        elif args.command == "wait":
            began = time.monotonic()
            wait_ready(Kamailio(args.folder.resolve()), _configured_phones(args.config), args.timeout)
            print(f"kamailio: both PBXs up, the agents registered ({time.monotonic() - began:.1f} s)")
        elif args.command == "farm-conf":
            print(farm_registrations(_configured_phones(args.config)))
        elif args.command == "acd-config":
            text = Path(args.config).read_text(encoding="utf-8")
            print(two_pbx_config(text, args.folder.resolve() / "rpc.sock"))
        elif args.command == "stop":
            print("kamailio: stopped" if stop_by_pid_file() else "kamailio: was not running")
    except (KamailioError, ValueError, OSError) as exc:
        print(f"kamailio: {args.command}: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", []):
            print(f"  {note}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
