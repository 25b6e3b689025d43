"""Queues through /api/v1: list, create, replace (``PUT``), update some fields (``PATCH``) and delete.

A queue is shown and sent as its ``[queues.NAME]`` table of acd.toml plus its ``name`` (``skills``,
``sla_threshold``, ``sla_target``, ``max_wait``, ``overflow``, ``wrapup``, ``max_handle``,
``widening``, ``vip_priority_boost``, ``dispositions``: the catalogue the wrap-up picks from, ``record``:
whether its answered calls are recorded); a field
left out of a ``POST`` or ``PUT`` takes the file's default, and every value passes the file's checks.

Who: admins create and delete queues (which queues exist is theirs to decide: a new one is in no
supervisor's scope yet); a supervisor replaces or updates the queues of their token; everyone else reads
(roles: the route table; the supervisor's queues: here). An agent's token reads the queues its agent
serves, and another queue is a 404 for it, as for explanations. Deleting a queue that has callers is
allowed: the core overflows its waiting and ringing callers to the queue's overflow target with reason
``queue_removed`` (their ids are in the answer), and conversations in progress carry on.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.config_changes import Applied
from acd.core.commands import OverflowCall
from acd.core.config import QueueConfig
from acd.core.hours import QUEUE_TARGET
from acd.http import errors
from acd.http.keys import EDITOR, LIVE, TOKEN
from acd.http.v1.auth import visible_queues
from acd.http.v1.config_edits import adding, apply, changing, conflict, entry, not_found, read
from acd.routing_document import Document, queue_fields

# every field of the document, with those a default queue leaves out (callback_after, ewt_limit: absent
# means off, and a null is not a number the file would take; resolving: absent means the default)
FIELDS = frozenset(
    queue_fields(QueueConfig("", (), callback_after_seconds=0.0, ewt_limit_seconds=0.0, resolving_dispositions=()))
)


def queue_json(document: Document, name: str) -> dict[str, Any]:
    return {"name": name, **document["queues"][name]}


def _shown(request: web.Request) -> set[str] | None:
    """Supervisors and admins read every queue's settings; an agent, the queues they serve."""
    token = request[TOKEN]
    return visible_queues(token, request.app[LIVE].config) if token.role == "agent" else None


async def list_queues(request: web.Request) -> web.Response:
    document = request.app[EDITOR].document
    shown = _shown(request)
    names = [n for n in sorted(document["queues"]) if shown is None or n in shown]
    return read(request, {"queues": [queue_json(document, n) for n in names]})


async def one_queue(request: web.Request) -> web.Response:
    name = request.match_info["queue"]
    document = request.app[EDITOR].document
    shown = _shown(request)
    if name not in document["queues"] or (shown is not None and name not in shown):
        return errors.error(404, "no-such-queue", f"no queue {name!r} is configured", {"id": name})
    return read(request, {"queue": queue_json(document, name)})


def _answer(name: str) -> Any:
    return lambda applied: {"queue": queue_json(applied.document, name)}


async def create_queue(request: web.Request) -> web.Response:
    got = await entry(request, FIELDS, "name", "required: the queue's name, a string")
    if isinstance(got, web.Response):
        return got
    name, body = got
    return await apply(request, adding("queue", name, body), "queue.create", name, body, _answer(name), status=201)


async def _change(request: web.Request, *, merge: bool) -> web.Response:
    name = request.match_info["queue"]
    token = request[TOKEN]
    if token.role == "supervisor" and name not in token.queues:
        return errors.forbidden(f"queue {name!r} is not one of this token's queues")
    got = await entry(
        request, FIELDS, "name", "renaming a queue is not supported: create the new one, delete this one", current=name
    )
    if isinstance(got, web.Response):
        return got
    body = got[1]
    if token.role == "supervisor" and (others := sorted(_overflow_queues(body) - set(token.queues))):
        # overflowing into a queue sends it callers: that is its supervisor's (or an admin's) call
        return errors.forbidden(f"overflow into queue(s) not of this token: {', '.join(others)}")
    return await apply(request, changing("queue", name, body, merge=merge), "queue.update", name, body, _answer(name))


def _overflow_queues(body: dict[str, Any]) -> set[str]:
    """The queues a queue body overflows into (``overflow`` and ``hours.closed``: ``queue:<name>``)."""
    hours = body.get("hours")
    targets = [body.get("overflow"), hours.get("closed") if isinstance(hours, dict) else None]
    return {t.removeprefix(QUEUE_TARGET) for t in targets if isinstance(t, str) and t.startswith(QUEUE_TARGET)}


async def replace_queue(request: web.Request) -> web.Response:
    return await _change(request, merge=False)


async def update_queue(request: web.Request) -> web.Response:
    return await _change(request, merge=True)


async def delete_queue(request: web.Request) -> web.Response:
    name = request.match_info["queue"]

    def edit(document: Document) -> None:
        if name not in document["queues"]:
            raise not_found("queue", name)
        if len(document["queues"]) == 1:
            raise conflict("the last queue cannot be deleted: the ACD needs at least one", {"id": name})
        del document["queues"][name]

    def answer(applied: Applied) -> dict[str, Any]:
        overflowed = [c.call_id for c in applied.commands if isinstance(c, OverflowCall)]
        return {"deleted": name, "overflowed_calls": overflowed}

    return await apply(request, edit, "queue.delete", name, {}, answer)
