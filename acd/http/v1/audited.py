"""Every change through /api/v1 is made, then written to the audit log with its answer: ``audited``.

The agent actions, the supervisor's moves of callers and the config edits all go through it, so
what is audited, with which status and details, is decided once. A refusal of the core or the runtime
(``acd.core.errors``, shutting down, a core bug) is answered here (``refusal``) and audited like any
answer. An answer to a change that was never attempted (a stale revision, a config the change would
make invalid) is not audited: the change raises ``Unattempted`` with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.core.errors import AcdError, InvalidTransition, InvalidValue, OutOfScope, UnknownEntity
from acd.http import errors
from acd.http.keys import AUDIT, TOKEN
from acd.records.stores.audit import Change
from acd.runtime import CoreFailed, Draining, Standby

# The answer, or the answer and what the audit row adds to the request's details (a config revision).
Made = web.Response | tuple[web.Response, Mapping[str, Any]]


class Unattempted(Exception):
    """Raised by a change with the answer to give when nothing was attempted (not audited)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def refusal(exc: Exception) -> web.Response:
    """The core's or the runtime's refusal as an API error; the core's ``error_id`` in kebab case."""
    if isinstance(exc, InvalidTransition):
        return errors.refused(
            409, "invalid-transition", str(exc), {"subject": exc.subject, "state": exc.state, "event": exc.event}
        )
    if isinstance(exc, OutOfScope):  # a supervisor's token (or phone) is for other queues
        return errors.refused(403, "forbidden", str(exc), {"queue": exc.queue})
    if isinstance(exc, UnknownEntity):
        return errors.refused(404, f"no-such-{exc.kind}", str(exc), {"id": exc.key})
    if isinstance(exc, InvalidValue):  # the API's own checks should have caught it: still the client's fault
        return errors.refused(400, "invalid-input", str(exc), {})
    if isinstance(exc, AcdError):
        return errors.refused(409, exc.error_id.replace("_", "-"), str(exc), {})
    if isinstance(exc, Standby):
        return errors.standby()
    if isinstance(exc, Draining):
        return errors.draining()
    return errors.internal()


CORE_REFUSALS: tuple[type[Exception], ...] = (AcdError, Draining, CoreFailed)


async def audited(
    request: web.Request,
    action: str,
    target: str,
    details: Mapping[str, Any],
    change: Callable[[], Awaitable[Made]],
    *,
    refused: tuple[type[Exception], ...] = CORE_REFUSALS,
) -> web.Response:
    """Make ``change`` and audit it as ``action`` on ``target`` with the answer's status and ``details``.

    ``refused``: the exceptions answered with ``refusal`` (and audited); any other is the guard's.
    """
    added: Mapping[str, Any] = {}
    try:
        made = await change()
        response, added = made if isinstance(made, tuple) else (made, {})
    except Unattempted as exc:
        return exc.response
    except refused as exc:
        response = refusal(exc)
    token = request[TOKEN]
    await request.app[AUDIT].write(
        Change(
            datetime.now(UTC),
            token.id,
            token.role,
            token.agent_id,
            action,
            target,
            response.status,
            {**details, **added},
        )
    )
    return response
