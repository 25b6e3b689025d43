"""Which characters a string may carry into the core, the audit log and the records.

PostgreSQL's ``text`` cannot hold NUL, and a lone surrogate (``"\\ud800"`` is valid JSON) cannot be
encoded at all: either would make the database refuse the write that carries it. Other control
characters have no business in a reason, a code, a name or an id, and would reach logs and screens.
So the API refuses them with a 400 where they come in, before anything is changed (and ``acd tokens``
refuses them in a label); free text (notes) may keep tabs and line breaks.
"""

from __future__ import annotations

import re

UNFIT = "must not contain NUL or other control characters (nor unpaired surrogates)"

_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def fit_text(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` may be kept: no control characters (tab, CR and LF allowed if ``multiline``)."""
    return (_FREE_TEXT if multiline else _LINE).search(value) is None
