"""The rule that reconciles two leaders' records (``acd.records.pipeline.epochs``; docs/standby.md,
"Records reconciled by epoch"), and the journal line that carries each record's term."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acd.ami.ended_unseen import NOT_TRACED
from acd.core.record_types import InteractionRecord
from acd.leadership import NAME
from acd.records.pipeline import codec, epochs
from acd.records.pipeline.epochs import Version, clipped_end, ended_unseen, fenced, newer_term, replaces

OPEN = {"closed": False}
SEEN = {"closed": True}
UNSEEN = {"closed": True, "unseen": True}
T = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_the_names_it_shares_with_the_lease_and_the_resync_are_theirs() -> None:
    assert epochs.LEASE == NAME
    assert epochs.NOT_TRACED == NOT_TRACED


@pytest.mark.parametrize(
    ("stored", "incoming", "wins"),
    [
        # within one term: seq orders, a replay (same seq) changes nothing
        (Version(1, 10), Version(1, 11), True),
        (Version(1, 11), Version(1, 10), False),
        (Version(1, 10), Version(1, 10), False),
        # case 1: a newer term wins whatever the seq (each host counts its own, by its own clock)
        (Version(2, 10), Version(1, 99), False),
        (Version(1, 99), Version(2, 10), True),
        (Version(2, 10, **SEEN), Version(1, 99, **OPEN), False),
        (Version(2, 10, **UNSEEN), Version(1, 99, **OPEN), False),  # a still open snapshot reopens nothing
        (Version(2, 10, **OPEN), Version(1, 99, **SEEN), False),
        # case 2: a close seen beats a close guessed in another term, in either order of arrival
        (Version(2, 10, **UNSEEN), Version(1, 5, **SEEN), True),
        (Version(1, 5, **SEEN), Version(2, 10, **UNSEEN), False),
        (Version(1, 5, **UNSEEN), Version(2, 10, **SEEN), True),
        (Version(2, 10, **SEEN), Version(1, 99, **UNSEEN), False),
        # both seen, or both guessed: the newer term
        (Version(2, 10, **SEEN), Version(1, 99, **SEEN), False),
        (Version(1, 99, **SEEN), Version(2, 10, **SEEN), True),
        (Version(2, 10, **UNSEEN), Version(1, 99, **UNSEEN), False),
        # within one term the exception never applies: seq orders
        (Version(1, 10, **UNSEEN), Version(1, 9, **SEEN), False),
    ],
)
def test_which_version_of_a_row_is_kept(stored: Version, incoming: Version, wins: bool) -> None:
    assert replaces(stored, incoming) is wins


def test_a_close_is_unseen_when_not_traced_or_ended_before_its_term_began() -> None:
    assert not ended_unseen(None, NOT_TRACED, T)  # open
    assert ended_unseen(T + timedelta(seconds=5), NOT_TRACED, T)  # closed at the moment learned: a guess
    assert ended_unseen(T - timedelta(seconds=1), "hangup", T)  # from the PBX's trace, before the term
    assert not ended_unseen(T, "hangup", T)  # seen: at or after the term began
    assert not ended_unseen(T - timedelta(seconds=1), "hangup", None)  # the term's start unknown (epoch 0)


def test_an_old_terms_miss_after_a_newer_term_began_is_fenced() -> None:
    after, before = T + timedelta(seconds=1), T - timedelta(seconds=1)
    for result in ("unanswered", "rejected", "failed"):
        assert fenced(result, after, T)
        assert fenced(result, T, T)
        assert not fenced(result, before, T)  # a real miss, before anyone else led
        assert not fenced(result, after, None)  # no newer term
    assert not fenced("answered", after, T)  # it rang before the new epoch reached the PBX: real
    assert not fenced("cancelled", after, T)
    assert not fenced(None, after, T)  # still ringing


def test_the_newer_term_is_the_first_one_after_the_epoch() -> None:
    terms = [(3, T + timedelta(seconds=30)), (1, T - timedelta(seconds=60)), (2, T)]
    assert newer_term(1, terms) == T
    assert newer_term(2, terms) == T + timedelta(seconds=30)
    assert newer_term(3, terms) is None
    assert newer_term(0, terms) is None  # a line journaled before epochs: its term is unknown


def test_a_journal_line_carries_its_term_and_an_older_line_is_epoch_0() -> None:
    record = InteractionRecord("6f1c2a52-8c1e-4f4e-9a57-3b2d7d1c0a11", 3, "billing", 5, "+1555", 1.0)
    line = codec.encode(record, 7)
    assert b'"epoch":7' in line
    assert codec.decode_stamped(line) == (record, 7)
    assert codec.decode(line) == record
    assert codec.decode_stamped(codec.encode(record)) == (record, 0)
    assert b"epoch" not in codec.encode(record)  # a lone line of old stays byte for byte what it was
    for bad in (b'"epoch":-1', b'"epoch":"7"', b'"epoch":1.5', b'"epoch":true'):
        with pytest.raises(codec.BadLine, match="epoch"):
            codec.decode_stamped(line.replace(b'"epoch":7', bad))


def test_an_old_terms_agent_state_ends_where_the_next_term_began() -> None:
    s = timedelta(seconds=1)
    assert clipped_end(T - 9 * s, T + 5 * s, T) == T  # it ran on past the new term: cut there
    assert clipped_end(T - 9 * s, None, T) == T  # left open: closed there
    assert clipped_end(T - 9 * s, T - 2 * s, T) == T - 2 * s  # over before: unchanged
    assert clipped_end(T + 2 * s, T + 5 * s, T) == T + 2 * s  # opened after: no time at all
    assert clipped_end(T + 2 * s, None, T) == T + 2 * s
    assert clipped_end(T - 9 * s, None, None) is None  # no newer term: unchanged
