"""Which outside numbers an agent may transfer a caller to: the admin's dial-plan patterns
(``[transfers] allowed_numbers`` in acd.toml; docs/dialplan.md, "Transfers"; docs/security.md).

A transfer to a number is a call out on the company's trunk, so nothing else may be dialled: the core
refuses a request for a number no pattern matches, and the dialplan checks again with the same
patterns compiled to one regular expression (``regex``), which the ACD writes into the PBX's global
``ACD_TRANSFER_NUMBERS``. The patterns are Asterisk's: ``_`` then ``X`` (0-9), ``Z`` (1-9), ``N``
(2-9), ``[..]`` (digits and ranges such as ``[1-3]``), digits, and ``.`` (one or more digits) or ``!``
(zero or more) at the end only; a pattern without ``_`` is one number. The regular expression uses
only digits, ``[``, ``]``, ``-``, ``^``, ``$``, ``|``, ``*`` and ``+``: none of them ends an argument
of the dialplan's functions or applications, and it means the same to POSIX ERE (Asterisk's
``REGEX``). Matching here is by hand (the core imports no ``re``), on the same tokens.
"""

from __future__ import annotations

MAX_PATTERNS = 64
MAX_NUMBER = 32  # digits a transfer target may have, as the dialplan keeps them
DIGITS = frozenset("0123456789")
_CLASSES = {"x": "0123456789", "z": "123456789", "n": "23456789"}
_TAILS = {".": "[0-9]+", "!": "[0-9]*"}


def is_number(text: str) -> bool:
    """Digits only, 1 to ``MAX_NUMBER`` of them."""
    return 0 < len(text) <= MAX_NUMBER and set(text) <= DIGITS


def _tokens(pattern: str) -> tuple[list[str], str] | None:
    """Each position's allowed digits, and the tail (``.``, ``!`` or none); None: not a pattern."""
    if is_number(pattern):
        return list(pattern), ""
    if not pattern.startswith("_") or not 1 < len(pattern) <= MAX_NUMBER + 1:
        return None
    body, tail = pattern[1:], ""
    if body[-1] in _TAILS:
        body, tail = body[:-1], body[-1]
    positions: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c in DIGITS:
            positions.append(c)
        elif c.lower() in _CLASSES:
            positions.append(_CLASSES[c.lower()])
        elif c == "[":
            end = body.find("]", i)
            allowed = _bracket(body[i + 1 : end]) if end > i else None
            if allowed is None:
                return None
            positions.append(allowed)
            i = end
        else:
            return None
        i += 1
    return (positions, tail) if positions else None


def _bracket(inside: str) -> str | None:
    """``1-3`` or ``13`` or ``1-35``: the digits a ``[..]`` allows, in order; None if malformed."""
    digits: list[str] = []
    i = 0
    while i < len(inside):
        c = inside[i]
        if c not in DIGITS:
            return None
        if i + 2 < len(inside) and inside[i + 1] == "-":
            hi = inside[i + 2]
            if hi not in DIGITS or hi < c:
                return None
            digits.extend(chr(d) for d in range(ord(c), ord(hi) + 1))
            i += 3
        else:
            digits.append(c)
            i += 1
    return "".join(sorted(set(digits))) or None


def is_pattern(text: str) -> bool:
    return _tokens(text) is not None


def _regex_one(pattern: str) -> str:
    parsed = _tokens(pattern)
    assert parsed is not None  # checked where the config is read
    positions, tail = parsed
    parts = [p if len(p) == 1 else f"[{''.join(_ranges(p))}]" for p in positions]
    return "^" + "".join(parts) + _TAILS.get(tail, "") + "$"


def _ranges(digits: str) -> list[str]:
    """``23456789`` as ``2-9``; ``135`` as ``135``: a bracket's contents."""
    out: list[str] = []
    start = prev = digits[0]
    for d in digits[1:] + " ":
        if d != " " and ord(d) == ord(prev) + 1:
            prev = d
            continue
        out.append(start if start == prev else f"{start}-{prev}")
        start = prev = d
    return out


def regex(patterns: tuple[str, ...]) -> str:
    """One anchored regular expression for all ``patterns`` (each checked by ``is_pattern``); empty
    for none (the dialplan then refuses every number)."""
    return "|".join(_regex_one(p) for p in patterns)


def _matches(number: str, pattern: str) -> bool:
    parsed = _tokens(pattern)
    if parsed is None:
        return False
    positions, tail = parsed
    if len(number) < len(positions) or any(d not in allowed for d, allowed in zip(number, positions, strict=False)):
        return False
    rest = len(number) - len(positions)
    return rest == 0 if tail == "" else rest >= 1 if tail == "." else True


def allowed(number: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``number`` (digits only) may be dialled as a transfer target."""
    return is_number(number) and any(_matches(number, p) for p in patterns)
