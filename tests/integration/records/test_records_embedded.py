"""The embedded PostgreSQL opens nothing to anyone: its data folder may stay private, its password is
0600 from its first byte, and no folder it did not make changes mode.

As root (this machine's case) the server runs as its own user and keeps its cluster in a folder made for
it; the checks hold for any user.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd.records.startup.embedded import EmbeddedPostgres

pytestmark = pytest.mark.pg

_chmods: list[str] | None = None


def _watch(event: str, args: tuple[Any, ...]) -> None:
    if _chmods is not None and event == "os.chmod":
        _chmods.append(os.fsdecode(args[0]) if isinstance(args[0], str | bytes | os.PathLike) else str(args[0]))


sys.addaudithook(_watch)


@pytest.fixture
def chmods() -> Iterator[list[str]]:
    """Every os.chmod this process makes meanwhile (an audit hook: it sees, it changes nothing)."""
    global _chmods
    _chmods = []
    try:
        yield _chmods
    finally:
        _chmods = None


def modes(path: Path) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in (path, *path.parents)}


async def answers(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 41 + 1"))).scalar_one())
    finally:
        await engine.dispose()


def remove(server: EmbeddedPostgres) -> None:
    server.stop()
    cluster = server.pgdata.resolve().parent
    if cluster != server.data_dir:  # the folder made for the server
        shutil.rmtree(cluster, ignore_errors=True)


def test_a_private_data_dir_needs_no_folder_widened_and_the_password_is_born_0600(
    tmp_path: Path, chmods: list[str]
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    before = modes(private)
    chmods.clear()  # the test's own
    server = EmbeddedPostgres(private / "pg")
    old_umask = os.umask(0)  # a file written first and narrowed later would be 0666 meanwhile
    try:
        url = server.start()
    finally:
        os.umask(old_umask)
    try:
        assert asyncio.run(answers(url)) == 42
        assert modes(private) == before  # nothing up to / was opened to the server's user
        password = private / "pg" / "password"
        assert stat.S_IMODE(password.stat().st_mode) == 0o600
        assert str(password) not in chmods  # born 0600, never narrowed after the fact
        assert not [p for p in chmods if Path(p) in before]
        assert stat.S_IMODE((private / "pg").stat().st_mode) == 0o700
    finally:
        remove(server)


def test_a_cluster_whose_data_dir_is_gone_is_removed_at_the_next_start(tmp_path: Path) -> None:
    first = EmbeddedPostgres(tmp_path / "first")
    first.start()
    first.stop()
    cluster = first.pgdata.resolve().parent
    shutil.rmtree(first.data_dir)  # what a test's temporary folder does
    second = EmbeddedPostgres(tmp_path / "second")
    second.start()
    try:
        if os.geteuid() == 0:
            assert not cluster.exists()
    finally:
        remove(second)
