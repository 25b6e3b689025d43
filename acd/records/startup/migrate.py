"""Run the Alembic migrations in ``migrations/`` from Python.

The service and the tests call this rather than shelling out to ``alembic``; it needs no alembic.ini
on the working directory's path. ``migrations/`` lives at the repo root, beside the ``acd`` package;
an installed ACD (``pip install .``) carries a copy under ``<prefix>/share/acd/migrations``.

- ``upgrade_head(url)`` is blocking (Alembic's env.py runs its own event loop): call it with
  ``asyncio.to_thread`` from async code.
- ``upgrade(engine)`` / ``downgrade(engine)`` run on an existing async engine inside the caller's loop.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def _migrations_dir() -> Path:
    """Where the migrations are: the checkout's ``migrations/``, else the installed copy."""
    for candidate in (
        Path(__file__).resolve().parents[3] / "migrations",  # a checkout, or an editable install
        Path(sys.prefix) / "share" / "acd" / "migrations",  # pip install . (the wheel's data files)
    ):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"no Alembic migrations beside the acd package or under {sys.prefix}/share/acd")


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    migrations = _migrations_dir()
    config = Config(str(migrations / "alembic.ini"))
    config.set_main_option("script_location", str(migrations))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser interpolation
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_head(url: str) -> None:
    command.upgrade(alembic_config(url=url), "head")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(connection=sync), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(connection=sync), revision))
