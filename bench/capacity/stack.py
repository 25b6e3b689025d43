"""The capacity run's stack inside its namespace: the root copy's extra configuration, pbx2, Kamailio, the ACD.

The PBX, the farm and the bench-only configuration are those of the benchmark against app_queue
(bench/vs_app_queue: queue ``bench``, numbers 900/901, the read-only listener ``bench``); this adds
what capacity needs: 60 agents in queue ``bench``, a queue without agents to hold callers in (902, 903),
each PBX's ``systemname`` (docs/pbxs.md), the same numbers and listener on pbx2, and Kamailio
(deploy/kamailio/kamailio.cfg) in front of both PBXs for (c).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.capacity.plan import ACD_HOLD_DID, AGENTS, APP_QUEUE_HOLD_DID
from bench.vs_app_queue.isolation import Paths, pbx_sh
from bench.vs_app_queue.pbx_config import BENCH_AMI_USER, install_bench_config
from phonefarm.acd_process import AcdProcess, agents_toml, queue_toml
from phonefarm.kamailio import (
    KAMAILIO_ADDRESS,
    KAMAILIO_CFG,
    PBX_AMI_PORTS,
    PBX_URIS,
    farm_registrations,
    write_agents_table,
)

PBX2_AMI_PORT = PBX_AMI_PORTS["pbx2"]

HOLD_DIALPLAN = f"""\
; written by bench/bench_capacity.py (benchmark root only): callers held in a queue no agent serves
[acd-inbound]
exten => {APP_QUEUE_HOLD_DID},1,Answer()
 same => n,Queue(benchhold)
 same => n,Hangup()
exten => {ACD_HOLD_DID},1,Answer()
 same => n,Gosub(acd-enqueue,s,1(benchhold,5))
"""
HOLD_QUEUE = """
[benchhold]
joinempty = yes
leavewhenempty = no
announce-frequency = 0
periodic-announce-frequency = 0
announce-holdtime = no
announce-position = no
musicclass = default
"""
SYSTEMNAME = re.compile(r"^systemname\s*=.*\n", re.MULTILINE)


def set_systemname(conf: Path, name: str) -> None:
    """``systemname = name`` in the ``[options]`` of an asterisk.conf (docs/pbxs.md: several PBXs need it)."""
    text = SYSTEMNAME.sub("", conf.read_text())
    conf.write_text(text.replace("[options]\n", f"[options]\nsystemname = {name}\n", 1))


def install_capacity_config(root: Path) -> str:
    """The benchmark's configuration (bench/vs_app_queue) with 60 agents, the hold queue and numbers,
    systemnames, and the same on pbx2; returns the listener's secret."""
    # no dialplan class for the listener (no Newexten/VarSet: it needs none here, and fewer events keep it
    # from falling behind); a listener that does fall behind is dropped by the PBX: 5 s before that
    secret = install_bench_config(root, breakdown=False)
    etc, pbx2 = root / "etc" / "asterisk", root / "etc" / "asterisk-pbx2"
    manager = etc / "manager.conf"
    manager.write_text(manager.read_text().replace(f"secret = {secret}\n", f"secret = {secret}\nwritetimeout = 5000\n"))
    queues = etc / "queues.conf"
    text = re.sub(r"^member => .*\n?", "", queues.read_text(), flags=re.MULTILINE).rstrip("\n")
    members = "".join(f"member => PJSIP/{agent}\n" for agent in AGENTS)
    queues.write_text(f"{text}\n{members}{HOLD_QUEUE}")
    (etc / "acd-bench-hold.conf").write_text(HOLD_DIALPLAN)
    with (etc / "extensions.conf").open("a") as f:
        f.write("#include acd-bench-hold.conf\n")
    set_systemname(etc / "asterisk.conf", "pbx")
    # pbx2 copied the PBX's files at install, before the lines above: the same additions
    for name in ("acd-bench.conf", "acd-bench-hold.conf"):
        shutil.copy(etc / name, pbx2 / name)
    with (pbx2 / "extensions.conf").open("a") as f:
        f.write("\n#include acd-bench.conf\n#include acd-bench-hold.conf\n")
    with (pbx2 / "manager.conf").open("a") as f:
        user = BENCH_AMI_USER.format(secret=secret, read="call,user,agent")
        f.write(user.replace("write =", "writetimeout = 5000\nwrite ="))
    set_systemname(pbx2 / "asterisk.conf", "pbx2")
    return secret


ACD_CONFIG = """\
# written by bench/bench_capacity.py
skills = ["bench", "benchhold"]

[ami]
{ami}

[http]
port = {http_port}

[database]
data_dir = "{workdir}/pg"
journal_dir = "{workdir}/journal"

[routing]
ring_timeout = 15

{pbxs}
"""
ONE_PBX = 'port = 5038\nuser = "acd"'
TWO_PBXS = """\
[[pbx]]
name = "pbx"
host = "127.0.0.1"
port = 5038

[[pbx]]
name = "pbx2"
host = "127.0.0.1"
port = 5040

[kamailio]
control = "{control}"
interval = 2.0
"""


def acd_config(workdir: Path, kamailio_control: str | None) -> Callable[[int], str]:
    """The ACD's config by its HTTP port: queue bench (the 60 agents), queue benchhold (nobody);
    one PBX, or ``[[pbx]]`` pbx and pbx2 with ``[kamailio]`` when ``kamailio_control`` is given."""
    queues = queue_toml("bench", "{ bench = 1 }", sla_threshold=20, max_wait=600, wrapup=0)
    queues += queue_toml("benchhold", "{ benchhold = 1 }", sla_threshold=20, max_wait=600, wrapup=0)
    agents = agents_toml(dict.fromkeys(AGENTS, "{ bench = 1 }"))
    ami, pbxs = (ONE_PBX, "") if kamailio_control is None else ("", TWO_PBXS.format(control=kamailio_control))
    return lambda port: ACD_CONFIG.format(http_port=port, workdir=workdir, ami=ami, pbxs=pbxs) + queues + agents


def capacity_acd(workdir: Path, ami_secret: str, command: list[str], kamailio_control: str | None) -> AcdProcess:
    return AcdProcess(
        workdir,
        acd_config(workdir, kamailio_control),
        {"ACD_AMI_SECRET": ami_secret},
        command=command,
        token_label="capacity",
        new_session=True,
    )


def ready_agents(acd: AcdProcess, within: float = 30.0) -> None:
    """Every agent logged in and ready (and reachable); RuntimeError after ``within`` s."""
    deadline = time.monotonic() + within
    states: dict[str, Any] = {}
    while time.monotonic() < deadline:
        states = {a["id"]: a for a in acd.get("/api/v1/status")["agents"]}
        for agent in AGENTS:
            state = states[agent]["state"]
            path = {"logged_out": "login", "paused": "resume"}.get(state)
            if path:
                code, body = acd.post(f"/api/v1/agents/{agent}/{path}")
                if not 200 <= code < 300:
                    raise RuntimeError(f"POST {agent}/{path} answered {code}: {body}")
        if all(states[a]["state"] == "ready" and states[a]["reachable"] for a in AGENTS):
            return
        time.sleep(0.3)
    not_ready = {a: (s["state"], s["reachable"]) for a, s in states.items() if a in AGENTS and s["state"] != "ready"}
    unreachable = [a for a, s in states.items() if a in AGENTS and not s["reachable"]]
    raise RuntimeError(f"ACD agents not ready within {within:.0f} s: {not_ready}, unreachable {unreachable}")


@dataclass
class Kamailio:
    process: subprocess.Popen[bytes]
    folder: Path

    def rpc(self, method: str) -> Any:
        """One JSON-RPC call over Kamailio's unix datagram socket; its ``result``."""
        reply_path = self.folder / f"reply-{time.monotonic_ns()}.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(reply_path))
            try:
                sock.settimeout(5)
                request = {"jsonrpc": "2.0", "method": method, "params": [], "id": 1}
                sock.sendto(json.dumps(request).encode(), str(self.folder / "rpc.sock"))
                reply = json.loads(sock.recv(1 << 20))
            finally:
                reply_path.unlink(missing_ok=True)
        if "error" in reply:
            raise RuntimeError(f"kamailio rpc {method}: {reply['error']}")
        return reply.get("result")

    def registered(self) -> set[str]:
        return {aor["Info"]["AoR"] for d in self.rpc("ul.dump")["Domains"] for aor in d["Domain"]["AoRs"]}

    def pbxs_active(self) -> bool:
        flags = [t["DEST"]["FLAGS"] for r in self.rpc("dispatcher.list")["RECORDS"] for t in r["SET"]["TARGETS"]]
        return len(flags) == len(PBX_URIS) and all(f.startswith("A") for f in flags)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.folder / "kamailio.log").read_text(errors="replace").splitlines()[-20:])
        return ""

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)


def wait_for(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within:.0f} s")
        time.sleep(0.2)


def start_kamailio(folder: Path, secrets: dict[str, str]) -> Kamailio:
    """Kamailio with deploy/kamailio/kamailio.cfg, dispatching over pbx and pbx2, the agents' registrar;
    returns once its RPC answers. Its run files (RPC socket, credentials, log) are in ``folder``."""
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        raise RuntimeError("kamailio is not installed (make kamailio)")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = write_agents_table(folder, secrets)
    dispatcher = folder / "dispatcher.list"
    dispatcher.write_text("".join(f"1 {uri} 0 0 duid={name}\n" for name, uri in PBX_URIS.items()))
    defines = {
        "LISTEN": f"udp:{KAMAILIO_ADDRESS}",
        "DISPATCHER_LIST": f'"{dispatcher}"',
        "AGENTS_DB": f'"text://{db}"',
        "RPC_SOCKET": f'"{folder / "rpc.sock"}"',
        "RPC_FIFO": f'"{folder / "rpc.fifo"}"',
    }
    argv = [binary, "-f", str(KAMAILIO_CFG), "-Y", str(folder), "-P", str(folder / "kamailio.pid")]
    for name, value in defines.items():
        argv += ["-A", f"{name}={value}"]
    argv += ["-DD", "-E", "-m", "64", "-M", "8"]
    with (folder / "kamailio.log").open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    kamailio = Kamailio(process, folder)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"kamailio exited with {process.returncode}:\n{kamailio.log_tail()}")
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            return bool(kamailio.rpc("core.version"))
        return False

    try:
        wait_for(answers, 10, "Kamailio's JSON-RPC socket")
    except BaseException:
        kamailio.stop()
        raise
    return kamailio


def register_farm_with_kamailio(paths: Paths, agents: tuple[str, ...]) -> None:
    """Every phone also registers with Kamailio (the farm's ``pjsip-kamailio.conf``, which its pjsip.conf
    includes); the farm rereads its pjsip.conf (touched: Asterisk rereads only a file whose time changed)."""
    farm = paths.root / "etc" / "asterisk-farm"
    (farm / "pjsip-kamailio.conf").write_text(farm_registrations(agents))
    (farm / "pjsip.conf").touch()
    pbx_sh(paths, "rx", "farm", "module reload res_pjsip.so")
