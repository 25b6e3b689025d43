"""An offer in one AMI action: the Redirect's extension carries the agent, the offer and its settings.

An offer used to be four ``Setvar`` actions (the offer id, the ring timeout, the recording flag, the
leader's epoch) and then the ``Redirect`` into ``acd-connect``: five replies on the way to the agent's
INVITE. Here the ``Redirect`` target itself says all of it, so the caller moves on the first action
(docs/dialplan.md, "Connecting"):

    ~<agent endpoint>~<offer id, its 32 hex digits>~<ring seconds>~<epoch, or empty>~<record: 0 or 1>

``acd-connect`` parses it strictly (each field against its own alphabet and length, exactly five fields)
and refuses anything else by sending the caller back to holding unchanged; it puts the dashes back
into the offer id, so events carry the id the core made. Asterisk keeps at most ``MAX_EXTEN``
characters of an extension: an offer whose target would be longer (a long endpoint name), whose id is
not a UUID, or whose endpoint is one character (not an extension ``acd-connect`` can jump to) is sent
the old way (``None`` from ``offer_target``), which the dialplan still takes.

``parse_offer_target`` reads such an extension back: resync finds a caller whose Redirect just landed
with the target as its extension, before the dialplan moved it to the agent's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_EXTEN = 79  # AST_MAX_EXTENSION (80) less the terminating NUL: Asterisk cuts a longer one
MARK = "~"  # first character and separator: in no endpoint name, no offer id, no number
MAX_EPOCH_DIGITS = 20  # as acd-connect's fence reads an epoch
MAX_RING_DIGITS = 4
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TARGET = re.compile(
    r"~(?P<agent>[0-9A-Za-z][-_.0-9A-Za-z]{1,63})~(?P<offer>[0-9a-f]{32})~(?P<ring>[1-9][0-9]{0,3})"
    r"~(?P<epoch>[0-9]{0,20})~(?P<record>[01])"
)


@dataclass(frozen=True, slots=True)
class OfferTarget:
    """What an offer's Redirect target says (``parse_offer_target``)."""

    endpoint: str
    offer_id: str
    ring_seconds: int
    epoch: int | None
    record: bool


def offer_target(endpoint: str, offer_id: str, ring_seconds: int, epoch: int | None, record: bool) -> str | None:
    """The ``acd-connect`` extension that makes the whole offer, or None when it cannot carry it.

    ``endpoint`` must already be a dialable endpoint name (``acd.dialling.dialable_endpoint``)."""
    if not _UUID.fullmatch(offer_id) or not 1 <= ring_seconds < 10**MAX_RING_DIGITS:
        return None
    stamp = "" if epoch is None else str(epoch)
    if epoch is not None and not (epoch >= 0 and len(stamp) <= MAX_EPOCH_DIGITS):
        return None
    exten = MARK.join(("", endpoint, offer_id.replace("-", ""), str(ring_seconds), stamp, "1" if record else "0"))
    if len(exten) > MAX_EXTEN or not _TARGET.fullmatch(exten):
        return None
    return exten


def parse_offer_target(exten: str) -> OfferTarget | None:
    """The offer an ``acd-connect`` extension carries; None if it is not one in the strict form."""
    found = _TARGET.fullmatch(exten) if len(exten) <= MAX_EXTEN else None
    if found is None:
        return None
    hexed = found["offer"]
    offer_id = "-".join((hexed[:8], hexed[8:12], hexed[12:16], hexed[16:20], hexed[20:]))
    epoch = int(found["epoch"]) if found["epoch"] else None
    return OfferTarget(found["agent"], offer_id, int(found["ring"]), epoch, found["record"] == "1")
