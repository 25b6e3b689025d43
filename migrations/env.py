"""Alembic environment for the records schema (async, asyncpg).

Where the database comes from, first match wins:
1. a connection handed in by ``acd.records.startup.migrate`` (``config.attributes["connection"]``), so the
   runtime and tests migrate on their own engine inside a running event loop;
2. ``-x DATABASE_URL=...`` on the alembic command line;
3. ``sqlalchemy.url`` in the config;
4. the ``DATABASE_URL`` environment variable.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from acd.records.models import Base

config = context.config
target_metadata = Base.metadata

if config.cmd_opts is not None and config.config_file_name:  # the alembic CLI, not the service
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise SystemExit("no database: pass -x DATABASE_URL=postgresql+asyncpg://... or set DATABASE_URL")
    return url


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_online() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
            await connection.commit()
    finally:
        await engine.dispose()


def _migrate_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _migrate_offline()
elif isinstance(given := config.attributes.get("connection"), Connection):
    _migrate(given)
else:
    asyncio.run(_migrate_online())
