"""The agent desktop page at ``/agent``: plain HTML, CSS and JS from ``acd/http/static/``, no build step.

The page itself is public (it holds no data); everything it shows comes from /api/v1 with the
agent's bearer token, which the page keeps in the tab's sessionStorage: the desk over
``GET /api/v1/agents/{agent}/events``, the state buttons and wrap-up form over the agent actions, the
transfer form (blind or attended, with the consult's "Complete" and "Back to caller") over
``/api/v1/calls/{call}/transfer`` and "Schedule a callback" with its list over ``/api/v1/callbacks``
(docs/api.md, "The agent desk").
"""

from __future__ import annotations

from aiohttp import web

from acd.http.boundary import page_headers
from acd.http.roles import PUBLIC, Route
from acd.http.wallboard import STATIC

PAGE = "agent.html"


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / PAGE, headers=page_headers())


# The page's rows of the site's route table (``acd.http.app``).
ROWS: tuple[Route, ...] = (
    Route("GET", "/agent", page, PUBLIC),
    Route("GET", "/agent/static", None, PUBLIC, static=STATIC),
)
