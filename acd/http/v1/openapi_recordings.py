"""The OpenAPI operations of the call recordings (``acd.http.v1.recordings``), merged into
``acd.http.v1.openapi.DOCUMENT``; kept beside their handler's rules."""

from __future__ import annotations

from typing import Any

from acd.http.v1.openapi_parts import body, errors, ok, path_param

_TEXT = {
    400: "invalid body (details.fields)",
    401: "no valid bearer token",
    403: "not an admin, a supervisor of the call's queue, or (when allowed) the call's agent",
    404: "no recording of that interaction, its file is missing, or no recording runs for that call",
    409: "no-agent-leg: the agent's channel of the call is not known (taken over after a restart)",
    410: "recording-deleted: the retention policy deleted the file (the records stay)",
    413: "body too large",
    502: "pbx-refused: the PBX did not pause or resume the recording",
    503: "shutting down, or PostgreSQL unavailable",
}

PATHS: dict[str, dict[str, Any]] = {
    "/interactions/{interaction}/recording": {
        "get": {
            "summary": "the call's recording, as audio/wav (Range requests answered with 206); every listen is audited",
            "parameters": [path_param("interaction")],
            "responses": {
                "200": {
                    "description": "the whole file",
                    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {
                    "description": "the range asked for",
                    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
                },
                **errors(_TEXT, 401, 403, 404, 410, 503),
            },
        }
    },
    "/calls/{call}/recording": {
        "post": {
            "summary": "pause or resume the recording of a call in progress (its agent, a supervisor of its "
            "queue, an admin); the file keeps silence where it was paused; audited",
            "parameters": [path_param("call")],
            "requestBody": body(
                {
                    "type": "object",
                    "required": ["action"],
                    "additionalProperties": False,
                    "properties": {"action": {"type": "string", "enum": ["pause", "resume"]}},
                }
            ),
            "responses": {
                **ok(
                    {
                        "type": "object",
                        "required": ["call", "recording", "changed"],
                        "properties": {
                            "call": {"type": "string"},
                            "recording": {"type": "string", "enum": ["paused", "recording"]},
                            "changed": {"type": "boolean", "description": "false: it already was"},
                        },
                    }
                ),
                **errors(_TEXT, 400, 401, 403, 404, 409, 413, 502, 503),
            },
        }
    },
}
