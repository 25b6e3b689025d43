"""Changes to the routing config (skills, queues, agents) made through the REST API, one at a time.

A change is an edit of the current document (``acd.routing_document``). The editor then, in order:

1. checks the new document exactly as the file is checked (``acd.settings.routing_from_document``);
   a bad one raises ``Invalid`` and nothing changes;
2. stores it as the next revision in PostgreSQL; when PostgreSQL cannot answer, ``DatabaseUnavailable``
   leaves and nothing changes (the core never runs a config the next start would not run);
3. hands it to the core as ``ConfigChanged`` through ``Runtime.ask``, the one writer; if the runtime
   no longer takes events the revision is withdrawn;
4. writes the config tables (``acd.records.startup.sync_config``) that records and reports join; a failure
   here is logged, not answered: the core already runs the change and the next start syncs again;
5. tells whoever else keeps a copy of the config (``on_applied``: the AMI translator's roster).

Changes are serialised by one lock and each starts from the document the previous one left, so two
concurrent creates both land. A client may name the revision it read (``expected``); when another
change came first, ``StaleRevision`` says so instead of silently overwriting it. The locked part runs
shielded from the request's cancellation: a client that hangs up cannot leave a revision stored but
never applied.

``routing_in_force`` is the start-up side: the latest revision if there is one, else the file's.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.commands import Command
from acd.core.config import RoutingConfig
from acd.core.events import ConfigChanged
from acd.records.errors import RecordsError
from acd.records.startup.sync_config import sync_config
from acd.records.stores import config_revisions
from acd.records.stores.config_revisions import Author, Revision
from acd.routing_document import Document, document_of
from acd.runtime import Runtime
from acd.settings import Problem, Settings, SettingsError, routing_from_document

log = logging.getLogger(__name__)


class Refused(Exception):
    """The change cannot be made as asked (an unknown name, a skill in use); answered as it says."""

    def __init__(self, status: int, error_id: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.details = details or {}


class Invalid(Exception):
    """The config after the change would not pass the file's checks; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.key}: {p.message}" for p in problems))
        self.problems = problems


class StaleRevision(Exception):
    """The client read revision ``expected``, but ``current`` is in force now."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"the config is at revision {current}, not {expected}")
        self.expected = expected
        self.current = current


Edit = Callable[[Document], None]
"""Changes the document it is given (a private copy) in place, or raises ``Refused``."""

Permit = Callable[[RoutingConfig, RoutingConfig], None]
"""Sees the config before and after a checked change; raises ``Refused`` when its author may not make it."""


@dataclass(frozen=True, slots=True)
class Applied:
    revision: int
    document: Document
    config: RoutingConfig
    commands: list[Command] = field(default_factory=list)  # what the core did (e.g. callers overflowed)


class ConfigEditor:
    def __init__(
        self,
        runtime: Runtime,
        engine: AsyncEngine,
        document: Document,
        revision: int = 0,
        on_applied: Callable[[RoutingConfig], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self._document = document
        self._revision = revision
        self._on_applied = on_applied
        self._lock = asyncio.Lock()

    @classmethod
    def running(cls, runtime: Runtime, engine: AsyncEngine) -> ConfigEditor:
        """An editor of whatever the core runs now, before any revision (tests, tools)."""
        return cls(runtime, engine, document_of(runtime.core.config))

    @property
    def document(self) -> Document:
        """The document in force; read it, never change it (edits go through ``change``)."""
        return self._document

    @property
    def revision(self) -> int:
        """The revision in force; 0 while the config is still the file's."""
        return self._revision

    async def change(
        self, edit: Edit, author: Author, expected: int | None = None, permit: Permit | None = None
    ) -> Applied:
        task = asyncio.ensure_future(self._change(edit, author, expected, permit))
        return await asyncio.shield(task)

    async def _change(self, edit: Edit, author: Author, expected: int | None, permit: Permit | None) -> Applied:
        async with self._lock:
            if expected is not None and expected != self._revision:
                raise StaleRevision(expected, self._revision)
            document = copy.deepcopy(self._document)
            edit(document)
            try:
                config, skills = routing_from_document(document, self._runtime.core.config.policy, "the change")
            except SettingsError as exc:
                raise Invalid(exc.problems) from None
            document = document_of(config, skills)  # every field written out, as it is now in force
            if permit is not None:
                permit(self._runtime.core.config, config)
            revision = await config_revisions.save(self._engine, document, author)
            try:
                commands = await self._runtime.ask(ConfigChanged(config))
            except BaseException:
                await self._withdraw(revision.revision)
                raise
            self._document, self._revision = document, revision.revision
            log.info(
                "routing config: revision %d in force (%s %s by token %s)",
                revision.revision,
                author.action,
                author.target,
                author.token_id,
            )
            try:
                await sync_config(self._engine, config)
            except RecordsError as exc:
                log.warning(
                    "revision %d is in force but the config tables were not updated (%s); the next start writes them",
                    revision.revision,
                    exc,
                )
            if self._on_applied is not None:
                self._on_applied(config)
            return Applied(revision.revision, document, config, commands)

    async def _withdraw(self, revision: int) -> None:
        try:
            await config_revisions.withdraw(self._engine, revision)
        except RecordsError as exc:
            log.error(
                "config revision %d was stored but the core never took it, and it could not be "
                "withdrawn (%s): the next start runs it",
                revision,
                exc,
            )


@dataclass(frozen=True, slots=True)
class InForce:
    """The skills, queues and agents to run, and where they come from."""

    routing: RoutingConfig
    skills: tuple[str, ...]
    revision: Revision | None  # None: the file's sections


async def routing_in_force(engine: AsyncEngine, settings: Settings) -> InForce:
    """The latest revision made through the REST API if there is one, else the file's skills, queues
    and agents. The file's ``[routing]`` policy holds either way. A stored revision that no longer
    passes the checks stops the start (SettingsError): running the file's instead would quietly undo
    changes people made."""
    revision = await config_revisions.latest(engine)
    if revision is None:
        log.info(
            "routing config: skills, queues and agents from %s (never changed through the REST API)", settings.source
        )
        return InForce(settings.routing, settings.skills, None)
    routing, skills = routing_from_document(
        revision.document, settings.routing.policy, f"config revision {revision.revision}"
    )
    log.info(
        "routing config: revision %d from PostgreSQL (%s, %s %s by token %s); the skills, queues and "
        "agents of %s are not used",
        revision.revision,
        revision.created_at.isoformat(timespec="seconds"),
        revision.action,
        revision.target,
        revision.token_id,
        settings.source,
    )
    return InForce(routing, skills, revision)
