"""The OpenAPI operations of /objectives (``acd.http.v1.objectives``): objectives (KPOs) and where
they stand, kept with the routing config's revisions (docs/kpis.md, "Objectives")."""

from __future__ import annotations

from typing import Any

from acd.core.objectives import COMPARISONS, METRICS, PERIODS, STATUSES
from acd.http.v1 import openapi_config as config
from acd.http.v1.openapi_parts import path_param, ref

_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"}
_DATE = {"type": "string", "format": "date"}
FIELDS: dict[str, Any] = {
    "metric": {"type": "string", "enum": list(METRICS)},
    "comparison": {"type": "string", "enum": list(COMPARISONS)},
    "target": {"type": "number", "minimum": 0, "description": "a ratio 0..1, seconds or a count, as the metric"},
    "queue": {**_NAME, "description": "scope: one queue"},
    "queues": {"type": "array", "minItems": 1, "items": _NAME, "description": "scope: a group of queues"},
    "agent": {**_NAME, "description": "scope: one agent"},
    "team": {**_NAME, "description": "scope: the agents of a team"},
    "period": {"type": "string", "enum": list(PERIODS)},
    "from": {**_DATE, "description": 'period "dates": the first day'},
    "to": {**_DATE, "description": 'period "dates": the last day (included)'},
    "owner": {"type": "string", "maxLength": 128},
    "note": {"type": "string", "maxLength": 1024},
}
_NUMBER_OR_NULL = {"type": "number", "nullable": True}
_STANDING = {
    "type": "object",
    "required": ["start", "end", "attainment", "projection", "status"],
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "attainment": {**_NUMBER_OR_NULL, "description": "the metric over the period so far; null: nothing counted"},
        "projection": {**_NUMBER_OR_NULL, "description": "the metric projected to the period's end"},
        "status": {"type": "string", "enum": list(STATUSES)},
    },
}
_OBJECTIVE_PATH = path_param("objective")

PATHS: dict[str, dict[str, Any]] = {
    "/objectives": {
        "get": config._read(
            "objectives with their standing now (supervisor: of their scope; admin)", "ObjectiveList", missing=False
        ),
        "post": config._write(
            "create an objective (admin; supervisor for their queues)",
            "ObjectiveReply",
            body=config._object({"name": _NAME, **FIELDS}, ("name", "metric", "comparison", "target")),
            status=201,
        ),
    },
    "/objectives/{objective}": {
        "get": config._read("one objective with its standing now", "ObjectiveStanding", _OBJECTIVE_PATH),
        "patch": config._write(
            "change some of an objective's fields; a scope key replaces the scope (admin; supervisor for their queues)",
            "ObjectiveReply",
            _OBJECTIVE_PATH,
            body=config._object({"name": _NAME, **FIELDS}),
        ),
        "delete": config._write("delete an objective (admin; supervisor for their queues)", "Deleted", _OBJECTIVE_PATH),
    },
}

_OBJECTIVE = {"type": "object", "required": ["name", "metric"], "properties": {"name": {"type": "string"}, **FIELDS}}
SCHEMAS: dict[str, Any] = {
    "Objective": _OBJECTIVE,
    "ObjectiveWithStanding": {
        "type": "object",
        "required": ["name", "metric", "standing"],
        "properties": {"name": {"type": "string"}, **FIELDS, "standing": _STANDING},
    },
    "ObjectiveReply": config._revised("objective", ref("Objective")),
    "ObjectiveStanding": config._revised("objective", ref("ObjectiveWithStanding")),
    "ObjectiveList": config._revised("objectives", {"type": "array", "items": ref("ObjectiveWithStanding")}),
}
