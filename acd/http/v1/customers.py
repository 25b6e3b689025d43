"""Customer records through /api/v1: search, read (with further numbers and the last changes), create
and change, kept by agents from the desk during or after a call (``acd.records.stores.customer_records``).

Roles as for the interaction records: agents, supervisors and admins (the route table). Every create
and change is audited (``audited``) and written to the customer's history with who made it; the caller
directory (``acd.records.stores.customers``) learns it at once, so the next call from one of the
numbers shows the record. A number belongs to one customer: another's is 409 ``number-taken``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.core.events import Customer as Caller
from acd.http import errors
from acd.http.keys import DIRECTORY, ENGINE, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.input import Fields, json_object
from acd.records.models import CUSTOMER_TIERS, MAX_CUSTOMER_NOTES
from acd.records.stores import customer_records as store

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
        return web.json_response({"customer": record}, status=201), {"id": record["id"]}

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

    async def change() -> web.Response:
        try:
            changed = await store.patch(request.app[ENGINE], _actor(request), customer, values)
        except store.NumberTaken as exc:
            return _taken(exc)
        if changed is None:
            return errors.no_such_customer(str(customer))
        old, new = changed
        _learn(request, [old["phone_number"], *old["numbers"]], new)
        return web.json_response({"customer": new})

    return await audited(request, "customer.update", str(customer), body, change)
