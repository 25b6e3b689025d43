"""The OpenAPI operations of scheduled callbacks (``acd.http.v1.callbacks``), merged into
``acd.http.v1.openapi.DOCUMENT``; kept beside their handler's rules."""

from __future__ import annotations

from typing import Any

from acd.http.v1.callbacks import MAX_CUSTOMER, MAX_NOTE, MAX_QUEUE_NAME
from acd.http.v1.openapi_parts import body, errors, ok, path_param, query, ref

_TEXT = {
    400: "invalid body or query (details.fields), or a number [callbacks] allowed_numbers does not allow",
    401: "no valid bearer token",
    403: "a queue beyond the token's",
    404: "no such queue, or no such scheduled callback",
    409: "not-pending: the callback has entered its queue or was called off already",
    413: "body too large",
    503: "shutting down, or PostgreSQL unavailable (nothing changed)",
}
_QUEUE = {"type": "string", "minLength": 1, "maxLength": MAX_QUEUE_NAME}
_FIELDS: dict[str, Any] = {
    "queue": _QUEUE,
    "number": {"type": "string", "pattern": "^[0-9]{1,32}$", "description": "the number to call, digits"},
    "at": {"type": "string", "format": "date-time", "description": "when it enters the queue, with a UTC offset"},
    "customer": {"type": "string", "maxLength": MAX_CUSTOMER, "description": "a name to show, if known"},
    "note": {"type": "string", "maxLength": MAX_NOTE},
}
STATUSES = [
    "pending",
    "cancelled",
    "queue_removed",  # closed before it entered: its queue left the config
    "number_not_allowed",  # closed at a start: its number no longer allowed
    "not_kept",  # its caller not told in time that it is kept: a message instead, or back to holding
    "waiting",
    "answered",
    "abandoned",
    "overflowed",
    "failed",
    "moved",
]

PATHS: dict[str, Any] = {
    "/callbacks": {
        "post": {
            "summary": "ask for a call at a time: it enters the queue then, with the queue's "
            "scheduled_callback_priority (audited)",
            "requestBody": body(
                {
                    "type": "object",
                    "required": ["queue", "number", "at"],
                    "additionalProperties": False,
                    "properties": _FIELDS,
                }
            ),
            "responses": {
                **ok(ref("ScheduledCallbackReply"), "scheduled", status=201),
                **errors(_TEXT, 400, 401, 403, 404, 409, 413, 503),
            },
        },
        "get": {
            "summary": "the scheduled callbacks of the token's queues (or of one), latest time first",
            "parameters": [query("queue", _QUEUE, "only this queue")],
            "responses": {**ok(ref("ScheduledCallbackList")), **errors(_TEXT, 400, 401, 403, 503)},
        },
    },
    "/callbacks/{callback}": {
        "delete": {
            "summary": "call off a scheduled callback that has not entered its queue (audited)",
            "parameters": [path_param("callback")],
            "responses": {**ok(ref("ScheduledCallbackReply")), **errors(_TEXT, 401, 403, 404, 409, 503)},
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "ScheduledCallback": {
        "type": "object",
        "required": ["id", "queue", "number", "at", "customer", "note", "created_at", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "also the id of its interaction"},
            **_FIELDS,
            "created_at": {"type": "string", "format": "date-time"},
            "status": {
                "type": "string",
                "enum": STATUSES,
                "description": "pending until it enters its queue; waiting while in it; then its outcome; "
                "queue_removed, number_not_allowed or not_kept when it can never enter",
            },
        },
    },
    "ScheduledCallbackReply": {
        "type": "object",
        "required": ["callback"],
        "properties": {"callback": ref("ScheduledCallback")},
    },
    "ScheduledCallbackList": {
        "type": "object",
        "required": ["callbacks"],
        "properties": {"callbacks": {"type": "array", "items": ref("ScheduledCallback")}},
    },
}
