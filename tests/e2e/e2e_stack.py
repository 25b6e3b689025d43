"""The real PBX and phone farm for e2e tests: bring-up through deploy/asterisk/pbx.sh, and helpers.

Kept apart from conftest.py so ACD-driven e2e tests can import the helpers
(``from e2e_stack import PbxStack, enqueue_caller, ...``) as well as use the fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from wiring import in_background

from phonefarm import AmiClient, AmiEvent, Farm

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "asterisk" / "pbx.sh"
# the root pbx.sh runs both Asterisks from (its ACD_ASTERISK_ROOT): tests/lanes.py gives its second
# lane a copy of its own; the PBX's files (its log, the recordings) are read under it
ASTERISK_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
RECORDINGS_DIR = ASTERISK_ROOT / "var/spool/asterisk/acd-recordings"


@dataclass(frozen=True)
class AmiInfo:
    """An Asterisk's AMI: ``user`` is the one the ACD logs in as (``acd``); ``observer`` (user, secret), when
    set, is the lab's own user for the tests' eyes (pbx.sh's ``add_observer``): the ACD's rights without
    its eventfilter, so a test sees every event (DialBegin, Newchannel, ...) the ACD's user never gets."""

    host: str
    port: int
    user: str
    secret: str
    observer: tuple[str, str] | None = None

    def client(self, name: str) -> AmiClient:
        """The tests' client: the observer where there is one, else the user itself."""
        user, secret = self.observer or (self.user, self.secret)
        return AmiClient(self.host, self.port, user, secret, name=name)

    def user_client(self, name: str) -> AmiClient:
        """A client logged in as ``user`` itself: what the ACD sees and may do."""
        return AmiClient(self.host, self.port, self.user, self.secret, name=name)


@dataclass(frozen=True)
class PbxStack:
    """Connection facts of the running PBX and farm (what the ACD's settings need)."""

    pbx: AmiInfo
    farm: AmiInfo
    agents: int
    secrets_file: Path

    def rx(self, instance: str, command: str) -> str:
        """An Asterisk CLI command on ``pbx`` or ``farm``."""
        done = subprocess.run(
            [str(SCRIPT), "rx", instance, command], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    def env(self) -> dict[str, str]:
        """The ``pbx.sh env`` settings (ACD_AMI_HOST, ACD_AMI_SECRET, ...) as a dict."""
        done = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, timeout=30, check=True)
        pairs = (line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        return {k: v for k, v in pairs}


class StackError(RuntimeError):
    """pbx.sh failed; the message holds its output."""


def run_script(*args: str, timeout: float = 900) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise StackError(f"pbx.sh {' '.join(args)} failed (rc {done.returncode}):\n{output}")
    return output


def read_secrets(path: Path) -> dict[str, str]:
    pairs = (line.strip().split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def bring_up() -> PbxStack:
    """build (if needed), install, start all. Raises ``StackError`` with pbx.sh's output."""
    if os.geteuid() != 0:
        raise StackError("the e2e stack needs root (debootstrap, chroot)")
    for step in (("build",), ("install",), ("start", "all")):
        run_script(*step)
    secrets_file = Path(os.environ.get("ACD_SECRETS_FILE", "/var/lib/acd/secrets.env"))
    secrets = read_secrets(secrets_file)
    return PbxStack(
        pbx=AmiInfo("127.0.0.1", 5038, "acd", secrets["ACD_AMI_SECRET"], observer(secrets)),
        farm=AmiInfo("127.0.0.1", 5039, "farm", secrets["ACD_FARM_AMI_SECRET"]),
        agents=int(os.environ.get("ACD_FARM_AGENTS", "20")),
        secrets_file=secrets_file,
    )


def observer(secrets: dict[str, str]) -> tuple[str, str] | None:
    """The lab's observer user (pbx.sh ``add_observer``), if the secrets name one."""
    secret = secrets.get("ACD_AMI_OBSERVER_SECRET")
    return ("observer", secret) if secret else None


def tear_down() -> str:
    return run_script("stop", "all", timeout=120)


# ---------------------------------------------------------------- event helpers


def user_event(kind: str, **headers: str) -> Callable[[AmiEvent], bool]:
    """Matches ``UserEvent: kind`` whose headers equal ``headers``."""

    def match(event: AmiEvent) -> bool:
        return (
            event.get("Event") == "UserEvent"
            and event.get("UserEvent") == kind
            and all(event.get(k) == v for k, v in headers.items())
        )

    return match


def hangup_of(channel: str) -> Callable[[AmiEvent], bool]:
    return lambda e: e.get("Event") == "Hangup" and e.get("Channel") == channel


async def set_heartbeat(pbx: AmiClient, epoch: float | None = None, term: str = "") -> None:
    """Set the global ACD_HEARTBEAT (as the ACD does every 2 s) and beside it ACD_EPOCH, the leader's
    term (docs/dialplan.md, "Fencing"): empty by default, as an ACD without a lease, so that a term an
    ACD of an earlier test left on the PBX does not refuse this test's hand-made offers."""
    value = int(time.time() if epoch is None else epoch)
    await pbx.action({"Action": "Setvar", "Variable": "ACD_HEARTBEAT", "Value": str(value)})
    await pbx.action({"Action": "Setvar", "Variable": "ACD_EPOCH", "Value": term})


@contextlib.asynccontextmanager
async def heartbeat(pbx: AmiClient, every: float = 2.0, term: str = "") -> AsyncIterator[None]:
    """Play the ACD's heartbeat (and its term, ``term``) while the block runs, so holding callers do not
    fall back."""

    async def beat() -> None:
        while True:
            await set_heartbeat(pbx, term=term)
            await asyncio.sleep(every)

    await set_heartbeat(pbx, term=term)
    async with in_background(beat()):
        yield


async def enqueue_caller(
    farm: Farm,
    pbx: AmiClient,
    did: str,
    patience: float = 60,
    dtmf: str | None = None,
    timeout: float = 20,  # noqa: ASYNC109
    number: str | None = None,
) -> AmiEvent:
    """A farm caller dials ``did`` (from ``number``, else a new one); returns the PBX's AcdEnqueue event for it."""
    mark = pbx.mark()
    number = number or f"6{time.time_ns() % 10**9:09d}"
    await farm.place_call(did, patience, dtmf=dtmf, caller_id=number)
    return await pbx.wait_event(user_event("AcdEnqueue", AcdCaller=number), timeout, mark)


async def holding(pbx: AmiClient, channel: str, since: int, timeout: float = 10) -> None:  # noqa: ASYNC109
    """Wait until ``channel`` plays the hold music: from then on a Redirect cannot race a dialplan jump.

    The ACD itself does not wait (it confirms each Redirect and resends a lost one, see
    docs/dialplan.md, "Redirects"); a test that redirects by hand waits instead, to stay exact.
    """
    await pbx.wait_event(lambda e: e.get("Event") == "MusicOnHoldStart" and e.get("Channel") == channel, timeout, since)


async def offer(
    pbx: AmiClient, channel: str, offer_id: str, agent: str, ring_timeout: int = 15, term: str | None = None
) -> None:
    """What the ACD sends to offer a caller to an agent (docs/dialplan.md, "Connecting"); with ``term``,
    the offer's epoch (ACD_OFFER_EPOCH) as a leader writes it."""
    await pbx.action({"Action": "Setvar", "Channel": channel, "Variable": "ACD_OFFER", "Value": offer_id})
    if term is not None:
        await pbx.action({"Action": "Setvar", "Channel": channel, "Variable": "ACD_OFFER_EPOCH", "Value": term})
    await pbx.action(
        {"Action": "Setvar", "Channel": channel, "Variable": "ACD_RING_TIMEOUT", "Value": str(ring_timeout)}
    )
    await pbx.action(
        {"Action": "Redirect", "Channel": channel, "Context": "acd-connect", "Exten": agent, "Priority": "1"}
    )
