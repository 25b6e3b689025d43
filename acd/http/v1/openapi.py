"""The OpenAPI 3.0 document of /api/v1, served at /api/v1/openapi.json, written out by hand.

Kept beside the handlers it describes; ``tests/integration/test_api_v1_schema.py`` runs
schemathesis against it on the real app, so a handler that drifts from it fails there.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.http.v1 import (
    openapi_callbacks,
    openapi_config,
    openapi_customers,
    openapi_objectives,
    openapi_recordings,
    openapi_reports,
)
from acd.http.v1.openapi_parts import body, errors, ok, path_param, query, ref

_TEXT = {
    400: "invalid body or query",
    401: "no valid bearer token",
    403: "beyond the token's role",
    404: "unknown id",
    409: "not allowed in the current state",
    413: "body too large",
    503: "shutting down, or PostgreSQL unavailable",
}
_AGENT_PATH = path_param("agent")
_CALL_PATH = path_param("call")


def _errors(*statuses: int) -> dict[str, Any]:
    return errors(_TEXT, *statuses)


def _action(summary: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [_AGENT_PATH],
        "responses": {**ok(ref("AgentReply"), "the agent's new state"), **_errors(400, 401, 403, 404, 409, 413, 503)},
    }
    if schema is not None:
        operation["requestBody"] = body(schema, required=False)
    return {"post": operation}


def _supervision(summary: str, field: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A supervisor's action on a queued caller: one field in, where the caller stands out."""
    request = {"type": "object", "required": [field], "additionalProperties": False, "properties": {field: schema}}
    return {
        "post": {
            "summary": summary,
            "parameters": [_CALL_PATH],
            "requestBody": body(request),
            "responses": {**ok({"type": "object"}), **_errors(400, 401, 403, 404, 409, 413, 503)},
        }
    }


def _consult_finish(summary: str) -> dict[str, Any]:
    """Complete or cancel the call's open attended transfer: no body (or an empty object)."""
    return {
        "post": {
            "summary": f"{summary} (the agent on the call, supervisor of the call's queue, admin); 202: "
            "handed to the PBX",
            "parameters": [_CALL_PATH],
            "requestBody": body({"type": "object", "additionalProperties": False}, required=False),
            "responses": {
                **ok({"type": "object"}, "handed to the PBX", status=202),
                **_errors(400, 401, 403, 404, 409, 413, 503),
            },
        }
    }


_PAGE = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size"),
    query("offset", {"type": "integer", "minimum": 0, "maximum": 100000}, "rows to skip"),
]

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "ACD REST API",
        "version": "1.0.0",
        "description": "Agent actions, live status, routing explanations and interaction records. "
        "Every request but this document needs `Authorization: Bearer <token>` "
        "(`acd tokens add`). Errors are `{error_id, message, details}`.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "security": [],
                "responses": ok({"type": "object"}, "the OpenAPI document"),
            }
        },
        "/agents": {
            "get": {
                "summary": "agents the token may see, with state and time in state",
                "responses": {**ok({"type": "object"}), **_errors(401, 503)},
            }
        },
        "/agents/{agent}": {
            "get": {
                "summary": "one agent",
                "parameters": [_AGENT_PATH],
                "responses": {**ok(ref("AgentReply")), **_errors(401, 403, 404, 503)},
            }
        },
        "/agents/{agent}/login": _action("log in (ready for calls)"),
        "/agents/{agent}/logout": _action("log out"),
        "/agents/{agent}/pause": _action(
            "pause with a reason",
            {
                "type": "object",
                "required": ["reason"],
                "additionalProperties": False,
                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 64}},
            },
        ),
        "/agents/{agent}/resume": _action("resume from a pause"),
        "/agents/{agent}/ready": _action("end wrap-up: ready for the next call"),
        "/agents/{agent}/wrapup": _action(
            "record a disposition code and notes on the current call",
            {
                "type": "object",
                "required": ["code"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "minLength": 1, "maxLength": 64},
                    "notes": {"type": "string", "maxLength": 4000},
                    "done": {"type": "boolean", "description": "also end wrap-up"},
                },
            },
        ),
        "/agents/{agent}/events": {
            "get": {
                "summary": "the agent's desk, pushed as Server-Sent Events while the response stays open",
                "description": "Each `event: desk` carries a `Desk` as JSON: at once, then on every change to "
                "the agent (state, the call ringing them or in their hands, its caller's customer "
                "record and last interactions); a `: keepalive` comment every 15 s. An agent "
                "watches themselves, a supervisor their queues' agents, an admin everyone.",
                "parameters": [_AGENT_PATH],
                "responses": {
                    "200": {
                        "description": "an endless stream of `desk` events",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403, 404, 503),
                },
            }
        },
        "/status": {
            "get": {
                "summary": "each queue's callers and each agent's state, and the answering instance's role; a "
                "standby's says who leads and what it serves (docs/standby.md)",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "required": ["at", "role", "queues", "agents"],
                            "properties": {
                                "at": {"type": "string", "format": "date-time"},
                                "role": {"type": "string", "enum": ["leader", "standby"]},
                                "queues": {"type": "array", "items": {"type": "object"}},
                                "agents": {"type": "array", "items": {"type": "object"}},
                                "standby": {
                                    "type": "object",
                                    "description": "only on a standby: who leads (named to supervisors and "
                                    "admins), its epoch, the lease's age, and the reads it answers from the records",
                                    "properties": {
                                        "instance": {"type": "string", "nullable": True},
                                        "leader": {"type": "string", "nullable": True},
                                        "leader_live": {"type": "boolean", "nullable": True},
                                        "epoch": {"type": "integer", "nullable": True},
                                        "lease_age_seconds": {"type": "number", "nullable": True},
                                        "leader_heartbeat_age_seconds": {"type": "number", "nullable": True},
                                        "serves": {"type": "array", "items": {"type": "string"}},
                                        "message": {"type": "string"},
                                    },
                                },
                            },
                        }
                    ),
                    **_errors(401, 503),
                },
            }
        },
        "/pbxs": {
            "get": {
                "summary": "each PBX in the file's order: its link up, its SystemName wrong, lost, its open calls "
                "and Kamailio's dispatcher state of it (supervisor, admin; docs/pbxs.md)",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "required": ["pbxs"],
                            "properties": {
                                "pbxs": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["name", "linked", "misconfigured", "lost", "calls"],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "linked": {"type": "boolean"},
                                            "misconfigured": {"type": "boolean"},
                                            "lost": {"type": "boolean"},
                                            "calls": {"type": "integer", "minimum": 0},
                                            # present with [kamailio]; null: not in the dispatcher's list
                                            "dispatcher": {
                                                "type": "string",
                                                "enum": ["active", "inactive", "probing", None],
                                                "nullable": True,
                                            },
                                        },
                                    },
                                }
                            },
                        }
                    ),
                    **_errors(401, 403, 503),
                },
            }
        },
        "/cluster": {
            "get": {
                "summary": "who leads the ACD, under which epoch, each member's last heartbeat and this instance's "
                "side of the lease (supervisor, admin; docs/standby.md)",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "required": ["leader", "lease", "members", "this"],
                            "properties": {
                                "leader": {"type": "string", "nullable": True},
                                "lease": {"type": "object", "nullable": True},
                                "members": {"type": "array", "items": {"type": "object"}},
                                "this": {"type": "object", "nullable": True},
                            },
                        }
                    ),
                    **_errors(401, 403),
                },
            }
        },
        "/calls/{call}/explanation": {
            "get": {
                "summary": "why the call's last routing decision chose whom it chose",
                "parameters": [_CALL_PATH],
                "responses": {**ok({"type": "object"}), **_errors(401, 403, 404, 503)},
            }
        },
        "/calls/{call}/priority": _supervision(
            "change a queued caller's priority (supervisor of the call's queue, admin)",
            "priority",
            {"type": "integer", "minimum": 0, "maximum": 1000},
        ),
        "/calls/{call}/queue": _supervision(
            "move a waiting or ringing caller to another queue, where they arrive afresh "
            "(supervisor of both queues, admin)",
            "queue",
            {"type": "string", "minLength": 1, "maxLength": 200},
        ),
        "/calls/{call}/transfer": {
            "post": {
                "summary": "have the agent talking to the caller transfer them blind to a queue, where they "
                "arrive afresh, to an agent by name (a new stay in the call's queue, offered to that agent "
                "alone for [transfers] agent_wait seconds, then to the queue), or to an outside number "
                "[transfers] allowed_numbers allows (one of the three), or "
                "start an attended transfer (kind attended: a consult, then complete or cancel) to another "
                "agent, to the agent the ACD picks for a queue (409 no-agent-ready when none is ready) or to "
                "an allowed outside number (the agent on the call, supervisor of the call's queue, admin); "
                "202: handed to the PBX",
                "parameters": [_CALL_PATH],
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["kind", "target"],
                        "additionalProperties": False,
                        "properties": {
                            "kind": {"type": "string", "enum": ["blind", "attended"]},
                            "target": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "queue": {"type": "string", "minLength": 1, "maxLength": 200},
                                    "number": {"type": "string", "pattern": "^[0-9]{1,32}$"},
                                    "agent": {"type": "string", "minLength": 1, "maxLength": 200},
                                },
                            },
                        },
                    }
                ),
                "responses": {
                    **ok({"type": "object"}, "the transfer was handed to the PBX", status=202),
                    **_errors(400, 401, 403, 404, 409, 413, 503),
                },
            }
        },
        "/calls/{call}/monitor": {
            "post": {
                "summary": "ring a supervisor's phone and join it to the agent's conversation: listen, whisper "
                "(the agent hears the supervisor) or barge (both hear); supervisor of the call's queue, admin",
                "parameters": [_CALL_PATH],
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["mode", "supervisor_endpoint"],
                        "additionalProperties": False,
                        "properties": {
                            "mode": {"type": "string", "enum": ["listen", "whisper", "barge"]},
                            "supervisor_endpoint": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 64,
                                "description": "a supervisor's phone of acd.toml's [[supervisors]]",
                            },
                        },
                    }
                ),
                "responses": {
                    **ok({"type": "object"}, "the phone is being rung", status=202),
                    **_errors(400, 401, 403, 404, 409, 413, 503),
                },
            }
        },
        "/calls/{call}/transfer/complete": _consult_finish(
            "complete the open attended transfer: the consulted agent talks with the caller from now on"
        ),
        "/calls/{call}/transfer/cancel": _consult_finish("cancel the open attended transfer: back to the caller"),
        "/interactions": {
            "get": {
                "summary": "search interactions, newest first, paginated",
                "parameters": [
                    query("from", {"type": "string", "format": "date-time"}, "arrived at or after"),
                    query("to", {"type": "string", "format": "date-time"}, "arrived before"),
                    query("queue", {"type": "string"}, "queue name"),
                    query("agent", {"type": "string"}, "agent id"),
                    query("customer", {"type": "string", "format": "uuid"}, "customer id"),
                    query(
                        "outcome",
                        {"type": "string", "enum": ["answered", "abandoned", "overflowed", "failed", "moved"]},
                        "how the call ended (moved: left for another queue)",
                    ),
                    *_PAGE,
                ],
                "responses": {**ok(ref("Page")), **_errors(400, 401, 403, 503)},
            }
        },
        "/customers/{customer}/interactions": {
            "get": {
                "summary": "a customer's history, newest first",
                "parameters": [path_param("customer", {"type": "string", "format": "uuid"}), *_PAGE],
                "responses": {**ok(ref("Page")), **_errors(400, 401, 403, 404, 503)},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error_id", "message"],
                "properties": {
                    "error_id": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            },
            "Agent": {
                "type": "object",
                "required": ["id", "state"],
                "properties": {
                    "id": {"type": "string"},
                    "state": {
                        "type": "string",
                        "enum": ["logged_out", "ready", "reserved", "on_call", "wrap_up", "paused", "consulting"],
                    },
                    "reason": {"type": "string"},
                    "since": {"type": "string", "format": "date-time", "nullable": True},
                    "seconds_in_state": {"type": "number", "nullable": True},
                    "reachable": {"type": "boolean"},
                    "call_id": {"type": "string", "nullable": True},
                },
            },
            "AgentReply": {"type": "object", "required": ["agent"], "properties": {"agent": ref("Agent")}},
            "Page": {
                "type": "object",
                "required": ["interactions", "limit", "offset", "next_offset"],
                "properties": {
                    "interactions": {"type": "array", "items": {"type": "object"}},
                    "limit": {"type": "integer"},
                    "offset": {"type": "integer"},
                    "next_offset": {"type": "integer", "nullable": True},
                },
            },
            "Desk": {
                "type": "object",
                "required": ["at", "agent", "queues", "call"],
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "agent": {"type": "object", "description": "an Agent without seconds_in_state, with its name"},
                    "queues": {"type": "array", "items": {"type": "string"}},
                    "call": {
                        "type": "object",
                        "nullable": True,
                        "properties": {
                            "id": {"type": "string"},
                            "ringing": {"type": "boolean"},
                            "queue": {"type": "string", "nullable": True},
                            "priority": {"type": "integer", "nullable": True},
                            "wait_seconds": {"type": "number", "nullable": True},
                            "caller": {"type": "string", "nullable": True},
                            "arrived_at": {"type": "string", "format": "date-time", "nullable": True},
                            "customer": {
                                "type": "object",
                                "nullable": True,
                                "description": "id, name, tier, phone_number, since, notes",
                            },
                            "history": {"type": "array", "items": {"type": "object"}},
                            "lookup": {"type": "string", "enum": ["pending", "found", "unknown", "unavailable"]},
                        },
                    },
                },
            },
        },
    },
}

for _path, _operations in openapi_config.PATHS.items():  # skills, queues and agents' configuration
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"].update(openapi_config.SCHEMAS)
for _path, _operations in openapi_objectives.PATHS.items():  # objectives (KPOs)
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"].update(openapi_objectives.SCHEMAS)
for _path, _operations in openapi_customers.PATHS.items():  # customer records
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"].update(openapi_customers.SCHEMAS)
for _path, _operations in openapi_callbacks.PATHS.items():  # scheduled callbacks
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"].update(openapi_callbacks.SCHEMAS)
for _path, _operations in openapi_recordings.PATHS.items():  # call recordings
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"]["Agent"]["properties"].update(openapi_config.AGENT_FIELDS)
for _path, _operations in openapi_reports.PATHS.items():  # reports from the records
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
DOCUMENT["components"]["schemas"].update(openapi_reports.SCHEMAS)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
