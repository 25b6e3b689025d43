"""The ACD's call id for an Asterisk caller channel: a UUID derived from the channel's Uniqueid.

Derived, not stored, so that an ACD restarted in the middle of the day recognises every caller
still waiting in ``acd-hold`` (found by resync) as the same call it recorded before, with no
lookup table to lose. The namespace is fixed forever: changing it would orphan every record.
"""

from __future__ import annotations

import uuid

CALL_NAMESPACE = uuid.UUID("6f1d7c52-3b0e-5a55-9d4e-acd0ca11e1d0")


def call_id_for(uniqueid: str) -> str:
    """``str(uuid5(CALL_NAMESPACE, uniqueid))``: the same Uniqueid always yields the same call id."""
    return str(uuid.uuid5(CALL_NAMESPACE, uniqueid))


CLOSED_CALLBACK_NAMESPACE = uuid.UUID("0c1b5d0e-7a0e-5c2b-8f3e-acd0ca11bac4")


def closed_callback_id(call_id: str) -> str:
    """The id of the callback a caller of a closed queue takes (one per caller, made by the ACD): known
    before they take it, so their recorded name is filed under it (acd.callback_names)."""
    return str(uuid.uuid5(CLOSED_CALLBACK_NAMESPACE, call_id))
