"""Run the Alembic migrations in ``migrations/`` from Python.

The service and the tests call this rather than shelling out to ``alembic``; it needs no alembic.ini
on the working directory's path. ``migrations/`` lives at the repo root, beside the ``acd`` package;
an installed ACD (``pip install .``) carries a copy under ``<prefix>/share/acd/migrations``.

- ``upgrade_head(url)`` is blocking (Alembic's env.py runs its own event loop): call it with
  ``asyncio.to_thread`` from async code.
- ``upgrade(engine)`` / ``downgrade(engine)`` run on an existing async engine inside the caller's loop.
- ``check_not_newer(url)`` refuses a database whose schema a newer version of the ACD migrated: this
  code cannot run against it (nor can Alembic migrate it), so the service says so instead of failing
  on a traceback at every restart (docs/operations.md, "Upgrading one node at a time").
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class SchemaTooNew(RuntimeError):
    """The database's schema is at a revision this version of the ACD does not know (a newer one's)."""


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


def known_revisions() -> set[str]:
    """Every revision in this version's migrations."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def check_not_newer(url: str) -> None:
    """Raise ``SchemaTooNew`` when the database was migrated by a newer version of the ACD."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if (await conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one():
                found = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            else:
                found = set()
    finally:
        await engine.dispose()
    unknown = found - known_revisions()
    if unknown:
        heads = ", ".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
        raise SchemaTooNew(
            f"the database schema is at revision {', '.join(sorted(unknown))}, newer than this version of the "
            f"ACD knows (its head: {heads}): a newer ACD migrated it; install that version here "
            '(docs/operations.md, "Upgrading one node at a time")'
        )


def upgrade_head(url: str) -> None:
    command.upgrade(alembic_config(url=url), "head")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(connection=sync), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(connection=sync), revision))
