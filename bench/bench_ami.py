"""AMI ingest benchmark: how many events per second AmiLink parses, and parses + translates.

A fake AMI server (``acd.ami.fake_server``) blasts a recorded-style trace over loopback TCP the
moment the client logs in: per caller an AcdEnqueue, dialplan noise (Newexten, VarSet), the
offer (AcdRinging, DialBegin, device states, AcdAnswered, DialEnd), and the end (two Hangups,
AcdDialResult) — Asterisk 22 layout, about 20 header lines per channel event. Three figures,
each from ``start()`` until the last event is consumed:

- AmiLink alone (events pulled from ``link.events()``);
- AmiLink + Translator (what the runtime does);
- bare panoramisk 1.4 ``Manager`` with a ``*`` callback counting events (the reference).

Each figure is the best of ``REPEATS`` runs. Target: AmiLink + Translator >= 20,000 events/s.
Run: ``python bench/bench_ami.py [callers]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from panoramisk import Manager

from acd.ami.fake_server import FakeAmiServer, format_message
from acd.ami.link import AmiLink, LinkUp
from acd.ami.settings import LinkSettings
from acd.ami.translate import Translator
from acd.core.config import DEFAULT_DISPOSITIONS, AgentConfig, QueueConfig, RoutingConfig, SkillRequirement

AGENTS = 20
REPEATS = 3  # best of: the figures are for the code, not for a noisy neighbour
CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=tuple(AgentConfig(f"a{i}", f"agent{i}", (("billing", 3),)) for i in range(AGENTS)),
)


def _snapshot(channel: str, uid: str, linked: str, context: str, exten: str, prefix: str = "") -> list[tuple[str, str]]:
    fields = [
        ("Channel", channel), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
        ("CallerIDNum", "5551234"), ("CallerIDName", "<unknown>"), ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"), ("Language", "en"), ("AccountCode", ""),
        ("Context", context), ("Exten", exten), ("Priority", "1"), ("Uniqueid", uid), ("Linkedid", linked),
    ]  # fmt: skip
    return [(prefix + k, v) for k, v in fields]


def build_trace(callers: int) -> tuple[bytes, int]:
    """The wire bytes of ``callers`` full call lifecycles, and how many events they hold."""
    chunks: list[bytes] = []
    for n in range(callers):
        uid, agent_uid = f"1700000000.{2 * n}", f"1700000000.{2 * n + 1}"
        caller, endpoint = f"PJSIP/trunk-{2 * n:08x}", f"agent{n % AGENTS}"
        agent_leg = f"PJSIP/{endpoint}-{2 * n + 1:08x}"
        offer = f"offer-{n}"
        c = _snapshot(caller, uid, uid, "acd-connect", endpoint)
        a = _snapshot(agent_leg, agent_uid, uid, "agents", "s")
        dest = _snapshot(agent_leg, agent_uid, uid, "agents", "s", "Dest")
        device = [("Event", "DeviceStateChange"), ("Privilege", "call,all"), ("Device", f"PJSIP/{endpoint}")]
        events: list[list[tuple[str, str]]] = [
            [("Event", "UserEvent"), ("Privilege", "user,all"), *_snapshot(caller, uid, uid, "acd-enqueue", "s"),
             ("UserEvent", "AcdEnqueue"), ("AcdQueue", "billing"), ("AcdPriority", "5"),
             ("AcdCaller", "5551234"), ("AcdEnqueued", "1700000000")],
            [("Event", "Newexten"), ("Privilege", "dialplan,all"), *c, ("Extension", "s"),
             ("Application", "MusicOnHold"), ("AppData", ",5")],
            [("Event", "VarSet"), ("Privilege", "dialplan,all"), *c, ("Variable", "ACD_LOOP"), ("Value", "1")],
            [("Event", "UserEvent"), ("Privilege", "user,all"), *c, ("UserEvent", "AcdRinging"),
             ("AcdOffer", offer), ("AcdAgent", endpoint)],
            [("Event", "DialBegin"), ("Privilege", "call,all"), *c, *dest, ("DialString", endpoint)],
            [*device, ("State", "INUSE")],
            [("Event", "UserEvent"), ("Privilege", "user,all"), *a, ("UserEvent", "AcdAnswered"),
             ("AcdOffer", offer), ("AcdAgent", endpoint)],
            [("Event", "DialEnd"), ("Privilege", "call,all"), *c, *dest, ("DialStatus", "ANSWER")],
            [("Event", "Hangup"), ("Privilege", "call,all"), *a, ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            [*device, ("State", "NOT_INUSE")],
            [("Event", "UserEvent"), ("Privilege", "user,all"), *c, ("UserEvent", "AcdDialResult"),
             ("AcdOffer", offer), ("AcdAgent", endpoint), ("AcdStatus", "ANSWER")],
            [("Event", "Hangup"), ("Privilege", "call,all"), *c, ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
        ]  # fmt: skip
        chunks.extend(format_message(e) for e in events)
    return b"".join(chunks), len(chunks)


async def _serve(trace: bytes) -> FakeAmiServer:
    server = FakeAmiServer()
    server.after_login = trace
    await server.start()
    return server


async def bench_link(trace: bytes, total: int, translate: bool) -> tuple[float, int]:
    server = await _serve(trace)
    # the trace's own moment; its *55<n> picks from the default catalogue, as in a queue without its own
    translator = Translator(CONFIG, clock=lambda: 1700000000.0, catalogue=lambda _call: DEFAULT_DISPOSITIONS)
    produced = 0
    link = AmiLink(LinkSettings(port=server.port, secret="secret", ping_interval=60.0))
    started = time.perf_counter()
    link.start()
    seen = 0
    async for item in link.events():
        if isinstance(item, LinkUp):
            continue
        if isinstance(item, dict):
            seen += 1
            if translate:
                produced += len(translator.translate(item))
            if seen == total:
                break
    elapsed = time.perf_counter() - started
    await link.close()
    await server.stop()
    assert translator.counters.malformed == 0
    return elapsed, produced


async def bench_panoramisk(trace: bytes, total: int) -> float:
    server = await _serve(trace)
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    count = 0

    def on_event(_manager: Any, _event: Any) -> None:
        nonlocal count
        count += 1
        if count == total and not done.done():
            done.set_result(time.perf_counter())

    manager: Any = Manager(
        host="127.0.0.1", port=server.port, username="acd", secret="secret",
        ping_delay=600, ping_interval=600, loop=asyncio.get_running_loop(),
    )  # fmt: skip
    manager.register_event("*", on_event)
    started = time.perf_counter()
    manager.connect()
    finished = await asyncio.wait_for(done, 120)
    manager.close()
    await server.stop()
    return finished - started


def _report(label: str, seconds: float, total: int, extra: str = "") -> float:
    rate = total / seconds
    print(f"{label:<28} {total:>8} events in {seconds:6.3f} s = {rate:>10,.0f} events/s {extra}")
    return rate


async def main(callers: int) -> int:
    trace, total = build_trace(callers)
    lines = trace.count(b"\r\n") - total
    print(f"trace: {callers} calls, {total} events, {lines / total:.1f} header lines/event, {len(trace) / 1e6:.1f} MB")
    runs: list[tuple[str, Callable[[], Any]]] = [
        ("AmiLink (parse)", lambda: bench_link(trace, total, translate=False)),
        ("AmiLink + Translator", lambda: bench_link(trace, total, translate=True)),
    ]
    rates: dict[str, float] = {}
    for label, run in runs:
        results = [await run() for _ in range(REPEATS)]
        seconds, produced = min(results)
        rates[label] = _report(label, seconds, total, f"({produced} core events)" if produced else "")
    seconds = min([await bench_panoramisk(trace, total) for _ in range(REPEATS)])
    rates["panoramisk"] = _report("panoramisk 1.4 Manager", seconds, total)
    print(f"ratio AmiLink/panoramisk: {rates['AmiLink (parse)'] / rates['panoramisk']:.2f}x; "
          f"AmiLink+Translator/panoramisk: {rates['AmiLink + Translator'] / rates['panoramisk']:.2f}x")  # fmt: skip
    ok = rates["AmiLink + Translator"] >= 20_000
    print("target >= 20,000 events/s:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)))
