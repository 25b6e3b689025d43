"""GET /api/v1/interactions/{id}/recording and POST /api/v1/calls/{id}/recording on the real app and
PostgreSQL, and the recordings' retention (docs/records.md, "Recordings"). The PBX's part (MixMonitor,
the pauses' silence) is tests/e2e/test_acd_recordings.py."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_v1_harness import V1, add_interactions, api_pg, serve_v1  # noqa: F401
from sqlalchemy import text

from acd.http.v1 import PREFIX
from acd.records.retention import delete_recordings
from acd.records.startup.embedded import EmbeddedPostgres
from acd.settings import RecordingSettings

pytestmark = pytest.mark.pg

UNIQUEID = "1733550000.7"


@contextlib.asynccontextmanager
async def served(api_pg: EmbeddedPostgres, directory: Path, agents_own: bool = False) -> AsyncIterator[V1]:  # noqa: F811
    async with serve_v1(api_pg, recordings=RecordingSettings(str(directory), agents_own=agents_own)) as v1:
        yield v1


async def a_recording(v1: V1, directory: Path) -> tuple[str, bytes]:
    """ann's answered billing call (agent a1), recorded: its interaction id and the file's bytes."""
    await add_interactions(v1.engine)
    content = b"RIFF" + bytes(range(200))
    (directory / f"{UNIQUEID}.wav").write_bytes(content)
    async with v1.engine.begin() as conn:
        found = await conn.execute(
            text(
                "SELECT id, answered_at FROM interactions WHERE queue = 'billing' AND agent_id = 'a1' "
                "AND outcome = 'answered'"
            )
        )
        interaction, answered_at = found.one()
        await conn.execute(
            text(
                "INSERT INTO recordings (id, seq, file, started_at, seconds, sha256) "
                "VALUES (:id, 1, :file, :at, 12.5, :sha)"
            ),
            {
                "id": interaction,
                "file": f"{UNIQUEID}.wav",
                "at": answered_at,
                "sha": hashlib.sha256(content).hexdigest(),
            },
        )
    return str(interaction), content


async def listen(v1: V1, interaction: str, who: str, **headers: str) -> tuple[int, bytes, str]:
    response = await v1.client.get(
        f"{PREFIX}/interactions/{interaction}/recording", headers={**v1.auth(who), **headers}
    )
    return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_admins_and_the_queues_supervisors_listen_agents_do_not_and_each_listen_is_audited(
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with served(api_pg, tmp_path) as v1:
        interaction, content = await a_recording(v1, tmp_path)
        assert await listen(v1, interaction, "admin") == (200, content, "audio/wav")
        status, body, _ = await listen(v1, interaction, "billing", Range="bytes=4-13")
        assert (status, body) == (206, content[4:14])
        assert (await listen(v1, interaction, "a1"))[0] == 403  # their own call, but agents_own is off
        assert (await listen(v1, interaction, "s1"))[0] == 403
        assert (await listen(v1, str(uuid.uuid4()), "admin"))[0] == 404
        assert (await listen(v1, "not-a-uuid", "admin"))[0] == 404
        audit = [(action, target, status) for _, action, target, status in await v1.audit()]
        assert audit == [("recording.listen", interaction, s) for s in (200, 200, 403, 403)]

        # retention: the file goes, the rows stay, and the API says so
        assert await delete_recordings(v1.engine, datetime.now(UTC) + timedelta(days=1), tmp_path, dry_run=True) == 1
        assert await delete_recordings(v1.engine, datetime.now(UTC) + timedelta(days=1), tmp_path) == 1
        assert not (tmp_path / f"{UNIQUEID}.wav").exists()
        assert (await listen(v1, interaction, "admin"))[0] == 410
        async with v1.engine.connect() as conn:
            kept = (
                await conn.execute(
                    text("SELECT r.deleted_at, i.outcome FROM recordings r JOIN interactions i USING (id)")
                )
            ).one()
        assert kept[0] is not None and kept[1] == "answered"
        assert await delete_recordings(v1.engine, datetime.now(UTC) + timedelta(days=1), tmp_path) == 0


async def test_an_agent_may_listen_to_their_own_calls_when_the_config_allows_it(
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with served(api_pg, tmp_path, agents_own=True) as v1:
        interaction, content = await a_recording(v1, tmp_path)
        assert await listen(v1, interaction, "a1") == (200, content, "audio/wav")
        assert (await listen(v1, interaction, "s1"))[0] == 403


async def test_pausing_a_call_that_is_not_recorded_is_404_and_the_body_is_checked(
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with served(api_pg, tmp_path) as v1:
        assert (await v1.post("/calls/c-none/recording", "admin", {"action": "pause"}))[0] == 404
        status, body = await v1.post("/calls/c-none/recording", "admin", {"action": "stop"})
        assert status == 400 and "action" in body["details"]["fields"]
        assert (await v1.post("/calls/c-none/recording", "admin", {}))[0] == 400
        assert (await v1.post("/calls/c-none/recording", "admin", {"action": "pause", "x": 1}))[0] == 400
