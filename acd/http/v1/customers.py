"""Customer records through /api/v1: search, read (with further numbers and the last changes), create
and change, kept by agents from the desk during or after a call (``acd.records.stores.customer_records``).

Roles as for the interaction records: agents, supervisors and admins (the route table). Every create
and change is audited (``audited``) and written to the customer's history with who made it; the caller
directory (``acd.records.stores.customers``) learns it at once, so the next call from one of the
numbers shows the record. A number belongs to one customer: another's is 409 ``number-taken``.

A record an agent makes or changes while they have a call (ringing, talking, or in wrap-up: their
last call) whose caller has one of the record's numbers is attached to that call: the routing core
writes the call's interaction again with the customer (``CustomerIdentified``, through the records
pipeline like every interaction change), so reports, the interaction view and the desk name them.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from acd.core.events import Customer as Caller
from acd.core.events import CustomerIdentified
from acd.http import errors
from acd.http.keys import DESK, DIRECTORY, ENGINE, LIVE, RUNTIME, TOKEN
from acd.http.v1.audited import CORE_REFUSALS, audited
from acd.http.v1.input import Fields, json_object
from acd.records.models import CUSTOMER_TIERS, MAX_CUSTOMER_NOTES
from acd.records.stores import customer_records as store
from acd.records.stores.customers import normalise_number

log = logging.getLogger(__name__)

_BODY = frozenset(store.FIELDS)
MAX_NAME = 200
MAX_CHANGES = 100


def _values(fields: Fields, *, create: bool) -> dict[str, Any]:
    """The body's values that were given (a PATCH merges them); problems go to ``fields``."""
    values: dict[str, Any] = {}
    number = fields.phone("phone_number", required=create)
    if number is not None:
        values["phone_number"] = number
    numbers = fields.phones("numbers", store.MAX_NUMBERS)
    if numbers is not None:
        values["numbers"] = numbers
    if fields.given("name"):
        values["name"] = fields.text("name", max_length=MAX_NAME)
    if fields.given("tier"):
        tier = fields.choice("tier", CUSTOMER_TIERS)
        if tier is not None:
            values["tier"] = tier
    if fields.given("notes"):
        values["notes"] = fields.text("notes", max_length=MAX_CUSTOMER_NOTES, multiline=True)
    for flag in ("consent_recording", "consent_marketing"):
        if fields.given(flag):
            values[flag] = fields.flag(flag)
    return values


def _taken(exc: store.NumberTaken) -> web.Response:
    return errors.error(409, "number-taken", str(exc), {"number": exc.number, "customer": exc.owner})


def _learn(request: web.Request, gone: list[str], record: dict[str, Any]) -> None:
    directory = request.app.get(DIRECTORY)
    if directory is None:
        return
    caller = Caller(record["id"], record["name"], record["tier"])
    found: dict[str, Caller | None] = dict.fromkeys(gone)
    found.update(dict.fromkeys([record["phone_number"], *record["numbers"]], caller))
    directory.learn(found)


async def _attach(request: web.Request, record: dict[str, Any]) -> dict[str, Any]:
    """Attach the record to the call the agent has or just had, if its caller has one of the record's
    numbers; what the audit row adds (``call_id``, or nothing). The record is saved either way."""
    agent_id = request[TOKEN].agent_id
    live = request.app.get(LIVE)
    if agent_id is None or live is None:
        return {}
    view = live.agent_view(agent_id, live.now())
    call_id = None if view is None else view.call_id
    caller = None if call_id is None else live.call_caller(call_id)
    if call_id is None or not caller or normalise_number(caller) not in {record["phone_number"], *record["numbers"]}:
        return {}
    try:
        await request.app[RUNTIME].ask(CustomerIdentified(call_id, record["id"]))
    except CORE_REFUSALS as exc:  # the call is gone from the core's memory, or the ACD stops
        log.info("customer %s not attached to call %s: %s", record["id"], call_id, exc)
        return {}
    desk = request.app.get(DESK)
    if desk is not None:
        desk.customer_attached(call_id, record["id"])
    return {"call_id": call_id}


def _actor(request: web.Request) -> store.Actor:
    token = request[TOKEN]
    return store.Actor(token.id, token.role, token.agent_id, token.label)


async def list_customers(request: web.Request) -> web.Response:
    """``?number=`` (first or further) or ``?q=`` (a name's beginning); neither lists by name."""
    fields = Fields(request.query)
    number = fields.phone("number")
    prefix = fields.text("q", max_length=MAX_NAME)
    limit = fields.integer("limit", 20, 1, store.MAX_SEARCH)
    bad = fields.refusal()
    if bad is not None:
        return bad
    found = await store.search(request.app[ENGINE], number=number or "", prefix=prefix, limit=limit)
    return web.json_response({"customers": found, "limit": limit})


async def one_customer(request: web.Request) -> web.Response:
    fields = Fields({**request.query, "customer": request.match_info["customer"]})
    customer = fields.customer("customer")
    changes = fields.integer("changes", 20, 0, MAX_CHANGES)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert customer is not None  # else ``bad`` named it
    record = await store.get(request.app[ENGINE], customer, changes=changes)
    if record is None:
        return errors.no_such_customer(str(customer))
    return web.json_response({"customer": record})


async def _body(request: web.Request, *, create: bool) -> tuple[dict[str, Any], dict[str, Any]] | web.Response:
    """The request's JSON body and the customer fields read from it, or the 400 that names what is wrong."""
    body = await json_object(request, _BODY)
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    values = _values(fields, create=create)
    return fields.refusal() or (body, values)


async def create_customer(request: web.Request) -> web.Response:
    read = await _body(request, create=True)
    if isinstance(read, web.Response):
        return read
    body, values = read

    async def change() -> tuple[web.Response, dict[str, Any]]:
        try:
            record = await store.create(request.app[ENGINE], _actor(request), values)
        except store.NumberTaken as exc:
            return _taken(exc), {}
        _learn(request, [], record)
        attached = await _attach(request, record)
        return web.json_response({"customer": record}, status=201), {"id": record["id"], **attached}

    return await audited(request, "customer.create", "customer", body, change)


async def update_customer(request: web.Request) -> web.Response:
    fields = Fields({"customer": request.match_info["customer"]})
    customer = fields.customer("customer")
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert customer is not None
    read = await _body(request, create=False)
    if isinstance(read, web.Response):
        return read
    body, values = read

    async def change() -> tuple[web.Response, dict[str, Any]]:
        try:
            changed = await store.patch(request.app[ENGINE], _actor(request), customer, values)
        except store.NumberTaken as exc:
            return _taken(exc), {}
        if changed is None:
            return errors.no_such_customer(str(customer)), {}
        old, new = changed
        _learn(request, [old["phone_number"], *old["numbers"]], new)
        return web.json_response({"customer": new}), await _attach(request, new)

    return await audited(request, "customer.update", str(customer), body, change)
