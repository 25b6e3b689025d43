"""AmiLink against a fake AMI server on loopback TCP: ordering, watchdog, no-resend, timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from acd.ami.errors import AmiActionError, AmiDisconnected, AmiTimeout
from acd.ami.fake_server import FakeAmiServer
from acd.ami.link import AmiLink, LinkDown, LinkItem, LinkUp, Resume
from acd.ami.settings import LinkSettings
from acd.ami.translate import Translator
from acd.ami.wire import FrameDecoder
from acd.core.config import DEFAULT_DISPOSITIONS, AgentConfig, QueueConfig, RoutingConfig, SkillRequirement

FAST: dict[str, Any] = {"backoff_initial": 0.05, "backoff_max": 0.2, "ping_interval": 0.1, "ping_timeout": 0.2}


async def open_link(server: FakeAmiServer, **overrides: float) -> AmiLink:
    link = AmiLink(LinkSettings(port=server.port, username="acd", secret="secret", **{**FAST, **overrides}))
    link.start()
    await link.wait_connected(timeout=2.0)
    return link


async def take(link: AmiLink, n: int) -> list[LinkItem]:
    async with asyncio.timeout(3.0):
        return [await link.next_event() for _ in range(n)]


async def still_delivers(server: FakeAmiServer, link: AmiLink, event: dict[str, str]) -> None:
    """The stream goes on: ``event``, pushed now, comes right after the link's LinkUp."""
    server.push(event)
    assert (await take(link, 2))[1] == event


async def test_events_arrive_in_order_after_link_up(server: FakeAmiServer) -> None:
    link = await open_link(server)
    server.push(*({"Event": "UserEvent", "UserEvent": "Seq", "N": str(i)} for i in range(500)))
    items = await take(link, 501)
    assert items[0] == LinkUp(1, "Asterisk Call Manager/9.0.0")
    assert [m["N"] for m in items[1:] if isinstance(m, dict)] == [str(i) for i in range(500)]
    assert link.counters.events_received == 500
    await link.close()


async def test_an_event_read_while_the_reader_waits_is_taken_in_the_read_and_order_holds(
    server: FakeAmiServer,
) -> None:
    """``direct``: what comes while the reader waits on an empty queue is handed over inside the read (no
    task, no hop through the queue); what the reader hands back (``resume``) goes first, and every event
    read after it waits behind it in the queue."""
    link = await open_link(server)
    assert await take(link, 1) == [LinkUp(1, "Asterisk Call Manager/9.0.0")]
    seen: list[str] = []
    in_a_task: list[bool] = []

    async def finish() -> None:
        seen.append("1 finished")

    def direct(msg: dict[str, str]) -> None:
        in_a_task.append(asyncio.current_task() is not None)
        seen.append(msg["N"])
        if msg["N"] == "1":
            link.resume(finish)

    link.direct = direct
    reader = asyncio.create_task(take(link, 3))  # parks on the empty queue
    await asyncio.sleep(0.05)
    server.push(*({"Event": "UserEvent", "UserEvent": "Seq", "N": str(i)} for i in range(4)))
    items = await reader
    assert seen == ["0", "1"] and in_a_task == [False, False]
    assert isinstance(items[0], Resume)
    assert [m["N"] for m in items[1:] if isinstance(m, dict)] == ["2", "3"]
    await items[0].work()
    assert seen == ["0", "1", "1 finished"]
    assert link.counters.events_received == 4
    await link.close()


async def test_login_carries_credentials_and_events_on(server: FakeAmiServer) -> None:
    link = await open_link(server)
    login = server.actions[0]
    assert (login["Action"], login["Username"], login["Secret"], login["Events"]) == (
        "Login",
        "acd",
        "secret",
        "on",
    )
    assert link.connected
    assert "secret" not in repr(link.settings)
    await link.close()


async def test_wrong_secret_never_connects_and_keeps_retrying(server: FakeAmiServer) -> None:
    server.secret = "other"
    link = AmiLink(LinkSettings(port=server.port, secret="secret", **FAST))
    link.start()
    with pytest.raises(AmiTimeout):
        await link.wait_connected(timeout=0.5)
    assert server.count("Login") >= 2 and not link.connected
    await link.close()


async def test_ping_watchdog_drops_a_half_open_link_and_reconnects(server: FakeAmiServer) -> None:
    link = await open_link(server)
    assert await take(link, 1) == [LinkUp(1, "Asterisk Call Manager/9.0.0")]
    server.silent = True  # socket stays open, nothing is answered: half-open from our side
    down = await take(link, 1)
    assert isinstance(down[0], LinkDown) and "Pong" in down[0].reason
    server.silent = False
    assert await take(link, 1) == [LinkUp(2, "Asterisk Call Manager/9.0.0")]
    assert link.counters.ping_timeouts == 1 and link.counters.reconnects == 1
    await link.close()


async def test_pending_action_fails_on_disconnect_and_is_never_resent(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    server.unanswered.add("redirect")
    pending = asyncio.create_task(
        link.send({"Action": "Redirect", "Channel": "PJSIP/trunk-1", "Context": "acd-hold"}, timeout=5.0)
    )
    await server.wait_for("Redirect")
    server.drop_clients()
    with pytest.raises(AmiDisconnected):
        await pending
    items = await take(link, 3)
    assert [type(i) for i in items] == [LinkUp, LinkDown, LinkUp]
    await link.send({"Action": "Ping"})  # the new connection works…
    server.push({"Event": "FullyBooted"})  # panoramisk replays its parked actions on this event
    await asyncio.sleep(0.1)
    assert server.count("Redirect") == 1  # …and the Redirect was not replayed into it
    assert server.count("Login") == 2
    await link.close()


async def test_originate_is_forced_async_and_every_action_gets_a_fresh_id(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    reply = await link.send({"Action": "Originate", "Channel": "PJSIP/agent1", "Async": "false"})
    assert reply["Message"] == "Originate successfully queued"
    await link.send({"Action": "Setvar", "Variable": "X", "Value": "1", "ActionID": "mine"})
    sent = server.actions[1:]
    assert sent[0]["Async"] == "true"
    assert sent[1]["ActionID"] != "mine" and len({a["ActionID"] for a in server.actions}) == 3
    await link.close()


async def test_action_timeout_then_late_reply_is_dropped(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    server.unanswered.add("hangup")
    with pytest.raises(AmiTimeout):
        await link.send({"Action": "Hangup", "Channel": "PJSIP/x-1"}, timeout=0.1)
    aid = server.actions[-1]["ActionID"]
    server.push({"Response": "Success", "ActionID": aid, "Message": "Channel Hungup"})
    await still_delivers(server, link, {"Event": "Hangup", "Uniqueid": "1.1"})
    assert link.counters.orphan_replies == 1
    await link.close()


async def test_error_response_raises_action_error(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    with pytest.raises(AmiActionError) as err:
        await link.send({"Action": "Getvar", "Channel": "PJSIP/gone-1", "Variable": "ACD_QUEUE"})
    assert err.value.message == "No such channel"
    await link.close()


async def test_malformed_block_is_counted_and_the_stream_continues(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    server.push_raw(b"garbage without a colon\r\nNoEventHeader: x\r\n\r\n")
    await still_delivers(server, link, {"Event": "UserEvent", "UserEvent": "After"})
    assert link.counters.malformed == 1
    await link.close()


async def test_event_list_collects_items_and_keeps_them_out_of_the_stream(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    server.channels = [{"Channel": f"PJSIP/trunk-{i}", "Context": "acd-hold"} for i in range(3)]
    rows = await link.send_list({"Action": "CoreShowChannels"}, "CoreShowChannelsComplete")
    assert [r["Channel"] for r in rows] == ["PJSIP/trunk-0", "PJSIP/trunk-1", "PJSIP/trunk-2"]
    await still_delivers(server, link, {"Event": "FullyBooted"})
    await link.close()


async def test_send_while_down_fails_fast_and_close_ends_the_stream(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    await server.stop()
    with pytest.raises(AmiDisconnected):
        async with asyncio.timeout(1.0):
            while True:  # until the drop is noticed
                await link.send({"Action": "Ping"}, timeout=0.5)
                await asyncio.sleep(0.01)
    await link.close()
    assert [type(i) async for i in link.events()] == [LinkUp, LinkDown]


async def test_recorded_trace_over_tcp_translates_like_offline(server: FakeAmiServer) -> None:
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
        agents=(AgentConfig("a1", "agent1", (("billing", 5),)),),
    )
    raw = (Path(__file__).parent.parent / "data" / "ami" / "call_answered.txt").read_text()
    body = raw.split("\n", 1)[1].replace("\n", "\r\n").encode()  # the server sends its own banner

    def clock() -> float:
        return 1700001000.0  # around the trace's own times

    def catalogue(call_id: str) -> tuple[str, ...]:
        return DEFAULT_DISPOSITIONS  # billing's: the trace's *553 is its third code

    offline = Translator(config, clock=clock, catalogue=catalogue)
    expected = [e for m in FrameDecoder().feed(raw.replace("\n", "\r\n").encode()) for e in offline.translate(m)]
    server.after_login = body * 3  # the same day three times over
    link = await open_link(server, ping_interval=30.0)
    online = Translator(config, clock=clock, catalogue=catalogue)
    got = [
        e
        for item in await take(link, 1 + 3 * body.count(b"\r\n\r\n"))
        if isinstance(item, dict)
        for e in online.translate(item)
    ]
    assert got == expected + expected[1:] * 2  # reachability is reported on change only
    assert link.counters.malformed == 0 and online.counters.malformed == 0
    await link.close()


async def test_panoramisk_traps_leave_no_stray_callbacks_or_reconnects(
    server: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused Login, a dropped link and a closed link: no asyncio callback errors, no reconnect
    panoramisk schedules by itself (every Login is ours, spaced by the backoff), no parked actions."""
    server.secret = "other"
    link = AmiLink(LinkSettings(port=server.port, secret="secret", **{**FAST, "backoff_initial": 0.2}))
    began = asyncio.get_running_loop().time()
    link.start()
    await asyncio.sleep(0.5)
    elapsed = asyncio.get_running_loop().time() - began  # more than 0.5 s on a loaded machine
    # the link's backoff, nothing more: a Login at once, then one per pause of at least 0.2 s less the jitter
    most = 1 + int(elapsed / (0.2 * (1 - link.settings.backoff_jitter)))
    assert 1 <= server.count("Login") <= most, (server.count("Login"), elapsed)
    server.secret = "secret"
    await link.wait_connected(timeout=2.0)
    server.drop_clients()
    await link.wait_connected(timeout=2.0)
    manager = link._manager
    assert manager is not None and not manager.awaiting_actions
    await link.close()
    await asyncio.sleep(0.3)
    logins = server.count("Login")
    await asyncio.sleep(0.5)
    assert server.count("Login") == logins  # closed means closed
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert errors == []


async def test_a_character_split_across_two_reads_survives(server: FakeAmiServer) -> None:
    link = await open_link(server, ping_interval=30.0)
    wire = "Event: UserEvent\r\nUserEvent: AcdEnqueue\r\nCallerIDName: Zoë Łukasz\r\n\r\n".encode()
    cut = wire.index("ë".encode()) + 1  # inside the two bytes of ë
    server.push_raw(wire[:cut])
    await asyncio.sleep(0.05)
    server.push_raw(wire[cut:])
    items = await take(link, 2)
    assert isinstance(items[1], dict)
    assert items[1]["CallerIDName"] == "Zoë Łukasz"
    await link.close()
