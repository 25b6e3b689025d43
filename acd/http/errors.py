"""API errors with a stable ``error_id`` that clients can rely on, drawn once here.

Every error body is ``{"error_id": "...", "message": "..."}``, plus ``"details"`` (an object) where
a client can act on more than the message (``not-ready`` says which dependency is down).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web


def error(status: int, error_id: str, message: str, details: Mapping[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"error_id": error_id, "message": message}
    if details is not None:
        body["details"] = dict(details)
    return web.json_response(body, status=status)


def no_such_agent(agent_id: str) -> web.Response:
    return error(404, "no-such-agent", f"no agent {agent_id!r} is configured")


def no_such_call(call_id: str) -> web.Response:
    return error(404, "no-such-call", f"no call {call_id!r} is known")


def bad_body(message: str) -> web.Response:
    return error(400, "bad-body", message)


def draining() -> web.Response:
    return error(503, "draining", "the ACD is shutting down and takes no new work")


def standby() -> web.Response:
    """503 from a standby (docs/standby.md): the changes must go to the leader, which routes."""
    return error(503, "standby", "standby: this instance does not route; send changes to the leader")


def not_ready(down: list[str], details: Mapping[str, Any]) -> web.Response:
    return error(503, "not-ready", f"not ready: {'; '.join(down)}", details)


# -- /api/v1 ------------------------------------------------------------------------------------
# Also: ``no-such-customer``, ``no-call-to-wrap-up`` and the core's refusals (``refused``), below.


def unauthorized(message: str = "a bearer token is required: Authorization: Bearer acd_...") -> web.Response:
    response = error(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="acd"'
    return response


def too_many_failures(wait_seconds: float) -> web.Response:
    """429 for a client that presented too many bad tokens lately; ``Retry-After`` says when to try again."""
    seconds = max(1, math.ceil(wait_seconds))
    response = error(429, "too-many-failures", f"too many invalid tokens from this address; retry in {seconds} s")
    response.headers["Retry-After"] = str(seconds)
    return response


def too_many_streams(limit: int) -> web.Response:
    return error(429, "too-many-streams", f"this token already holds {limit} open streams; close one first")


def forbidden(message: str) -> web.Response:
    return error(403, "forbidden", message)


def invalid(message: str, problems: Mapping[str, str]) -> web.Response:
    """400 for a body or query string that does not fit; ``details`` names each bad field."""
    return error(400, "invalid-input", message, {"fields": dict(problems)})


def no_such_customer(customer_id: str) -> web.Response:
    return error(404, "no-such-customer", f"no customer {customer_id!r} is known")


def no_call_to_wrap_up(agent_id: str, state: str) -> web.Response:
    return error(
        409,
        "no-call-to-wrap-up",
        f"agent {agent_id!r} has no call to wrap up (state {state})",
        {"agent": agent_id, "state": state},
    )


def unknown_disposition(code: str, queue: str, allowed: tuple[str, ...]) -> web.Response:
    """400: a wrap-up code outside the catalogue of the call's queue (docs/kpis.md)."""
    return error(
        400,
        "invalid-input",
        f"disposition {code!r} is not in queue {queue!r}'s catalogue; pick one of: {', '.join(allowed)}",
        {"fields": {"code": f"not one of queue {queue!r}'s dispositions"}, "queue": queue, "allowed": list(allowed)},
    )


def refused(status: int, error_id: str, message: str, details: Mapping[str, Any]) -> web.Response:
    """The routing core refused the change (``acd.core.errors``): 409 for a state, 404 for an id."""
    return error(status, error_id, message, details)


def database_unavailable() -> web.Response:
    return error(503, "database-unavailable", "PostgreSQL cannot answer now; try again shortly")


def http_error(status: int, reason: str) -> web.Response:
    """aiohttp's own refusals (oversize body, unknown path or method) with a stable id."""
    ids = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large", 415: "unsupported-media-type"}
    return error(status, ids.get(status, f"http-{status}"), reason)


def internal() -> web.Response:
    return error(500, "internal", "the ACD failed on this request; it is logged")
