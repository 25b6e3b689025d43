"""Every route of the site, as the service builds it (``acd.http.site``), is in one table with the roles
that may call it, and each route holds to its row. The roles are the site's route tables, from which
its routers are built: ``acd.http.app.ROUTES`` and /api/v1's ``acd.http.v1.routes``; this test adds a
sample path for each route.

For each route: without a token, a public route answers and any other is refused (401); with a
token of each role, a listed role gets past the guard (any answer but 401/403/429) and every other
role is refused with 403. A route the table does not list, or that the table lists but the app no
longer serves, fails the test: adding a route means deciding who may call it, here.

Roles: ``public`` (no token), ``scrape`` (the /metrics token), and the API's ``admin``,
``supervisor`` (of billing), ``agent`` (a1, who serves billing) and ``wallboard``. Sample paths pick
targets inside the role's scope; state-changing requests carry a stale ``If-Match`` so that a config
change allowed by the guard is refused by the revision check and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from api_v1_harness import SCRAPE_TOKEN, V1, add_interactions, api_pg, v1  # noqa: F401

from acd.http import app
from acd.http.roles import PUBLIC, SCRAPE
from acd.http.v1 import TABLE

pytestmark = pytest.mark.pg

ROLE_TOKENS = {"admin": "admin", "supervisor": "billing", "agent": "a1", "wallboard": "wall"}

# A sample path of each route, inside the scope of every role's token.
SAMPLES: dict[tuple[str, str], str] = {
    ("GET", "/metrics"): "/metrics",
    ("GET", "/healthz"): "/healthz",
    ("GET", "/readyz"): "/readyz",
    ("GET", "/wallboard"): "/wallboard",
    ("GET", "/wallboard/static/{filename}"): "/wallboard/static/wallboard.js",
    ("GET", "/wallboard/events"): "/wallboard/events",
    ("GET", "/agent"): "/agent",
    ("GET", "/agent/static/{filename}"): "/agent/static/agent.js",
    ("GET", "/api/v1/openapi.json"): "/api/v1/openapi.json",
    ("GET", "/api/v1/status"): "/api/v1/status",
    ("GET", "/api/v1/cluster"): "/api/v1/cluster",
    ("GET", "/api/v1/pbxs"): "/api/v1/pbxs",
    ("GET", "/api/v1/agents"): "/api/v1/agents",
    ("POST", "/api/v1/agents"): "/api/v1/agents",
    ("GET", "/api/v1/agents/{agent}"): "/api/v1/agents/a1",
    ("PUT", "/api/v1/agents/{agent}"): "/api/v1/agents/a1",
    ("PATCH", "/api/v1/agents/{agent}"): "/api/v1/agents/a1",
    ("DELETE", "/api/v1/agents/{agent}"): "/api/v1/agents/a1",
    ("POST", "/api/v1/agents/{agent}/login"): "/api/v1/agents/a1/login",
    ("POST", "/api/v1/agents/{agent}/logout"): "/api/v1/agents/a1/logout",
    ("POST", "/api/v1/agents/{agent}/pause"): "/api/v1/agents/a1/pause",
    ("POST", "/api/v1/agents/{agent}/resume"): "/api/v1/agents/a1/resume",
    ("POST", "/api/v1/agents/{agent}/ready"): "/api/v1/agents/a1/ready",
    ("POST", "/api/v1/agents/{agent}/wrapup"): "/api/v1/agents/a1/wrapup",
    ("GET", "/api/v1/agents/{agent}/events"): "/api/v1/agents/a1/events",
    ("GET", "/api/v1/skills"): "/api/v1/skills",
    ("POST", "/api/v1/skills"): "/api/v1/skills",
    ("GET", "/api/v1/skills/{skill}"): "/api/v1/skills/billing",
    ("PUT", "/api/v1/skills/{skill}"): "/api/v1/skills/billing",
    ("DELETE", "/api/v1/skills/{skill}"): "/api/v1/skills/billing",
    ("GET", "/api/v1/objectives"): "/api/v1/objectives",
    ("POST", "/api/v1/objectives"): "/api/v1/objectives",
    ("GET", "/api/v1/objectives/{objective}"): "/api/v1/objectives/billing-sl",
    ("PATCH", "/api/v1/objectives/{objective}"): "/api/v1/objectives/billing-sl",
    ("DELETE", "/api/v1/objectives/{objective}"): "/api/v1/objectives/billing-sl",
    ("GET", "/api/v1/queues"): "/api/v1/queues",
    ("POST", "/api/v1/queues"): "/api/v1/queues",
    ("GET", "/api/v1/queues/{queue}"): "/api/v1/queues/billing",
    ("PUT", "/api/v1/queues/{queue}"): "/api/v1/queues/billing",
    ("PATCH", "/api/v1/queues/{queue}"): "/api/v1/queues/billing",
    ("DELETE", "/api/v1/queues/{queue}"): "/api/v1/queues/billing",
    ("GET", "/api/v1/calls/{call}/explanation"): "/api/v1/calls/c-none/explanation",
    ("POST", "/api/v1/calls/{call}/priority"): "/api/v1/calls/c-none/priority",
    ("POST", "/api/v1/calls/{call}/queue"): "/api/v1/calls/c-none/queue",
    ("POST", "/api/v1/calls/{call}/transfer"): "/api/v1/calls/c-none/transfer",
    ("POST", "/api/v1/calls/{call}/monitor"): "/api/v1/calls/c-none/monitor",
    ("POST", "/api/v1/calls/{call}/transfer/complete"): "/api/v1/calls/c-none/transfer/complete",
    ("POST", "/api/v1/calls/{call}/transfer/cancel"): "/api/v1/calls/c-none/transfer/cancel",
    ("GET", "/api/v1/interactions"): "/api/v1/interactions",
    (
        "GET",
        "/api/v1/reports/intervals",
    ): "/api/v1/reports/intervals?from=2026-11-01T00:00Z&to=2026-11-01T02:00Z&zone=UTC",
    ("GET", "/api/v1/reports/agents"): "/api/v1/reports/agents?from=2026-11-01T00:00Z&to=2026-11-02T00:00Z",
    ("POST", "/api/v1/calls/{call}/recording"): "/api/v1/calls/c-none/recording",
    ("GET", "/api/v1/interactions/{interaction}/recording"): "/api/v1/interactions/{ann}/recording",
    ("GET", "/api/v1/customers/{customer}/interactions"): "/api/v1/customers/{ann}/interactions",
    ("GET", "/api/v1/customers"): "/api/v1/customers",
    ("POST", "/api/v1/customers"): "/api/v1/customers",
    ("GET", "/api/v1/customers/{customer}"): "/api/v1/customers/{ann}",
    ("PATCH", "/api/v1/customers/{customer}"): "/api/v1/customers/{ann}",
    ("POST", "/api/v1/callbacks"): "/api/v1/callbacks",
    ("GET", "/api/v1/callbacks"): "/api/v1/callbacks",
    ("DELETE", "/api/v1/callbacks/{callback}"): "/api/v1/callbacks/c-none",
}
# (method, the route's canonical path): (a sample path to call, the roles that may call it)
ROUTES: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    (method, path): (SAMPLES.get((method, path), "(no sample)"), row.roles)
    for table in (app.ROUTES, TABLE)
    for method, path, row in table
}


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, canonical path) of every route of the app and its sub-apps; HEAD goes with GET."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        resource = route.resource
        assert resource is not None
        found.add((route.method, resource.canonical))
    return found


def test_the_table_names_every_route_and_only_served_ones(v1: V1) -> None:  # noqa: F811
    served = served_routes(v1.client.app)
    assert served - set(ROUTES) == set(), "routes nobody decided the roles of"
    assert set(ROUTES) - served == set(), "routes the table lists but the site no longer serves"
    assert set(SAMPLES) == set(ROUTES), "a route without a sample path, or a sample of no route"


async def _call(v1: V1, method: str, path: str, headers: dict[str, str]) -> int:  # noqa: F811
    if method != "GET":
        headers = {**headers, "If-Match": '"999999"'}
    body: Any = {} if method in ("POST", "PUT", "PATCH") else None
    response = await v1.client.request(method, path, headers=headers, json=body)
    status = response.status
    response.close()  # an event stream stays open otherwise
    return status


@pytest.mark.parametrize(("method", "route"), sorted(ROUTES))
async def test_each_route_answers_exactly_its_roles(v1: V1, method: str, route: str) -> None:  # noqa: F811
    sample, roles = ROUTES[(method, route)]
    customers = await add_interactions(v1.engine)
    path = sample.format(ann=customers["ann"])
    anonymous = await _call(v1, method, path, {})
    if roles == PUBLIC:
        assert anonymous < 400, (method, path, anonymous)
    else:
        assert anonymous == 401, (method, path, "answered without a token", anonymous)
    scrape = await _call(v1, method, path, {"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    if roles == SCRAPE:
        assert scrape == 200
    for role, who in ROLE_TOKENS.items():
        status = await _call(v1, method, path, v1.auth(who))
        if roles == PUBLIC:
            assert status < 400, (method, path, role, status)
        elif role in roles:
            assert status not in (401, 403, 429), (method, path, role, "refused a listed role", status)
        elif roles == SCRAPE:
            assert status == 401, (method, path, role, "an API token is not the scrape token", status)
        else:
            assert status == 403, (method, path, role, "let an unlisted role through", status)
