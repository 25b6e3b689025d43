"""What the ACD may ask the PBX to dial or jump to: agents' PJSIP endpoints and overflow extensions.

An agent's endpoint reaches ``Dial(PJSIP/<endpoint>,...)`` in the dialplan's ``acd-connect`` through
the Redirect's ``Exten``, and a queue's overflow target becomes the extension of ``acd-overflow`` the
caller is sent to. A ``/``, ``&``, ``@`` or ``,`` in either would ring someone else (an outside
number on the company's trunk) or add ``Dial`` options, so only plain names pass: checked where the
config enters (the file and the REST API's config edits), again before the Redirect leaves, and once
more by the dialplan itself (docs/dialplan.md, "Connecting").

An endpoint has one normal form, the bare name (``agent1``): ``PJSIP/agent1`` is accepted on input
(the config, and the ``Device``/``AcdAgent`` of AMI events) and stored as ``agent1``.
"""

from __future__ import annotations

import re

ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,63}")
"""A PJSIP endpoint name as the ACD dials it: the characters the dialplan's FILTER keeps, 2 to 64 of
them, the first a letter or digit, because ``acd-connect`` answers the pattern ``_[0-9A-Za-z].``
(a Redirect to any other extension there hangs the caller up)."""

EXTENSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""An overflow target: a plain extension of ``acd-overflow`` (never a pattern, never ``h``/``i``)."""

RESERVED_EXTENSIONS = frozenset({"h", "i", "t", "s", "a", "o", "e", "T"})
"""Asterisk's special extensions: a caller is never sent to one as an overflow target."""

DEFAULT_OVERFLOW_TARGETS = ("voicemail", "fallback")
"""The extensions the shipped ``acd-overflow`` defines (dialplan/acd-queue.conf)."""

ENDPOINT_RULE = "2 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"


class NotDialable(ValueError):
    """A name that must never reach the PBX's Dial or Redirect."""


def bare_endpoint(name: str) -> str:
    """``PJSIP/agent1`` (any case of the technology) → ``agent1``; anything else unchanged."""
    tech, sep, rest = name.partition("/")
    return rest if sep and tech.upper() == "PJSIP" else name


def is_endpoint(name: str) -> bool:
    return ENDPOINT.fullmatch(name) is not None


def is_overflow_extension(name: str) -> bool:
    return EXTENSION.fullmatch(name) is not None and name not in RESERVED_EXTENSIONS


def dialable_endpoint(name: str) -> str:
    """``name`` as the Redirect's ``Exten`` into ``acd-connect``, or ``NotDialable``."""
    if not is_endpoint(name):
        raise NotDialable(f"endpoint {name[:80]!r} is not a PJSIP endpoint name ({ENDPOINT_RULE})")
    return name


SOUNDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}(&[A-Za-z0-9][A-Za-z0-9_-]{0,63}){0,3}")
"""A closed queue's announcement: 1 to 4 sound names joined by '&' (no path, no ',' for Playback)."""


def announcement(sounds: str) -> str:
    """``sounds`` as ``ACD_CLOSED_PROMPT`` (played by acd-overflow before its treatment), or ``NotDialable``."""
    if sounds and SOUNDS.fullmatch(sounds) is None:
        raise NotDialable(f"announcement {sounds[:80]!r} is not sound names joined by '&'")
    return sounds


def overflow_extension(name: str) -> str:
    """``name`` as the Redirect's ``Exten`` into ``acd-overflow``, or ``NotDialable``."""
    if not is_overflow_extension(name):
        raise NotDialable(f"overflow target {name[:80]!r} is not a plain extension name")
    return name
