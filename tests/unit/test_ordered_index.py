"""The bucketed sorted index behaves like a sorted set, across bucket splits and merges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.core.ordered_index import OrderedIndex

ops = st.lists(st.tuples(st.booleans(), st.integers(0, 2000)), max_size=3000)


@given(ops)
def test_matches_a_sorted_set(operations: list[tuple[bool, int]]) -> None:
    index: OrderedIndex[tuple[int, str]] = OrderedIndex()
    model: set[tuple[int, str]] = set()
    for add, n in operations:
        key = (n, f"id{n}")
        if add and key not in model:
            index.add(key)
            model.add(key)
        elif not add and key in model:
            index.remove(key)
            model.discard(key)
        assert (key in index) == (key in model)
    assert list(index) == sorted(model)
    assert len(index) == len(model)


def test_remove_of_a_missing_key_raises() -> None:
    index: OrderedIndex[tuple[int]] = OrderedIndex()
    index.add((1,))
    with pytest.raises(KeyError):
        index.remove((2,))
    index.discard((2,))
    assert list(index) == [(1,)]


def test_large_ascending_and_descending_inserts_stay_sorted() -> None:
    index: OrderedIndex[tuple[int]] = OrderedIndex()
    for i in range(5000):
        index.add((i,))
        index.add((-i - 1,))
    assert list(index) == sorted(list(index))
    assert len(index) == 10_000
