"""The records pipeline: the core's records on their way from the routing loop to PostgreSQL.

The outbox takes a record, writes it to the local journal (``journal``, lines made by ``codec``) and
returns at once; in the background it delivers journaled lines to PostgreSQL with idempotent upserts
(``store``, one table row per record by ``rows``) and sets aside what the database refuses, with a
reason (``quarantine``). Routing never waits on the database, and nothing it records is lost.
"""
