"""What one callback menu leaves on the caller's channel cannot steer the next (docs/dialplan.md,
"Callbacks at a time"): a time keyed (``ACD_CB_SCHEDULED``, ``ACD_CB_CONFIRMED``) by a caller the ACD
then redirected away (a ring, an overflow, a move) must not turn a later closed queue's confirmation
into ``AcdCallbackAt``, nor a later offer's."""

from __future__ import annotations

from test_dialplan_redirects import STEPS, Step, find


def _cleared(step: Step) -> set[str]:
    if step.app == "MSet":
        pairs = [p.split("=", 1) for p in step.data.split(",")]
    elif step.app == "Set":
        pairs = [step.data.split("=", 1)]
    else:
        return set()
    return {name for name, *value in pairs if value == [""]}


def _steps_from(context: str, exten: str, label: str) -> list[Step]:
    start = find(context, exten, label)
    return [s for s in STEPS if s.context == context and s.exten == start.exten and s.priority >= start.priority]


def test_a_closed_queue_offer_clears_a_time_keyed_before() -> None:
    offer = _steps_from("acd-closed-callback", "s", "offer")
    before_menu = offer[: next(i for i, s in enumerate(offer) if s.app == "Background")]
    cleared = set().union(*(_cleared(s) for s in before_menu))
    assert {"ACD_CB_SCHEDULED", "ACD_CB_CONFIRMED"} <= cleared


def test_a_callback_offer_clears_a_time_keyed_before() -> None:
    offer = _steps_from("acd-callback-offer", "s", "due")
    before_menu = offer[: next(i for i, s in enumerate(offer) if s.app == "Background")]
    cleared = set().union(*(_cleared(s) for s in before_menu))
    assert {"ACD_CB_SCHEDULED", "ACD_CB_CONFIRMED"} <= cleared


def test_a_closed_queue_confirmation_never_goes_to_the_keyed_time() -> None:
    """In ``acd-callback-confirm,1``, the jump to ``at`` (AcdCallbackAt) is never taken with
    ``ACD_CB_CLOSED`` set, whatever ``ACD_CB_SCHEDULED`` holds."""
    confirm = [s for s in STEPS if s.context == "acd-callback-confirm" and s.exten == "1"]
    to_at = [s for s in confirm if s.app == "GotoIf" and s.data.endswith("?at")]
    assert to_at
    for step in to_at:
        closed_first = [
            s
            for s in confirm
            if s.priority < step.priority and s.app == "GotoIf" and "ACD_CB_CLOSED" in s.data and "?closed" in s.data
        ]
        assert "ACD_CB_CLOSED" in step.data or closed_first, step
