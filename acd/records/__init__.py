"""acd.records: what the ACD keeps in PostgreSQL, grouped by the job each part does.

- ``pipeline``: the core's records on their way to PostgreSQL (outbox, journal, codec, rows, store,
  quarantine), so that routing never waits on the database and nothing it records is lost;
- ``stores``: what the REST API reads and writes directly (audit log, tokens, customers, history,
  config revisions);
- ``startup``: what the service does with the database before it routes (embedded server,
  migrations, config tables, the calls and the presence a previous run left);
- ``cli``: the ``acd ...`` record commands (report, mask-callers, quarantine, customers, tokens).

Shared by them, here: the schema (``models``), its errors (``errors``), the characters a string may
carry (``text``), the retention policy (``retention``) and the KPI queries (``report``).
"""
