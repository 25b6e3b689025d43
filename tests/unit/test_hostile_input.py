"""Hostile input changes nothing: real calls are routed and recorded exactly as without it.

A small day of real calls (logins, callers of two queues and two priorities, rings, answers,
hangups, an abandon) is played through the translator and the core, with a simulated PBX that
answers each ring. Hypothesis then mixes in hostile input at random moments: AMI events with no
token or a wrong one, fields holding NaN, infinities, huge and negative numbers, empty and
oversized strings, control characters, smuggled fields, unknown queues, agents, ids and offers,
repeated enqueues; and core events with the same values, for unknown ids, duplicates of real
arrivals and answers to offers already closed. The records written and the rings sent must be the
very same as in the run without them, and the refusals counted by reason.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.ami.identity import call_id_for
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.commands import CancelTimer, RecordCommand, RingAgent, StartTimer
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import AcdError
from acd.core.events import (
    AgentPaused,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallMoved,
    CallPriorityChanged,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferUnanswered,
    TimerFired,
    WrapUpDone,
)
from acd.core.timers import TimerKey
from acd.log_throttle import LogThrottle

T0 = 1_800_000_000.0
TOKEN = "3f6c0a5d9b1e4f2a8c7d6e5f4a3b2c1d"
CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=600.0, wrapup_seconds=2.0),
        QueueConfig("support", (SkillRequirement("support", 1),), max_wait_seconds=600.0),
    ),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 3), ("support", 3))),
        AgentConfig("a2", "agent2", (("support", 4),)),
        AgentConfig("a3", "agent3", (("billing", 2),)),
    ),
    policy=RoutingPolicy(ring_timeout_seconds=20.0),
)
ENDPOINTS = {"a1": "agent1", "a2": "agent2", "a3": "agent3"}
CALLERS = [  # (arrives after T0, uniqueid, queue, priority, hangs up after T0 if still waiting)
    (1.0, "1800000001.11", "billing", 5, None),
    (1.5, "1800000001.12", "support", 5, None),
    (2.0, "1800000002.13", "billing", 9, None),
    (2.5, "1800000002.14", "support", 5, None),
    (3.0, "1800000003.15", "billing", 5, 6.0),
    (4.0, "1800000004.16", "support", 9, None),
    (5.0, "1800000005.17", "billing", 5, None),
]
TALK = 9.0


def snapshot(uniqueid: str, context: str = "acd-enqueue") -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "Privilege": "user,all",
        "Channel": f"PJSIP/trunk-{uniqueid[-2:]}",
        "ChannelState": "6",
        "CallerIDNum": "5551234",
        "Context": context,
        "Exten": "s",
        "Priority": "6",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
    }


def enqueue(uniqueid: str, queue: str, priority: int, at: float, token: str | None = TOKEN) -> dict[str, str]:
    msg = {
        **snapshot(uniqueid),
        "UserEvent": "AcdEnqueue",
        "AcdQueue": queue,
        "AcdPriority": str(priority),
        "AcdCaller": "5551234",
        "AcdEnqueued": f"{at:.6f}",
    }
    if token is not None:
        msg["AcdToken"] = token
    return msg


def agent_event(endpoint: str, action: str, reason: str = "", token: str | None = TOKEN) -> dict[str, str]:
    msg = {
        "Event": "UserEvent",
        "Channel": f"PJSIP/{endpoint}-0001",
        "Uniqueid": "1800000000.1",
        "UserEvent": "AcdAgent",
        "AcdAction": action,
        "AcdAgent": endpoint,
    }
    if reason:
        msg["AcdReason"] = reason
    if token is not None:
        msg["AcdToken"] = token
    return msg


def user_event(kind: str, uniqueid: str, token: str | None = TOKEN, **fields: str) -> dict[str, str]:
    msg = {**snapshot(uniqueid, "acd-connect"), "UserEvent": kind, **fields}
    if token is not None:
        msg["AcdToken"] = token
    return msg


Item = tuple[str, Any]  # ("ami", message) or ("core", event)


@dataclass
class Run:
    """Translator and core fed in time order; a simulated PBX answers every ring."""

    hostile: list[tuple[float, Item]] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    rings: list[tuple[float, str, str]] = field(default_factory=list)
    core_refusals: int = 0
    now: float = T0
    arrivals: list[CallArrived] = field(default_factory=list)
    answered_offers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.core = Acd(CONFIG)
        quiet = LogThrottle(logging.getLogger("hostile-test"), interval=1e9, clock=lambda: 0.0)
        self.translator = Translator(
            CONFIG,
            token=EventToken(TOKEN),
            clock=lambda: self.now,
            quiet=quiet,
            acd_has_call=lambda a: (s := self.core.agent_state(a)) is not None and s.value in ("reserved", "on_call"),
        )
        self._queue: list[tuple[float, int, int, Item]] = []
        self._seq = itertools.count()
        self._timers: dict[TimerKey, float] = {}
        self._hung_up: set[str] = set()

    def at(self, when: float, item: Item, rank: int = 1) -> None:
        heapq.heappush(self._queue, (when, rank, next(self._seq), item))

    def play(self) -> Run:
        for endpoint in ENDPOINTS.values():
            self.at(T0, ("ami", agent_event(endpoint, "login")))
        for after, uid, queue, priority, hangup in CALLERS:
            self.at(T0 + after, ("ami", enqueue(uid, queue, priority, T0 + after)))
            if hangup is not None:
                self.at(T0 + hangup, ("ami", {"Event": "Hangup", "Uniqueid": uid, "Channel": "x"}))
        for when, item in self.hostile:
            self.at(T0 + when, item, rank=0)  # before a real event of the same moment
        while self._queue:
            when, _, _, item = heapq.heappop(self._queue)
            self._fire_timers(until=when)
            self.now = when
            kind, what = item
            if kind == "ami":
                for event in self.translator.translate(what):
                    self._handle(event, when)
            elif kind == "dup":
                if self.arrivals:
                    self._handle(self.arrivals[0], when, real=False)
            elif kind == "answered":
                self.answered_offers.append(what)
            elif kind == "late":
                if self.answered_offers:
                    self._handle(OfferAnswered(self.answered_offers[0]), when, real=False)
            else:
                self._handle(what, when, real=False)
        self._fire_timers(until=math.inf)
        return self

    def _fire_timers(self, until: float) -> None:
        while self._timers:
            key, at = min(self._timers.items(), key=lambda kv: (kv[1], kv[0]))
            if at > until:
                return
            del self._timers[key]
            self.now = at
            self._handle(TimerFired(key), at)

    def _handle(self, event: Event, now: float, real: bool = True) -> None:
        try:
            commands = self.core.handle(event, now)
        except AcdError:
            self.core_refusals += 1
            return
        if isinstance(event, CallArrived) and real:
            self.arrivals.append(event)
        for command in commands:
            if isinstance(command, RecordCommand):
                self.records.append(command.record)
            elif isinstance(command, StartTimer):
                self._timers[command.key] = command.at
            elif isinstance(command, CancelTimer):
                self._timers.pop(command.key, None)
            elif isinstance(command, RingAgent):
                self._ring(command, now)

    def _ring(self, ring: RingAgent, now: float) -> None:
        self.rings.append((now, ring.call_id, ring.agent_id))
        uid = next(u for _, u, *_ in CALLERS if call_id_for(u) == ring.call_id)
        endpoint = ENDPOINTS[ring.agent_id]
        self.at(now + 0.1, ("ami", user_event("AcdRinging", uid, AcdOffer=ring.offer_id, AcdAgent=endpoint)))
        answer = user_event("AcdAnswered", "1800000099.1", AcdOffer=ring.offer_id, AcdAgent=endpoint)
        self.at(now + 1.5, ("ami", answer))
        self.at(now + 1.5, ("answered", ring.offer_id))
        self.at(now + 1.5 + TALK, ("ami", {"Event": "Hangup", "Uniqueid": uid, "Channel": "x"}))


BAD_NUMBERS = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "",
    "1e300",
    "-1e300",
    "0x10",
    "5.5",
    "9" * 40,
    "-5",
    "1001",
    "99999999999999999999999999999999",
    "\u0665",
    " 5",
    "5\x00",
]
BAD_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "x" * 300,
    "\r\n",
    "5550003,AcdQueue:billing",
    "5550002,AcdPriority:" + "9" * 31,
    "agent1\x00",
    "../../etc",
    "a|b",
    "é" * 80,
    "PJSIP/a/b",
]
FOREIGN_UIDS = ["666.1", "1800000001.99", "", "x" * 100, "1.1\x00", "../x", "1.1,2"]
FOREIGN_OFFERS = ["", "nope", "x" * 200, "o\x00", "0f0e0000-0000-4000-8000-000000000000"]
TOKENS = [None, "", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()]

bad_number = st.sampled_from(BAD_NUMBERS)
bad_text = st.sampled_from(BAD_TEXT)
not_token = st.sampled_from(TOKENS)
any_token = st.sampled_from([*TOKENS, TOKEN])


@st.composite
def hostile_enqueue(draw: Callable[..., Any]) -> dict[str, str]:
    _, uid, queue, priority, _ = draw(st.sampled_from(CALLERS))
    uid = draw(st.sampled_from([uid, "666.1", "1800000001.98"]))
    at = T0 + draw(st.floats(0.0, 30.0))
    token = draw(any_token)
    msg = enqueue(uid, queue, priority, at, token)
    if token == TOKEN:  # the right token: at least one field holds what cannot be true
        key = draw(
            st.sampled_from(
                ["AcdPriority", "AcdEnqueued", "AcdQueue", "Uniqueid", "Channel", "AcdCaller", "X-Acd-Repeated"]
            )
        )
        if key in ("AcdPriority", "AcdEnqueued"):
            value = draw(bad_number.filter(lambda v: key != "AcdEnqueued" or v not in ("5.5", "-5", "1001")))
            if key == "AcdEnqueued" and value == "":
                value = "soon"
        elif key == "AcdQueue":
            value = draw(st.sampled_from(["", "nosuch", "billing\x00", "x" * 300, "Billing", "billing "]))
        elif key == "Uniqueid":
            value = draw(st.sampled_from(FOREIGN_UIDS[2:]))
        elif key == "Channel":
            value = draw(st.sampled_from(["", "PJSIP/x,y", "\x00", "x" * 200]))
        elif key == "AcdCaller":
            value = draw(st.sampled_from(BAD_TEXT[1:8]))
        else:
            value = "AcdQueue"
        msg[key] = value
    return msg


@st.composite
def hostile_agent(draw: Callable[..., Any]) -> dict[str, str]:
    token = draw(any_token)
    endpoint = draw(st.sampled_from(list(ENDPOINTS.values())))
    action = draw(st.sampled_from(["login", "logout", "pause", "resume", "wrapup_done", "disposition"]))
    reason = draw(st.sampled_from(["", "2"]))
    if token == TOKEN:
        which = draw(st.sampled_from(["endpoint", "action", "reason"]))
        if which == "endpoint":
            endpoint = draw(st.sampled_from(["ghost", "", "agent1\x00", "PJSIP/x/y", "a" * 100, "agent1,x"]))
        elif which == "action":
            action = draw(st.sampled_from(["", "explode", "login\x00", "LOGOUT ", "x" * 100]))
        else:
            reason = draw(st.sampled_from(["\x00", "x" * 100, "a,b", "b:c", "\r\n"]))
    return agent_event(endpoint, action, reason, token)


@st.composite
def hostile_call_event(draw: Callable[..., Any]) -> dict[str, str]:
    kind = draw(st.sampled_from(["AcdRinging", "AcdAnswered", "AcdDialResult", "AcdFallback", "AcdOverflowed"]))
    token = draw(any_token)
    uid = draw(st.sampled_from(FOREIGN_UIDS))
    fields = {
        "AcdOffer": draw(st.sampled_from(FOREIGN_OFFERS)),
        "AcdAgent": draw(st.sampled_from(["agent1", "ghost", "", "a\x00", "x" * 100])),
        "AcdStatus": draw(st.sampled_from(["ANSWER", "NOANSWER", "BUSY", "", "\x00", "x" * 100])),
        "AcdReason": draw(st.sampled_from(["heartbeat", "maxwait", "", "\x00", "x" * 100])),
    }
    msg = user_event(kind, uid, token, **fields)
    if not uid:
        del msg["Uniqueid"]
    return msg


native = st.one_of(
    st.builds(lambda uid: {"Event": "Hangup", "Uniqueid": uid, "Channel": "x"}, st.sampled_from(FOREIGN_UIDS)),
    st.builds(
        lambda uid, s: {"Event": "DialEnd", "Uniqueid": uid, "DialStatus": s},
        st.sampled_from(FOREIGN_UIDS),
        st.sampled_from(["NOANSWER", "ANSWER", "", "\x00"]),
    ),
    st.builds(
        lambda e, s: {"Event": "DeviceStateChange", "Device": f"PJSIP/{e}", "State": s},
        st.sampled_from(["ghost", "", "x" * 100]),
        st.sampled_from(["INUSE", "UNAVAILABLE", "\x00"]),
    ),
    st.builds(
        lambda d: {"Event": "UserEvent", "UserEvent": "AcdEnqueue", **d},
        st.dictionaries(
            st.sampled_from(["AcdQueue", "AcdPriority", "Uniqueid", "AcdEnqueued", "AcdToken"]), bad_text, max_size=5
        ),
    ),
)

ghost_ids = st.sampled_from(["nope", "", "x" * 300, "c\x00", call_id_for("666.1")])
real_ids = st.sampled_from([call_id_for(uid) for _, uid, *_ in CALLERS])
bad_time = st.sampled_from([math.nan, math.inf, -math.inf, -1e300, 1e300, T0 + 3600.0, T0 - 10 * 86400.0])
bad_priority = st.one_of(
    st.sampled_from([-1, 1001, 2**31, -(2**63), 10**31]), st.sampled_from([math.nan, math.inf, 5.0, True])
)
hostile_core = st.one_of(
    st.builds(
        lambda cid, q, p, t: CallArrived(cid, q, p, enqueued_at=t, channel="PJSIP/x-1", uniqueid="666.1"),
        st.sampled_from(["phantom-1", call_id_for("666.1")]),
        st.sampled_from(["billing", "support"]),
        st.just(5),
        bad_time,
    ),
    st.builds(lambda cid, p: CallArrived(cid, "billing", p, enqueued_at=T0 + 1.0), st.just("phantom-2"), bad_priority),
    st.builds(lambda cid, q: CallArrived(cid, q, 5), st.just("phantom-3"), st.sampled_from(["", "nosuch", "b\x00"])),
    st.builds(
        lambda c: CallArrived("phantom-4", "billing", 5, caller=c),
        bad_text.filter(lambda t: len(t) > 256 or "\x00" in t or "\r" in t),
    ),
    st.builds(lambda cid: CallArrived(cid, "billing", 5), st.sampled_from(["", "x" * 300, "c\x00"])),
    st.builds(OfferAnswered, st.sampled_from(["nope", "", "o\x00"])),
    st.builds(OfferUnanswered, st.sampled_from(["nope", ""])),
    st.builds(CallEnded, ghost_ids),
    st.builds(CallerHungUp, ghost_ids),
    st.builds(AgentPaused, st.sampled_from(["ghost", "", "a\x00"])),
    st.builds(WrapUpDone, st.sampled_from(["ghost", ""])),
    st.builds(lambda cid, c: DispositionSet(cid, c), ghost_ids, st.sampled_from(["ok", "\x00"])),
    st.builds(lambda cid, p: CallPriorityChanged(cid, p), real_ids, bad_priority),
    st.builds(lambda cid: CallPriorityChanged(cid, 7), ghost_ids),
    st.builds(lambda cid, q: CallMoved(cid, q), ghost_ids, st.sampled_from(["support", "nosuch", ""])),
    st.builds(lambda cid: CallMoved(cid, "nosuch"), real_ids),
    st.builds(
        TimerFired,
        st.sampled_from(
            [
                TimerKey("call", "nope"),
                TimerKey("ring", "nope"),
                TimerKey("wrapup", "ghost"),
                TimerKey("call", ""),
                TimerKey("call", "x" * 300),
            ]
        ),
    ),
)
hostile_item = st.one_of(
    st.tuples(st.just("ami"), hostile_enqueue()),
    st.tuples(st.just("ami"), hostile_agent()),
    st.tuples(st.just("ami"), hostile_call_event()),
    st.tuples(st.just("ami"), native),
    st.tuples(st.just("core"), hostile_core),
    st.tuples(st.sampled_from(["dup", "late"]), st.none()),
)
hostile_input = st.lists(st.tuples(st.floats(0.0, 40.0), hostile_item), max_size=60)

CLEAN = Run().play()


def test_the_day_without_hostile_input_is_a_real_day() -> None:
    answered = [r for r in CLEAN.records if getattr(r, "outcome", None) == "answered"]
    abandoned = [r for r in CLEAN.records if getattr(r, "outcome", None) == "abandoned"]
    assert len({r.interaction_id for r in answered}) == len(CALLERS) - 1 and len(abandoned) == 1
    assert CLEAN.core_refusals == 0 and CLEAN.translator.counters.malformed == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_input)
def test_hostile_input_changes_no_real_call(hostile: list[tuple[float, Item]]) -> None:
    run = Run(hostile=hostile)
    run.play()
    assert run.rings == CLEAN.rings
    assert run.records == CLEAN.records
    ami = sum(1 for _, (kind, _) in hostile if kind == "ami")
    assert run.translator.counters.translated <= CLEAN.translator.counters.translated + ami


def test_an_agent_code_cannot_act_for_another_agent() -> None:
    run = Run()
    run.now = T0
    smuggled = {**agent_event("agent3", "login"), "Channel": "PJSIP/agent1-00000007"}
    assert run.translator.translate(smuggled) == []
    assert dict(run.translator.counters.refused) == {"injected": 1}
    assert len(run.translator.translate(agent_event("agent1", "login"))) == 1


@pytest.mark.parametrize(
    ("field_", "value", "reason"),
    [
        ("AcdEnqueued", "nan", "number"),
        ("AcdEnqueued", "-inf", "number"),
        ("AcdEnqueued", str(T0 + 3600), "time"),
        ("AcdPriority", "9" * 31, "number"),
        ("AcdPriority", "1001", "priority"),
        ("AcdQueue", "nosuch", "queue"),
        ("AcdCaller", "5550003,AcdQueue:billing", "injected"),
        ("AcdCaller", "555\x00", "text"),
        ("AcdToken", "wrong", "token"),
        ("X-Acd-Repeated", "AcdQueue", "injected"),
        ("Uniqueid", "1.1\x00", "id"),
        ("CallerIDNum", "5550003,AcdQueue:billing", "injected"),  # Asterisk 22 keeps the smuggled field's value
    ],
)
def test_each_refusal_is_counted_by_its_reason(field_: str, value: str, reason: str) -> None:
    run = Run()
    run.now = T0 + 1.0
    assert run.translator.translate({**enqueue("1800000001.11", "billing", 5, T0), field_: value}) == []
    assert dict(run.translator.counters.refused) == {reason: 1}
