"""Who may do what in /api/v1: bearer tokens, roles and scopes, and the guard every request passes.

- ``agent``: acts only on their own agent; reads the queues they serve and the records of the
  interactions they handled (and those customers' history).
- ``supervisor``: acts on every agent who serves one of their queues; reads those queues' records.
- ``admin``: everything.

The middleware answers 401 ``unauthorized`` when the token is missing, malformed, unknown or
revoked, and turns every failure of a handler into a JSON error (never a traceback): aiohttp's own
refusals keep their status with a stable ``error_id``, anything unexpected is logged and answered
500 ``internal``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import RoutingConfig
from acd.core.eligibility import queue_matches
from acd.http import errors
from acd.records import tokens
from acd.records.errors import DatabaseUnavailable
from acd.records.tokens import Token

log = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", AsyncEngine)
TOKEN = web.RequestKey("token", Token)
PUBLIC = frozenset({"/api/v1/openapi.json"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.path not in PUBLIC:
            refusal = await _authenticate(request)
            if refusal is not None:
                return refusal
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
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        return errors.unauthorized()
    token = await tokens.verify(request.app[ENGINE], bearer.strip())
    if token is None:
        return errors.unauthorized("the bearer token is not valid (unknown, malformed or revoked)")
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
    return bool(agent_queues(config, agent_id) & set(token.queues))


def visible_queues(token: Token, config: RoutingConfig) -> set[str] | None:
    """The queues whose live state and records the token may read; None means all."""
    if token.role == "admin":
        return None
    if token.role == "agent":
        return agent_queues(config, token.agent_id or "")
    return set(token.queues)
