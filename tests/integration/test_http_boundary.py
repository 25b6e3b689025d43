"""The HTTP boundary on the site as the service builds it, with real tokens in a real PostgreSQL: what
a browser elsewhere on the LAN, a careless client or a token flood can no longer do.

- Host names the service (DNS rebinding), Origin is this service's on changes (cross-site requests),
  bodies are JSON by their Content-Type (``no-cors`` text/plain posts), pages forbid framing and
  foreign scripts.
- No string with NUL or another control character, no unpaired surrogate, no non-finite or giant
  number reaches the core, the audit log or the records: a clear 400, and nothing changes.
- A bogus token costs one database query, not one per request; a client that keeps sending bad
  tokens is answered 429 with Retry-After; a read-only wallboard token reads and does nothing else.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from api_v1_harness import V1, api_pg, serve_v1, v1  # noqa: F401
from sqlalchemy import event, text

from acd.core.events import CallArrived, OfferAnswered
from acd.http.v1 import PREFIX
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.stores import tokens

pytestmark = pytest.mark.pg

JSON = {"Content-Type": "application/json"}


def state_of(v1: V1, agent: str) -> str:  # noqa: F811
    state = v1.runtime.core.agent_state(agent)
    assert state is not None
    return state.value


# -- Host, Origin, Content-Type --------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{PREFIX}/status", "/metrics", "/wallboard", f"{PREFIX}/openapi.json"])
async def test_a_foreign_host_name_is_refused(v1: V1, path: str) -> None:  # noqa: F811
    """A page whose DNS name was rebound to this address sends its own name: it reads nothing."""
    response = await v1.client.get(path, headers={**v1.auth("admin"), "Host": "attacker.example:8080"})
    assert response.status == 421
    assert (await response.json())["error_id"] == "unknown-host"


async def test_the_probes_answer_whatever_the_host(v1: V1) -> None:  # noqa: F811
    for path in ("/healthz", "/readyz"):
        assert (await v1.client.get(path, headers={"Host": "10.1.2.3"})).status == 200


async def test_a_change_from_another_origin_is_refused_and_changes_nothing(v1: V1) -> None:  # noqa: F811
    response = await v1.client.post(
        f"{PREFIX}/agents/a1/login", json={}, headers={**v1.auth("a1"), "Origin": "http://attacker.example"}
    )
    assert response.status == 403
    assert state_of(v1, "a1") == "logged_out"
    same = f"http://{v1.client.host}:{v1.client.port}"
    response = await v1.client.post(f"{PREFIX}/agents/a1/login", json={}, headers={**v1.auth("a1"), "Origin": same})
    assert response.status == 200
    assert state_of(v1, "a1") == "ready"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_declared_json_is_415(v1: V1, content_type: str | None) -> None:  # noqa: F811
    """What a cross-site fetch in no-cors mode can send: the JSON inside is never read."""
    await v1.post("/agents/a1/login", "a1")
    headers = {**v1.auth("a1"), **({"Content-Type": content_type} if content_type else {})}
    response = await v1.client.post(f"{PREFIX}/agents/a1/pause", data=b'{"reason": "lunch"}', headers=headers)
    assert response.status == 415
    assert (await response.json())["error_id"] == "unsupported-media-type"
    assert state_of(v1, "a1") == "ready"


@pytest.mark.parametrize("page", ["/wallboard", "/agent"])
async def test_pages_forbid_framing_and_foreign_or_inline_code(v1: V1, page: str) -> None:  # noqa: F811
    response = await v1.client.get(page)
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await response.text()
    # what the policy would block: the pages must not need it
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "<style" not in html and not re.search(r"\sstyle\s*=", html), "an inline style"
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"
    for script in re.findall(r'<script[^>]*src="([^"]+)"', html):
        source = await (await v1.client.get(script)).text()
        assert ".style." not in source and 'setAttribute("style"' not in source and "eval(" not in source


@pytest.mark.parametrize("prefix", ["/wallboard/static", "/agent/static"])
async def test_static_files_are_served_by_name_only(v1: V1, prefix: str) -> None:  # noqa: F811
    """A name too long for the file system (a 500 from aiohttp's own static route), one that climbs
    out of the directory, or one that is not there: a plain 404, never a file elsewhere."""
    response = await v1.client.get(f"{prefix}/wallboard.js")
    assert response.status == 200
    assert "javascript" in response.headers["Content-Type"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for name in (
        "x" * 300,
        "\u1e70\u0315" * 100,
        "..%2F..%2Fsettings.py",
        "..%2Fhttp%2Fstatic%2Fagent.js",
        "nothing.js",
        ".",
    ):
        response = await v1.client.get(f"{prefix}/{name}")
        assert response.status == 404, (name, response.status)


# -- characters and numbers that no record may hold ---------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["a\x00b", "a\x01b", "tab\there", "line\nbreak", "del\x7f", "c1\x85", "\ud800", "lone \udfff"]
)
async def test_a_pause_reason_with_control_characters_is_refused(v1: V1, reason: str) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    status, reply = await v1.post("/agents/a1/pause", "a1", {"reason": reason})  # JSON escapes: \u0000, \ud800
    assert status == 400, reply
    assert reply["error_id"] == "invalid-input" and "reason" in reply["details"]["fields"]
    assert state_of(v1, "a1") == "ready"


async def test_a_disposition_refuses_controls_in_the_code_and_nul_in_the_notes(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    v1.runtime.submit(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    await v1.settle()
    offer = v1.rings[-1].offer_id
    v1.runtime.submit(OfferAnswered(offer))
    await v1.settle()
    for body in (
        {"code": "sold\x00"},
        {"code": "sold\n"},
        {"code": "sold", "notes": "a\x00b"},
        {"code": "sold", "notes": "bell\x07"},
    ):
        status, reply = await v1.post("/agents/a1/wrapup", "a1", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), body
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "order/new", "notes": "two\nlines\tand a tab"})
    assert status == 200, reply  # free text keeps its line breaks


@pytest.mark.parametrize(
    "body",
    [
        b'{"priority": NaN}',
        b'{"priority": Infinity}',
        b'{"priority": -Infinity}',
        b'{"priority": 1e999}',
        b'{"priority": ' + b"9" * 5000 + b"}",  # beyond Python's digit limit for int()
        b"[" * 30000 + b"]" * 30000,  # deeper than the parser's recursion
    ],
)
async def test_numbers_json_cannot_hold_are_400_not_500(v1: V1, body: bytes) -> None:  # noqa: F811
    response = await v1.client.post(f"{PREFIX}/calls/c1/priority", data=body, headers={**v1.auth("admin"), **JSON})
    assert response.status == 400
    assert (await response.json())["error_id"] == "bad-body"


@pytest.mark.parametrize("priority", [-1, 1001, 2**31, 2**63, 10**30, 1.5, True])
async def test_a_priority_out_of_range_is_400(v1: V1, priority: Any) -> None:  # noqa: F811
    status, reply = await v1.post("/calls/c1/priority", "admin", {"priority": priority})
    assert (status, reply["error_id"]) == (400, "invalid-input")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/calls/a%00b/priority", {"priority": 1}),
        ("/calls/a%01b/queue", {"queue": "billing"}),
        ("/agents/a%00/login", {}),
    ],
)
async def test_control_characters_in_the_path_never_reach_the_core_or_the_audit_log(
    v1: V1,  # noqa: F811
    path: str,
    body: dict[str, Any],
) -> None:
    response = await v1.client.post(PREFIX + path, json=body, headers=v1.auth("admin"))
    assert response.status == 400
    assert (await response.json())["error_id"] == "invalid-input"
    assert await v1.audit() == []


# -- tokens: floods and the read-only wallboard role -------------------------------------------------


def count_token_queries(v1: V1) -> list[str]:  # noqa: F811
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "FROM api_tokens" in statement:
            seen.append(statement)

    event.listen(v1.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_a_bogus_token_repeated_costs_one_query(v1: V1) -> None:  # noqa: F811
    queries = count_token_queries(v1)
    bogus = {"Authorization": "Bearer acd_0123456789ab_not-the-secret"}
    for _ in range(10):
        response = await v1.client.get(f"{PREFIX}/status", headers=bogus)
        assert response.status == 401
    assert len(queries) == 1


async def test_a_client_sending_bad_tokens_is_slowed_down_with_429(v1: V1) -> None:  # noqa: F811
    queries = count_token_queries(v1)
    for n in range(20):
        response = await v1.client.get(f"{PREFIX}/status", headers={"Authorization": f"Bearer acd_{n:012x}_guess"})
        assert response.status == 401
    response = await v1.client.get(f"{PREFIX}/status", headers={"Authorization": "Bearer acd_ffffffffffff_guess"})
    assert response.status == 429
    assert (await response.json())["error_id"] == "too-many-failures"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert len(queries) == 20  # the refused one cost nothing
    # the wallboard's stream shares the count: same client, same answer
    assert (await v1.client.get("/wallboard/events", headers=v1.auth("admin"))).status == 429


async def test_requests_without_a_token_are_not_counted_as_failures(v1: V1) -> None:  # noqa: F811
    for _ in range(30):
        assert (await v1.client.get(f"{PREFIX}/status")).status == 401
    status, _ = await v1.get("/status", "admin")
    assert status == 200


async def test_a_wallboard_token_reads_the_status_and_does_nothing_else(v1: V1) -> None:  # noqa: F811
    status, body = await v1.get("/status", "wall")
    assert status == 200
    assert {q["name"] for q in body["queues"]} == {"billing", "sales"}
    assert {a["id"] for a in body["agents"]} == {"a1", "a2", "s1"}
    status, body = await v1.get("/status", "wall-billing")
    assert {q["name"] for q in body["queues"]} == {"billing"}
    assert {a["id"] for a in body["agents"]} == {"a1", "a2"}
    for method, path in (
        ("post", "/agents/a1/login"),
        ("get", "/agents"),
        ("get", "/interactions"),
        ("get", "/calls/c1/explanation"),
        ("post", "/calls/c1/priority"),
    ):
        response = await getattr(v1.client, method)(
            PREFIX + path, headers=v1.auth("wall"), **({"json": {"priority": 1}} if method == "post" else {})
        )
        assert response.status == 403, path
    assert state_of(v1, "a1") == "logged_out"


async def test_the_wallboard_role_is_stored_in_postgresql(v1: V1) -> None:  # noqa: F811
    async with v1.engine.connect() as conn:
        roles = (await conn.execute(text("SELECT role, queues FROM api_tokens WHERE role = 'wallboard'"))).all()
    assert sorted((r[0], tuple(r[1])) for r in roles) == [("wallboard", ()), ("wallboard", ("billing",))]


# -- event streams: revocation and a bound per token ---------------------------------------------------


class Stream:
    """One open event stream: reads until it ends."""

    def __init__(self, response: Any) -> None:
        self.response = response

    async def ended(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                while await self.response.content.readline():
                    pass
        except TimeoutError:
            return False
        return True


@pytest.fixture
async def quick(api_pg: EmbeddedPostgres) -> AsyncIterator[V1]:  # noqa: F811
    """The site with streams re-checked every 0.2 s and at most two streams per token."""
    async with serve_v1(api_pg, recheck_seconds=0.2, streams_per_token=2) as served:
        yield served


@pytest.mark.parametrize(("path", "who"), [("/wallboard/events", "wall"), (f"{PREFIX}/agents/a1/events", "a1")])
async def test_a_stream_ends_once_its_token_is_revoked(quick: V1, path: str, who: str) -> None:
    response = await quick.client.get(path, headers=quick.auth(who))
    assert response.status == 200
    stream = Stream(response)
    assert not await stream.ended(0.6)  # re-checked twice meanwhile: still live
    token_id = quick.bearer[who].split("_")[1]
    assert await tokens.revoke(quick.engine, token_id)
    assert await stream.ended(5.0)
    assert (await quick.client.get(path, headers=quick.auth(who))).status == 401


@pytest.mark.parametrize(("path", "who"), [("/wallboard/events", "wall"), (f"{PREFIX}/agents/a1/events", "a1")])
async def test_one_token_holds_a_bounded_number_of_streams(quick: V1, path: str, who: str) -> None:
    first = await quick.client.get(path, headers=quick.auth(who))
    second = await quick.client.get(path, headers=quick.auth(who))
    assert (first.status, second.status) == (200, 200)
    third = await quick.client.get(path, headers=quick.auth(who))
    assert third.status == 429
    assert (await third.json())["error_id"] == "too-many-streams"
    other = await quick.client.get("/wallboard/events", headers=quick.auth("admin"))  # another token: its own count
    assert other.status == 200
    first.close()
    for _ in range(100):  # the server notices the closed stream on its next write or re-check
        again = await quick.client.get(path, headers=quick.auth(who))
        if again.status == 200:
            break
        await asyncio.sleep(0.05)
    assert again.status == 200
    for response in (second, other, again):
        response.close()
