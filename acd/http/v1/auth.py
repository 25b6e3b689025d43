"""Who may do what in /api/v1: bearer tokens, roles and scopes, and the guard every request passes.

- ``agent``: acts only on their own agent; reads the queues they serve and the records of the
  interactions they handled (and those customers' history).
- ``supervisor``: acts on every agent who serves one of their queues; reads those queues' records.
- ``admin``: everything.
- ``wallboard``: read-only, for wall screens: ``GET /status`` here (and the wallboard's stream),
  nothing else (403); its queues narrow what it sees, none means every queue.

Which roles may call a route is the route table's (``acd.http.v1.routes``), and the guard is the one
place that holds a token to it (``acd.http.roles``); what a token reaches within its role (which
agents, which queues) is decided here, by the handlers' calls. The middleware answers 401
``unauthorized`` when the token is missing, malformed, unknown or revoked (429 for a client that sent
too many bad ones, ``acd.http.bearer``), refuses control characters in the path and query string (400:
they would reach the core, the audit log and the records), and turns every failure of a handler into a
JSON error (never a traceback): aiohttp's own refusals keep their status with a stable ``error_id``,
anything unexpected is logged and answered 500 ``internal``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from acd.core.config import RoutingConfig
from acd.core.eligibility import queue_matches
from acd.http import errors
from acd.http.keys import BEARERS, ROUTES, TOKEN
from acd.http.v1.input import Fields
from acd.records.errors import DatabaseUnavailable
from acd.records.stores.tokens import Token

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    routes = request.app[ROUTES]
    try:
        public = routes.public(request)
        if not public:
            refusal = await _authenticate(request)
            if refusal is not None:
                return refusal
        bad = (
            Fields({**request.query, **request.match_info})
            .all_fit()
            .refusal("the path or query string has invalid characters")
        )
        if bad is not None:
            return bad
        beyond = None if public else routes.refusal(request, request[TOKEN].role)
        if beyond is not None:
            return errors.forbidden(beyond)
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
    if token.role == "wallboard":  # refused before anything else is looked at
        beyond = request.app[ROUTES].wallboard_refusal(request)
        if beyond is not None:
            return errors.forbidden(beyond)
    request[TOKEN] = token
    return None


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
