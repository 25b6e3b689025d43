"""The aiohttp application's own routes: metrics, health and readiness, and the HTML pages (wallboard,
agent desk), in one table with their roles (``ROUTES``); the REST API is /api/v1 (``acd.http.v1``),
mounted beside them by ``acd.http.site``.

``/healthz`` and ``/readyz`` are public and say no more than a probe needs (no exception text).
``/metrics`` takes the scrape token (``ACD_METRICS_TOKEN``) when one is set, and otherwise answers
clients on the loopback interface only: the series name queues and agents, which a LAN has no business
reading.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from acd.http import agent_page, errors, wallboard
from acd.http.keys import HEALTH, LIVE, METRICS, METRICS_TOKEN, READY, RUNTIME, Health, Ready
from acd.http.roles import PUBLIC, SCRAPE, Route, RouteTable
from acd.live_view import LiveView
from acd.metrics import Metrics
from acd.runtime import Runtime


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return jsonable(value.value)
    return value


async def metrics(request: web.Request) -> web.Response:
    refusal = _scraper_refusal(request)
    if refusal is not None:
        return refusal
    # Rendered in a thread: with thousands of agents a scrape takes a fifth of a second of CPU, and
    # the event loop must keep routing meanwhile (it gets the interpreter back every few ms).
    body = await asyncio.to_thread(generate_latest, request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _scraper_refusal(request: web.Request) -> web.Response | None:
    expected = request.app.get(METRICS_TOKEN, "")
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(errors="surrogatepass"), expected.encode()
        ):
            return None
        return errors.unauthorized("/metrics needs the scrape token: Authorization: Bearer <ACD_METRICS_TOKEN>")
    if loopback(request.remote):
        return None
    return errors.forbidden(
        "/metrics answers the loopback interface only unless a scrape token is set (ACD_METRICS_TOKEN)"
    )


def loopback(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


async def healthz(request: web.Request) -> web.Response:
    health = dict(request.app[HEALTH]())
    return web.json_response(health, status=200 if health.get("ok") else 503)


async def readyz(request: web.Request) -> web.Response:
    """200 when the AMI link is up, PostgreSQL answers and this process leads; 503 saying which is not
    otherwise (a standby: ``"role": "standby"``, docs/standby.md).

    Public, so it says up or down and nothing of why (an exception's text names hosts and users).
    """
    readiness = await request.app[READY]()
    details = {
        "ami_connected": readiness.ami_connected,
        "database_reachable": readiness.database_reachable,
        "role": readiness.role,
    }
    if not readiness.ready:
        return errors.not_ready(readiness.down(), details)
    return web.json_response({"ready": True, **details})


# Every route of the site beside /api/v1 (whose own table is ``acd.http.v1.routes``), with its roles.
ROUTES = RouteTable(
    (
        Route("GET", "/metrics", metrics, SCRAPE),
        Route("GET", "/healthz", healthz, PUBLIC),
        Route("GET", "/readyz", readyz, PUBLIC),
        *wallboard.ROWS,
        *agent_page.ROWS,
    )
)


def build_app(
    runtime: Runtime, metrics_: Metrics, health: Health, *, ready: Ready, middlewares: Iterable[Middleware] = ()
) -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=middlewares)
    app[RUNTIME] = runtime
    app[LIVE] = LiveView(runtime)
    app[METRICS] = metrics_
    app[HEALTH] = health
    app[READY] = ready
    ROUTES.mount(app)
    wallboard.run_wallboard(app, app[LIVE], objectives=metrics_.objectives)
    return app
