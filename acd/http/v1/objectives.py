"""Objectives (KPOs) through /api/v1: list them with where they stand, create, update some fields
(``PATCH``) and delete them.

An objective is sent as its ``[objectives.NAME]`` table of acd.toml plus its ``name``: ``metric``,
``comparison``, ``target``, one scope key (``queue``, ``queues``, ``agent`` or ``team``), ``period`` (with
``from`` and ``to`` for ``dates``), ``owner`` and ``note``. Objectives are part of the routing config's
document: a change is checked like the file, stored as a revision, audited and answered as the other
config changes are (``acd.http.v1.config_edits``). A read carries each objective's standing now:
attainment so far, projection and status (``acd.records.objectives``, the same figures as
``acd report --objectives``; the projection here has no Erlang forecast, which only the live series use).

Who (roles: the route table; scopes: here): admins read and change every objective. A supervisor reads
the objectives of their queues (every queue of the scope is theirs) and of agents and teams serving one
of their queues (every agent of the scope), and creates, changes and deletes the objectives whose
scope is queues of theirs (before and after the change); an agent's or a team's objective is an admin's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from acd.config_changes import Applied
from acd.core.config import RoutingConfig
from acd.core.objectives import Objective
from acd.http import errors
from acd.http.keys import EDITOR, ENGINE, LIVE, OBJECTIVES_ZONE, TOKEN
from acd.http.v1.auth import may_act_on
from acd.http.v1.config_edits import adding, apply, entry, not_found, read
from acd.records.errors import DatabaseUnavailable
from acd.records.objectives import members, standings
from acd.records.stores.tokens import Token
from acd.routing_document import Document
from acd.settings import OBJECTIVE_KEYS

FIELDS = frozenset(OBJECTIVE_KEYS)


def sees(token: Token, config: RoutingConfig, objective: Objective) -> bool:
    """Whether the token reads the objective (here, and on a scorecard: acd.http.v1.reports)."""
    if token.role == "admin":
        return True
    if objective.scope in ("queue", "queues"):
        return set(objective.members) <= set(token.queues)
    who = members(objective, config.agents)
    return bool(who) and all(may_act_on(token, config, agent) for agent in who)


def _may_change(token: Token, fields: dict[str, Any]) -> bool:
    """A supervisor's objective names queues of theirs only (``fields``: the document's table)."""
    if token.role == "admin":
        return True
    if "queue" in fields and isinstance(fields["queue"], str):
        return fields["queue"] in token.queues
    queues = fields.get("queues")
    scoped = not any(k in fields for k in ("agent", "team"))
    return scoped and isinstance(queues, list) and bool(queues) and set(map(str, queues)) <= set(token.queues)


async def _shown(request: web.Request, name: str | None = None) -> list[dict[str, Any]]:
    document: Document = request.app[EDITOR].document
    config = request.app[LIVE].config
    token = request[TOKEN]
    visible = [o for o in config.objectives if (name is None or o.name == name) and sees(token, config, o)]
    try:
        found = await standings(
            request.app[ENGINE],
            visible,
            config.agents,
            ZoneInfo(request.app[OBJECTIVES_ZONE]),
            datetime.now(UTC),
            config.policy.short_abandon_seconds,
            queues=config.queues,
        )
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the objectives' attainment: {exc}") from exc
    return [
        {"name": s.objective, **document["objectives"].get(s.objective, {}), "standing": _standing(s.json())}
        for s in found
    ]


def _standing(fields: dict[str, Any]) -> dict[str, Any]:
    keep = ("start", "end", "attainment", "projection", "status")
    return {k: fields[k] for k in keep}


async def list_objectives(request: web.Request) -> web.Response:
    shown = await _shown(request)
    return read(request, {"objectives": shown})


async def one_objective(request: web.Request) -> web.Response:
    name = request.match_info["objective"]
    shown = await _shown(request, name)
    if not shown:
        return errors.error(404, "no-such-objective", f"no objective {name!r} is configured", {"id": name})
    return read(request, {"objective": shown[0]})


def _answer(name: str) -> Any:
    return lambda applied: {"objective": {"name": name, **applied.document["objectives"].get(name, {})}}


async def create_objective(request: web.Request) -> web.Response:
    got = await entry(request, FIELDS, "name", "required: the objective's name, a string")
    if isinstance(got, web.Response):
        return got
    name, body = got
    if not _may_change(request[TOKEN], body):
        return errors.forbidden("a supervisor's objective names one or more of their queues as its scope")
    edit = adding("objective", name, body)
    return await apply(request, edit, "objective.create", name, body, _answer(name), status=201)


async def update_objective(request: web.Request) -> web.Response:
    name = request.match_info["objective"]
    got = await entry(request, FIELDS, "name", "the name is the path's", current=name)
    if isinstance(got, web.Response):
        return got
    _, body = got
    token = request[TOKEN]
    before = request.app[EDITOR].document["objectives"].get(name)
    if before is None:
        return errors.error(404, "no-such-objective", f"no objective {name!r} is configured", {"id": name})
    # a new scope replaces the old one (an objective has exactly one)
    scopes = {"queue", "queues", "agent", "team"}
    after = {k: v for k, v in before.items() if not (k in scopes and scopes & set(body))} | body
    if not (_may_change(token, before) and _may_change(token, after)):
        return errors.forbidden("a supervisor's objective names one or more of their queues as its scope")

    def edit(document: Document) -> None:
        if name not in document["objectives"]:
            raise not_found("objective", name)
        document["objectives"][name] = after

    return await apply(request, edit, "objective.update", name, body, _answer(name))


async def delete_objective(request: web.Request) -> web.Response:
    name = request.match_info["objective"]
    before = request.app[EDITOR].document["objectives"].get(name)
    if before is None:
        return errors.error(404, "no-such-objective", f"no objective {name!r} is configured", {"id": name})
    if not _may_change(request[TOKEN], before):
        return errors.forbidden("a supervisor's objective names one or more of their queues as its scope")

    def edit(document: Document) -> None:
        if document["objectives"].pop(name, None) is None:
            raise not_found("objective", name)

    def answer(applied: Applied) -> dict[str, Any]:
        return {"deleted": name}

    return await apply(request, edit, "objective.delete", name, {}, answer)
