"""The customer record an agent keeps, made on the agent's desk in a real browser during a real call.

A farm caller whose number is in no record calls billing through the real Asterisk; the farm agent
answers and talks. The agent's desk (headless Chromium, tests/integration/headless_chromium.py)
offers the "new customer" form prefilled with the caller's number; the test fills in a name, tier,
notes and consent and saves it. The record is in PostgreSQL with a history row naming the agent,
the call it was made on names the customer (its interaction, and the desk at once), and the next
call from the same number pops the record up on the desk by its name.
"""

from __future__ import annotations

import time
from typing import Any

import agent_page
from acd_process import acd_command, api, eventually
from e2e_stack import user_event
from integration.headless_chromium import Chromium

from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

NAME = "Mary Jackson"


async def test_a_customer_made_on_the_desk_during_a_call_is_shown_on_the_next_call(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, chromium: Chromium
) -> None:
    acd = live_acd
    number = f"7{time.time_ns() % 10**9:09d}"
    token = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent3")
    admin = await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "customers e2e")
    code, body = api(acd, "GET", f"/customers?number={number}", admin)
    assert code == 200 and body["customers"] == [], body
    # a minute of wrap-up in billing: the desk keeps the call until the agent sends the wrap-up
    code, body = api(acd, "PATCH", "/queues/billing", admin, {"wrapup": 60})
    assert code == 200, body

    await farm.set_agent("agent3", "answer", delay=1, talk=40)  # long enough to fill in the form
    await agent_page.sign_in(chromium, acd.base, token)
    shown = await agent_page.press(chromium, "login")
    assert shown["messageKind"] != "error", shown["message"]
    await agent_page.wait_for_state(chromium, "ready")

    mark = pbx_ami.mark()
    await farm.place_call("200", 60, caller_id=number)
    first = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent3"), 20, mark)
    desk = await agent_page.wait_for_state(chromium, "on_call")
    assert desk["customer"] is None and number in desk["call"]["caller"]
    await chromium.until("document.getElementById('customer-edit').textContent === 'New customer'", 20)

    saved = await agent_page.save_customer(
        chromium,
        {"name": NAME, "tier": "premium", "notes": "asked about the new tariff", "consent-recording": True},
    )
    assert saved["before"] == {"title": "New customer", "number": number, "name": ""}
    assert saved["message"] == f"customer saved: {NAME} (new)"
    assert saved["state"] == "on_call"  # made during the call

    code, body = api(acd, "GET", f"/customers?number={number}", admin)
    assert code == 200 and len(body["customers"]) == 1, body
    made = body["customers"][0]
    code, body = api(acd, "GET", f"/customers/{made['id']}", admin)
    assert code == 200, body
    record = body["customer"]
    assert (record["name"], record["tier"], record["phone_number"]) == (NAME, "premium", number)
    assert record["notes"] == "asked about the new tariff"
    assert record["consent_recording"] is True and record["consent_marketing"] is False
    assert len(record["changes"]) == 1
    change = record["changes"][0]
    assert (change["role"], change["agent_id"]) == ("agent", "agent3")
    assert change["changes"]["name"] == {"old": None, "new": NAME}
    # made during the call: attached to it, so the desk shows the record on this very call
    desk = await agent_page.wait_for_customer(chromium, NAME, seconds=10)
    assert desk["customer"]["id"] == made["id"] and desk["state"] == "on_call"

    async def first_attached() -> Any:
        rows = await acd.rows("SELECT customer_id FROM interactions WHERE uniqueid = $1", first["Uniqueid"])
        return rows if rows and rows[0]["customer_id"] is not None else None

    rows = await eventually(first_attached, 20, "the first call's record naming the customer")
    assert str(rows[0]["customer_id"]) == made["id"]

    # the caller's 40 s end; the agent wraps up on the desk and is ready for the next call
    await agent_page.wait_for_state(chromium, "wrap_up", seconds=60)
    await agent_page.submit_wrapup(chromium, "order/new", "new tariff")
    await agent_page.wait_for_state(chromium, "ready", seconds=5)
    await farm.set_agent("agent3", "answer", delay=3, talk=3)

    mark = pbx_ami.mark()
    await farm.place_call("200", 60, caller_id=number)
    second = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
    assert second["Uniqueid"] != first["Uniqueid"]
    desk = await agent_page.wait_for_customer(chromium, NAME, seconds=20)
    assert desk["customer"]["id"] == made["id"] and desk["customer"]["tier"] == "premium"
    assert number in desk["call"]["caller"]

    async def second_recorded() -> Any:
        rows = await acd.rows("SELECT customer_id FROM interactions WHERE uniqueid = $1", second["Uniqueid"])
        return rows if rows and rows[0]["customer_id"] is not None else None

    rows = await eventually(second_recorded, 20, "the second call's record naming the customer")
    assert str(rows[0]["customer_id"]) == made["id"]
