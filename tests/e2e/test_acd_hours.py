"""Opening hours, the join rule and overflow into another queue on the real PBX and phone farm.

Each rule is put in force through the routing-config API (``PATCH /api/v1/queues/{name}``), never by
waiting for a clock: a queue whose hours exclude today (today and tomorrow are holidays), a queue
that overflows at once when nobody who can serve it is logged in, and one that overflows into
another ACD queue where a farm agent answers. Asserts on the PBX's events and log, the API and the
records (docs/kpis.md, "Overflow into another queue"; docs/dialplan.md, "Closed queues").
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from acd_process import acd_command, api, eventually, login
from e2e_stack import enqueue_caller, user_event

from acd.ami.identity import call_id_for, closed_callback_id
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

PBX_LOG = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root")) / "var/log/asterisk/full"
ALL_DAY = ["00:00-24:00"]
# what acd-callback-confirm plays between the caller's name and the thanks: when to expect the call
NOT_WHEN = ("auth-thankyou&vm-goodbye", "pm-invalid-option&please-try-again", "im-sorry")
WHEN = re.compile(
    rb'\[1@acd-callback-confirm:\d+\] (Playback|SayUnixTime|SayNumber)\("(?P<chan>[^"]*)", "(?P<arg>[^"]*)"\)'
)


async def _admin(acd: AcdProcess) -> str:
    return await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "hours e2e")


def _patch(acd: AcdProcess, token: str, queue: str, body: dict[str, Any]) -> None:
    code, reply = api(acd, "PATCH", f"/queues/{queue}", token, body)
    assert code == 200, reply


async def _rows(acd: AcdProcess, uniqueid: str, count: int) -> list[Any]:
    """The caller's closed interaction rows (one per queue stay), oldest first."""

    async def probe() -> list[Any] | None:
        rows = await acd.rows(
            "SELECT * FROM interactions WHERE uniqueid = $1 AND ended_at IS NOT NULL ORDER BY arrived_at, seq", uniqueid
        )
        return rows if len(rows) >= count else None

    return await eventually(probe, 30, f"{count} closed interaction rows of {uniqueid}")


async def test_a_caller_while_closed_hears_the_announcement_then_the_closed_treatment(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    today = datetime.now(UTC).date()
    hours = {
        "zone": "UTC",
        **{day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "holidays": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        "closed": "fallback",
        "announcement": "im-sorry&hours",
    }
    _patch(acd, admin, "billing", {"hours": hours})
    await login(acd, "agent1")  # an agent is free: only the hours keep the caller from them

    log = PBX_LOG.open("rb")
    log.seek(0, 2)
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=30)
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller["Channel"]), 15, mark)
    assert overflowed["AcdTarget"] == "fallback"
    played = b""
    on = b"<" + caller["Channel"].encode() + b"> Playing "

    def apologised() -> bool:  # the treatment's own Playback comes after the announcement
        nonlocal played
        played += log.read()
        return b"please-try-call-later" in played

    await eventually(apologised, 20, "the fallback's apology in the PBX's log")
    log.close()
    sounds = re.findall(re.escape(on) + rb"'([a-z-]+)\.", played)
    assert sounds[:3] == [b"im-sorry", b"hours", b"im-sorry"], sounds  # the announcement, then the apology
    assert not [e for e in pbx_ami.events(mark) if user_event("AcdRinging")(e)]
    (row,) = await _rows(acd, caller["Uniqueid"], 1)
    assert (row["queue"], row["outcome"], row["end_reason"], row["agent_id"]) == (
        "billing",
        "overflowed",
        "closed",
        None,
    )
    assert acd.agent_state("agent1") == "ready"


async def test_a_queue_with_nobody_logged_in_overflows_at_once(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    _patch(acd, admin, "sales", {"empty_overflow": 0})  # max wait stays 8 s
    await login(acd, "agent1")  # a billing agent: cannot serve sales
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "400", patience=30)
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller["Channel"]), 15, mark)
    assert overflowed["AcdTarget"] == "voicemail"
    (row,) = await _rows(acd, caller["Uniqueid"], 1)
    assert (row["queue"], row["outcome"], row["end_reason"]) == ("sales", "overflowed", "no_agents")
    assert row["wait_seconds"] < 8  # not the max wait
    assert acd.metric("acd_calls_overflowed_total", queue="sales") == 1


async def test_an_overflow_into_another_queue_is_answered_there_by_a_farm_agent(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    _patch(acd, admin, "sales", {"empty_overflow": 0, "overflow": "queue:billing"})
    await login(acd, "agent2")
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "400", patience=60)
    ringing = await pbx_ami.wait_event(user_event("AcdRinging", Channel=caller["Channel"]), 15, mark)
    assert ringing["AcdAgent"] == "agent2"
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdOffer=ringing["AcdOffer"]), 15, mark)
    assert not [e for e in pbx_ami.events(mark) if user_event("AcdOverflowed")(e)]
    left, answered = await _rows(acd, caller["Uniqueid"], 2)
    assert (left["queue"], left["outcome"], left["end_reason"], left["within_sla"]) == (
        "sales",
        "overflowed",
        "no_agents",
        False,
    )
    assert (answered["queue"], answered["outcome"], answered["agent_id"]) == ("billing", "answered", "agent2")
    assert answered["arrived_at"] >= left["ended_at"]
    assert acd.metric("acd_calls_overflowed_total", queue="sales") == 1
    assert acd.metric("acd_calls_answered_total", queue="billing") == 1


async def _stays(acd: AcdProcess, uniqueid: str, count: int) -> list[Any]:
    """The caller's interaction rows (one per queue stay, open or closed), oldest first."""

    async def probe() -> list[Any] | None:
        rows = await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 ORDER BY arrived_at, seq", uniqueid)
        return rows if len(rows) >= count else None

    return await eventually(probe, 30, f"{count} interaction rows of {uniqueid}")


async def test_an_overflowed_caller_is_offered_the_next_queues_callback_on_their_whole_wait(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """Sales (max wait 8 s, nobody serves it) overflows into support, which offers a callback after 12 s
    of holding: counted over the caller's whole wait, the offer comes at the first check of holding
    after 12 s in all (about 15 s: holding checks every 5 s), not 12 s after the overflow (20 s)."""
    acd = live_acd
    admin = await _admin(acd)
    _patch(acd, admin, "sales", {"overflow": "queue:support"})
    _patch(acd, admin, "support", {"callback_after": 12})
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "400", patience=60)
    entered = time.monotonic()
    await pbx_ami.wait_event(user_event("AcdCallbackOffered", Channel=caller["Channel"]), 30, mark)
    waited = time.monotonic() - entered
    assert 11 < waited < 18.5, waited
    left, now = await _stays(acd, caller["Uniqueid"], 2)
    assert (left["queue"], left["outcome"], left["end_reason"]) == ("sales", "overflowed", "max_wait")
    assert (now["queue"], now["ended_at"]) == ("support", None)
    # support's SLA clock starts at the overflow; the first arrival is the caller's entry into sales
    assert now["arrived_at"] >= left["ended_at"]
    assert now["first_arrived_at"] == left["arrived_at"] == left["first_arrived_at"]
    assert (now["arrived_at"] - now["first_arrived_at"]).total_seconds() >= 8


async def _handled_one_then_busy(acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> None:
    """agent1 (billing) handles one call of about 5 s (AHT ~5 s), then talks on a second one."""
    await farm.set_agent("agent1", "answer", delay=1, talk=3)
    await login(acd, "agent1")
    first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
    await _rows(acd, first["Uniqueid"], 1)

    async def handled() -> bool:
        rows = await acd.rows("SELECT wrapup_seconds FROM interactions WHERE uniqueid = $1", first["Uniqueid"])
        return bool(rows) and rows[0]["wrapup_seconds"] is not None and acd.agent_state("agent1") == "ready"

    await eventually(handled, 20, "the first call handled (wrap-up over)")
    await farm.set_agent("agent1", "answer", delay=1, talk=40)
    await enqueue_caller(farm, pbx_ami, "200", patience=60)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 15, "agent1 on the second call")


async def test_a_caller_whose_estimated_wait_is_above_the_limit_is_diverted_at_entry(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    _patch(acd, admin, "billing", {"ewt_limit": 2, "ewt_action": "overflow"})
    await _handled_one_then_busy(acd, farm, pbx_ami)
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=60)
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller["Channel"]), 5, mark)
    assert overflowed["AcdTarget"] == "voicemail"  # billing's overflow target
    (row,) = await _rows(acd, caller["Uniqueid"], 1)
    assert (row["queue"], row["outcome"], row["end_reason"], row["within_sla"]) == (
        "billing",
        "overflowed",
        "ewt_limit",
        False,
    )
    assert row["wait_seconds"] < 2
    assert acd.metric("acd_calls_overflowed_total", queue="billing") == 1
    assert acd.metric("acd_calls_abandoned_total", queue="billing") == 0


async def test_a_caller_whose_estimated_wait_is_above_the_limit_is_offered_a_callback_at_once(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    _patch(acd, admin, "billing", {"ewt_limit": 2, "ewt_action": "callback"})  # no callback_after of its own
    await _handled_one_then_busy(acd, farm, pbx_ami)
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=60)
    entered = time.monotonic()
    await pbx_ami.wait_event(user_event("AcdCallbackOffered", Channel=caller["Channel"]), 12, mark)
    assert time.monotonic() - entered < 8  # after holding's first slice of music, not after a wait
    assert not [e for e in pbx_ami.events(mark) if user_event("AcdOverflowed", Channel=caller["Channel"])(e)]


async def test_a_caller_while_closed_takes_a_callback_for_the_next_opening(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """closed = "callback": the caller presses 1 and confirms their number; a scheduled callback is
    kept in PostgreSQL for the queue's next opening, computed here from the same hours."""
    acd = live_acd
    admin = await _admin(acd)
    berlin = ZoneInfo("Europe/Berlin")
    today = datetime.now(berlin).date()
    hours = {
        "zone": "Europe/Berlin",
        **{day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "holidays": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        "closed": "callback",
        "announcement": "im-sorry",
    }
    _patch(acd, admin, "billing", {"hours": hours})
    opening = datetime.combine(today + timedelta(days=2), dt_time(8, 0), berlin)  # the local 08:00, DST included

    number = f"64{time.time_ns() % 10**9:09d}"
    since = PBX_LOG.stat().st_size
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=60, caller_id=number)
    answered = await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=number)
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", CallerIDNum=number), 15, pbx_mark)
    assert overflowed["AcdTarget"] == "callback"
    offered = await pbx_ami.wait_event(user_event("AcdCallbackOffered", Uniqueid=overflowed["Uniqueid"]), 20, pbx_mark)
    await farm.send_dtmf(answered["Channel"], "1")
    await pbx_ami.wait_event(
        user_event("AcdCallbackConfirm", Uniqueid=offered["Uniqueid"], AcdNumber=number), 30, pbx_mark
    )
    await farm.send_dtmf(answered["Channel"], "1")
    await pbx_ami.wait_event(user_event("AcdClosedCallback", Uniqueid=offered["Uniqueid"]), 15, pbx_mark)

    async def kept() -> list[Any] | None:
        rows = await acd.rows("SELECT * FROM scheduled_callbacks WHERE number = $1", number)
        return rows or None

    (row,) = await eventually(kept, 20, "the scheduled callback's row")
    assert (row["queue"], row["at"], row["created_by"], row["cancelled_at"]) == ("billing", opening, "caller", None)
    # asked for their name, recorded under the id the callback was kept with (the ACD's, made before)
    asked = await pbx_ami.wait_event(user_event("AcdCallbackName", Uniqueid=offered["Uniqueid"]), 15, pbx_mark)
    assert asked["AcdName"] == str(row["id"]) == closed_callback_id(call_id_for(offered["Uniqueid"]))
    # thanked only once the ACD said the row is in PostgreSQL (ACD_CB_KEPT): never sent to voicemail
    on = b"<" + offered["Channel"].encode() + b"> Playing "
    played = b""

    def thanked() -> bool:
        nonlocal played
        played = log_since(since)
        return on + b"'auth-thankyou" in played

    await eventually(thanked, 20, "the caller thanked for the callback")
    # told when to expect it, before the thanks: "to call back", the opening the ACD kept, in the
    # queue's zone (docs/dialplan.md, "Callbacks")
    assert told_when(played, offered["Channel"]) == [
        ("Playback", "vm-tocallback"),
        ("SayUnixTime", f"{int(opening.timestamp())},Europe/Berlin,Q 'digits/at' IMp"),
    ]
    assert on + b"'vm-nobodyavail" not in played
    assert not [e for e in pbx_ami.events(pbx_mark) if user_event("AcdClosedCallbackNotKept")(e)]
    # the closed arrival counts as any closed arrival: offered, overflowed, end_reason closed
    (closed,) = await _rows(acd, overflowed["Uniqueid"], 1)
    assert (closed["queue"], closed["outcome"], closed["end_reason"]) == ("billing", "overflowed", "closed")
    # the API lists it as pending, not yet a call
    code, reply = api(acd, "GET", "/callbacks?queue=billing", admin)
    assert code == 200, reply
    assert [c["status"] for c in reply["callbacks"] if c["id"] == str(row["id"])] == ["pending"]


def log_since(since: int) -> bytes:
    """The PBX's full log from byte ``since`` on."""
    with PBX_LOG.open("rb") as log:
        log.seek(since)
        return log.read()


def told_when(log: bytes, channel: str) -> list[tuple[str, str]]:
    """What acd-callback-confirm played ``channel`` between the name and the thanks (the full log)."""
    steps = [(m[1].decode(), m["arg"].decode()) for m in WHEN.finditer(log) if m["chan"].decode() == channel]
    return [step for step in steps if step[1] not in NOT_WHEN]


async def test_a_holding_caller_keys_a_time_and_the_callback_is_kept_for_then_in_the_queues_zone(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """billing offers callbacks; the caller presses 2 and keys a time (HHMM, in the queue's zone): one
    malformed ("2460": refused by the dialplan), one over today ("0000": tomorrow's, a holiday: refused
    by the ACD), then "2359":
    confirmed, kept in PostgreSQL for 23:59 today in the queue's zone, their stay closed overflowed
    (end reason scheduled_callback, not an abandon), and they hear that time before the thanks. The
    zone is one where it is not yet 23:00 (the clock is the config's, never waited for)."""
    acd = live_acd
    admin = await _admin(acd)
    # not yet 23:00 (23:59 is to come), and not in the first minutes of the day (0000 just past is refused as
    # past, not taken for tomorrow)
    zone = next(
        z
        for z in ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
        if datetime.now(ZoneInfo(z)).hour < 23
        and datetime.now(ZoneInfo(z)).hour * 60 + datetime.now(ZoneInfo(z)).minute > 20
    )
    week = {day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    today = datetime.now(ZoneInfo(zone)).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    hours = {"zone": zone, **week, "holidays": [tomorrow], "closed": "voicemail"}
    _patch(acd, admin, "billing", {"callback_after": 1, "hours": hours})
    due = datetime.combine(today, dt_time(23, 59), ZoneInfo(zone))

    number = f"64{time.time_ns() % 10**9:09d}"
    since = PBX_LOG.stat().st_size
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=90, caller_id=number)
    channel = (await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=number))["Channel"]
    offered = await pbx_ami.wait_event(user_event("AcdCallbackOffered", CallerIDNum=number), 20, pbx_mark)
    uniqueid = offered["Uniqueid"]

    async def key(digits: str) -> int:
        mark = pbx_ami.mark()
        await pbx_ami.wait_event(user_event("AcdCallbackTime", Uniqueid=uniqueid), 15, pbx_mark)
        await farm.send_dtmf(channel, digits)
        return mark

    await farm.send_dtmf(channel, "2")
    mark = await key("2460")
    refused = await pbx_ami.wait_event(user_event("AcdCallbackTimeRefused", Uniqueid=uniqueid), 15, mark)
    assert refused["AcdTime"] == "2460"
    pbx_mark = pbx_ami.mark()
    await key("0000")
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Uniqueid=uniqueid, AcdNumber=number), 30, pbx_mark)
    await farm.send_dtmf(channel, "1")
    asked = await pbx_ami.wait_event(user_event("AcdCallbackAt", Uniqueid=uniqueid), 15, pbx_mark)
    assert asked["AcdTime"] == "0000"
    pbx_mark = pbx_ami.mark()  # refused by the ACD (tomorrow's 00:00: a holiday): keyed again, sent at once
    await key("2359")
    await pbx_ami.wait_event(user_event("AcdCallbackAt", Uniqueid=uniqueid, AcdTime="2359"), 15, pbx_mark)

    async def kept() -> list[Any] | None:
        rows = await acd.rows("SELECT * FROM scheduled_callbacks WHERE number = $1", number)
        return rows or None

    (row,) = await eventually(kept, 10, "the scheduled callback's row")
    assert (row["queue"], row["at"], row["created_by"], row["cancelled_at"]) == ("billing", due, "caller", None)
    assert str(row["id"]) == closed_callback_id(call_id_for(uniqueid))
    on = b"<" + offered["Channel"].encode() + b"> Playing "
    played = b""

    def thanked() -> bool:
        nonlocal played
        played = log_since(since)
        return on + b"'auth-thankyou" in played

    await eventually(thanked, 20, "the caller thanked for the callback")
    # told it is kept: the dialplan says so, and only then does the ACD end their stay
    await pbx_ami.wait_event(user_event("AcdCallbackAtKept", Uniqueid=uniqueid), 5, pbx_mark)
    assert told_when(played, offered["Channel"]) == [
        ("Playback", "vm-tocallback"),
        ("SayUnixTime", f"{int(due.timestamp())},{zone},Q 'digits/at' IMp"),
    ]
    (stay,) = await _rows(acd, uniqueid, 1)
    assert (stay["queue"], stay["outcome"], stay["end_reason"]) == ("billing", "overflowed", "scheduled_callback")
    assert acd.metric("acd_calls_abandoned_total", queue="billing") == 0
    code, reply = api(acd, "GET", "/callbacks?queue=billing", admin)
    assert code == 200, reply
    assert [(c["status"], c["number"]) for c in reply["callbacks"] if c["id"] == str(row["id"])] == [
        ("pending", number)
    ]


async def test_a_caller_while_closed_keys_a_time_refused_on_the_holiday_then_kept_for_tomorrow(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """closed = "callback", today a holiday in the queue's zone: the caller presses 2 and keys a time
    (HHMM). "2359" (later today: the holiday) is refused by the ACD, keyed again and sent at once;
    "0100" (today's is over: tomorrow's, open) is kept in PostgreSQL for 01:00 tomorrow in the queue's
    zone (DST-correct, computed here with zoneinfo), and the caller hears that time before the thanks,
    never sent to voicemail. The zone is one where it is between 02:00 and 23:00 now."""
    acd = live_acd
    admin = await _admin(acd)
    zone = next(
        z
        for z in ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
        if 2 <= datetime.now(ZoneInfo(z)).hour < 23
    )
    today = datetime.now(ZoneInfo(zone)).date()
    week = {day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = {"zone": zone, **week, "holidays": [today.isoformat()], "closed": "callback", "announcement": "beep"}
    _patch(acd, admin, "billing", {"hours": hours})
    due = datetime.combine(today + timedelta(days=1), dt_time(1, 0), ZoneInfo(zone))

    number = f"64{time.time_ns() % 10**9:09d}"
    since = PBX_LOG.stat().st_size
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=60, caller_id=number)
    channel = (await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=number))["Channel"]
    offered = await pbx_ami.wait_event(user_event("AcdCallbackOffered", CallerIDNum=number), 20, pbx_mark)
    uniqueid = offered["Uniqueid"]

    async def key(digits: str, since_mark: int) -> None:
        await pbx_ami.wait_event(user_event("AcdCallbackTime", Uniqueid=uniqueid), 15, since_mark)
        await farm.send_dtmf(channel, digits)

    await farm.send_dtmf(channel, "2")
    await key("2359", pbx_mark)
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Uniqueid=uniqueid, AcdNumber=number), 30, pbx_mark)
    await farm.send_dtmf(channel, "1")
    asked = await pbx_ami.wait_event(user_event("AcdClosedCallbackAt", Uniqueid=uniqueid), 15, pbx_mark)
    assert (asked["AcdTime"], asked["AcdNumber"]) == ("2359", number)
    pbx_mark = pbx_ami.mark()  # refused by the ACD (today is a holiday): keyed again, sent at once
    await key("0100", pbx_mark)
    await pbx_ami.wait_event(user_event("AcdClosedCallbackAt", Uniqueid=uniqueid, AcdTime="0100"), 15, pbx_mark)

    async def kept() -> list[Any] | None:
        rows = await acd.rows("SELECT * FROM scheduled_callbacks WHERE number = $1", number)
        return rows or None

    (row,) = await eventually(kept, 10, "the scheduled callback's row")
    assert (row["queue"], row["at"], row["created_by"], row["cancelled_at"]) == ("billing", due, "caller", None)
    assert str(row["id"]) == closed_callback_id(call_id_for(uniqueid))
    on = b"<" + offered["Channel"].encode() + b"> Playing "
    played = b""

    def thanked() -> bool:
        nonlocal played
        played = log_since(since)
        return on + b"'auth-thankyou" in played

    await eventually(thanked, 20, "the caller thanked for the callback")
    assert told_when(played, offered["Channel"]) == [
        ("Playback", "vm-tocallback"),
        ("SayUnixTime", f"{int(due.timestamp())},{zone},Q 'digits/at' IMp"),
    ]
    assert on + b"'vm-nobodyavail" not in played
    assert not [e for e in pbx_ami.events(pbx_mark) if user_event("AcdClosedCallbackNotKept")(e)]
    (closed,) = await _rows(acd, uniqueid, 1)
    assert (closed["queue"], closed["outcome"], closed["end_reason"]) == ("billing", "overflowed", "closed")


async def test_a_caller_while_closed_who_does_not_take_the_callback_is_left_to_voicemail(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await _admin(acd)
    today = datetime.now(UTC).date()
    hours = {"zone": "UTC", "holidays": [today.isoformat(), (today + timedelta(days=1)).isoformat()]}
    _patch(acd, admin, "billing", {"hours": {**hours, "mon": ALL_DAY, "closed": "callback", "announcement": ""}})
    log = PBX_LOG.open("rb")
    log.seek(0, 2)
    number = f"64{time.time_ns() % 10**9:09d}"
    pbx_mark = pbx_ami.mark()
    await farm.place_call("200", patience_seconds=40, caller_id=number)
    offered = await pbx_ami.wait_event(user_event("AcdCallbackOffered", CallerIDNum=number), 20, pbx_mark)
    on = b"<" + offered["Channel"].encode() + b"> Playing "
    played = b""

    def to_voicemail() -> bool:  # no key within the offer's 6 s: the voicemail's prompt
        nonlocal played
        played += log.read()
        return on + b"'vm-nobodyavail" in played

    await eventually(to_voicemail, 20, "the voicemail's prompt after the unanswered offer")
    log.close()
    assert not [e for e in pbx_ami.events(pbx_mark) if user_event("AcdClosedCallback")(e)]
    assert await acd.rows("SELECT id FROM scheduled_callbacks WHERE number = $1", number) == []
