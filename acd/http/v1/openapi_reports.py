"""The OpenAPI operations of the reports (``acd.http.v1.reports``), merged into
``acd.http.v1.openapi.DOCUMENT``; kept beside their handler's rules."""

from __future__ import annotations

from typing import Any

from acd.http.v1.openapi_parts import errors, ok, query, ref

_TEXT = {
    400: "invalid query (details.fields names each value that does not fit)",
    401: "no valid bearer token",
    403: "beyond the token's role or scope (a queue or an agent not the token's)",
    503: "shutting down, or PostgreSQL unavailable",
}
_PERIOD = [
    query("from", {"type": "string", "format": "date-time"}, "start, with a UTC offset (required)"),
    query("to", {"type": "string", "format": "date-time"}, "exclusive end, at most 31 days after from (required)"),
]
_OPEN = {
    "type": "object",
    "required": ["waiting", "handling", "queues", "note"],
    "description": "calls of the period still open: in none of the figures (docs/kpis.md)",
    "properties": {
        "waiting": {"type": "integer"},
        "handling": {"type": "integer"},
        "queues": {"type": "object"},
        "note": {"type": "string", "nullable": True},
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/reports/intervals": {
        "get": {
            "summary": "per queue and interval of local time: offered, answered, abandoned (short apart), SL, "
            "ASA, AHT, waits, agents logged in, occupancy (supervisors of the queues, admins)",
            "parameters": [
                *_PERIOD,
                query("zone", {"type": "string"}, "IANA time zone the intervals follow, e.g. Europe/Berlin (required)"),
                query("interval", {"type": "string", "enum": ["15m", "30m", "60m"]}, "interval length (15m)"),
                query("queue", {"type": "string"}, "one queue (default: every queue the token may read)"),
                query("format", {"type": "string", "enum": ["json", "csv"]}, "csv: the WFM interval-history layout"),
            ],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {"schema": ref("IntervalReport")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **errors(_TEXT, 400, 401, 403, 503),
            },
        }
    },
    "/reports/agents": {
        "get": {
            "summary": "agent scorecards: an agent's own, a supervisor's agents, any for an admin",
            "parameters": [*_PERIOD, query("agent", {"type": "string"}, "one agent")],
            "responses": {**ok(ref("Scorecards")), **errors(_TEXT, 400, 401, 403, 503)},
        }
    },
}

SCHEMAS: dict[str, Any] = {
    "IntervalReport": {
        "type": "object",
        "required": ["from", "to", "interval", "zone", "intervals", "open_calls"],
        "properties": {
            "from": {"type": "string"},
            "to": {"type": "string"},
            "interval": {"type": "string"},
            "zone": {"type": "string"},
            "intervals": {"type": "array", "items": {"type": "object"}},
            "open_calls": _OPEN,
        },
    },
    "Scorecards": {
        "type": "object",
        "required": ["from", "to", "scorecards", "open_calls"],
        "properties": {
            "from": {"type": "string"},
            "to": {"type": "string"},
            "scorecards": {"type": "array", "items": ref("Scorecard")},
            "open_calls": _OPEN,
        },
    },
    "Scorecard": {
        "type": "object",
        "description": 'one agent over the period (docs/kpis.md, "Agent scorecard"); figures undefined are null',
        "required": [
            "agent",
            "answered",
            "handled",
            "otf",
            "otf_settled",
            "otf_met",
            "otf_pending",
            "team",
            "objectives",
        ],
        "properties": {
            "agent": {"type": "string"},
            "answered": {"type": "integer"},
            "handled": {"type": "integer"},
            "otf": {"type": "number", "nullable": True, "description": "settled on time and full / settled"},
            "otf_settled": {"type": "integer"},
            "otf_met": {"type": "integer"},
            "otf_pending": {"type": "integer", "description": "verdicts not settled yet: in neither count"},
            "team": {"type": "string", "nullable": True, "description": "null: the agent belongs to no team"},
            "objectives": {
                "type": "array",
                "description": "the team's objectives and the agent's own, held to the agent's figure over "
                "the period; empty for an agent with no team and no objective of their own",
                "items": ref("ScorecardObjective"),
            },
        },
    },
    "ScorecardObjective": {
        "type": "object",
        "required": ["objective", "metric", "kind", "scope", "comparison", "target", "period", "value", "met"],
        "properties": {
            "objective": {"type": "string"},
            "metric": {"type": "string"},
            "kind": {"type": "string", "enum": ["ratio", "seconds", "count"]},
            "scope": {"type": "string", "enum": ["team", "agent"]},
            "comparison": {"type": "string", "enum": [">=", ">", "<=", "<"]},
            "target": {"type": "number"},
            "period": {"type": "string", "description": "the objective's own period (not the one counted here)"},
            "value": {"type": "number", "nullable": True, "description": "the agent's figure over the period"},
            "met": {"type": "boolean", "nullable": True, "description": "null while the value is undefined"},
        },
    },
}
