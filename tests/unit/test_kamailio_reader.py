"""Agent reachability from Kamailio (acd.kamailio.reader, docs/pbxs.md): each read of the location table
is the whole truth, its changes reach the core as ``AgentReachability`` (the event a PBX's
``ContactStatus`` gives), the PBX's own contact news no longer fight it, and a failed read changes
nothing and is counted. Also the JSON-RPC client against a datagram socket that answers badly."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from acd.ami.resync import ContactSnapshot, ResyncResult
from acd.ami.translate import Translator
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentReachability, Event
from acd.kamailio.reader import KamailioReader
from acd.kamailio.rpc import KamailioRpc, RpcFailed

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 5),)),
        AgentConfig("a2", "PJSIP/Agent2", (("billing", 3),)),
    ),
)


def dump(*aors: str) -> dict[str, Any]:
    return {"Domains": [{"Domain": {"Domain": "location", "AoRs": [{"AoR": a} for a in aors]}}]}


def pbxs(flags: str) -> dict[str, Any]:
    dest = {"URI": "sip:127.0.0.1:5062", "FLAGS": flags, "ATTRS": {"DUID": "pbx2"}}
    return {"NRSETS": 1, "RECORDS": [{"SET": {"ID": 1, "TARGETS": [{"DEST": dest}]}}]}


class FakeRpc(KamailioRpc):
    """Answers each method from a table: a value, or an exception to raise."""

    def __init__(self) -> None:
        super().__init__("/nowhere")
        self.answers: dict[str, Any] = {}

    async def call(self, method: str, *params: str) -> Any:
        answer = self.answers[method]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def submit(self, event: Event) -> bool:
        self.events.append(event)
        return True


def reader() -> tuple[KamailioReader, Translator, FakeRpc, Sink, Counter]:
    translator = Translator(CONFIG)
    translator.presence.follow_registrar()
    rpc, sink = FakeRpc(), Sink()
    failed = Counter("acd_kamailio_reads_failed", "x", ["read", "reason"], registry=CollectorRegistry())
    return (
        KamailioReader(rpc, translator.registrations, sink, failed, clock=lambda: 1000.0),
        translator,
        rpc,
        sink,
        failed,
    )


def failures(counter: Counter, read: str, reason: str) -> float:
    return float(counter.labels(read, reason)._value.get())


def read(r: KamailioReader) -> None:
    asyncio.run(r.read())


def test_each_dump_is_the_whole_truth_and_only_changes_reach_the_core() -> None:
    r, _, rpc, sink, _ = reader()
    rpc.answers = {"ul.dump": dump("agent1", "phone7"), "dispatcher.list": pbxs("AP")}
    read(r)
    assert sink.events == [AgentReachability("a1", True), AgentReachability("a2", False)]
    assert r.view.registered == {"agent1", "phone7"} and r.view.registered_at == 1000.0
    assert r.view.pbx_active("pbx2") is True
    sink.events.clear()
    read(r)  # the same truth again: nothing new
    assert sink.events == []
    rpc.answers["ul.dump"] = dump("agent2")  # the registrar keeps AoRs in lowercase; the endpoint is Agent2
    rpc.answers["dispatcher.list"] = pbxs("IP")
    read(r)
    assert sink.events == [AgentReachability("a1", False), AgentReachability("a2", True)]
    assert r.view.pbx_active("pbx2") is False


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (RpcFailed("unanswered", "timeout"), "unanswered"),
        (RpcFailed("oversize", "big"), "oversize"),
        (RpcFailed("error", "Method Not Found"), "error"),
        ({"Domains": "garbage"}, "malformed"),
        ([1, 2, 3], "malformed"),
    ],
)
def test_a_failed_read_changes_nothing_and_is_counted(answer: Any, reason: str) -> None:
    r, translator, rpc, sink, failed = reader()
    rpc.answers = {"ul.dump": dump("agent1", "agent2"), "dispatcher.list": pbxs("AP")}
    read(r)
    before, events = r.view, list(sink.events)
    rpc.answers = {"ul.dump": answer, "dispatcher.list": answer}
    read(r)
    assert r.view == before and sink.events == events  # the last view stays: nobody turned unreachable
    assert failures(failed, "location", reason) == 1
    assert failures(failed, "dispatcher", reason) == 1
    assert translator.presence.current("a1", False).reachable


def test_one_part_failing_keeps_that_part_and_refreshes_the_other() -> None:
    r, _, rpc, _, failed = reader()
    rpc.answers = {"ul.dump": dump("agent1"), "dispatcher.list": pbxs("AP")}
    read(r)
    rpc.answers = {"ul.dump": dump(), "dispatcher.list": RpcFailed("unanswered", "x")}
    read(r)
    assert r.view.registered == frozenset() and r.view.pbx_active("pbx2") is True
    assert failures(failed, "dispatcher", "unanswered") == 1 and failures(failed, "location", "unanswered") == 0


def test_the_pbxs_contact_news_do_not_fight_kamailios_word() -> None:
    """Behind Kamailio the PBX's contact for an agent is Kamailio's address: ContactStatus and the
    resync's contact list are ignored; device state still counts (an unavailable or busy device)."""
    r, translator, rpc, _, _ = reader()
    rpc.answers = {"ul.dump": dump("agent1"), "dispatcher.list": pbxs("AP")}
    read(r)
    removed = {"Event": "ContactStatus", "EndpointName": "agent1", "URI": "sip:agent1@k", "ContactStatus": "Removed"}
    assert translator.translate(removed) == []
    created = {"Event": "ContactStatus", "EndpointName": "Agent2", "URI": "sip:x", "ContactStatus": "Reachable"}
    assert translator.translate(created) == []
    # a resync (the PBX reconnected) lists no contact for anyone: Kamailio's word stays
    picture = ResyncResult(contacts=(ContactSnapshot("Agent2", "sip:x", "Reachable"),))
    events = translator.reconcile(picture)
    assert [e for e in events if isinstance(e, AgentReachability)] == [
        AgentReachability("a1", True),
        AgentReachability("a2", False),
    ]
    busy = {"Event": "DeviceStateChange", "Device": "PJSIP/agent1", "State": "INUSE"}
    assert translator.translate(busy) == [AgentReachability("a1", True, busy_elsewhere=True)]


def test_before_the_first_read_the_device_state_decides_as_without_contacts() -> None:
    translator = Translator(CONFIG)
    translator.presence.follow_registrar()
    assert translator.presence.current("a1", False).reachable
    gone = {"Event": "DeviceStateChange", "Device": "PJSIP/agent1", "State": "UNAVAILABLE"}
    assert translator.translate(gone) == [AgentReachability("a1", False)]


def test_without_kamailio_the_pbxs_contacts_rule_as_before() -> None:
    translator = Translator(CONFIG)
    removed = {"Event": "ContactStatus", "EndpointName": "agent1", "URI": "sip:agent1@p", "ContactStatus": "Removed"}
    created = {**removed, "ContactStatus": "Created"}
    assert translator.translate(created) == [AgentReachability("a1", True)]
    assert translator.translate(removed) == [AgentReachability("a1", False)]
    with pytest.raises(RuntimeError):
        translator.registrations(frozenset({"agent1"}))


# -- the JSON-RPC client against a datagram socket ------------------------------------------------------
@pytest.fixture
def server() -> Iterator[tuple[str, Callable[[Callable[[dict[str, Any]], bytes | None]], None]]]:
    """A unix datagram socket standing for Kamailio's; ``answer(fn)`` makes it reply fn(request)."""
    folder = tempfile.mkdtemp(prefix="acd-kam-")
    path = os.path.join(folder, "rpc.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def answer(fn: Callable[[dict[str, Any]], bytes | None]) -> None:
        def readable() -> None:
            data, sender = sock.recvfrom(65536)
            reply = fn(json.loads(data))
            if reply is not None:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:  # unnamed, as Kamailio's
                    out.sendto(reply, sender)

        loop.add_reader(sock.fileno(), readable)

    try:
        yield path, answer
    finally:
        loop.remove_reader(sock.fileno())
        loop.close()
        asyncio.set_event_loop(None)
        sock.close()
        Path(path).unlink(missing_ok=True)
        os.rmdir(folder)


def call(rpc: KamailioRpc, method: str = "ul.dump") -> Any:
    return asyncio.get_event_loop().run_until_complete(rpc.call(method, "brief"))


def test_the_client_takes_the_result_of_its_own_request(server: Any) -> None:
    path, answer = server
    answer(
        lambda req: json.dumps(
            {"jsonrpc": "2.0", "result": {"m": req["method"], "p": req["params"]}, "id": req["id"]}
        ).encode()
    )
    assert call(KamailioRpc(path)) == {"m": "ul.dump", "p": ["brief"]}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda req: None, "unanswered"),
        (lambda req: b"not json", "malformed"),
        (lambda req: b"[" * 100_000 + b"]" * 100_000, "oversize"),
        (lambda req: b"[" * 5000 + b"]" * 5000, "malformed"),  # nested deeper than the decoder goes
        (lambda req: b"[1, 2]", "malformed"),
        (lambda req: json.dumps({"result": 1, "id": "acd-1-guessed"}).encode(), "malformed"),
        (lambda req: json.dumps({"id": req["id"]}).encode(), "malformed"),
        (
            lambda req: json.dumps({"error": {"code": 500, "message": "Method Not Found"}, "id": req["id"]}).encode(),
            "error",
        ),
        (lambda req: json.dumps({"error": "x" * 10_000, "id": req["id"]}).encode(), "error"),
    ],
)
def test_every_bad_reply_is_one_counted_reason(
    server: Any, reply: Callable[[dict[str, Any]], bytes | None], reason: str
) -> None:
    path, answer = server
    answer(reply)
    with pytest.raises(RpcFailed) as failed:
        call(KamailioRpc(path, timeout=0.3, reply_cap=65536))
    assert failed.value.reason == reason


def test_no_socket_at_the_path_is_unanswered(tmp_path: Path) -> None:
    with pytest.raises(RpcFailed) as failed:
        asyncio.run(KamailioRpc(str(tmp_path / "none.sock"), timeout=0.3).call("ul.dump"))
    assert failed.value.reason == "unanswered"


def test_a_pbx_the_dispatcher_marks_inactive_is_handed_to_lose() -> None:
    """docs/pbxs.md, "A PBX dies": the runtime loses it if its link is down too (``Runtime.pbx_lost``)."""
    r, _, rpc, _, _ = reader()
    asked: list[str] = []

    def lose(name: str) -> bool:
        asked.append(name)
        return True

    r.lose = lose
    rpc.answers = {"ul.dump": dump("agent1"), "dispatcher.list": pbxs("AP")}
    read(r)
    assert asked == []  # active: nothing to lose
    for drained in ("DX", "DP"):  # disabled by hand for maintenance: it still carries live calls
        rpc.answers["dispatcher.list"] = pbxs(drained)
        read(r)
        assert asked == []
    rpc.answers["dispatcher.list"] = pbxs("IP")
    read(r)
    assert asked == ["pbx2"]
