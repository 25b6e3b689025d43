"""Who may do what in /api/v1: bearer tokens, roles and scopes, and the guard every request passes.

- ``agent``: acts only on their own agent; reads the queues they serve and the records of the
  interactions they handled (and those customers' history).
- ``supervisor``: acts on every agent who serves one of their queues; reads those queues' records.
- ``admin``: everything.
- ``wallboard``: read-only, for wall screens: ``GET /status`` here (and the wallboard's stream),
  nothing else (403); its queues narrow what it sees, none means every queue.

The middleware answers 401 ``unauthorized`` when the token is missing, malformed, unknown or
revoked (429 for a client that sent too many bad ones, ``acd.http.bearer``), refuses control
characters in the path and query string (400: they would reach the core, the audit log and the
records), and turns every failure of a handler into a JSON error (never a traceback): aiohttp's own
refusals keep their status with a stable ``error_id``, anything unexpected is logged and answered
500 ``internal``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import RoutingConfig
from acd.core.eligibility import queue_matches
from acd.http import errors
from acd.http.bearer import Bearers
from acd.records.errors import DatabaseUnavailable
from acd.records.stores.tokens import Token
from acd.records.text import UNFIT, fit_text

log = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", AsyncEngine)
BEARERS = web.AppKey("bearers", Bearers)
TOKEN = web.RequestKey("token", Token)
PUBLIC = frozenset({"/api/v1/openapi.json"})
# The routes a read-only wallboard token may call, as (method, the route's canonical path).
WALLBOARD_ROUTES = frozenset({("GET", "/api/v1/status")})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.path not in PUBLIC:
            refusal = await _authenticate(request)
            if refusal is not None:
                return refusal
        bad = unfit_text({**request.query, **request.match_info})
        if bad:
            return errors.invalid("the path or query string has invalid characters", bad)
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return errors.http_error(exc.status, exc.reason)
    except DatabaseUnavailable as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return errors.database_unavailable()
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return errors.internal()


async def _authenticate(request: web.Request) -> web.Response | None:
    token = await request.app[BEARERS].authenticate(request)
    if isinstance(token, web.Response):
        return token
    if token.role == "wallboard":
        route = request.match_info.route.resource
        if route is None or (request.method, route.canonical) not in WALLBOARD_ROUTES:
            return errors.forbidden("a wallboard token may read the wallboard and the status only")
    request[TOKEN] = token
    return None


def unfit_text(values: Mapping[str, str]) -> dict[str, str]:
    """The values with characters no record may hold (NUL and other controls, lone surrogates)."""
    return {name: UNFIT for name, value in values.items() if not fit_text(value)}


def agent_queues(config: RoutingConfig, agent_id: str) -> set[str]:
    """The queues an agent may be offered calls from (at any widening level)."""
    agent = next((a for a in config.agents if a.id == agent_id), None)
    if agent is None:
        return set()
    skills = dict(agent.skills)
    return {q.name for q in config.queues if queue_matches(skills, q)}


def may_act_on(token: Token, config: RoutingConfig, agent_id: str) -> bool:
    if token.role == "admin":
        return True
    if token.role == "agent":
        return token.agent_id == agent_id
    if token.role == "wallboard":
        return False
    return bool(agent_queues(config, agent_id) & set(token.queues))


def may_see(token: Token, config: RoutingConfig, agent_id: str) -> bool:
    """Whether the token may read the agent's state (whoever it may act on, and a wall screen's agents)."""
    if token.role == "wallboard":
        return not token.queues or bool(agent_queues(config, agent_id) & set(token.queues))
    return may_act_on(token, config, agent_id)


def visible_queues(token: Token, config: RoutingConfig) -> set[str] | None:
    """The queues whose live state and records the token may read; None means all."""
    if token.role == "admin" or (token.role == "wallboard" and not token.queues):
        return None
    if token.role == "agent":
        return agent_queues(config, token.agent_id or "")
    return set(token.queues)
