"""Reports through /api/v1: the interval report and agent scorecards, as ``acd report`` gives them.

The figures are ``acd.records.intervals``' and ``acd.records.scorecard``'s (docs/kpis.md); this
module reads and checks the query, holds each token to its scope and answers JSON, or for the
interval report the workforce-management CSV. Scopes: an interval report is for supervisors (their
queues) and admins; a scorecard is an agent's own, a supervisor's agents (those serving one of their
queues), or anyone's for an admin; only those agents' figures are read. A scorecard carries the agent's
OTF and the objectives of the agent's team (and the agent's own) with the agent's figure against each
target: the agent and an admin read them all, a supervisor those GET /objectives shows them
(``acd.http.v1.objectives.sees``). Every answer names the calls of its period still open.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from acd.http import errors
from acd.http.keys import ENGINE, LIVE, OBJECTIVES_ZONE, TOKEN
from acd.http.v1.auth import may_act_on, visible_queues
from acd.http.v1.input import Fields
from acd.http.v1.objectives import sees
from acd.records import intervals, report, scorecard
from acd.records.errors import DatabaseUnavailable

INTERVALS = tuple(f"{m}m" for m in intervals.INTERVAL_MINUTES)
MAX_DAYS = 31


def _period(fields: Fields) -> tuple[datetime, datetime] | None:
    """``from`` and ``to`` (required, with a UTC offset, ``to`` after ``from``, at most MAX_DAYS apart)."""
    start, end = fields.timestamp("from"), fields.timestamp("to")
    for name, value in (("from", start), ("to", end)):
        if value is None and name not in fields.problems:
            fields.problems[name] = "required: an ISO 8601 date-time with a UTC offset"
    if start is None or end is None:
        return None
    if end <= start:
        fields.problems["to"] = "must be after from"
        return None
    if (end - start).total_seconds() > MAX_DAYS * 86400:
        fields.problems["to"] = f"at most {MAX_DAYS} days after from"
        return None
    return start, end


def _zone(fields: Fields) -> tzinfo | None:
    name = fields.text("zone", required=True, max_length=64)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fields.problems["zone"] = "an IANA time zone, e.g. Europe/Berlin"
        return None


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _open_json(found: dict[str, report.OpenCalls]) -> dict[str, Any]:
    return {
        "waiting": sum(o.waiting for o in found.values()),
        "handling": sum(o.handling for o in found.values()),
        "queues": {q: {"waiting": o.waiting, "handling": o.handling} for q, o in sorted(found.items())},
        "note": report.open_calls_note(found),
    }


async def interval_report(request: web.Request) -> web.Response:
    token = request[TOKEN]
    fields = Fields(request.query)
    period = _period(fields)
    minutes = fields.choice("interval", INTERVALS) or "15m"
    zone = _zone(fields)
    queue = fields.text("queue", max_length=200)
    fmt = fields.choice("format", ("json", "csv")) or "json"
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert period is not None and zone is not None  # else ``bad`` named them
    shown = visible_queues(token, request.app[LIVE].config)
    if queue and shown is not None and queue not in shown:
        return errors.forbidden(f"queue {queue!r} is not one of this token's queues")
    wanted = frozenset({queue}) if queue else (frozenset(shown) if shown is not None else None)
    start, end = period
    try:
        rows = await intervals.interval_report(
            request.app[ENGINE], start, end, int(minutes.removesuffix("m")), zone, queues=wanted
        )
        still = await report.open_calls(request.app[ENGINE], start, end)
    except ValueError as exc:  # too many intervals for one answer
        return errors.invalid("the period holds too many intervals", {"to": str(exc)})
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the interval report: {exc}") from exc
    if wanted is not None:
        still = {q: o for q, o in still.items() if q in wanted}
    if fmt == "csv":
        out = io.StringIO()
        table = intervals.wfm_rows(rows)
        writer = csv.DictWriter(out, list(table[0]) if table else ["Date"], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(table)
        headers = {"Content-Disposition": 'attachment; filename="intervals.csv"'}
        note = report.open_calls_note(still)
        if note is not None:
            headers["X-ACD-Open-Calls"] = str(sum(o.total for o in still.values()))
        return web.Response(text=out.getvalue(), content_type="text/csv", headers=headers)
    return web.json_response(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "interval": minutes,
            "zone": str(zone),
            "intervals": [{k: _json_value(v) for k, v in dataclasses.asdict(r).items()} for r in rows],
            "open_calls": _open_json(still),
        }
    )


async def scorecards(request: web.Request) -> web.Response:
    token = request[TOKEN]
    fields = Fields(request.query)
    period = _period(fields)
    agent = fields.text("agent", max_length=200)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert period is not None
    config = request.app[LIVE].config
    if token.role == "agent":
        if agent and agent != token.agent_id:
            return errors.forbidden("an agent token reads only the agent's own scorecard")
        agent = token.agent_id or ""
    elif agent and not may_act_on(token, config, agent):
        return errors.forbidden(f"agent {agent!r} serves none of this token's queues")
    start, end = period
    if agent:
        wanted: frozenset[str] | None = frozenset({agent})
    elif token.role == "admin":
        wanted = None
    else:  # a supervisor's agents: only theirs are read
        wanted = frozenset(a.id for a in config.agents if may_act_on(token, config, a.id))
    try:
        cards = await scorecard.scorecards(
            request.app[ENGINE],
            start,
            end,
            config,
            wanted,
            as_of=datetime.now(UTC),
            zone=ZoneInfo(request.app[OBJECTIVES_ZONE]),
        )
        still = await report.open_calls(request.app[ENGINE], start, end)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the scorecards: {exc}") from exc
    if token.role == "supervisor":  # the objectives GET /objectives shows them, not the others
        objectives = {o.name: o for o in config.objectives}
        cards = [
            dataclasses.replace(c, objectives=[k for k in c.objectives if sees(token, config, objectives[k.objective])])
            for c in cards
        ]
    shown = visible_queues(token, config)
    if shown is not None:  # the open calls of the queues the token may read, not the others'
        still = {q: o for q, o in still.items() if q in shown}
    return web.json_response(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "scorecards": [dataclasses.asdict(c) for c in cards],
            "open_calls": _open_json(still),
        }
    )
