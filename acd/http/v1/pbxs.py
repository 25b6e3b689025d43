"""``GET /api/v1/pbxs``: each PBX, in the file's order, as the ACD sees it now (docs/pbxs.md, "The list
of PBXs"): whether its link is up, whether its ``SystemName`` is wrong, whether it is lost, its open
calls and, with ``[kamailio]``, the dispatcher's state of it.

Supervisors and admins only, as ``GET /cluster``. No address and no secret: each PBX by its name.
Read between two events of the core (the handler never awaits), so the calls are one moment's.
A standby links to no PBX (docs/standby.md): its rows would all read "unlinked", so it answers 503
``standby`` and the list is the leader's to give.
"""

from __future__ import annotations

from aiohttp import web

from acd.http import errors
from acd.http.keys import LIVE, PBXS


async def pbxs(request: web.Request) -> web.Response:
    board = request.app.get(PBXS)
    if board is None:  # call control handed in (tests): no PBX link of the ACD's own
        return web.json_response({"pbxs": []})
    live = request.app[LIVE]
    if live.standing_by:
        return errors.error(503, "standby", "standby: this instance links to no PBX; ask the leader for the PBXs")
    return web.json_response({"pbxs": board.rows(live.snapshot(live.now()).pbx_calls)})
