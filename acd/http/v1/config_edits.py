"""What the skills, queues and agents endpoints share: running a change through the config editor and
answering for it.

A handler describes its change as an edit of the routing document and hands it to ``apply``, which
runs it through ``acd.config_changes.ConfigEditor`` (checked like the file, stored as a revision,
applied by the core, synced) and turns the outcome into the API's answer: 400 ``invalid-input`` with
the config's paths in ``details.fields``, 404/409 for a change that cannot be made, 412
``revision-mismatch`` when ``If-Match`` names a revision no longer in force, 503 when PostgreSQL or
the runtime cannot take it. A change the editor stored is written to the audit log with the revision.
Every answer carries the revision in force as its ``ETag``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.config_changes import Applied, ConfigEditor, Edit, Invalid, Permit, Refused, StaleRevision
from acd.http import errors
from acd.http.v1.agents import AUDIT, refusal
from acd.http.v1.auth import TOKEN
from acd.records.errors import DatabaseUnavailable
from acd.records.stores.audit import Change
from acd.records.stores.config_revisions import Author
from acd.runtime import CoreFailed, Draining

EDITOR = web.AppKey("config_editor", ConfigEditor)

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
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        return errors.invalid("the If-Match header is not a revision",
                              {"If-Match": 'a revision number as an entity tag, e.g. "7"'})
    return int(tag)


def not_found(kind: str, name: str) -> Refused:
    return Refused(404, f"no-such-{kind}", f"no {kind} {name!r} is configured", {"id": name})


def conflict(message: str, details: dict[str, Any]) -> Refused:
    return Refused(409, "conflict", message, details)


async def apply(request: web.Request, edit: Edit, action: str, target: str, details: dict[str, Any],
                answer: Answer, *, status: int = 200, permit: Permit | None = None) -> web.Response:
    editor = request.app[EDITOR]
    token = request[TOKEN]
    expected = expected_revision(request)
    if isinstance(expected, web.Response):
        return expected
    author = Author(token.id, token.role, action, target)
    try:
        applied = await editor.change(edit, author, expected, permit)
    except Refused as exc:
        return tagged(errors.error(exc.status, exc.error_id, str(exc), exc.details), editor.revision)
    except Invalid as exc:
        problems = {p.key: p.message for p in exc.problems}
        return tagged(errors.invalid("the config after this change would not be valid", problems),
                      editor.revision)
    except StaleRevision as exc:
        return tagged(errors.error(412, "revision-mismatch", str(exc),
                                   {"expected": exc.expected, "current": exc.current}), editor.revision)
    except DatabaseUnavailable:
        return errors.database_unavailable()
    except (Draining, CoreFailed) as exc:
        response = refusal(exc)
        await _audit(request, action, target, response.status, details)
        return response
    response = tagged(web.json_response({**answer(applied), "revision": applied.revision}, status=status),
                      applied.revision)
    await _audit(request, action, target, response.status, {**details, "revision": applied.revision})
    return response


async def _audit(request: web.Request, action: str, target: str, status: int, details: dict[str, Any]) -> None:
    token = request[TOKEN]
    await request.app[AUDIT].write(Change(datetime.now(UTC), token.id, token.role, token.agent_id,
                                          action, target, status, details))


def forbidden_for_agents(request: web.Request) -> web.Response | None:
    if request[TOKEN].role == "agent":
        return errors.forbidden("changing skills, queues and agents is for supervisors and admins")
    return None


def admins_only(request: web.Request, what: str) -> web.Response | None:
    if request[TOKEN].role != "admin":
        return errors.forbidden(f"{what} is for admins")
    return None
