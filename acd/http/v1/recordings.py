"""Call recordings through /api/v1: listen to one, and pause or resume the recording of a call in
progress (docs/records.md, "Recordings").

Who listens: admins; supervisors, for the calls of their queues; an agent, for their own calls only
when ``[recordings] agents_own`` allows it. A recording is a person's voice, so every listen is an
audit row (``recording.listen``), as is every refusal to someone who asked for an existing one. The
file is streamed as it is (``audio/wav``; aiohttp's ``FileResponse`` answers ``Range`` requests, so a
browser's player can seek); its name comes from the records, checked again, never from the request.

Who pauses: the agent on the call, supervisors of its queue, admins; audited (``recording.pause`` /
``recording.resume``). The same pause is open to the agent's phone by feature code (docs/dialplan.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from acd.http import errors
from acd.http.keys import AUDIT, ENGINE, LIVE, RECORDER, RECORDINGS, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields, json_object
from acd.recordings import FILE, NoAgentLeg, NotRecording
from acd.records.errors import DatabaseUnavailable
from acd.records.models import Interaction, Recording
from acd.records.stores.audit import Change
from acd.records.stores.tokens import Token

ACTIONS = ("pause", "resume")


def _may_listen(token: Token, queue: str, agent_id: str | None, agents_own: bool) -> bool:
    if token.role == "admin":
        return True
    if token.role == "supervisor":
        return queue in token.queues
    if token.role == "agent":
        return agents_own and agent_id is not None and agent_id == token.agent_id
    return False


async def _audit(request: web.Request, target: str, status: int, details: dict[str, Any]) -> None:
    token = request[TOKEN]
    await request.app[AUDIT].write(
        Change(datetime.now(UTC), token.id, token.role, token.agent_id, "recording.listen", target, status, details)
    )


async def listen(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["interaction"]
    try:
        interaction_id = uuid.UUID(raw)
    except ValueError:
        return _no_recording(raw)
    query = (
        select(Recording.file, Recording.deleted_at, Recording.seconds, Interaction.queue, Interaction.agent_id)
        .join(Interaction, Interaction.id == Recording.id)
        .where(Recording.id == interaction_id)
    )
    try:
        async with request.app[ENGINE].connect() as conn:
            row = (await conn.execute(query)).first()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the recording: {exc}") from exc
    if row is None:
        return _no_recording(raw)
    name, deleted_at, seconds, queue, agent_id = row
    target = str(interaction_id)
    settings = request.app[RECORDINGS]
    if not _may_listen(request[TOKEN], queue, agent_id, settings.agents_own):
        await _audit(request, target, 403, {"queue": queue})
        return errors.forbidden("recordings are for admins and the supervisors of the call's queue")
    if deleted_at is not None:
        await _audit(request, target, 410, {"queue": queue})
        return errors.error(
            410,
            "recording-deleted",
            "the retention policy deleted this recording",
            {"deleted_at": deleted_at.isoformat()},
        )
    path = Path(settings.directory) / name
    if not FILE.fullmatch(name) or not path.is_file():
        await _audit(request, target, 404, {"queue": queue})
        return errors.error(404, "recording-missing", "the recording's file is not in the recordings directory", {})
    await _audit(request, target, 200, {"queue": queue, "seconds": seconds})
    return web.FileResponse(
        path, headers={"Content-Type": "audio/wav", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    )


def _no_recording(raw: str) -> web.Response:
    return errors.error(404, "no-such-recording", "no recording of that interaction", {"id": raw[:64]})


async def pause(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset({"action"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    action = fields.choice("action", ACTIONS)
    if action is None and "action" not in fields.problems:
        fields.problems["action"] = "required: pause or resume"
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert action is not None
    token, live = request[TOKEN], request.app[LIVE]
    queue = live.call_queue(call_id)
    recorder = request.app.get(RECORDER)
    if queue is None or recorder is None or not recorder.recording(call_id):
        return errors.error(404, "not-recording", f"no recording runs for call {call_id[:64]!r}", {"id": call_id[:64]})
    if token.role == "agent":
        view = live.agent_view(token.agent_id or "", live.now())
        if view is None or view.call_id != call_id:
            return errors.forbidden("an agent pauses the recording of their own call only")
    else:
        shown = visible_queues(token, live.config)
        if shown is not None and queue.name not in shown:
            return errors.error(404, "not-recording", f"no recording runs for call {call_id[:64]!r}", {"id": call_id})

    async def change() -> web.Response:
        try:
            changed = await recorder.pause(call_id, action == "pause")
        except NotRecording:
            return errors.error(404, "not-recording", "the call's recording has ended", {"id": call_id})
        except NoAgentLeg:
            return errors.error(409, "no-agent-leg", "the agent's channel of this call is not known", {})
        except Exception as exc:  # the PBX refused (MixMonitorMute)
            return errors.error(502, "pbx-refused", f"the PBX did not {action} the recording: {exc}", {})
        return web.json_response(
            {"call": call_id, "recording": "paused" if recorder.paused(call_id) else "recording", "changed": changed}
        )

    return await audited(request, f"recording.{action}", call_id, {"queue": queue.name}, change)
