"""API errors with a stable ``error_id`` that clients can rely on, drawn once here.

Every error body is ``{"error_id": "...", "message": "..."}``.
"""

from __future__ import annotations

from aiohttp import web


def error(status: int, error_id: str, message: str) -> web.Response:
    return web.json_response({"error_id": error_id, "message": message}, status=status)


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
