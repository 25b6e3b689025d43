"""Benchmark what a flood of bogus bearer tokens costs: database queries and time per refusal.

    .venv/bin/python bench/bench_tokens.py [--requests 2000]

A real PostgreSQL (DATABASE_URL if set, else an embedded one in a temporary folder) holds the
tokens; ``acd.http.bearer.Bearers`` checks them as the service does. Three floods from one client:

- the same well-formed bogus token again and again, without the miss cache (every check a query),
  with it (one query, then none), and with the failure limit too (429 after 20);
- a different well-formed bogus token each time: 20 queries, then 429 without a query;
and, for scale, a live token (one query per request: valid tokens are not cached).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.http.bearer import Bearers
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.stores import tokens


def request(bearer: str) -> web.Request:
    return make_mocked_request("GET", "/api/v1/status", headers={"Authorization": f"Bearer {bearer}"})


async def flood(bearers: Bearers, count: int, distinct: bool) -> tuple[float, dict[int, int]]:
    """Seconds per check, and how many checks were answered with each status."""
    answers: dict[int, int] = {}
    requests = [request(f"acd_{n if distinct else 0:012x}_not-a-secret") for n in range(count)]
    started = time.perf_counter()
    for each in requests:
        result = await bearers.authenticate(each)
        status = result.status if isinstance(result, web.Response) else 200
        answers[status] = answers.get(status, 0) + 1
    return (time.perf_counter() - started) / count, answers


async def run(engine: AsyncEngine, count: int) -> None:
    await upgrade(engine)
    _, live = await tokens.issue(engine, "admin", label="bench")
    cases = [
        ("one bogus token, no miss cache", Bearers.of(engine, miss_seconds=0, failures=10**9), False),
        ("one bogus token, miss cache", Bearers.of(engine, failures=10**9), False),
        ("one bogus token, both", Bearers.of(engine), False),
        ("a new bogus token each time", Bearers.of(engine), True),
    ]
    print(f"== {count:,} bad-token checks from one client against PostgreSQL")
    for label, bearers, distinct in cases:
        per_check, answers = await flood(bearers, count, distinct)
        shown = ", ".join(f"{n:,}x {status}" for status, n in sorted(answers.items()))
        print(f"   {label:<34} {per_check * 1e6:8.1f} µs/check  {bearers.lookups:>6,} queries  ({shown})")
    one = Bearers.of(engine)
    per_check, _ = await flood_live(one, live, count)
    print(f"   {'a live token (one query each)':<34} {per_check * 1e6:8.1f} µs/check  {one.lookups:>6,} queries")


async def flood_live(bearers: Bearers, bearer: str, count: int) -> tuple[float, None]:
    requests = [request(bearer) for _ in range(count)]
    started = time.perf_counter()
    for each in requests:
        assert not isinstance(await bearers.authenticate(each), web.Response)
    return (time.perf_counter() - started) / count, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    folder = None if url else Path(tempfile.mkdtemp(prefix="acd-bench-tokens-"))
    server = EmbeddedPostgres(folder) if folder else None
    try:
        if server is not None:
            url = server.start()
        assert url is not None

        async def go() -> None:
            engine = create_async_engine(url)
            try:
                await run(engine, args.requests)
            finally:
                await engine.dispose()

        asyncio.run(go())
    finally:
        if server is not None:
            server.stop()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
