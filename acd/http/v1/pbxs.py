"""``GET /api/v1/pbxs``: each PBX, in the file's order, as the ACD sees it now (docs/pbxs.md, "The list
of PBXs"): whether its link is up, whether its ``SystemName`` is wrong, whether it is lost, its open
calls and, with ``[kamailio]``, the dispatcher's state of it.

Supervisors and admins only, as ``GET /cluster``. No address and no secret: each PBX by its name.
Read between two events of the core (the handler never awaits), so the calls are one moment's.
"""

from __future__ import annotations

from aiohttp import web

from acd.http.keys import LIVE, PBXS


async def pbxs(request: web.Request) -> web.Response:
    board = request.app.get(PBXS)
    if board is None:  # call control handed in (tests): no PBX link of the ACD's own
        return web.json_response({"pbxs": []})
    live = request.app[LIVE]
    return web.json_response({"pbxs": board.rows(live.snapshot(live.now()).pbx_calls)})
