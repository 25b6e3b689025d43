"""The ``acd ...`` record commands, one module per command, and what they share.

``report`` (KPIs), ``mask_callers`` (retention), ``quarantine`` (list and replay the outbox's
quarantine), ``customers`` (the caller directory), ``tokens`` (REST API tokens). Each finds its
database the same way (``database``) and runs on it, and fails, the same way (``command``).
"""
