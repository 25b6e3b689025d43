"""The OpenAPI operations of the routing config's endpoints (skills, queues, agents' configuration),
merged into ``acd.http.v1.openapi.DOCUMENT``; kept beside their handlers' rules.

Field shapes follow acd.toml's sections; the checks themselves are the file's (``acd.settings``), so a
body the document allows can still be refused with 400 ``invalid-input`` (an unknown skill, an
endpoint another agent has).
"""

from __future__ import annotations

from typing import Any

from acd.http.v1 import openapi_parts as parts
from acd.http.v1.openapi_parts import errors, ok, path_param, ref

_TEXT = {
    400: "invalid body, or the config after the change would not be valid (details.fields)",
    401: "no valid bearer token",
    403: "beyond the token's role or scope",
    404: "unknown name",
    409: "already exists, or still in use (details name the users)",
    412: "If-Match names an older revision",
    413: "body too large",
    503: "shutting down, or PostgreSQL unavailable (nothing changed)",
}

_LEVELS = {
    "type": "object",
    "description": "skill = proficiency (1..5)",
    "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
}
_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'the revision the change is based on, e.g. "7"; another in force: 412',
}


def _errors(*statuses: int) -> dict[str, Any]:
    return errors(_TEXT, *statuses)


def _ok(schema: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return ok(schema, "ok (ETag: the revision in force)", status)


def _read(summary: str, reply: str, *params: dict[str, Any], missing: bool = True) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": list(params),
        "responses": {**_ok(ref(reply)), **_errors(401, 403, *((404,) if missing else ()), 503)},
    }


def _write(
    summary: str, reply: str, *params: dict[str, Any], body: dict[str, Any] | None = None, status: int = 200
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [*params, _IF_MATCH],
        "responses": {**_ok(ref(reply), status), **_errors(400, 401, 403, 404, 409, 412, 413, 503)},
    }
    if body is not None:
        operation["requestBody"] = parts.body(body)
    return operation


_DAY = 86400  # every duration's upper bound (acd.settings.DAY)
_OVERFLOW_TARGET: dict[str, Any] = {
    "type": "string",
    "pattern": "^(queue:)?[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "description": "an extension of the dialplan's acd-overflow listed in [routing] overflow_targets, "
    "or queue:<another queue> (docs/kpis.md, Overflow into another queue)",
}
_SPANS: dict[str, Any] = {
    "type": "array",
    "maxItems": 8,
    "items": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]|24):[0-5][0-9]$"},
    "description": "local opening spans HH:MM-HH:MM, the end after the start; none: closed that day",
}
_HOURS: dict[str, Any] = {  # acd.core.hours; null: always open
    "type": "object",
    "nullable": True,
    "required": ["zone"],
    "properties": {
        "zone": {"type": "string", "maxLength": 64, "description": "an IANA time zone, e.g. Europe/Berlin"},
        **{day: _SPANS for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "holidays": {
            "type": "array",
            "maxItems": 366,
            "items": {"type": "string", "format": "date"},
            "description": "local dates on which the queue stays closed",
        },
        "closed": _OVERFLOW_TARGET,
        "announcement": {
            "type": "string",
            "pattern": "^([A-Za-z0-9][A-Za-z0-9_-]{0,63}(&[A-Za-z0-9][A-Za-z0-9_-]{0,63}){0,3})?$",
            "description": "sound names joined by '&', played before the closed treatment",
        },
    },
    "additionalProperties": False,
}
_QUEUE_FIELDS: dict[str, Any] = {
    "skills": {**_LEVELS, "description": "skill = minimum proficiency (1..5); an agent needs all of them"},
    "sla_threshold": {"type": "number", "minimum": 1, "maximum": _DAY},
    "sla_target": {"type": "number", "minimum": 0, "maximum": 1},
    "max_wait": {"type": "number", "minimum": 1, "maximum": _DAY},
    "overflow": _OVERFLOW_TARGET,
    "wrapup": {"type": "number", "minimum": 0, "maximum": _DAY},
    "max_handle": {"type": "number", "minimum": 1, "maximum": _DAY},
    "widening": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["after"],
            "properties": {
                "after": {"type": "number", "minimum": 0, "maximum": _DAY},
                "min_proficiency_drop": {"type": "integer", "minimum": 0, "maximum": 4},
                "extra_skills": _LEVELS,
            },
        },
    },
    "vip_priority_boost": {"type": "integer", "minimum": 0, "maximum": 9},
    "dispositions": {  # the queue's disposition catalogue (docs/kpis.md)
        "type": "array",
        "minItems": 1,
        "maxItems": 100,
        "uniqueItems": True,
        "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,31}/[a-z0-9][a-z0-9_-]{0,31}$"},
    },
    "resolving": {  # the codes of the catalogue marked as resolving (docs/kpis.md, OTF and FCR)
        "type": "array",
        "maxItems": 100,
        "uniqueItems": True,
        "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,31}/[a-z0-9][a-z0-9_-]{0,31}$"},
        "description": "the codes of dispositions that close a contact complete (OTF's full, FCR); left out: "
        "the default catalogue's resolving codes, or every code of a declared catalogue",
    },
    "otf": {
        "type": "object",
        "additionalProperties": False,
        "description": "OTF's criteria (docs/kpis.md, OTF and FCR)",
        "properties": {
            "answer": {"type": "boolean", "description": "on time needs the answer within sla_threshold"},
            "handle": {"type": "boolean", "description": "on time needs talk + wrap-up within max_handle"},
            "resolving": {"type": "boolean", "description": "full needs a resolving disposition"},
            "repeat_window": {
                "type": "number",
                "minimum": 0,
                "maximum": 31 * _DAY,
                "description": "seconds after the call in which a repeat contact makes it not full; 0: not looked for",
            },
            "order_promise": {
                "type": "number",
                "minimum": 1,
                "maximum": 31 * _DAY,
                "description": "seconds from arrival by which an order (disposition kind order) must be closed; "
                "left out: orders are judged as any call",
            },
            "target": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "the OTF ratio the queue aims at (acd_otf_target_ratio, alert AcdOtfBelowTarget); "
                "left out: none",
            },
        },
    },
    "record": {"type": "boolean", "description": "record each answered call (docs/records.md, Recordings)"},
    "announce_waited": {
        "type": "boolean",
        "description": "holding's announcements also say the caller's wait so far, over every stay "
        "(docs/dialplan.md, Holding)",
    },
    "hours": _HOURS,
    "empty_overflow": {
        "type": "number",
        "nullable": True,
        "minimum": 0,
        "maximum": _DAY,
        "description": "seconds before a caller overflows while nobody who can serve the queue is logged in "
        "(or all are paused); 0: at once; null: callers wait",
    },
    "callback_after": {
        "type": "number",
        "minimum": 0,
        "maximum": _DAY,
        "description": "seconds of holding before a callback is offered; left out: never",
    },
    "callback_attempts": {"type": "integer", "minimum": 1, "maximum": 10, "description": "tries to reach the caller"},
    "callback_gap": {"type": "number", "minimum": 1, "maximum": _DAY, "description": "seconds between two tries"},
    "scheduled_callback_priority": {
        "type": "integer",
        "minimum": 0,
        "maximum": 1000,
        "description": "the priority a scheduled callback enters the queue with",
    },
    "ewt_limit": {
        "type": "number",
        "minimum": 0,
        "maximum": _DAY,
        "description": "seconds: a new caller whose estimated wait (the one holding announces) is above it is "
        "diverted at entry by ewt_action; left out: never (docs/kpis.md, Estimated-wait diversion)",
    },
    "ewt_action": {
        "type": "string",
        "enum": ["callback", "overflow"],
        "description": "callback: offered at once; overflow: to the queue's overflow target",
    },
}
AGENT_FIELDS: dict[str, Any] = {  # also shown by GET /agents
    "name": {
        "type": "string",
        "maxLength": 128,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$",
        "description": "a label: no NUL or other control characters",
    },
    "endpoint": {
        "type": "string",
        "pattern": "^(?:[Pp][Jj][Ss][Ii][Pp]/)?[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$",
        "description": "the PJSIP endpoint the PBX dials; PJSIP/<name> is stored as <name>",
    },
    "skills": _LEVELS,
    "team": {
        "type": "string",
        "pattern": "^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$",
        "description": 'the agent\'s team (objectives per team, docs/kpis.md "Teams"); empty: none',
    },
}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _put_and_patch(
    put: str, patch: str, reply: str, param: dict[str, Any], fields: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Replacing an entry (``PUT``: its skills at least) and changing some of its fields (``PATCH``)."""
    return {
        "put": _write(put, reply, param, body=_object(fields, ("skills",))),
        "patch": _write(patch, reply, param, body=_object(fields)),
    }


_SKILL, _QUEUE, _AGENT = path_param("skill"), path_param("queue"), path_param("agent")

PATHS: dict[str, dict[str, Any]] = {
    "/skills": {
        "get": _read("the skill catalogue, each skill with the queues and agents using it", "SkillList", missing=False),
        "post": _write("declare a skill (admin)", "SkillReply", body=_object({"name": _NAME}, ("name",)), status=201),
    },
    "/skills/{skill}": {
        "get": _read("one skill and its users", "SkillReply", _SKILL),
        "put": _write(
            "rename a skill everywhere it is used (admin)",
            "SkillReply",
            _SKILL,
            body=_object({"name": _NAME}, ("name",)),
        ),
        "delete": _write("delete a skill no queue or agent uses (admin)", "Deleted", _SKILL),
    },
    "/queues": {
        "get": _read("queues and their settings (an agent: the queues it serves)", "QueueList", missing=False),
        "post": _write(
            "create a queue (admin)",
            "QueueReply",
            body=_object({"name": _NAME, **_QUEUE_FIELDS}, ("name", "skills")),
            status=201,
        ),
    },
    "/queues/{queue}": {
        "get": _read("one queue's settings", "QueueReply", _QUEUE),
        **_put_and_patch(
            "replace a queue's settings; fields left out take the defaults (supervisor of the queue, admin)",
            "change some of a queue's settings (supervisor of the queue, admin)",
            "QueueReply",
            _QUEUE,
            {"name": _NAME, **_QUEUE_FIELDS},
        ),
        "delete": _write("delete a queue; its waiting and ringing callers overflow (admin)", "Deleted", _QUEUE),
    },
    "/agents": {
        "post": _write(
            "create an agent, logged out (admin; supervisor for their queues' agents)",
            "AgentReply",
            body=_object({"id": _NAME, **AGENT_FIELDS}, ("id", "skills")),
            status=201,
        ),
    },
    "/agents/{agent}": {
        **_put_and_patch(
            "replace an agent's name, endpoint and skills (admin; supervisor within their queues)",
            "change some of an agent's name, endpoint and skills (admin; supervisor within their queues)",
            "AgentReply",
            _AGENT,
            {"id": _NAME, **AGENT_FIELDS},
        ),
        "delete": _write(
            "delete an agent; on a call, they are logged out when it ends (admin; supervisor within their queues)",
            "Deleted",
            _AGENT,
        ),
    },
}

_REVISION = {"type": "integer", "minimum": 0, "description": "the config revision in force (0: the file's)"}


def _revised(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An answer of the config endpoints: one value and the revision in force."""
    return {"type": "object", "required": [name, "revision"], "properties": {name: schema, "revision": _REVISION}}


SCHEMAS: dict[str, Any] = {
    "Skill": {
        "type": "object",
        "required": ["name", "queues", "agents"],
        "properties": {
            "name": {"type": "string"},
            "queues": {"type": "array", "items": {"type": "string"}},
            "agents": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SkillReply": _revised("skill", ref("Skill")),
    "SkillList": _revised("skills", {"type": "array", "items": ref("Skill")}),
    "Queue": {
        "type": "object",
        "required": ["name", "skills"],
        "properties": {"name": {"type": "string"}, **_QUEUE_FIELDS},
    },
    "QueueReply": _revised("queue", ref("Queue")),
    "QueueList": _revised("queues", {"type": "array", "items": ref("Queue")}),
    "Deleted": {
        "type": "object",
        "required": ["deleted", "revision"],
        "properties": {
            "deleted": {"type": "string"},
            "revision": _REVISION,
            "overflowed_calls": {
                "type": "array",
                "items": {"type": "string"},
                "description": "a queue's callers sent to its overflow target",
            },
            "retiring": {"type": "boolean", "description": "an agent on a call: logged out when it ends"},
        },
    },
}
