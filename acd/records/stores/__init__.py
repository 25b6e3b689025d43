"""The REST API's stores: what a request reads or writes in PostgreSQL directly, not through the outbox.

The audit log (``audit``), bearer tokens (``tokens``), the customer directory (``customers``) and a
customer's recent interactions (``history``), and the routing config's revisions (``config_revisions``).
Each turns database errors into ``acd.records.errors`` and bounds how long a request can wait.
"""
