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
after a failure. Kamailio missing is a ``StackError``: the test fails, it does not skip. Kamailio itself
is started and stopped by ``phonefarm/kamailio.py``, as ``make run ACD_PBXS=2`` starts it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from e2e_stack import ASTERISK_ROOT, AmiInfo, PbxStack, StackError, read_secrets, run_script

import phonefarm.kamailio as kamailio_lab

KAMAILIO_ADDRESS = kamailio_lab.KAMAILIO_ADDRESS
PBX_URIS = kamailio_lab.PBX_URIS
PBX2_AMI_PORT = kamailio_lab.PBX_AMI_PORTS["pbx2"]
FARM_KAMAILIO_CONF = ASTERISK_ROOT / "etc" / "asterisk-farm" / "pjsip-kamailio.conf"
STATE_DIR = Path(os.environ.get("ACD_STATE_DIR", "/var/lib/acd"))
PROBE_BOUND = kamailio_lab.PROBE_BOUND
Kamailio = kamailio_lab.Kamailio
farm_registrations = kamailio_lab.farm_registrations
stop_kamailio = kamailio_lab.stop_kamailio


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` every 0.1 s until true; the seconds it took. ``StackError`` after ``timeout``."""
    try:
        return kamailio_lab.wait_until(check, timeout, what)
    except kamailio_lab.KamailioError as exc:
        raise StackError(str(exc)) from None


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_kamailio(folder: Path, secrets: dict[str, str]) -> Kamailio:
    """Kamailio as ``make run ACD_PBXS=2`` starts it (phonefarm/kamailio.py); ``StackError`` if it cannot."""
    try:
        return kamailio_lab.start_kamailio(folder, secrets)
    except kamailio_lab.KamailioError as exc:
        raise StackError(str(exc)) from None


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
