"""The ring path inside the ACD: from the bytes of a caller's ``AcdEnqueue`` to the bytes of the ``Redirect``.

Why: the ACD rings an idle agent later than app_queue does (``bench_vs_app_queue``), and most of that
gap is the AMI round trip: the event travels to the ACD, the ACD decides, and the offer travels back
before ``Dial`` starts (one ``Redirect`` whose target carries the offer, ``acd.ami.offer_target``; four
``Setvar`` before it in the old form). This benchmark isolates the part the ACD's own code
owns, with the real parts of ``acd run`` (AmiLink, Translator, the runtime and core, the AMI call
control, built by ``acd.bootstrap.build``; records dropped) against a stand-in PBX
(``acd.ami.fake_server``) that runs in **another process**, so the two never share an event loop:

- the PBX process writes an ``AcdEnqueue`` (an agent idle) and stamps the moment; it stamps again when
  the ``Redirect`` has arrived, then answers ``AcdRinging`` and hangs the caller up, so the agent is
  idle again for the next sample;
- **cold**: samples ``--gap`` seconds apart (default 1 s), as real callers come: caches, the branch
  predictor and the kernel's socket paths are cold again for each one;
- **hot**: samples back to back;
- **floor**: the same PBX process against a reflex client (the same AMI login, then the ``Redirect`` of an
  offer written the moment an event's bytes arrive, with no parsing): what loopback TCP, the
  wake-ups of two event loops and the stand-in's own parsing cost. ``ACD - floor`` is the ACD's share.

Inside the ACD process each caller is stamped at eight points (``Stamps``, wrappers the benchmark puts
on the product's methods; the product carries no stamps): bytes in, parsed, taken up by the pump,
translated, the core's decision begun and ended, the ring ordered, the ``Redirect`` written. It prints
each stage's spread, cold and hot. It also prints each step timed alone, on the same event (no sockets):
parsing the event (AmiLink's parser), translating it, the core's decision, and making and formatting
the offer's one action. Figures are microseconds. Target (the ACD's share, cold, p50): <= 150 µs.

Run: ``python -m bench.bench_ring_path [--samples 60] [--hot 300] [--gap 1.0]`` from the repo root.
It prints figures and asserts nothing but that every sample rang.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from acd.ami.fake_server import FakeAmiServer, format_message
from acd.ami.offer_target import offer_target, parse_offer_target
from acd.ami.token import HEADER as TOKEN_HEADER
from acd.ami.token import VARIABLE as TOKEN_VARIABLE
from acd.bootstrap import build, settings_for
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived
from acd.settings import AmiSettings
from bench.percentiles import percentile

AGENTS = 20
CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=tuple(AgentConfig(f"a{i}", f"agent{i}", (("billing", 3),)) for i in range(AGENTS)),
)
SECRET = "bench-secret"
INSIDE: list[dict[str, list[float]]] = []  # the ACD process's own spans, per phase (cold, hot)


class _Drop:
    """The record sink: records are not what this benchmark measures."""

    def append(self, record: object) -> None: ...


def _snapshot(channel: str, uid: str) -> list[tuple[str, str]]:
    """A caller channel's fields as Asterisk 22 writes them in a UserEvent from ``acd-enqueue``."""
    return [
        ("Channel", channel), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
        ("CallerIDNum", "5551234"), ("CallerIDName", "<unknown>"), ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"), ("Language", "en"), ("AccountCode", ""),
        ("Context", "acd-enqueue"), ("Exten", "s"), ("Priority", "5"), ("Uniqueid", uid), ("Linkedid", uid),
    ]  # fmt: skip


def _caller(n: int) -> tuple[str, str]:
    return f"PJSIP/trunk-{n:08x}", f"1700000000.{n}"


def enqueue(n: int, token: str) -> bytes:
    channel, uid = _caller(n)
    return format_message(
        [("Event", "UserEvent"), ("Privilege", "user,all"), *_snapshot(channel, uid), ("UserEvent", "AcdEnqueue"),
         (TOKEN_HEADER, token), ("AcdQueue", "billing"), ("AcdPriority", "5"),
         ("AcdEnqueued", f"{time.time():.6f}"), ("AcdCaller", "5551234")]
    )  # fmt: skip


def settle(n: int, token: str, offer: str, endpoint: str) -> bytes:
    """The offer landed (``AcdRinging``), then the caller hangs up: the agent is idle again."""
    channel, uid = _caller(n)
    return format_message(
        [("Event", "UserEvent"), ("Privilege", "user,all"), *_snapshot(channel, uid), ("UserEvent", "AcdRinging"),
         (TOKEN_HEADER, token), ("AcdOffer", offer), ("AcdAgent", endpoint)]
    ) + format_message(
        [("Event", "Hangup"), ("Privilege", "call,all"), *_snapshot(channel, uid), ("Cause", "16"),
         ("Cause-txt", "Normal Clearing")]
    )  # fmt: skip


# --- the PBX's process -------------------------------------------------------------------------------


def _last_offer(server: FakeAmiServer) -> str:
    return next(a["Value"] for a in reversed(server.actions) if a.get("Variable") == "ACD_OFFER" and "Value" in a)


def _last(server: FakeAmiServer, action: str) -> Mapping[str, str]:
    return next(a for a in reversed(server.actions) if a.get("Action", "").lower() == action.lower())


async def _pbx(conn: Connection, plan: list[tuple[str, int, float]]) -> None:
    server = FakeAmiServer(secret=SECRET)
    server.contacts = [
        {"Endpoint": f"agent{i}", "Uri": f"sip:agent{i}@127.0.0.1:5070", "Status": "Reachable"} for i in range(AGENTS)
    ]
    conn.send(await server.start())
    loop = asyncio.get_running_loop()
    for label, samples, gap in plan:
        await loop.run_in_executor(None, conn.recv)  # the client of this phase is connected and ready
        token = next(
            a.get("Value", "")
            for a in reversed(server.actions)
            if a.get("Action") == "Setvar" and a.get("Variable") == TOKEN_VARIABLE
        )
        out: list[float] = []
        base = 10_000 * ["floor-cold", "floor-hot", "acd-cold", "acd-hot"].index(label)  # a caller id per sample
        for i in range(samples):
            await asyncio.sleep(gap)
            before = server.count("Redirect")
            data = enqueue(base + i, token)
            began = time.perf_counter_ns()
            server.push_raw(data)
            await server.wait_for("Redirect", before + 1, within=5.0)
            out.append((time.perf_counter_ns() - began) / 1000)
            exten = _last(server, "Redirect").get("Exten", "")
            target = parse_offer_target(exten)  # the offer in one action; else the old form's ACD_OFFER
            if target is not None:
                offer, endpoint = target.offer_id, target.endpoint
            else:
                offer, endpoint = _last_offer(server), exten
            server.push_raw(settle(base + i, token, offer, endpoint))
            await asyncio.sleep(0.005)  # the hangup is in before the next caller
        conn.send(out)
    await loop.run_in_executor(None, conn.recv)
    await server.stop()


def pbx_process(conn: Connection, plan: list[tuple[str, int, float]]) -> None:
    asyncio.run(_pbx(conn, plan))


# --- the reflex client (the floor) -------------------------------------------------------------------


class _Reflex(asyncio.Protocol):
    """Logs in, sets a token, then answers every event's bytes with an offer's one action, unparsed."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.n = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(format_message({"Action": "Login", "Username": "acd", "Secret": SECRET, "ActionID": "l"}))
        transport.write(format_message({"Action": "Setvar", "Variable": TOKEN_VARIABLE, "Value": "t", "ActionID": "t"}))

    def data_received(self, data: bytes) -> None:
        if b"UserEvent: AcdEnqueue" not in data or self.transport is None:
            return
        self.n += 1
        channel = "PJSIP/trunk-x"
        target = offer_target("agent1", str(uuid.UUID(int=self.n)), 15, 1, False) or "agent1"
        actions = [
            {"Action": "Redirect", "Channel": channel, "Context": "acd-connect", "Exten": target, "Priority": "1"}
        ]
        self.transport.write(
            b"".join(format_message({**a, "ActionID": f"{self.n}.{k}"}) for k, a in enumerate(actions))
        )


async def run_floor(port: int, conn: Connection, phases: int) -> list[list[float]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(_Reflex, "127.0.0.1", port)
    await asyncio.sleep(0.2)
    results = []
    for _ in range(phases):
        conn.send("go")
        results.append(await loop.run_in_executor(None, conn.recv))
    transport.close()
    return results


# --- the ACD -----------------------------------------------------------------------------------------


STEPS = (
    "bytes in",
    "parsed",
    "pump has it",
    "translated",
    "core in",
    "core out",
    "ring ordered",
    "Redirect written",
)
"""Where a caller's ``AcdEnqueue`` is on its way through the ACD process, in order (``Stamps``)."""


class Stamps:
    """Moments of each caller's way through the ACD process, stamped by wrapping its methods (the
    benchmark's only intrusion; the product carries no stamps): the ``AcdEnqueue`` bytes reach the AMI
    session; the link has framed and parsed them; the pump task takes the message up; the translated
    event goes to the writer; the core starts and ends its decision; the ring reaches call control;
    the ``Redirect`` is on the socket. Each wrapper costs about a microsecond."""

    def __init__(self, clock: Any = time.perf_counter_ns) -> None:
        self.marks: list[tuple[str, int]] = []
        # ``time.thread_time_ns`` (``--cpu``): the ACD thread's CPU time, which a busy machine's other
        # processes do not inflate (time preempted and time idle in the event loop's wait do not count)
        self.clock = clock

    def install(self) -> None:
        from acd.ami.control import AmiCallControl
        from acd.ami.link import AmiLink
        from acd.ami.session import AmiSession
        from acd.ami.translate import Translator
        from acd.core.acd import Acd
        from acd.runtime import Runtime

        marks = self.marks
        stamp = self.clock

        def enqueue_msg(msg: Any) -> bool:
            return isinstance(msg, dict) and msg.get("UserEvent") == "AcdEnqueue"

        def before(cls: Any, name: str, step: str, when: Any) -> None:
            inner = getattr(cls, name)

            def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
                if when(args):
                    marks.append((step, stamp()))
                return inner(self, *args, **kwargs)

            setattr(cls, name, wrapped)

        def around(cls: Any, name: str, steps: tuple[str, str], when: Any) -> None:
            inner = getattr(cls, name)

            def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
                hit = when(args)
                if hit:
                    marks.append((steps[0], stamp()))
                out = inner(self, *args, **kwargs)
                if hit:
                    marks.append((steps[1], stamp()))
                return out

            setattr(cls, name, wrapped)

        before(AmiSession, "data_received", STEPS[0], lambda a: b"AcdEnqueue" in a[0])
        before(AmiLink, "_on_event", STEPS[1], lambda a: enqueue_msg(a[0]))
        before(Translator, "translate", STEPS[2], lambda a: enqueue_msg(a[0]))
        before(Runtime, "deliver", STEPS[3], lambda a: isinstance(a[0], CallArrived))
        around(Acd, "handle", (STEPS[4], STEPS[5]), lambda a: isinstance(a[0], CallArrived))
        before(AmiCallControl, "ring", STEPS[6], lambda a: True)
        submit = AmiSession.submit

        def submit_(session: Any, action: Any, *args: Any, **kwargs: Any) -> Any:
            out = submit(session, action, *args, **kwargs)
            if action.get("Action") == "Redirect":
                marks.append((STEPS[-1], stamp()))
            return out

        AmiSession.submit = submit_  # type: ignore[method-assign,assignment]

    def take(self) -> dict[str, list[float]]:
        """The spans of every complete caller since the last take, in µs."""
        spans: dict[str, list[float]] = {f"{a} -> {b}": [] for a, b in itertools.pairwise(STEPS)}
        spans["in process, in -> out"] = []
        sample: dict[str, int] = {}
        for name, at in self.marks:
            if name == STEPS[0]:
                sample = {}
            sample.setdefault(name, at)
            if name == STEPS[-1] and len(sample) == len(STEPS):
                for a, b in itertools.pairwise(STEPS):
                    spans[f"{a} -> {b}"].append((sample[b] - sample[a]) / 1000)
                spans["in process, in -> out"].append((sample[STEPS[-1]] - sample[STEPS[0]]) / 1000)
                sample = {}
        self.marks.clear()
        return spans


async def run_acd(port: int, conn: Connection, phases: int, stamps: Stamps | None = None) -> list[list[float]]:
    ami = AmiSettings(port=port, secret=SECRET, ping_interval=60.0)
    parts = await build(settings_for(CONFIG, ami=ami), records=_Drop())
    assert parts.link is not None and parts.pump is not None
    writer = asyncio.create_task(parts.runtime.run())
    pump = asyncio.create_task(parts.pump.run())
    parts.link.start()
    for agent in CONFIG.agents:
        await parts.runtime.ask(AgentLoggedIn(agent.id))
    for _ in range(100):  # connected, resynced, the token set
        if parts.link.connected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    loop = asyncio.get_running_loop()
    results = []
    for _ in range(phases):
        if stamps is not None:
            stamps.take()
        conn.send("go")
        results.append(await loop.run_in_executor(None, conn.recv))
        if stamps is not None:
            INSIDE.append(stamps.take())
    pump.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pump
    parts.runtime.drain()
    with contextlib.suppress(Exception):
        await writer
    await parts.link.close()
    return results


# --- where the ACD's share goes (no sockets) ---------------------------------------------------------


def breakdown(samples: int) -> dict[str, list[float]]:
    """Each step of the ring path timed alone, in process, on the same event bytes."""
    from acd.ami.control import _redirect
    from acd.ami.translate import Translator
    from acd.ami.wire import FrameDecoder, encode_action
    from acd.core.acd import Acd
    from acd.dialling import dialable_endpoint

    steps: dict[str, list[float]] = {"parse": [], "translate": [], "decide": [], "format": []}
    core = Acd(CONFIG)
    now = time.time()
    for agent in CONFIG.agents:
        core.handle(AgentLoggedIn(agent.id), now)
    translator = Translator(CONFIG, clock=time.time)
    decoder = FrameDecoder()
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\n")
    for n in range(samples):
        data = enqueue(n, "t")
        t0 = time.perf_counter_ns()
        messages = decoder.feed(data)
        t1 = time.perf_counter_ns()
        events = [e for m in messages for e in translator.translate(m)]
        t2 = time.perf_counter_ns()
        commands = [c for e in events for c in core.handle(e, now)]
        t3 = time.perf_counter_ns()
        channel, _ = _caller(n)
        target = offer_target(dialable_endpoint("agent1"), str(uuid.UUID(int=n)), 15, 1, False)
        assert target is not None
        wire = encode_action(_redirect(channel, "acd-connect", target))
        t4 = time.perf_counter_ns()
        assert commands and wire
        for key, a, b in (("parse", t0, t1), ("translate", t1, t2), ("decide", t2, t3), ("format", t3, t4)):
            steps[key].append((b - a) / 1000)
        core = Acd(CONFIG) if n % 10 == 9 else core  # never more than ten callers waiting
        if n % 10 == 9:
            for agent in CONFIG.agents:
                core.handle(AgentLoggedIn(agent.id), now)
    return steps


# --- the run -----------------------------------------------------------------------------------------


def _row(label: str, values: list[float]) -> str:
    return (
        f"{label:<32} n={len(values):>4}  p50 {percentile(values, 50):8.1f}  p90 {percentile(values, 90):8.1f}"
        f"  p99 {percentile(values, 99):8.1f}  max {max(values):8.1f} µs"
    )


def measure(kind: str, samples: int, hot: int, gap: float, cpu: bool = False) -> tuple[list[float], list[float]]:
    plan = [(f"{kind}-cold", samples, gap), (f"{kind}-hot", hot, 0.0)]
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=pbx_process, args=(theirs, plan), daemon=True)
    child.start()
    port = ours.recv()
    if kind == "acd":
        # the ACD logs as ``acd run`` does (INFO, its format), into nothing: the cost of its lines counts
        logging.basicConfig(
            stream=open(os.devnull, "w"),  # noqa: SIM115  # open for the life of the benchmark
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        stamps = Stamps(time.thread_time_ns if cpu else time.perf_counter_ns)
        stamps.install()
        cold, warm = asyncio.run(run_acd(port, ours, len(plan), stamps))
    else:
        cold, warm = asyncio.run(run_floor(port, ours, len(plan)))
    ours.send("stop")
    child.join(30)
    return cold, warm


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60, help="cold samples (default 60)")
    parser.add_argument("--hot", type=int, default=300, help="hot samples (default 300)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between cold samples (default 1.0)")
    parser.add_argument(
        "--cpu", action="store_true", help="stamp the ACD's stages in its thread's CPU time (a loaded machine)"
    )
    args = parser.parse_args(argv)
    print(f"ring path: AcdEnqueue bytes in -> Redirect bytes out, PBX stand-in in another process, {AGENTS} agents")
    floor_cold, floor_hot = measure("floor", args.samples, args.hot, args.gap)
    acd_cold, acd_hot = measure("acd", args.samples, args.hot, args.gap, args.cpu)
    for label, values in (
        ("floor cold", floor_cold),
        ("ACD cold", acd_cold),
        ("floor hot", floor_hot),
        ("ACD hot", acd_hot),
    ):
        print(_row(label, values))
    share_cold = percentile(acd_cold, 50) - percentile(floor_cold, 50)
    share_hot = percentile(acd_hot, 50) - percentile(floor_hot, 50)
    print(f"the ACD's share (p50 ACD - p50 floor): cold {share_cold:.1f} µs, hot {share_hot:.1f} µs")
    print(f"target: cold share <= 150 µs: {'met' if share_cold <= 150 else 'MISSED'}")
    for phase, spans in zip(("cold", "hot"), INSIDE, strict=False):
        print(f"inside the ACD process, {phase}{' (CPU time of its thread)' if args.cpu else ''}:")
        for label, values in spans.items():
            if values:
                print("  " + _row(label, values))
    print("each step alone (in process, no sockets, no event loop):")
    for step, values in breakdown(args.hot).items():
        print("  " + _row(step, values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
