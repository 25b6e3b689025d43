"""A supervisor joins an agent's conversation: ``POST /api/v1/calls/{call}/monitor``.

``{"mode": "listen" | "whisper" | "barge", "supervisor_endpoint": "<phone>"}``: the PBX rings that
supervisor's phone and, once answered, joins it to the agent's leg of the call with ChanSpy
(docs/dialplan.md, "Supervisor monitoring"). The phone must be one of the configured supervisors'
phones (``[[supervisors]]`` in acd.toml; 400 otherwise). Supervisors and admins only (the route
table's roles); a supervisor's token only for calls in its queues, and the phone only for calls in
its own (403 for a call elsewhere). The core checks, at the moment it handles the request, that the
call is talking (409) and known (404), and changes nothing: the agent's state and the call's record
stay as they were. Audited as ``call.monitor`` whatever the answer.
"""

from __future__ import annotations

from aiohttp import web

from acd.core.events import MonitorRequested
from acd.dialling import ENDPOINT_RULE, is_endpoint
from acd.http.keys import LIVE, RUNTIME, SUPERVISORS, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields, json_object

MODES = ("listen", "whisper", "barge")


async def monitor(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset({"mode", "supervisor_endpoint"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    mode = fields.choice("mode", MODES)
    if mode is None and "mode" not in fields.problems:
        fields.problems["mode"] = f"required: one of {', '.join(MODES)}"
    endpoint = fields.text("supervisor_endpoint", required=True, max_length=64)
    phones = request.app[SUPERVISORS]
    phone = next((p for p in phones if p.endpoint == endpoint), None)
    if endpoint and phone is None and "supervisor_endpoint" not in fields.problems:
        fields.problems["supervisor_endpoint"] = (
            f"not a supervisor's phone; configured: {', '.join(p.endpoint for p in phones) or 'none'}"
            if is_endpoint(endpoint)
            else f"a PJSIP endpoint name ({ENDPOINT_RULE}) of a configured supervisor's phone"
        )
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert mode is not None and phone is not None  # else ``bad`` named them
    live = request.app[LIVE]
    queues = visible_queues(request[TOKEN], live.config)
    if phone.queues:
        queues = set(phone.queues) if queues is None else queues & set(phone.queues)
    event = MonitorRequested(
        phone.endpoint,
        mode,  # type: ignore[arg-type]  # one of MODES, checked above
        call_id=call_id,
        queues=None if queues is None else tuple(sorted(queues)),
    )

    async def change() -> web.Response:
        await request.app[RUNTIME].ask(event)
        return web.json_response(
            {"monitor": {"call": call_id, "mode": mode, "supervisor_endpoint": phone.endpoint}}, status=202
        )

    details = {"mode": mode, "supervisor_endpoint": phone.endpoint}
    return await audited(request, "call.monitor", call_id, details, change)
