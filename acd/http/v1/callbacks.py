"""Scheduled callbacks through /api/v1: ask for a call at a time, list them, call one off (docs/api.md,
"Scheduled callbacks").

``POST /callbacks`` with ``queue``, ``number``, ``at`` and optionally ``customer`` (a name to show) and
``note``: the row is written in PostgreSQL (``acd.records.stores.scheduled_callbacks``: it survives
restarts), then the core takes it (``CallbackScheduled``: an unknown queue or a number the admin's
``[callbacks] allowed_numbers`` does not allow is refused, and the row removed). At ``at`` it enters
the queue with the queue's ``scheduled_callback_priority`` (``acd.core.scheduled_callbacks``).
``GET /callbacks?queue=`` lists them with their status, ``DELETE /callbacks/{callback}`` calls off one
that has not entered its queue yet.

Who may: admins for every queue, supervisors for their queues, agents for the queues they serve (an
agent asks from the desk for a customer to be called back); another queue is 403, another's callback
404. Every request that changes something is audited (``audited``).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web

from acd.core import transfer_numbers
from acd.core.events import CallbackScheduled, ScheduledCallbackCancelled
from acd.core.scheduled_callbacks import UnknownScheduledCallback
from acd.http import errors
from acd.http.keys import ENGINE, LIVE, RUNTIME, TOKEN
from acd.http.v1.audited import CORE_REFUSALS, audited
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields, json_object
from acd.records.stores import scheduled_callbacks as store

MAX_QUEUE_NAME = 200
MAX_CUSTOMER = 200
MAX_NOTE = 1000
MAX_AHEAD = timedelta(days=366)
_BODY = frozenset({"queue", "number", "at", "customer", "note"})


def _visible(request: web.Request) -> set[str] | None:
    return visible_queues(request[TOKEN], request.app[LIVE].config)


def _out_of_scope(queue: str) -> web.Response:
    return errors.forbidden(
        f"callbacks in {queue[:MAX_QUEUE_NAME]!r}: a supervisor schedules them in their queues, "
        "an agent in the queues they serve"
    )


async def schedule(request: web.Request) -> web.Response:
    body = await json_object(request, _BODY)
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    queue = fields.text("queue", required=True, max_length=MAX_QUEUE_NAME)
    number = fields.text("number", required=True, max_length=transfer_numbers.MAX_NUMBER)
    if number and not transfer_numbers.is_number(number):
        fields.problems["number"] = f"digits only, at most {transfer_numbers.MAX_NUMBER}"
    elif number and not transfer_numbers.allowed(number, request.app[LIVE].config.policy.callback_numbers):
        fields.problems["number"] = "not a number the admin's [callbacks] allowed_numbers allows"
    at = fields.timestamp("at")
    if at is None and "at" not in fields.problems:
        fields.problems["at"] = "required: an ISO 8601 date-time with a UTC offset"
    elif at is not None and at - datetime.now(UTC) > MAX_AHEAD:
        fields.problems["at"] = "at most a year ahead"
    customer = fields.text("customer", max_length=MAX_CUSTOMER)
    note = fields.text("note", max_length=MAX_NOTE, multiline=True)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert at is not None
    shown = _visible(request)
    if shown is not None and queue not in shown:
        return _out_of_scope(queue)
    callback_id = str(uuid.uuid4())
    engine = request.app[ENGINE]
    details = {"queue": queue, "number": number, "at": at.isoformat(), "customer": customer, "note": note}

    async def change() -> web.Response:
        row = await store.add(engine, callback_id, queue, number, at, customer, note, request[TOKEN].id)
        try:
            await request.app[RUNTIME].ask(CallbackScheduled(callback_id, queue, number, at.timestamp()))
        except CORE_REFUSALS:
            await store.remove(engine, callback_id)
            raise
        return web.json_response({"callback": row.json()}, status=201)

    return await audited(request, "callback.schedule", callback_id, details, change)


async def list_callbacks(request: web.Request) -> web.Response:
    queue = request.query.get("queue", "")
    shown = _visible(request)
    if queue:
        if shown is not None and queue not in shown:
            return _out_of_scope(queue)
        shown = {queue}
    rows = await store.listed(request.app[ENGINE], shown)
    return web.json_response({"callbacks": [r.json() for r in rows]})


async def cancel(request: web.Request) -> web.Response:
    callback_id = request.match_info["callback"]
    engine = request.app[ENGINE]
    row = await store.one(engine, callback_id)
    shown = _visible(request)
    if row is None or (shown is not None and row.queue not in shown):
        return errors.error(404, "no-such-callback", f"no such scheduled callback: {callback_id[:64]}")
    if row.status != "pending":
        return errors.error(409, "not-pending", f"the callback is {row.status}, no longer to be called off")

    async def change() -> web.Response:
        # not in the core (its queue was removed meanwhile): the row is called off all the same
        with contextlib.suppress(UnknownScheduledCallback):
            await request.app[RUNTIME].ask(ScheduledCallbackCancelled(row.id))
        await store.cancel(engine, row.id, datetime.now(UTC))
        found = await store.one(engine, row.id)
        return web.json_response({"callback": (found or row).json()})

    return await audited(request, "callback.cancel", row.id, {"queue": row.queue}, change)
