"""Which roles may call which route of /api/v1: the row type of the API's route table and the one check
of a token's role against it.

Every route is a ``Route`` row (``acd.http.v1.routes``): method, path, handler, the roles that may call
it and the message a refused role gets. The API's router is built from the rows (``RouteTable.mount``)
and the guard (``acd.http.v1.auth``) admits a token by the row of its route, so a route cannot be
served without its roles being decided. Roles are this table's business; scopes (which agents and
queues a token of an admitted role reaches) are the handlers'.

``wallboard`` is the read-only role of wall screens: it is refused every route that does not list it,
even a HEAD of one that does, before anything else is checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from aiohttp import web

from acd.http import keys

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = frozenset({"public"})  # no token needed
EVERYONE = frozenset({"admin", "supervisor", "agent"})
STAFF = frozenset({"admin", "supervisor"})
ADMIN = frozenset({"admin"})
WALLBOARD = "wallboard"
WALLBOARD_REFUSAL = "a wallboard token may read the wallboard and the status only"


@dataclass(frozen=True, slots=True)
class Route:
    """One route: ``path`` is below the API's prefix; ``refusal`` is the 403's message for another role."""

    method: str
    path: str
    handler: Handler
    roles: frozenset[str]
    refusal: str = ""


class RouteTable:
    """The rows, mounted under ``prefix``, looked up by the route a request matched."""

    def __init__(self, rows: Iterable[Route], prefix: str) -> None:
        self.rows = tuple(rows)
        self.prefix = prefix
        self._rows = {(r.method, prefix + r.path): r for r in self.rows}
        self._public = frozenset(prefix + r.path for r in self.rows if r.roles == PUBLIC)

    def __iter__(self) -> Iterator[tuple[str, str, Route]]:
        """(method, the route's full canonical path, row) of every row."""
        return ((r.method, self.prefix + r.path, r) for r in self.rows)

    def mount(self, app: web.Application) -> None:
        """Add every row to the app's router (a GET answers HEAD too) and keep the table for the guard."""
        for row in self.rows:
            if row.method == "GET":
                app.router.add_get(row.path, row.handler)
            else:
                app.router.add_route(row.method, row.path, row.handler)
        app[keys.ROUTES] = self

    def public(self, request: web.Request) -> bool:
        """Whether the request's path needs no token (whatever its method: a wrong one is a 405)."""
        return request.path in self._public

    def row(self, request: web.Request) -> Route | None:
        """The row of the route the request matched; None for no route (the router answers 404 or 405)."""
        resource = request.match_info.route.resource
        if resource is None:
            return None
        method = "GET" if request.method == "HEAD" else request.method
        return self._rows.get((method, resource.canonical))

    def wallboard_refusal(self, request: web.Request) -> str | None:
        """For a wallboard token: the refusal of any route but the few it lists (checked first)."""
        row = self.row(request)
        if row is None or row.method != request.method or WALLBOARD not in row.roles:
            return WALLBOARD_REFUSAL
        return None

    def refusal(self, request: web.Request, role: str) -> str | None:
        """The 403's message when ``role`` may not call the request's route; None when it may."""
        if role == WALLBOARD:
            return self.wallboard_refusal(request)
        row = self.row(request)
        if row is None or role in row.roles:
            return None
        return row.refusal
