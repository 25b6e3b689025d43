"""API errors with a stable ``error_id`` that clients can rely on, drawn once here.

Every error body is ``{"error_id": "...", "message": "..."}``, plus ``"details"`` (an object) where
a client can act on more than the message (``not-ready`` says which dependency is down).
"""

from __future__ import annotations

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


def unknown_action(action: str, allowed: list[str]) -> web.Response:
    return error(404, "no-such-action", f"unknown action {action!r}; allowed: {', '.join(allowed)}")


def draining() -> web.Response:
    return error(503, "draining", "the ACD is shutting down and takes no new work")


def not_ready(down: list[str], details: Mapping[str, Any]) -> web.Response:
    return error(503, "not-ready", f"not ready: {'; '.join(down)}", details)
