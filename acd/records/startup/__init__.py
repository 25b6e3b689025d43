"""What the service does with PostgreSQL when it starts, before it routes a call.

Start the embedded server when no URL is given (``embedded``), migrate the schema (``migrate``), write
the routing config into the config tables (``sync_config``), and read back what a previous run left:
the interactions still open (``open_calls``) and who was logged in or paused (``last_presence``).
"""
