"""A transfer's segment record goes through the journal's line format like every record, and its row
names the table and columns of migration 0008 (docs/records.md, "Segments")."""

from __future__ import annotations

import json
import uuid

import pytest

from acd.core.ids import segment_id
from acd.core.record_types import SegmentRecord
from acd.records.pipeline import codec
from acd.records.pipeline.rows import SEGMENTS, referenced_agents, referenced_queues, to_row

CALL = str(uuid.uuid4())
STAY = str(uuid.uuid4())
SEGMENT = SegmentRecord(
    segment_id(CALL, STAY, "talk", "a1", 100.0),
    CALL,
    STAY,
    "talk",
    "a1",
    "billing",
    100.0,
    1,
    160.5,
    "blind",
    "queue:support",
)


def test_a_segment_survives_the_journal() -> None:
    assert codec.decode(codec.encode(SEGMENT)) == SEGMENT


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "chat"), ("transfer_kind", "sideways"), ("stay_id", "not-a-uuid"), ("started_at", "soon")],
)
def test_a_segment_line_that_does_not_fit_is_refused(field: str, value: object) -> None:
    obj = json.loads(codec.encode(SEGMENT))
    obj["data"][field] = value
    with pytest.raises(codec.BadLine, match=field):
        codec.decode(json.dumps(obj).encode())


def test_a_segment_is_a_row_of_interaction_segments() -> None:
    row = to_row(SEGMENT)
    assert row.table is SEGMENTS and row.table.name == "interaction_segments"
    assert (row.values["interaction_id"], row.values["transfer_target"]) == (uuid.UUID(CALL), "queue:support")
    assert referenced_agents([SEGMENT]) == {"a1"} and referenced_queues([SEGMENT]) == {"billing"}
