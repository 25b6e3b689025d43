"""The ACD's records in PostgreSQL: what happened to every call, offer and agent state, kept for reports.

Routing hands each record to the durable outbox and never waits on the database; the rest of this
package is the stores the API reads, the start-up steps (embedded server, migrations, config sync,
calls still open) and the ``acd ...`` record commands. It imports nothing of HTTP (docs/architecture.md).
"""
