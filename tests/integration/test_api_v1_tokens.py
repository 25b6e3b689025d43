"""``acd tokens``: add prints a token once (only its hash is stored), list shows it, revoke kills it."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from api_v1_harness import api_pg  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd.cli import main
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.stores import tokens

pytestmark = pytest.mark.pg


async def _check(url: str, bearer: str) -> tuple[tokens.Token | None, list[bytes]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            digests = [bytes(r[0]) for r in await conn.execute(text("SELECT secret_sha256 FROM api_tokens"))]
        return await tokens.verify(engine, bearer), digests
    finally:
        await engine.dispose()


def test_add_list_revoke(api_pg: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    db = ["--database-url", api_pg.url]
    assert main(["tokens", "add", "--role", "agent", "--agent", "agent1", "--label", "desk 4", *db]) == 0
    bearer = capsys.readouterr().out.strip()
    assert bearer.startswith("acd_")
    token, digests = asyncio.run(_check(api_pg.url, bearer))
    assert token is not None and (token.role, token.agent_id, token.label) == ("agent", "agent1", "desk 4")
    secret = bearer.split("_", 2)[2]
    assert hashlib.sha256(secret.encode()).digest() in digests  # the hash is stored, never the token
    assert main(["tokens", "list", *db]) == 0
    listing = capsys.readouterr().out
    assert token.id in listing and "live" in listing and secret not in listing
    assert main(["tokens", "revoke", token.id, *db]) == 0
    assert asyncio.run(_check(api_pg.url, bearer))[0] is None
    assert main(["tokens", "revoke", token.id, *db]) == 1  # already revoked


def test_an_agent_token_needs_its_agent(api_pg: EmbeddedPostgres) -> None:  # noqa: F811
    with pytest.raises(SystemExit):
        main(["tokens", "add", "--role", "agent", "--database-url", api_pg.url])


@pytest.mark.parametrize("args", [["--label", "desk\x004"], ["--label", "\x1b[2J"], ["--queue", "bill\x00ing"]])
def test_a_label_or_queue_with_control_characters_is_refused_clearly(
    api_pg: EmbeddedPostgres,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    assert main(["tokens", "add", "--role", "supervisor", *args, "--database-url", api_pg.url]) == 1
    assert "without control characters" in capsys.readouterr().err


def test_a_wallboard_token_is_read_only_by_role(api_pg: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["tokens", "add", "--role", "wallboard", "--label", "floor 2", "--database-url", api_pg.url]) == 0
    token, _ = asyncio.run(_check(api_pg.url, capsys.readouterr().out.strip()))
    assert token is not None and (token.role, token.queues) == ("wallboard", ())
