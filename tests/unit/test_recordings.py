"""The recorder beside the core (acd.recordings): the records of a recorded call, its pauses, and the
settings and translation that feed it. The PBX's part is tests/e2e/test_acd_recordings.py."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
import wave
from pathlib import Path

import pytest
from doubles import ListSink

from acd.ami.callers import CallerLeg, Phase
from acd.ami.ended_unseen import with_records
from acd.ami.resync import OfferedCaller, ResyncResult, is_leg_of
from acd.ami.roster import Roster
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.commands import RecordCommand
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, ResyncFinished, ResyncStarted
from acd.core.record_types import InteractionRecord, RecordingPauseRecord, RecordingRecord
from acd.recordings import NoAgentLeg, NotRecording, Recorder, file_name, wav_seconds
from acd.settings import SettingsError, parse

UNIQUEID = "1733550000.42"  # the caller's
AGENT_LEG = "1733550003.47"  # the agent leg's, which names the file
CALL = str(uuid.uuid4())


def write_wav(path: Path, seconds: float, *, close: bool = True) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))
    if not close:  # as while the PBX writes: the header's sizes not written yet
        data = bytearray(path.read_bytes())
        data[4:8] = b"\x00\x00\x00\x00"
        path.write_bytes(bytes(data))


def answered(ended_at: float | None = None) -> InteractionRecord:
    return InteractionRecord(
        CALL, 2 if ended_at else 1, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=110.0, ended_at=ended_at
    )


def test_the_length_comes_from_a_closed_wav_header(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, 2.5)
    assert wav_seconds(path) == pytest.approx(2.5)
    write_wav(path, 2.5, close=False)
    assert wav_seconds(path) is None  # still being written
    path.write_bytes(b"not a wav at all")
    assert wav_seconds(path) is None
    assert wav_seconds(tmp_path / "missing.wav") is None


def test_a_file_name_is_made_of_a_uniqueid_only() -> None:
    assert file_name(UNIQUEID) == f"{UNIQUEID}.wav"
    for bad in ("", "../etc/passwd", "1.2/3", "1733550000", "1.2.wav", "PBX-1.2", "pbx-", "-1.2", "pbx/x-1.2"):
        assert file_name(bad) is None
    # a PBX with a systemname: the dialplan keeps the Uniqueid's digits and dots (FILTER(.0-9))
    assert file_name(f"pbx-{UNIQUEID}") == f"{UNIQUEID}.wav"
    assert file_name("pbx2-1765100000.17") == "21765100000.17.wav"


async def test_a_recorded_call_gets_its_record_once_the_file_is_closed(tmp_path: Path) -> None:
    sink = ListSink()
    now = [110.0]
    muted: list[tuple[str, bool]] = []

    async def mute(channel: str, state: bool) -> None:
        muted.append((channel, state))

    recorder = Recorder(
        sink,
        tmp_path,
        recorded=lambda queue: queue == "billing",
        agent_leg=lambda call: "PJSIP/agent1-00000007" if call == CALL else None,
        agent_uniqueid=lambda call: AGENT_LEG if call == CALL else None,
        mute=mute,
        clock=lambda: now[0],
        settle_seconds=2.0,
        poll_seconds=0.02,
    )
    recorder.append(answered())
    assert recorder.recording(CALL)
    now[0] = 113.0
    assert await recorder.pause(CALL, True) is True
    assert await recorder.pause(CALL, True) is False  # already paused: nothing sent
    now[0] = 115.5
    assert await recorder.pause(CALL, False) is True
    now[0] = 118.0
    assert await recorder.pause(CALL, True) is True  # paused to the end of the call
    leg = "PJSIP/agent1-00000007"
    assert muted == [(leg, True), (leg, False), (leg, True)]
    write_wav(tmp_path / f"{AGENT_LEG}.wav", 10.0, close=False)
    recorder.append(answered(ended_at=120.0))
    assert not recorder.recording(CALL)
    await asyncio.sleep(0.1)
    assert not [r for r in sink.records if isinstance(r, RecordingRecord)]  # the PBX still writes it
    write_wav(tmp_path / f"{AGENT_LEG}.wav", 10.0)
    await recorder.drain(timeout=5)
    pauses = [(r.start_offset, r.end_offset) for r in sink.records if isinstance(r, RecordingPauseRecord)]
    assert pauses == [(3.0, 5.5), (8.0, 10.0)]
    (record,) = [r for r in sink.records if isinstance(r, RecordingRecord)]
    assert (record.interaction_id, record.file, record.started_at, record.seconds) == (
        CALL,
        f"{AGENT_LEG}.wav",
        110.0,
        10.0,
    )
    assert len(record.sha256) == 64
    with pytest.raises(NotRecording):
        await recorder.pause(CALL, True)


async def test_a_queue_that_does_not_record_and_a_leg_not_known(tmp_path: Path) -> None:
    sink = ListSink()
    recorder = Recorder(sink, tmp_path, recorded=lambda queue: False, settle_seconds=0.1, poll_seconds=0.02)
    recorder.append(answered())
    assert not recorder.recording(CALL)
    with pytest.raises(NotRecording):
        await recorder.pause(CALL, True)
    recorder.append(answered(ended_at=120.0))
    await recorder.drain()
    assert [type(r) for r in sink.records] == [InteractionRecord, InteractionRecord]

    no_pbx = Recorder(ListSink(), tmp_path, recorded=lambda queue: True)
    no_pbx.append(answered())
    with pytest.raises(NoAgentLeg):
        await no_pbx.pause(CALL, True)


async def test_a_transferred_stay_gets_its_own_file_and_each_queue_its_own_flag(tmp_path: Path) -> None:
    """The agent transfers the caller on: the stay they answered closes under its own id, its file
    (their leg's) is recorded then, under that id; the next agent's stay records into another file,
    and only when its queue records."""
    sink = ListSink()
    legs = {"billing": "1733550003.47", "support": "1733550020.51", "sales": "1733550040.60"}
    queue = ["billing"]
    recorder = Recorder(
        sink,
        tmp_path,
        recorded=lambda name: name in ("billing", "support"),
        agent_uniqueid=lambda call: legs[queue[0]],
        settle_seconds=2.0,
        poll_seconds=0.02,
    )
    stay_a = str(uuid.uuid4())
    first = InteractionRecord(CALL, 1, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=110.0)
    recorder.append(first)
    write_wav(tmp_path / f"{legs['billing']}.wav", 4.0)
    # the transfer: the answered stay closed under its own id, the call waits in support
    recorder.append(
        InteractionRecord(
            stay_a,
            2,
            "billing",
            5,
            "555",
            100.0,
            uniqueid=UNIQUEID,
            answered_at=110.0,
            ended_at=114.0,
            outcome="answered",
            end_reason="transferred",
        )
    )
    recorder.append(InteractionRecord(CALL, 2, "support", 5, "555", 114.0, uniqueid=UNIQUEID))
    assert not recorder.recording(CALL)
    await recorder.drain(timeout=5)
    queue[0] = "support"
    recorder.append(InteractionRecord(CALL, 3, "support", 5, "555", 114.0, uniqueid=UNIQUEID, answered_at=120.0))
    assert recorder.recording(CALL)
    write_wav(tmp_path / f"{legs['support']}.wav", 6.0)
    recorder.append(
        InteractionRecord(
            CALL,
            4,
            "support",
            5,
            "555",
            114.0,
            uniqueid=UNIQUEID,
            answered_at=120.0,
            ended_at=126.0,
            outcome="answered",
        )
    )
    # the wrap-up of the first stay, later: nothing more
    recorder.append(
        InteractionRecord(
            stay_a,
            3,
            "billing",
            5,
            "555",
            100.0,
            uniqueid=UNIQUEID,
            answered_at=110.0,
            ended_at=114.0,
            outcome="answered",
            end_reason="transferred",
            wrapup_seconds=1.0,
        )
    )
    await recorder.drain(timeout=5)
    found = [(r.interaction_id, r.file, r.seconds) for r in sink.records if isinstance(r, RecordingRecord)]
    assert found == [(stay_a, f"{legs['billing']}.wav", 4.0), (CALL, f"{legs['support']}.wav", 6.0)]
    # a third stay in a queue that does not record: no recording
    queue[0] = "sales"
    recorder.append(InteractionRecord(CALL, 5, "sales", 5, "555", 130.0, uniqueid=UNIQUEID, answered_at=131.0))
    assert not recorder.recording(CALL)


def test_record_is_a_queue_setting_and_recordings_a_section() -> None:
    text = {
        "skills": ["billing"],
        "queues": {"billing": {"skills": {"billing": 1}, "record": True}, "sales": {"skills": {"billing": 1}}},
        "recordings": {"directory": "/srv/rec", "retention_days": 30, "agents_own": True},
    }
    settings = parse(text, "acd.toml", {})
    queues = {q.name: q.record for q in settings.routing.queues}
    assert queues == {"billing": True, "sales": False}
    assert (settings.recordings.directory, settings.recordings.retention_days, settings.recordings.agents_own) == (
        "/srv/rec",
        30,
        True,
    )
    bad = {**text, "queues": {"billing": {"skills": {"billing": 1}, "record": "yes"}}}
    with pytest.raises(SettingsError, match=r"queues\.billing\.record"):
        parse(bad, "acd.toml", {})
    with pytest.raises(SettingsError, match=r"recordings\.nope"):
        parse({**text, "recordings": {"nope": 1}}, "acd.toml", {})


def test_a_feature_code_is_believed_only_from_the_agent_leg_of_a_call_in_conversation() -> None:
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), record=True),),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
    )
    token = EventToken()
    seen: list[tuple[str, str]] = []
    translator = Translator(config, token=token, on_recording=lambda call, action: seen.append((call, action)))
    leg = translator.book.add(CallerLeg("c1", UNIQUEID, "PJSIP/trunk-00000001", "billing", 5))
    translator.book.ring(leg, "offer-1", "agent1")
    translator.book.connect(leg, "PJSIP/agent1-00000002")
    assert leg.phase is Phase.CONNECTED

    def event(channel: str, action: str) -> dict[str, str]:
        return {
            "Event": "UserEvent",
            "UserEvent": "AcdRecording",
            "Channel": channel,
            "Uniqueid": "1733550000.43",
            "AcdToken": token.current,
            "AcdAction": action,
        }

    assert translator.translate(event("PJSIP/agent1-00000002", "pause")) == []
    assert translator.translate(event("PJSIP/agent1-00000002", "resume")) == []
    assert seen == [("c1", "pause"), ("c1", "resume")]
    translator.translate(event("PJSIP/trunk-00000001", "pause"))  # the caller's leg: refused
    translator.translate(event("PJSIP/agent1-00000002", "delete"))
    translator.translate({**event("PJSIP/agent1-00000002", "pause"), "AcdToken": "forged"})
    assert seen == [("c1", "pause"), ("c1", "resume")]
    assert translator.counters.refused == {"state": 1, "field": 1, "token": 1}  # counted, never raised


def test_the_answer_names_the_recording_after_the_agent_leg() -> None:
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), record=True),),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
    )
    token = EventToken()
    translator = Translator(config, token=token)
    leg = translator.book.add(CallerLeg("c1", UNIQUEID, "PJSIP/trunk-00000001", "billing", 5))
    translator.book.ring(leg, "offer-1", "agent1")
    translator.translate(
        {
            "Event": "UserEvent",
            "UserEvent": "AcdAnswered",
            "Channel": "PJSIP/agent1-00000002",
            "Uniqueid": AGENT_LEG,
            "AcdToken": token.current,
            "AcdOffer": "offer-1",
            "AcdAgent": "agent1",
        }
    )
    assert translator.book.agent_leg_of("c1") == "PJSIP/agent1-00000002"
    assert translator.book.agent_uniqueid_of("c1") == AGENT_LEG
    translator.book.back_to_hold(leg)  # transferred or put back: no agent leg, no file
    assert translator.book.agent_uniqueid_of("c1") is None


def consult_translator() -> tuple[Translator, EventToken, list[tuple[str, str]], list[float]]:
    """agent1 talks with a recorded caller under offer-1 (their leg PJSIP/agent1-00000002)."""
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), record=True),),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
    )
    token = EventToken()
    seen: list[tuple[str, str]] = []
    now = [1733550010.0]
    translator = Translator(
        config, token=token, on_recording=lambda call, action: seen.append((call, action)), clock=lambda: now[0]
    )
    leg = translator.book.add(CallerLeg("c1", UNIQUEID, "PJSIP/trunk-00000001", "billing", 5))
    translator.book.ring(leg, "offer-1", "agent1")
    translator.book.connect(leg, "PJSIP/agent1-00000002", AGENT_LEG)
    return translator, token, seen, now


def user_event(token: EventToken, kind: str, channel: str, uniqueid: str, **fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": kind,
        "Channel": channel,
        "Uniqueid": uniqueid,
        "AcdToken": token.current,
        **fields,
    }


CONSULTED_LEG = "1733550011.55"  # agent2's leg on the consult, which names their recording


def test_the_consulted_agents_recording_becomes_the_handed_over_stays_and_is_paused_on_their_leg() -> None:
    translator, token, seen, now = consult_translator()
    parties = {"AcdOffer": "offer-1", "AcdAgent": "agent1", "AcdTarget": "agent2"}
    consult = "Local/00@acd-transfer-00000003;2"
    assert translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="start", **parties))
    # raised on another channel than the consulted agent's own, or naming the transferring agent: refused
    translator.translate(user_event(token, "AcdConsultRecording", "PJSIP/agent1-00000002", CONSULTED_LEG, **parties))
    translator.translate(
        user_event(token, "AcdConsultRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, **{**parties, "AcdOffer": "x"})
    )
    assert translator.counters.refused == {"injected": 1, "state": 1}
    now[0] = 1733550012.5
    recording = user_event(token, "AcdConsultRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, **parties)
    assert translator.translate(recording) == []
    # before the handover the call is still agent1's: their leg, their file
    assert translator.book.agent_uniqueid_of("c1") == AGENT_LEG
    translator.translate(user_event(token, "AcdRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, AcdAction="pause"))
    assert seen == []
    done = user_event(token, "AcdTransferred", "PJSIP/agent1-00000002", AGENT_LEG, AcdKind="attended", **parties)
    assert len(translator.translate(done)) == 1
    assert translator.book.agent_leg_of("c1") == "PJSIP/agent2-00000004"
    assert translator.book.agent_uniqueid_of("c1") == CONSULTED_LEG
    assert translator.book.recording_started_of("c1") == 1733550012.5
    translator.translate(user_event(token, "AcdRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, AcdAction="pause"))
    assert seen == [("c1", "pause")]


def test_a_handover_whose_consulted_leg_does_not_record_keeps_nothing_of_the_first_agents() -> None:
    translator, token, _, _ = consult_translator()
    parties = {"AcdOffer": "offer-1", "AcdAgent": "agent1", "AcdTarget": "agent2"}
    consult = "Local/00@acd-transfer-00000003;2"
    translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="start", **parties))
    translator.translate(user_event(token, "AcdConsultRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, **parties))
    translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="end", **parties))  # back
    assert translator.book.agent_uniqueid_of("c1") == AGENT_LEG  # still agent1's call
    translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="start", **parties))
    done = user_event(token, "AcdTransferred", "PJSIP/agent1-00000002", AGENT_LEG, AcdKind="attended", **parties)
    translator.translate(done)
    assert translator.book.agent_leg_of("c1") is None  # the consult of the second try was not recorded
    assert translator.book.agent_uniqueid_of("c1") is None  # never agent1's file for agent2's stay


async def test_a_recording_that_began_before_the_stay_counts_its_pauses_from_its_own_start(tmp_path: Path) -> None:
    """The consulted agent's file began at the consult's answer (105.0), their stay at the handover
    (110.0): the pauses' offsets and the record's start are the file's."""
    sink = ListSink()
    now = [110.0]
    recorder = Recorder(
        sink,
        tmp_path,
        recorded=lambda queue: True,
        agent_leg=lambda call: "PJSIP/agent2-00000004",
        agent_uniqueid=lambda call: CONSULTED_LEG,
        recording_started=lambda call: 105.0,
        mute=lambda channel, state: asyncio.sleep(0),
        clock=lambda: now[0],
        settle_seconds=2.0,
        poll_seconds=0.02,
    )
    recorder.append(answered())
    now[0] = 112.0
    await recorder.pause(CALL, True)
    now[0] = 114.0
    await recorder.pause(CALL, False)
    write_wav(tmp_path / f"{CONSULTED_LEG}.wav", 15.0)
    recorder.append(answered(ended_at=120.0))
    await recorder.drain(timeout=5)
    pauses = [(r.start_offset, r.end_offset) for r in sink.records if isinstance(r, RecordingPauseRecord)]
    assert pauses == [(7.0, 9.0)]
    (record,) = [r for r in sink.records if isinstance(r, RecordingRecord)]
    assert (record.file, record.started_at, record.seconds) == (f"{CONSULTED_LEG}.wav", 105.0, 15.0)


async def test_a_handover_opens_the_new_stays_recording_before_the_first_stay_closes(tmp_path: Path) -> None:
    """The core writes the handed-over stay (answered now, by the consulted agent) before the first
    stay's close: both recordings are kept apart, each under its own stay."""
    sink = ListSink()
    files = {"agent1": AGENT_LEG, "agent2": CONSULTED_LEG}
    who = ["agent1"]
    recorder = Recorder(
        sink,
        tmp_path,
        recorded=lambda queue: True,
        agent_leg=lambda call: f"PJSIP/{who[0]}-00000004",
        agent_uniqueid=lambda call: files[who[0]],
        recording_started=lambda call: None if who[0] == "agent1" else 108.0,
        mute=lambda channel, state: asyncio.sleep(0),
        settle_seconds=2.0,
        poll_seconds=0.02,
    )
    recorder.append(answered())  # agent1's stay, answered at 110
    who[0] = "agent2"
    handed = InteractionRecord(CALL, 3, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=115.0)
    recorder.append(handed)
    stay_a = str(uuid.uuid4())
    first = InteractionRecord(
        stay_a, 2, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=110.0, ended_at=115.0, outcome="answered"
    )
    write_wav(tmp_path / f"{AGENT_LEG}.wav", 5.0)
    recorder.append(first)
    assert recorder.recording(CALL)  # agent2's recording runs on
    write_wav(tmp_path / f"{CONSULTED_LEG}.wav", 12.0)
    recorder.append(dataclasses.replace(handed, seq=4, ended_at=120.0, outcome="answered"))
    await recorder.drain(timeout=5)
    found = [(r.interaction_id, r.file, r.started_at) for r in sink.records if isinstance(r, RecordingRecord)]
    assert sorted(found) == sorted([(stay_a, f"{AGENT_LEG}.wav", 110.0), (CALL, f"{CONSULTED_LEG}.wav", 108.0)])


def test_a_taken_over_calls_agent_leg_is_the_callers_bridge_peer_only_when_it_is_a_leg_of_its_agent() -> None:
    assert is_leg_of("PJSIP/agent1-0000002c", "agent1")
    for peer in ("PJSIP/agent10-0000002c", "PJSIP/trunk-0000002c", "Local/x@acd-transfer-0001;1", "", "PJSIP/agent1-"):
        assert not is_leg_of(peer, "agent1"), peer
    assert not is_leg_of("PJSIP/agent1-0000002c,State=1", "agent1")


RESTART_CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), wrapup_seconds=5.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 2),))),
)


async def _after_a_restart(tmp_path: Path, open_record: InteractionRecord) -> tuple[ListSink, Acd, Recorder]:
    """The caller found talking with agent2's leg, the offer agent1's: answered by agent1 at 110
    (file AGENT_LEG), handed over to agent2 at 115, whose leg records since the consult's answer at
    108 (SHARED(ACD_CONSULT_REC), _AT). The records hold ``open_record`` for the call."""
    call = CallArrived(CALL, "billing", 5, caller="555", enqueued_at=100.0, uniqueid=UNIQUEID)
    offered = OfferedCaller(
        call, "offer-1", "agent1", 110.0, AGENT_LEG, "PJSIP/agent2-00000004", "agent2", 115.0, CONSULTED_LEG, 108.0
    )
    result = ResyncResult(connected=(offered,))
    translator = Translator(RESTART_CONFIG)
    events = with_records(translator.reconcile(result), [open_record], result, Roster(RESTART_CONFIG))
    sink = ListSink()
    book = translator.book
    recorder = Recorder(
        sink,
        tmp_path,
        recorded=lambda queue: True,
        agent_leg=book.agent_leg_of,
        agent_uniqueid=book.agent_uniqueid_of,
        recording_started=book.recording_started_of,
        handed_from=book.handed_from_of,
        settle_seconds=2.0,
        poll_seconds=0.02,
    )
    acd = Acd(RESTART_CONFIG)
    for agent in ("a1", "a2"):
        acd.handle(AgentLoggedIn(agent), 119.0)
    for event in [ResyncStarted(), *events, ResyncFinished()]:
        for command in acd.handle(event, 120.0):
            if isinstance(command, RecordCommand):
                recorder.append(command.record)
    assert book.agent_leg_of(CALL) == "PJSIP/agent2-00000004"  # pauses go to agent2's leg
    write_wav(tmp_path / f"{AGENT_LEG}.wav", 5.0)
    write_wav(tmp_path / f"{CONSULTED_LEG}.wav", 22.0)
    for command in acd.handle(CallEnded(CALL), 130.0):
        if isinstance(command, RecordCommand):
            recorder.append(command.record)
    await recorder.drain(timeout=5)
    return sink, acd, recorder


async def test_after_a_restart_a_handed_over_call_records_the_consulted_agents_file(tmp_path: Path) -> None:
    """Seen before the restart (the record names a2, answered at the handover): a2's stay is agent2's
    file, from the consult's answer, never agent1's (SHARED(ACD_RECORDING) still names agent1's)."""
    handed = InteractionRecord(
        CALL, 9, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=115.01, agent_id="a2"
    )
    sink, _, _ = await _after_a_restart(tmp_path, handed)
    found = [(r.interaction_id, r.file, r.started_at) for r in sink.records if isinstance(r, RecordingRecord)]
    assert found == [(CALL, f"{CONSULTED_LEG}.wav", 108.0)]


async def test_a_handover_made_while_the_acd_was_down_gives_each_stay_its_own_file(tmp_path: Path) -> None:
    """Not seen (the record names a1): a1's stay, closed by the handover, is agent1's file; a2's is agent2's."""
    # the record's answer is the ACD's moment, a little after the dialplan's stamp (110.0)
    first = InteractionRecord(CALL, 9, "billing", 5, "555", 100.0, uniqueid=UNIQUEID, answered_at=110.02, agent_id="a1")
    sink, _, _ = await _after_a_restart(tmp_path, first)
    stays = {r.interaction_id: r for r in sink.records if isinstance(r, InteractionRecord) and r.ended_at is not None}
    found = {
        (stays[r.interaction_id].agent_id, r.file, r.started_at) for r in sink.records if isinstance(r, RecordingRecord)
    }
    assert found == {("a1", f"{AGENT_LEG}.wav", 110.02), ("a2", f"{CONSULTED_LEG}.wav", 108.0)}


async def test_a_pause_running_at_a_kill_is_kept_and_the_resume_after_the_restart_ends_it(tmp_path: Path) -> None:
    """The pause is written on the agent's leg (ACD_PAUSED_AT, its epoch) when made, cleared when
    resumed; a restarted recorder that finds it there goes on from it, and its resume closes it."""
    kept: list[tuple[str, str]] = []

    async def keep(channel: str, value: str) -> None:
        kept.append((channel, value))

    leg = "PJSIP/agent1-00000007"
    now = [113.0]

    def recorder(sink: ListSink, paused_at: float | None) -> Recorder:
        return Recorder(
            sink,
            tmp_path,
            recorded=lambda queue: True,
            agent_leg=lambda call: leg,
            agent_uniqueid=lambda call: AGENT_LEG,
            paused_at=lambda call: paused_at,
            mute=lambda channel, state: asyncio.sleep(0),
            keep_pause=keep,
            clock=lambda: now[0],
            settle_seconds=2.0,
            poll_seconds=0.02,
        )

    before = recorder(ListSink(), None)
    before.append(answered())  # answered at 110
    assert await before.pause(CALL, True)
    assert kept == [(leg, "113.000000")]
    # killed; restarted at 117 (the call taken over from the answer at 110), resumed at 119
    sink = ListSink()
    after = recorder(sink, float(kept[-1][1]))
    now[0] = 117.0
    after.append(answered())
    assert after.paused(CALL)
    now[0] = 119.0
    assert await after.pause(CALL, False)
    assert kept[-1] == (leg, "")
    write_wav(tmp_path / f"{AGENT_LEG}.wav", 10.0)
    after.append(answered(ended_at=120.0))
    await after.drain(timeout=5)
    pauses = [(r.start_offset, r.end_offset) for r in sink.records if isinstance(r, RecordingPauseRecord)]
    assert pauses == [(3.0, 9.0)]


async def test_a_consult_that_goes_back_deletes_the_consulted_agents_file(tmp_path: Path) -> None:
    """docs/records.md, "Recordings": the consulted agent's file of a consult that went back to the caller
    belongs to no stay; it is deleted once the PBX has closed it, never left on disk without a row."""
    translator, token, _, _ = consult_translator()
    unkept: list[tuple[str, str]] = []
    translator.on_unkept_recording = lambda call, uniqueid: unkept.append((call, uniqueid))
    parties = {"AcdOffer": "offer-1", "AcdAgent": "agent1", "AcdTarget": "agent2"}
    consult = "Local/00@acd-transfer-00000003;2"
    translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="start", **parties))
    translator.translate(user_event(token, "AcdConsultRecording", "PJSIP/agent2-00000004", CONSULTED_LEG, **parties))
    translator.translate(user_event(token, "AcdConsult", consult, "1.9", AcdStatus="end", **parties))
    assert unkept == [("c1", CONSULTED_LEG)]
    recorder = Recorder(ListSink(), tmp_path, recorded=lambda queue: True, settle_seconds=2.0, poll_seconds=0.02)
    path = tmp_path / f"{CONSULTED_LEG}.wav"
    write_wav(path, 3.0, close=False)  # the PBX still writes it: kept until closed
    recorder.discard_soon("c1", CONSULTED_LEG)
    await asyncio.sleep(0.1)
    assert path.exists()
    write_wav(path, 3.0)
    await recorder.drain(timeout=5)
    assert not path.exists()
    recorder.discard_soon("c1", "../../etc/passwd")  # not a file name the dialplan makes: nothing
    await recorder.drain(timeout=5)
