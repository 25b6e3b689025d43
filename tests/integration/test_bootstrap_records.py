"""``acd.bootstrap.build`` with the real outbox over PostgreSQL, as the service runs it.

The parts a test usually swaps for fakes are the real ones here; what is checked is where the
runtime's stimulus log (``acd.stimulus``) dumps: beside the journal, not in it.
"""

from __future__ import annotations

from pathlib import Path

from live_desk import LiveDesk, api_pg, live_desk  # noqa: F401  (fixtures)

from acd.bootstrap import STIMULI_DIR


async def test_a_failure_of_the_core_is_dumped_beside_the_journal(live_desk: LiveDesk, tmp_path: Path) -> None:  # noqa: F811
    stimuli = live_desk.parts.runtime.stimuli
    assert stimuli.directory == tmp_path / STIMULI_DIR
    path = stimuli.dump()
    assert path is not None and path.parent == tmp_path / STIMULI_DIR
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list((tmp_path / "journal").glob("stimuli-*"))
