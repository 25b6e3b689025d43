"""The AMI adapter with several PBXs (docs/pbxs.md): which PBX a message, a leg and a record belong to.

The translator is told the PBX whose link each message came on: a caller's leg names it, its
``CallArrived`` carries it, a ``Uniqueid`` of another PBX is refused (``pbx``) once several PBXs are
configured, and reachability is read from one PBX. A resync's reconcile settles only the legs of its
PBX, and the previous run's open records go to the pump of the PBX their ``Uniqueid`` names.
"""

from __future__ import annotations

from typing import Any, cast

from acd.ami.callers import Phase
from acd.ami.pump import Pump, share_left
from acd.ami.resync import ResyncResult
from acd.ami.translate import Translator, call_id_for
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallArrived, CallerHungUp, MonitorRequested
from acd.core.record_types import InteractionRecord

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)
NOW = 1765100000.0


def enqueue(uniqueid: str, n: int = 1) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": f"PJSIP/trunk-0000000{n}",
        "Uniqueid": uniqueid,
        "AcdQueue": "billing",
        "AcdPriority": "5",
        "AcdEnqueued": f"{NOW:.0f}",
    }


def several() -> Translator:
    t = Translator(CONFIG, clock=lambda: NOW)
    t.pbx_checked, t.presence_pbx = True, "pbx1"
    return t


def test_a_caller_s_leg_and_arrival_name_the_pbx_of_the_link() -> None:
    t = several()
    [arrived] = t.translate(enqueue("pbx2-1765100000.1"), "pbx2")
    assert isinstance(arrived, CallArrived) and arrived.pbx == "pbx2"
    assert t.book.pbx_of(call_id_for("pbx2-1765100000.1")) == "pbx2"


def test_a_uniqueid_of_another_pbx_is_refused() -> None:
    t = several()
    assert t.translate(enqueue("pbx1-1765100000.1"), "pbx2") == []
    assert t.translate(enqueue("1765100000.1"), "pbx2") == []  # a PBX without its systemname
    assert t.counters.refused["pbx"] == 2
    assert t.counters.malformed_on == {"pbx2": 2}
    assert len(t.book) == 0


def test_one_pbx_is_not_checked() -> None:
    t = Translator(CONFIG, clock=lambda: NOW)
    [arrived] = t.translate(enqueue("1765100000.1"))
    assert isinstance(arrived, CallArrived) and arrived.pbx == "pbx"
    assert t.counters.refused["pbx"] == 0


def test_reachability_is_read_from_one_pbx() -> None:
    t = several()
    contact = {"Event": "ContactStatus", "EndpointName": "agent1", "URI": "sip:a1", "ContactStatus": "Reachable"}
    assert t.translate(contact, "pbx2") == []
    assert t.counters.ignored == 1
    assert t.translate(contact, "pbx1") != []


def test_a_resync_of_one_pbx_settles_that_pbx_s_legs_alone() -> None:
    t = several()
    t.translate(enqueue("pbx1-1765100000.1", 1), "pbx1")
    t.translate(enqueue("pbx2-1765100000.1", 2), "pbx2")
    # pbx1 reconnects and finds nothing: its caller is gone; pbx2's is not in pbx1's picture, and stays
    events = t.reconcile(ResyncResult(contacts=None), "pbx1")
    assert [e for e in events if isinstance(e, CallerHungUp)] == [CallerHungUp(call_id_for("pbx1-1765100000.1"))]
    leg = t.book.get("pbx2-1765100000.1")
    assert leg is not None and leg.phase is Phase.WAITING


def _record(n: int, uniqueid: str) -> InteractionRecord:
    return InteractionRecord(f"00000000-0000-0000-0000-00000000000{n}", 1, "billing", 5, "555", NOW, uniqueid=uniqueid)


def test_the_previous_run_s_open_records_go_to_the_pump_of_their_pbx() -> None:
    pumps = [cast(Pump, _Pump("pbx1")), cast(Pump, _Pump("pbx2"))]
    on1, on2, callback = _record(1, "pbx1-1.1"), _record(2, "pbx2-1.1"), _record(3, "")
    share_left(pumps, [on1, on2, callback], {on2.interaction_id: 2})
    assert pumps[0].left_open == [on1, callback]  # one naming no PBX: the first's
    assert pumps[1].left_open == [on2]
    assert pumps[1].left_segments == {on2.interaction_id: 2}


class _Pump:
    def __init__(self, pbx: str) -> None:
        self.pbx = pbx
        self.left_open: list[Any] = []
        self.left_segments: dict[str, int] = {}


def test_a_supervisor_s_phone_names_the_pbx_it_asked_on() -> None:
    t = Translator(CONFIG, clock=lambda: NOW, supervisors={"supervisor1": None})
    t.pbx_checked = True
    msg = {
        "Event": "UserEvent",
        "UserEvent": "AcdMonitor",
        "Channel": "PJSIP/supervisor1-0000000c",
        "Uniqueid": "pbx2-1765100000.12",
        "AcdMode": "listen",
        "AcdAgentNumber": "1",
        "AcdSupervisor": "supervisor1",
    }
    [asked] = t.translate(msg, "pbx2")
    assert isinstance(asked, MonitorRequested) and asked.pbx == "pbx2"


def test_an_offer_s_events_come_from_the_pbx_of_its_call() -> None:
    t = several()
    t.translate(enqueue("pbx1-1765100000.1", 1), "pbx1")
    leg = t.book.get("pbx1-1765100000.1")
    assert leg is not None
    t.book.ring(leg, "offer-1", "agent1")
    answered = {
        "Event": "UserEvent",
        "UserEvent": "AcdAnswered",
        "Channel": "PJSIP/agent1-00000001",
        "Uniqueid": "pbx2-1765100000.5",
        "AcdOffer": "offer-1",
        "AcdAgent": "agent1",
    }
    assert t.translate(answered, "pbx2") == []  # pbx2 speaking for pbx1's offer
    assert t.counters.refused["pbx"] == 1
    result = {**answered, "UserEvent": "AcdDialResult", "AcdStatus": "NOANSWER"}
    assert t.translate(result, "pbx2") == []
    assert t.counters.refused["pbx"] == 2
    assert t.translate({**answered, "Uniqueid": "pbx1-1765100000.5"}, "pbx1") != []


def test_a_resync_drops_callers_whose_uniqueid_is_not_of_its_pbx() -> None:
    t = several()
    waiting = (
        CallArrived(call_id_for("1765100000.7"), "billing", 5, uniqueid="1765100000.7"),
        CallArrived(call_id_for("pbx2-1765100000.8"), "billing", 5, uniqueid="pbx2-1765100000.8"),
    )
    events = t.reconcile(ResyncResult(waiting=waiting, contacts=None), "pbx2")
    arrived = [e for e in events if isinstance(e, CallArrived)]
    assert [(e.uniqueid, e.pbx) for e in arrived] == [("pbx2-1765100000.8", "pbx2")]
    assert t.book.get("1765100000.7") is None
