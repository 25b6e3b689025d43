"""The outside numbers a transfer may dial (``acd.core.transfer_numbers``): the admin's dial-plan
patterns, read from ``[transfers] allowed_numbers``, matched by the core and compiled to the one
regular expression the dialplan checks again (docs/security.md, "Dialling and caller ID")."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.core import transfer_numbers as tn
from acd.settings import SettingsError, parse

PATTERNS = ("_1555NXXXXXX", "911", "_44[1-3]X.", "_7[135]!")


@pytest.mark.parametrize(
    ("number", "allowed"),
    [
        ("15552345678", True),
        ("15551345678", False),  # N is 2-9
        ("155523456789", False),  # one digit too many
        ("911", True),
        ("9110", False),
        ("44123", True),
        ("4412", False),  # '.' is one or more
        ("7", False),
        ("71", True),
        ("73999", True),
        ("", False),
        ("1555234567a", False),
        ("1" * 33, False),
    ],
)
def test_a_number_is_allowed_only_by_a_pattern(number: str, allowed: bool) -> None:
    assert tn.allowed(number, PATTERNS) is allowed
    assert not tn.allowed(number, ())


@given(st.text(alphabet="0123456789", min_size=1, max_size=14))
def test_the_dialplans_regular_expression_means_what_the_core_means(number: str) -> None:
    """The global the dialplan checks with REGEX (POSIX ERE; Python's re reads these the same)."""
    assert (re.search(tn.regex(PATTERNS), number) is not None) is tn.allowed(number, PATTERNS)


def test_the_regular_expression_holds_nothing_that_ends_a_dialplan_argument() -> None:
    assert set(tn.regex(PATTERNS)) <= set("0123456789[]-^$|*+")
    assert tn.regex(()) == ""


@pytest.mark.parametrize("bad", ["abc", "_X|1", "1,2", "_X.X", "_[1-", "_[3-1]", "_", "_.", "+15551234567", "_X" * 20])
def test_the_config_refuses_what_is_not_a_pattern(bad: str) -> None:
    assert not tn.is_pattern(bad)
    with pytest.raises(SettingsError, match=r"transfers\.allowed_numbers"):
        parse({"transfers": {"allowed_numbers": [bad]}}, "acd.toml", {})


MINIMAL = {
    "skills": ["billing"],
    "queues": {"billing": {"skills": {"billing": 1}}},
    "agents": {"a1": {"endpoint": "agent1", "skills": {"billing": 3}}},
}


def test_the_config_reads_the_patterns_into_the_policy() -> None:
    settings = parse({**MINIMAL, "transfers": {"allowed_numbers": ["_1555NXXXXXX", "911", "911"]}}, "acd.toml", {})
    assert settings.routing.policy.transfer_numbers == ("_1555NXXXXXX", "911")
    assert parse(MINIMAL, "acd.toml", {}).routing.policy.transfer_numbers == ()


def test_the_config_reads_how_long_a_caller_waits_for_an_agent_named_in_a_transfer() -> None:
    """``[transfers] agent_wait`` (docs/kpis.md, "Transfers"): 30 s by default, 0 allowed (at once)."""
    assert parse(MINIMAL, "acd.toml", {}).routing.policy.transfer_agent_wait_seconds == 30.0
    for wait in (0, 12.5):
        settings = parse({**MINIMAL, "transfers": {"agent_wait": wait}}, "acd.toml", {})
        assert settings.routing.policy.transfer_agent_wait_seconds == wait
    for bad in (-1, 3601, "soon"):
        with pytest.raises(SettingsError, match=r"transfers\.agent_wait"):
            parse({**MINIMAL, "transfers": {"agent_wait": bad}}, "acd.toml", {})
