"""Which roles may call which route of the site: the row type of its route tables and the one check
of a token's role against them.

Every route is a ``Route`` row: method, path, handler (or a directory of static files), the roles
that may call it and the message a refused role gets. The site's own routes are one table
(``acd.http.app``), /api/v1's another (``acd.http.v1.routes``); each app's router is built from its
table (``RouteTable.mount``), and the token's role is held to the row of its route here
(``RouteTable.refusal``), called by the API's guard and by the wallboard's stream. So a route cannot
be served without its roles being decided. Roles are the tables' business; scopes (which agents and
queues a token of an admitted role reaches) are the handlers'.

Roles: ``public`` (no token), ``scrape`` (the /metrics token, ``ACD_METRICS_TOKEN``), and the API
tokens' ``admin``, ``supervisor``, ``agent`` and ``wallboard``. ``wallboard`` is the read-only role of
wall screens: in /api/v1 it is refused every route that does not list it, even a HEAD of one that
does, before anything else is checked (``wallboard_refusal``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from acd.http import keys

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = frozenset({"public"})  # no token needed
SCRAPE = frozenset({"scrape"})  # the scrape token, checked by /metrics itself
EVERYONE = frozenset({"admin", "supervisor", "agent"})
STAFF = frozenset({"admin", "supervisor"})
ADMIN = frozenset({"admin"})
WALLBOARD = "wallboard"
WALLBOARD_REFUSAL = "a wallboard token may read the wallboard and the status only"


@dataclass(frozen=True, slots=True)
class Route:
    """One route: ``path`` is below the table's prefix; ``refusal`` is the 403's message for another role.

    ``static``: the route serves the files of that directory under ``path``/{filename} (``handler`` is
    None), by name only: the names are read once, when the route is mounted (``static_files``).
    """

    method: str
    path: str
    handler: Handler | None
    roles: frozenset[str]
    refusal: str = ""
    static: Path | None = None


class RouteTable:
    """The rows, mounted under ``prefix``, looked up by the route a request matched."""

    def __init__(self, rows: Iterable[Route], prefix: str = "") -> None:
        self.rows = tuple(rows)
        self.prefix = prefix
        self._rows = {(r.method, prefix + _canonical(r)): r for r in self.rows}
        self._public = frozenset(prefix + r.path for r in self.rows if r.roles == PUBLIC)

    def __iter__(self) -> Iterator[tuple[str, str, Route]]:
        """(method, the route's full canonical path, row) of every row."""
        return ((r.method, self.prefix + _canonical(r), r) for r in self.rows)

    def mount(self, app: web.Application) -> None:
        """Add every row to the app's router (a GET answers HEAD too) and keep the table for the checks."""
        for row in self.rows:
            if row.static is not None:
                app.router.add_get(_canonical(row), static_files(row.static))
            elif row.handler is None:
                raise ValueError(f"route {row.method} {row.path} has neither a handler nor static files")
            elif row.method == "GET":
                app.router.add_get(row.path, row.handler)
            else:
                app.router.add_route(row.method, row.path, row.handler)
        app[keys.ROUTES] = self

    def public(self, request: web.Request) -> bool:
        """Whether the request's path needs no token (whatever its method: a wrong one is a 405)."""
        return request.path in self._public

    def row(self, request: web.Request) -> Route | None:
        """The row of the route the request matched (HEAD: the GET's); None for no route (404 or 405)."""
        resource = request.match_info.route.resource
        if resource is None:
            return None
        method = "GET" if request.method == "HEAD" else request.method
        return self._rows.get((method, resource.canonical))

    def wallboard_refusal(self, request: web.Request) -> str | None:
        """For a wallboard token in /api/v1: the refusal of any request but a GET of a route listing it."""
        row = self.row(request)
        if row is None or row.method != request.method or WALLBOARD not in row.roles:
            return WALLBOARD_REFUSAL
        return None

    def refusal(self, request: web.Request, role: str) -> str | None:
        """The 403's message when ``role`` may not call the request's route; None when it may."""
        row = self.row(request)
        if row is None:
            return WALLBOARD_REFUSAL if role == WALLBOARD else None
        if role in row.roles:
            return None
        return WALLBOARD_REFUSAL if role == WALLBOARD else row.refusal


def _canonical(row: Route) -> str:
    return f"{row.path}/{{filename}}" if row.static is not None else row.path


def static_files(directory: Path) -> Handler:
    """A handler serving the files ``directory`` holds when called, by their bare name, and nothing else.

    Not aiohttp's ``add_static``: it resolves whatever path it is given on the file system, so a name
    longer than the system allows fails there with ``OSError`` and the request gets a 500 (one in a
    fuzzed run found it); and a name that leaves the directory, or a sub-directory, has its own 403.
    Here a name is only looked up in a fixed set: anything else is a plain 404."""
    files = {p.name: p for p in directory.iterdir() if p.is_file()}

    async def serve(request: web.Request) -> web.StreamResponse:
        path = files.get(request.match_info["filename"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    return serve
