"""What the skills, queues and agents endpoints share: running a change through the config editor and
answering for it.

A handler describes its change as an edit of the routing document and hands it to ``apply``, which
runs it through ``acd.config_changes.ConfigEditor`` (checked like the file, stored as a revision,
applied by the core, synced) and turns the outcome into the API's answer: 400 ``invalid-input`` with
the config's paths in ``details.fields``, 404/409 for a change that cannot be made, 412
``revision-mismatch`` when ``If-Match`` names a revision no longer in force, 503 when PostgreSQL or
the runtime cannot take it. A change the editor stored is written to the audit log with the revision
(``audited``). Who may change what is the route table's (roles) and the handlers' (scopes).
Every answer carries the revision in force as its ``ETag``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from acd.config_changes import Applied, Edit, Invalid, Permit, Refused, StaleRevision
from acd.http import errors
from acd.http.keys import EDITOR, TOKEN
from acd.http.v1.audited import Made, Unattempted, audited
from acd.http.v1.input import Fields, json_object
from acd.records.errors import DatabaseUnavailable
from acd.records.stores.config_revisions import Author
from acd.routing_document import Document
from acd.runtime import CoreFailed, Draining

Answer = Callable[[Applied], dict[str, Any]]


def tagged(response: web.Response, revision: int) -> web.Response:
    response.headers["ETag"] = f'"{revision}"'
    return response


def read(request: web.Request, body: dict[str, Any]) -> web.Response:
    """A read of the config: the body with the revision it was read at."""
    revision = request.app[EDITOR].revision
    return tagged(web.json_response({**body, "revision": revision}), revision)


def expected_revision(request: web.Request) -> int | web.Response | None:
    """``If-Match: "7"`` → 7; absent or ``*`` → None; anything else → a 400 to answer."""
    fields = Fields(request.headers)
    revision = fields.revision("If-Match")
    bad = fields.refusal("the If-Match header is not a revision")
    return revision if bad is None else bad


async def entry(
    request: web.Request, allowed: frozenset[str], key: str, problem: str, *, current: str | None = None
) -> tuple[str, dict[str, Any]] | web.Response:
    """A config entry's body and its key (a queue's ``name``, an agent's ``id``) taken out of it.

    A new entry (``current`` None) must name its key; a change may repeat the key of its path but not
    change it. ``problem`` says what is wrong with the key otherwise.
    """
    body = await json_object(request, allowed | {key})
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    if current is None:
        name = fields.string(key, problem)
    else:
        fields.unchanged(key, current, problem)
        name = current
    bad = fields.refusal()
    if bad is not None:
        return bad
    body.pop(key, None)
    return name, body


def not_found(kind: str, name: str) -> Refused:
    return Refused(404, f"no-such-{kind}", f"no {kind} {name!r} is configured", {"id": name})


def conflict(message: str, details: dict[str, Any]) -> Refused:
    return Refused(409, "conflict", message, details)


def adding(kind: str, name: str, body: dict[str, Any]) -> Edit:
    """The edit that adds a new entry to the document's table of ``kind``s; an existing one is a 409."""

    def edit(document: Document) -> None:
        table = document[f"{kind}s"]
        if name in table:
            raise conflict(f"{kind} {name!r} already exists", {"id": name})
        table[name] = body

    return edit


def changing(kind: str, name: str, body: dict[str, Any], *, merge: bool) -> Edit:
    """The edit that replaces an entry (``PUT``) or updates some of its fields (``PATCH``, ``merge``)."""

    def edit(document: Document) -> None:
        table = document[f"{kind}s"]
        if name not in table:
            raise not_found(kind, name)
        table[name] = {**table[name], **body} if merge else body

    return edit


async def apply(
    request: web.Request,
    edit: Edit,
    action: str,
    target: str,
    details: dict[str, Any],
    answer: Answer,
    *,
    status: int = 200,
    permit: Permit | None = None,
) -> web.Response:
    editor = request.app[EDITOR]
    token = request[TOKEN]
    expected = expected_revision(request)
    if isinstance(expected, web.Response):
        return expected
    author = Author(token.id, token.role, action, target)

    async def change() -> Made:
        try:
            applied = await editor.change(edit, author, expected, permit)
        except Refused as exc:
            raise Unattempted(
                tagged(errors.error(exc.status, exc.error_id, str(exc), exc.details), editor.revision)
            ) from None
        except Invalid as exc:
            problems = {p.key: p.message for p in exc.problems}
            raise Unattempted(
                tagged(errors.invalid("the config after this change would not be valid", problems), editor.revision)
            ) from None
        except StaleRevision as exc:
            raise Unattempted(
                tagged(
                    errors.error(
                        412, "revision-mismatch", str(exc), {"expected": exc.expected, "current": exc.current}
                    ),
                    editor.revision,
                )
            ) from None
        except DatabaseUnavailable:
            raise Unattempted(errors.database_unavailable()) from None
        response = tagged(
            web.json_response({**answer(applied), "revision": applied.revision}, status=status), applied.revision
        )
        return response, {"revision": applied.revision}

    return await audited(request, action, target, details, change, refused=(Draining, CoreFailed))
