"""Errors of the records layer, drawn once.

Adapters translate asyncpg, SQLAlchemy and OS errors into these at the boundary, so callers (the
runtime, the CLI) never catch a library exception::

    RecordsError                      base; carries a stable ``error_id``
    ├── EmbeddedPostgresError         the embedded server could not init, start or stop
    ├── DatabaseUnavailable           Postgres unreachable or failing: transient, retry later
    ├── JournalError                  the local journal cannot be used (I/O error, bad cursor)
    │   └── JournalFull               no space (ENOSPC, EDQUOT) or file size limit (EFBIG) on append
    └── OutboxClosed                  append() after stop(), or before start()

A record that Postgres refuses for its *content* (CHECK, foreign key, id clash) is not an error here:
the outbox quarantines it with a reason and goes on (see ``acd.records.pipeline.quarantine``).
"""

from __future__ import annotations


class RecordsError(Exception):
    """Base of every records-layer error. ``error_id`` is stable; the message is for people."""

    error_id = "records_error"


class EmbeddedPostgresError(RecordsError):
    error_id = "embedded_postgres_failed"


class DatabaseUnavailable(RecordsError):
    error_id = "database_unavailable"


class JournalError(RecordsError):
    error_id = "journal_error"


class JournalFull(JournalError):
    """The journal cannot grow. The record was NOT journaled; the caller must surface this."""

    error_id = "journal_full"


class OutboxClosed(RecordsError):
    error_id = "outbox_closed"
