"""schemathesis against /api/v1/openapi.json on the real app (real runtime and core, real PostgreSQL):
whatever it sends, valid by the document or deliberately not (negative mode), the API never answers
5xx, always answers a JSON object, and without a token always answers 401. The site's other routes
(metrics, health, pages, the wallboard's stream: ``acd.http.openapi_site``) get the same fuzzing,
and every route the site serves is in one of the two documents.

The app runs in a thread with its own event loop (schemathesis calls it over HTTP, synchronously).
Each operation gets a bounded number of examples, so the whole run takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from api_v1_harness import CONFIG, ListSink, MockControl, add_interactions, api_pg  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import text
from wiring import running, settings_for

from acd.bootstrap import build
from acd.database import Database
from acd.http import openapi_site
from acd.http.bearer import Bearers
from acd.http.keys import READY
from acd.http.v1 import PREFIX, openapi
from acd.readiness import Readiness
from acd.records.models import Base
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.startup.sync_config import sync_config
from acd.records.stores import tokens

pytestmark = pytest.mark.pg

# `make test` sends the same 25 examples per operation every run (the draw is derandomized), so a
# run answers for the code and not for the draw; `make fuzz` draws afresh, and more of them, to find
# what the fixed examples miss (a 500 on a static file name too long for the file system was found so).
EXAMPLES_PER_OPERATION = int(os.environ.get("ACD_FUZZ_EXAMPLES", "25"))
RANDOM_DRAW = os.environ.get("ACD_FUZZ_RANDOM") == "1"


@dataclass
class Served:
    base_url: str
    bearer: str
    routes: set[tuple[str, str]]  # (method, canonical path) of every route the site serves


async def _ready() -> Readiness:
    return Readiness(True, True, None)


class AppThread:
    """The service's app (as ``acd.bootstrap`` builds it) on 127.0.0.1, served from its own thread."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="api-v1-under-test", daemon=True)
        self.served: Served | None = None
        self.error: BaseException | None = None

    def start(self) -> Served:
        self._thread.start()
        assert self._started.wait(60), "the app did not start"
        if self.error is not None:
            raise self.error
        assert self.served is not None
        return self.served

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self.error = exc
            self._started.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        database = Database(self._url)
        engine = database.pool("api")
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
        await sync_config(engine, CONFIG)
        await add_interactions(engine)
        _, bearer = await tokens.issue(engine, "admin")
        # Negative mode sends malformed tokens by the hundred from one address: the failure limit
        # (tested in test_http_boundary.py) would answer them 429 and hide what the handlers do.
        parts = await build(
            settings_for(CONFIG),
            control=MockControl(),
            records=ListSink(),
            database=database,
            bearers=Bearers.of(engine, failures=10**9),
        )
        app = parts.site
        app[READY] = _ready
        async with running(parts):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            routes = {
                (r.method, r.resource.canonical)
                for r in app.router.routes()
                if r.method != "HEAD" and r.resource is not None
            }
            self.served = Served(f"http://127.0.0.1:{port}", bearer, routes)
            self._started.set()
            try:
                await self._stop.wait()
            finally:
                await runner.cleanup()


@pytest.fixture(scope="module")
def served(api_pg: EmbeddedPostgres) -> Iterator[Served]:  # noqa: F811
    app = AppThread(api_pg.url)
    try:
        yield app.start()
    finally:
        app.stop()


def _guarded(operation: Any, document: dict[str, Any]) -> bool:
    """Whether the operation needs a token (every alternative of its security names a scheme)."""
    security = operation.definition.raw.get("security", document.get("security", []))
    return bool(security) and all(security)


def _fuzz(served: Served, operation: Any, mode: GenerationMode, base: str = PREFIX) -> int:
    """Run one operation's examples in one mode; returns how many requests were sent.

    An operation that needs a token always answers 401 without one."""
    sent = 0
    guarded = _guarded(operation, operation.schema.raw_schema)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=not RANDOM_DRAW,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def no_5xx(case: schemathesis.Case[Any]) -> None:
        nonlocal sent
        for headers in ({"Authorization": f"Bearer {served.bearer}"}, {}):
            sent += 1
            response = case.call(base_url=f"{served.base_url}{base}", headers=headers)
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            content_type = " ".join(v for k, vs in response.headers.items() if k.lower() == "content-type" for v in vs)
            if response.status_code == 400 and response.http_version == "1.0":
                # aiohttp's HTTP parser refusing the request before any handler of ours (a request line
                # over 8 KiB, a Transfer-Encoding it cannot read...): it answers in HTTP/1.0, we never do
                continue
            if not content_type.startswith("application/json"):
                assert response.status_code < 400 or not guarded, (case.as_curl_command(), response.text)
                continue  # a page, a static file, the metrics
            body = response.json()
            assert isinstance(body, dict), response.text
            if response.status_code >= 400:
                assert {"error_id", "message"} <= set(body), response.text
            if not headers and guarded:
                assert (response.status_code, body["error_id"]) == (401, "unauthorized")

    no_5xx()
    return sent


def _streams(operation: Any) -> bool:
    """An endless Server-Sent Events response (the agent desk's): tested by its own module instead
    (tests/integration/test_api_v1_agent_events.py), since a fuzzed request that hit a real agent
    would never end."""
    ok = operation.definition.raw["responses"].get("200", {})
    return "text/event-stream" in ok.get("content", {})


def test_no_server_errors(served: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{served.base_url}{PREFIX}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an Err fails
    # every operation of every path is exercised (but the document itself, which schemathesis leaves
    # out when it loads the document from there)
    assert len(operations) == sum(
        len(methods) for path, methods in schema.raw_schema["paths"].items() if path != "/openapi.json"
    )
    operations = [op for op in operations if not _streams(op)]
    sent = {mode: sum(_fuzz(served, op, mode) for op in operations) for mode in GenerationMode}
    # valid and invalid requests alike (negative mode breaks the document's shapes on purpose)
    assert min(sent.values()) >= 2 * len(operations), sent


def test_no_server_errors_beyond_the_api(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(openapi_site.DOCUMENT)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an Err fails
    assert len(operations) == sum(len(methods) for methods in schema.raw_schema["paths"].values())
    operations = [op for op in operations if not _streams(op)]
    for op in operations:
        assert _fuzz(served, op, GenerationMode.POSITIVE, base="") >= 2
        # Negative mode breaks what the document constrains; a page or /healthz constrains nothing (and
        # any string is a file name), so it may find no case to send.
        with contextlib.suppress(Unsatisfiable):
            _fuzz(served, op, GenerationMode.NEGATIVE, base="")


def test_every_route_is_in_a_document(served: Served) -> None:
    """A route that neither document describes would escape the fuzzing above (and the API's clients)."""
    described = {(method.upper(), PREFIX + path) for path, ops in openapi.DOCUMENT["paths"].items() for method in ops}
    described |= {(method.upper(), path) for path, ops in openapi_site.DOCUMENT["paths"].items() for method in ops}
    assert served.routes - described == set(), "served but in neither document"
    assert described - served.routes == set(), "documented but not served"
