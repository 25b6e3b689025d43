"""The ACD's reader of Kamailio (acd.kamailio, docs/pbxs.md) against a real Kamailio running the shipped
configuration: a phone's REGISTER makes its agent reachable at the next read, an unregister or an
expiry unreachable; the dispatcher says inactive the PBX that answers no OPTIONS and active the one
that does; a Kamailio that stopped answering changes nothing and is counted. Needs no PBX."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

from kamailio_alone import AGENTS, Kamailio, kamailio, stop
from prometheus_client import CollectorRegistry, Counter
from sip_register import register

from acd.ami.translate import Translator
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentReachability, Event
from acd.kamailio.reader import KamailioReader
from acd.kamailio.rpc import KamailioRpc

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 5),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)
PROBE_BOUND = 3.0  # kamailio.cfg: PROBE_INTERVAL x PROBE_FAILURES + fr_timer


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def submit(self, event: Event) -> bool:
        self.events.append(event)
        return True

    def take(self) -> list[Event]:
        out, self.events = self.events, []
        return out


def ul_add(k: Kamailio, aor: str, expires: int) -> None:
    """A contact put into the location table directly (usrloc's ul.add), expiring in ``expires`` s."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("")
        sock.settimeout(2)
        params: list[Any] = ["location", aor, f"sip:{aor}@127.0.0.1:9", expires, 1.0, "0", 0, 0, 0]
        sock.sendto(json.dumps({"jsonrpc": "2.0", "method": "ul.add", "params": params, "id": 1}).encode(), k.control)
        assert "error" not in json.loads(sock.recv(65536))


def test_registrations_and_the_dispatcher_read_from_a_real_kamailio() -> None:
    with kamailio(location_timer=1) as k:
        began = time.monotonic()
        translator = Translator(CONFIG)
        translator.presence.follow_registrar()
        sink = Sink()
        failed = Counter("acd_kamailio_reads_failed", "x", ["read", "reason"], registry=CollectorRegistry())
        reader = KamailioReader(KamailioRpc(k.control), translator.registrations, sink, failed)

        def read() -> list[Event]:
            asyncio.run(reader.read())
            return sink.take()

        def failures() -> float:
            return sum(s.value for m in failed.collect() for s in m.samples if s.name.endswith("_total"))

        # nobody registered: both agents unreachable, at the first read
        assert read() == [AgentReachability("a1", False), AgentReachability("a2", False)], k.log()
        assert reader.view.registered == frozenset()
        # a phone registers with Kamailio (digest checked): its agent is reachable at the next read
        assert register("agent1", AGENTS["agent1"], k.sip, expires=60) == 200
        assert register("agent2", "wrong", k.sip, expires=60) == 401  # not registered: no news
        assert read() == [AgentReachability("a1", True)]
        assert reader.view.registered == {"agent1"}
        assert read() == []  # the same truth: nothing new
        # the phone unregisters: unreachable at the next read
        assert register("agent1", AGENTS["agent1"], k.sip, expires=0) == 200
        assert read() == [AgentReachability("a1", False)]
        # a registration that expires (1 s here) is gone once usrloc's timer sweeps it (1 s here)
        ul_add(k, "agent2", 1)
        assert read() == [AgentReachability("a2", True)]
        deadline = time.monotonic() + 5
        while (events := read()) == [] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert events == [AgentReachability("a2", False)]
        # the dispatcher: the PBX answering OPTIONS active, the silent one inactive within the probe bound
        deadline = time.monotonic() + PROBE_BOUND + 2
        while reader.view.pbx_active("pbx2") is not False and time.monotonic() < deadline:
            time.sleep(0.2)
            read()
        assert reader.view.pbx_active("pbx2") is False, (reader.view.pbxs, k.log())
        assert reader.view.pbx_active("pbx1") is True, reader.view.pbxs
        assert k.alive.probes > 0 and k.dead.probes > 0
        assert failures() == 0
        # Kamailio stops answering: the reads fail, are counted, and the last view stays
        assert register("agent1", AGENTS["agent1"], k.sip, expires=60) == 200
        assert read() == [AgentReachability("a1", True)]
        view = reader.view
        stop(k.process)
        assert read() == []
        assert reader.view == view
        assert failed.labels("location", "unanswered")._value.get() == 1
        assert failed.labels("dispatcher", "unanswered")._value.get() == 1
        took = time.monotonic() - began
        assert took < 30, took
