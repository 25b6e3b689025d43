"""Reading what a client sent to /api/v1: a JSON object body, and typed values of a body, a query
string, a path or a header. Every check of a request's values is one of ``Fields``' readers.

Each reader returns the value or collects a problem per field, so one 400 ``invalid-input`` names
everything that is wrong at once (``details.fields``).

Why hand-written readers and not typed models (pydantic, msgspec): the API's 400s are a published
contract (docs/api.md): their messages, the order of the checks (an unknown field before a bad value,
one answer naming every bad field) and the config's own checks of skills, queues and agents
(``acd.settings``), which a model would repeat. A model library would word its errors its own way, so
adopting one means changing every 400 body. The OpenAPI document stays written beside the handlers
(``acd.http.v1.openapi``) and schemathesis holds the two together.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from acd.http import errors
from acd.records.text import UNFIT, fit_text

MAX_TEXT = 4000
PHONE_PROBLEM = "a phone number: digits with an optional leading +, spaces and dashes allowed, at most 32 digits"


def _is_phone(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 40:
        return False
    bare = value.strip().replace(" ", "").replace("-", "").removeprefix("+")
    return 0 < len(bare) <= 32 and bare.isascii() and bare.isdigit()


async def json_object(request: web.Request, allowed: frozenset[str]) -> dict[str, Any] | web.Response:
    """The body as a JSON object (an empty body is ``{}``); 400 for anything else or unknown fields."""
    raw = await request.read()  # raises 413 beyond client_max_size, answered by the guard
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, NaN, 1e999, an int of 5000 digits, [[[[…
        return errors.bad_body("the body is not valid JSON (finite numbers, no NaN or Infinity)")
    if not isinstance(body, dict):
        return errors.bad_body("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        return errors.invalid("unknown fields", {name: "not a field of this request" for name in unknown})
    return body


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal} is out of range")
    return value


class Fields:
    """Typed reads from a body or query string; ``problems`` collects what did not fit."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self._source = source
        self.problems: dict[str, str] = {}

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str = "",
        max_length: int = MAX_TEXT,
        multiline: bool = False,
    ) -> str:
        """A string; a single line unless ``multiline`` (free text: tabs and line breaks allowed)."""
        value = self._source.get(name)
        if value is None:
            if required:
                self.problems[name] = "required"
            return default
        if isinstance(value, str) and not fit_text(value, multiline=multiline):
            self.problems[name] = UNFIT
            return default
        if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
            self.problems[name] = (
                f"a non-empty string of at most {max_length} characters"
                if required
                else f"a string of at most {max_length} characters"
            )
            return default
        return value

    def given(self, name: str) -> bool:
        """Whether the source has ``name`` at all (a PATCH changes only what it names)."""
        return name in self._source

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._source.get(name, default)
        if not isinstance(value, bool):
            self.problems[name] = "true or false"
            return default
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._source.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            number = low - 1
        if not low <= number <= high:
            self.problems[name] = f"an integer from {low} to {high}"
            return default
        return number

    def timestamp(self, name: str) -> datetime | None:
        value = self._source.get(name)
        if value is None:
            return None
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError:
            self.problems[name] = "an ISO 8601 date-time with a UTC offset, e.g. 2026-11-28T09:00:00Z"
            return None
        if stamp.tzinfo is None:
            self.problems[name] = "needs a UTC offset (Z or +hh:mm)"
            return None
        return stamp

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self._source.get(name)
        if value is None:
            return None
        if value not in allowed:
            self.problems[name] = f"one of {', '.join(allowed)}"
            return None
        return str(value)

    def string(self, name: str, problem: str) -> str:
        """Any string (the config checks what it may hold); ``problem`` names what is missing otherwise."""
        value = self._source.get(name)
        if not isinstance(value, str):
            self.problems[name] = problem
            return ""
        return value

    def unchanged(self, name: str, current: str, problem: str) -> None:
        """A field that may repeat ``current`` but not change it (an id in its own path)."""
        if self._source.get(name, current) != current:
            self.problems[name] = problem

    def whole(self, name: str, low: int, high: int) -> int | None:
        """A required JSON integer (not a boolean, not a string of digits) from ``low`` to ``high``."""
        value = self._source.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems[name] = f"an integer from {low} to {high}"
            return None
        return value

    def customer(self, name: str, *, max_length: int | None = None) -> uuid.UUID | None:
        """A customer id (a UUID); absent or empty is None. ``max_length``: first checked as ``text``."""
        text = self._source.get(name) if max_length is None else self.text(name, max_length=max_length)
        if not text or name in self.problems:
            return None
        try:
            return uuid.UUID(str(text))
        except ValueError:
            self.problems[name] = "a customer id (UUID)"
            return None

    def phone(self, name: str, *, required: bool = False) -> str | None:
        """A phone number: digits, one leading '+', spaces and dashes between (at most 40 characters
        in all, 32 digits); absent is None."""
        value = self._source.get(name)
        if value is None:
            if required:
                self.problems[name] = "required: " + PHONE_PROBLEM
            return None
        if not _is_phone(value):
            self.problems[name] = PHONE_PROBLEM
            return None
        return str(value)

    def phones(self, name: str, most: int) -> list[str] | None:
        """A list of at most ``most`` phone numbers (``phone``); absent is None."""
        value = self._source.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > most or not all(_is_phone(v) for v in value):
            self.problems[name] = f"a list of at most {most} phone numbers ({PHONE_PROBLEM})"
            return None
        return [str(v) for v in value]

    def revision(self, name: str) -> int | None:
        """An entity tag naming a config revision (``"7"``, ``W/"7"``); absent or ``*`` is None."""
        value = self._source.get(name)
        if value is None or str(value).strip() == "*":
            return None
        tag = str(value).strip().removeprefix("W/").strip('"')
        if not tag.isdigit() or len(tag) > 18:
            self.problems[name] = 'a revision number as an entity tag, e.g. "7"'
            return None
        return int(tag)

    def nested(self, name: str, allowed: frozenset[str]) -> Fields:
        """A required JSON object with only ``allowed`` keys, read with its own ``Fields``; hand that
        back with ``adopt`` so that its problems are named ``<name>.<field>`` here."""
        value = self._source.get(name)
        if not isinstance(value, dict) or not set(value) <= allowed:
            self.problems[name] = f"an object with only {', '.join(sorted(allowed))}"
            value = {}
        return Fields(value)

    def adopt(self, inner: Fields, name: str) -> None:
        """Take the problems of ``inner`` (from ``nested(name, ...)``) as this body's."""
        if name in self.problems:
            return  # the object itself did not fit: that is the problem to name
        for key, problem in inner.problems.items():
            self.problems[f"{name}.{key}"] = problem

    def all_fit(self) -> Fields:
        """Every value is text a record may hold (no NUL or other controls, no lone surrogates)."""
        for name, value in self._source.items():
            if not fit_text(value):
                self.problems[name] = UNFIT
        return self

    def refusal(self, message: str = "the request has invalid fields") -> web.Response | None:
        return errors.invalid(message, self.problems) if self.problems else None
