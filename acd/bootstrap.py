"""The one place that builds every part of the ACD and connects them to each other.

``build`` first learns which skills, queues and agents are in force (the latest config revision
stored in PostgreSQL, else the file's: ``acd.config_changes.routing_in_force``), then builds each
part once, for that config: metrics, the core, the AMI translator and call control, the one writer
(``acd.runtime``), the outbox, the caller directory, the audit log, the config editor and the HTTP
site. Nothing connects and nothing starts here but that one read: ``acd.service`` starts the parts
in order and drains them in reverse, and a test starts just the ones it needs.

A test hands in the fakes it wants: a call control instead of the AMI adapter over an AMI link, a
record sink instead of the outbox, a clock; without a ``database`` there is no REST API (its tokens
and audit live there) and the site is the app's own routes (``acd.http.app``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.ami.control import AmiCallControl as AmiControl
from acd.ami.link import AmiLink
from acd.ami.originate import Originator
from acd.ami.pbx_control import PbxCallControl
from acd.ami.pump import Pump, TokenKeeper
from acd.ami.settings import LinkSettings
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.callback_names import FOLDER as NAMES_FOLDER
from acd.callback_names import CallbackNames
from acd.config_changes import ConfigEditor, routing_in_force
from acd.core.acd import Acd
from acd.core.commands import CloseScheduledCallback, KeepScheduledCallback, MonitorCall
from acd.core.config import RoutingConfig
from acd.core.errors import AcdError, InvalidTransition, OutOfScope, UnknownEntity
from acd.core.events import CallEnded, MonitorRequested, OfferFailed, ScheduledCallbackCancelled
from acd.core.lease import LeaseTimes
from acd.core.states import AgentState
from acd.database import Database
from acd.forecast import Forecaster
from acd.http.app import build_app
from acd.http.bearer import Bearers
from acd.http.site import build_site
from acd.kamailio.reader import KamailioReader, reader_for
from acd.leadership import Leadership
from acd.metrics import Metrics
from acd.pbx_board import PbxBoard
from acd.ports import CallControl, RecordSink
from acd.readiness import DatabaseProbe, Status
from acd.recordings import Recorder
from acd.records.pipeline.outbox import Outbox
from acd.records.stores import scheduled_callbacks as scheduled_store
from acd.records.stores.audit import AuditLog, Change
from acd.records.stores.customers import CustomerDirectory
from acd.records.stores.scheduled_callbacks import CALLER, CALLER_KEYED
from acd.routing_document import document_of
from acd.runtime import Runtime
from acd.settings import AmiSettings as AmiConfig
from acd.settings import DatabaseSettings, HttpSettings, PbxSettings, Settings
from acd.stimulus import StimulusLog
from acd.wallboard.today import ServiceLevelToday

log = logging.getLogger("acd")
_BACKGROUND: set[asyncio.Task[None]] = set()


def background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work, name="acd-monitor-by-phone")
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def keep_closed_callback(
    runtime: Runtime, engine: AsyncEngine, ami: AmiControl | PbxCallControl | None, command: KeepScheduledCallback
) -> None:
    """A caller's scheduled callback (a closed queue's, or a time a holding caller keyed): first its row
    in PostgreSQL, then (only then) the caller is told it is kept and when (``ACD_CB_KEPT`` on their
    channel; docs/dialplan.md, "Closed queues", "Callbacks at a time"). A row that
    could not be written is called off in the core too: the caller, never told, leaves a message, and
    no callback runs that a restart would forget. A crash before the row is written loses nothing the
    caller was promised; one after it leaves the row, which the next start schedules again."""
    at = datetime.fromtimestamp(command.at, UTC)
    try:
        if not await scheduled_store.add_quietly(
            engine, command.callback_id, command.queue, command.number, at, CALLER if command.own else CALLER_KEYED
        ):
            runtime.submit(ScheduledCallbackCancelled(command.callback_id))
            return
        late = _CLOSED_LATE.get(command.callback_id)
        if late is not None:  # its close gave up waiting for this row and changed nothing: applied now
            await _close_row(engine, command.callback_id, late)
            return
    finally:
        _CLOSED_LATE.pop(command.callback_id, None)
        written = _KEEPING.pop(command.callback_id, None)
        if written is not None:
            written.set()
    if ami is not None and command.call_id and command.callback_id not in _CLOSING:
        # the caller records their name under the callback's id (a closed queue's caller was told it
        # already, with the closed treatment: the same id)
        await ami.callback_kept(command.call_id, command.at, command.zone, command.callback_id)


# A closed queue's callback whose row is being written (``keep_scheduled`` marks it at once, before any
# later command of the core runs): a close of the same callback (``not_kept``: the caller's wait ran out
# meanwhile) waits for that row, or it would update nothing and the row would be written pending after it,
# to be scheduled again at the next start. A close that waited ``ROW_WAIT_SECONDS`` in vain (PostgreSQL
# slower than that: the pool's wait, the connect and the command's timeouts add up to more) leaves its
# reason in ``_CLOSED_LATE``, and the writer closes the row itself once written. So the close always lands
# last and wins, whatever the timing.
_KEEPING: dict[str, asyncio.Event] = {}
_CLOSING: set[str] = set()  # closes asked for while the row was being written: the caller is not told
_CLOSED_LATE: dict[str, str] = {}  # callback id -> the reason of a close that gave up waiting for its row
ROW_WAIT_SECONDS = 30.0


def keeping(callback_id: str) -> None:
    """The row of ``callback_id`` is about to be written (called in the core's command order)."""
    _KEEPING.setdefault(callback_id, asyncio.Event())


async def close_scheduled_row(engine: AsyncEngine, command: CloseScheduledCallback) -> None:
    written = _KEEPING.get(command.callback_id)
    if written is not None:
        _CLOSING.add(command.callback_id)
        try:
            await asyncio.wait_for(written.wait(), ROW_WAIT_SECONDS)
        except TimeoutError:
            if command.callback_id in _KEEPING:  # still being written: its writer closes it after
                _CLOSED_LATE[command.callback_id] = command.reason
                log.warning("scheduled callback %s: closed once its row is written", command.callback_id[:8])
        finally:
            _CLOSING.discard(command.callback_id)
    await _close_row(engine, command.callback_id, command.reason)


async def _close_row(engine: AsyncEngine, callback_id: str, reason: str) -> None:
    try:
        await scheduled_store.close(engine, callback_id, reason, datetime.now(UTC))
    except Exception as exc:  # it stays pending: the next start closes it again
        log.error("scheduled callback %s could not be closed in the records: %s", callback_id[:8], exc)


async def answer_phone(
    runtime: Runtime, control: AmiControl, audit: Callable[[], AuditLog | None], event: MonitorRequested
) -> None:
    """Ask the core about a supervisor's phone's monitoring request; refuse at the phone, audit."""
    status = 202
    target = f"agent:{event.agent_id}"
    try:
        commands = await runtime.ask(event)
        target = next((c.call_id for c in commands if isinstance(c, MonitorCall)), target)
    except OutOfScope:
        status = 403
    except UnknownEntity:
        status = 404
    except InvalidTransition:
        status = 409
    except AcdError:
        status = 400
    except Exception as exc:  # draining, a core bug: the phone hears "no service" all the same
        log.warning("monitor by %s: %s", event.supervisor_endpoint, exc)
        status = 503
    verb = "asked to be joined" if status == 202 else f"refused ({status})"
    log.info("monitor: %s %s to agent %s: %s", event.supervisor_endpoint, event.mode, event.agent_id, verb)
    if status != 202:
        try:
            await control.refuse_monitor(event.supervisor_channel, event.supervisor_endpoint)
        except Exception as exc:  # the phone hung up, or waits out its own 5 s
            log.info("monitor: could not refuse at %s: %s", event.supervisor_channel, exc)
    entries = audit()
    if entries is not None:
        details = {"mode": event.mode, "supervisor_endpoint": event.supervisor_endpoint, "by": "feature_code"}
        if event.pbx is not None:  # several PBXs: the phone's (a call on another is refused, docs/pbxs.md)
            details["pbx"] = event.pbx
        change = Change(
            datetime.now(UTC),
            f"phone:{event.supervisor_endpoint}",
            "supervisor",
            None,
            "call.monitor",
            target,
            status,
            details,
        )
        await entries.write(change)


STIMULI_DIR = "stimuli"  # beside the journal: dumps of the events that led to a failure of the core (acd.stimulus)


@dataclass(frozen=True, slots=True, eq=False)
class Parts:
    """Everything ``build`` made, connected; nothing started."""

    settings: Settings  # with the skills, queues and agents in force (a stored revision's, else the file's)
    revision: int  # the config revision in force; 0: the file's
    metrics: Metrics
    core: Acd
    runtime: Runtime
    translator: Translator
    forecaster: Forecaster  # expected waits, from the runtime's metric updates
    control: CallControl  # what the runtime sends call control to: the AMI adapter, or a test's fake
    records: RecordSink  # where the runtime's records go: the outbox, or a test's sink
    recorder: Recorder  # before ``records``: adds the recordings' records, pauses recordings
    status: Status  # /healthz and /readyz
    site: web.Application  # the whole HTTP site (without a database: the app's own routes)
    link: AmiLink | None = None  # the AMI link, unless a call control was handed in
    ami: AmiControl | None = None  # the AMI adapter over ``link``
    keeper: TokenKeeper | None = None  # this run's event token on the PBX
    pump: Pump | None = None  # AMI events into the runtime
    database: Database | None = None
    outbox: Outbox | None = None  # unless a record sink was handed in
    customers: CustomerDirectory | None = None
    audit: AuditLog | None = None
    editor: ConfigEditor | None = None
    leadership: Leadership | None = None  # the lease (with a database); run and wired by ``acd.service``
    # every PBX's AMI side, the first PBX's first (its link, adapter, keeper and pump are the four above)
    pbxs: tuple[PbxParts, ...] = ()
    kamailio: KamailioReader | None = None  # [kamailio]: reachability and the dispatcher's view (docs/pbxs.md)


@dataclass(frozen=True, slots=True, eq=False)
class PbxParts:
    """One PBX's AMI side (docs/pbxs.md, "Per PBX"): its link, its call control, this run's token on it,
    and the pump that delivers its events into the one runtime."""

    name: str
    link: AmiLink
    ami: AmiControl
    keeper: TokenKeeper
    pump: Pump


def instance_name(settings: Settings) -> str:
    """This process's name in the lease: ``[cluster] instance``, else "<host name>:<http port>"."""
    return settings.cluster.instance or f"{socket.gethostname()[:150]}:{settings.http.port}"


async def in_force(settings: Settings, database: Database | None) -> tuple[Settings, int]:
    """The settings with the stored revision's skills, queues and agents, and that revision (0: the file's)."""
    if database is None:
        return settings, 0
    found = await routing_in_force(database.pool("startup"), settings)
    if found.revision is None:
        return settings, 0
    return dataclasses.replace(settings, routing=found.routing, skills=found.skills), found.revision.revision


def settings_for(
    routing: RoutingConfig,
    *,
    ami: AmiConfig | None = None,
    http: HttpSettings | None = None,
    database: DatabaseSettings | None = None,
) -> Settings:
    """Settings around a routing config made in code (tests, benches): every other section at its default."""
    return Settings(ami or AmiConfig(), http or HttpSettings(), database or DatabaseSettings(), routing, "code")


def ami_link(settings: Settings, pbx: PbxSettings | None = None) -> AmiLink:
    """The AMI link to ``pbx`` (default: the first PBX, ``[ami]``'s), with the timings of ``[ami]``."""
    a = settings.ami
    return AmiLink(
        LinkSettings(
            host=a.host if pbx is None else pbx.host,
            port=a.port if pbx is None else pbx.port,
            username=a.user if pbx is None else pbx.user,
            secret=a.secret if pbx is None else pbx.secret,
            ping_interval=a.ping_interval,
            ping_timeout=a.ping_timeout,
        )
    )


async def build(
    settings: Settings,
    *,
    control: CallControl | None = None,
    records: RecordSink | None = None,
    clock: Callable[[], float] = time.time,
    database: Database | None = None,
    bearers: Bearers | None = None,
) -> Parts:
    """The ACD's parts for ``settings``, built once for the config in force.

    ``control``: call control (default: the AMI adapter over a link to ``settings.ami``, not yet
    started). ``records``: the record sink (default: the outbox over ``database``, not yet started;
    one of the two is needed). ``database``: PostgreSQL, migrated (the REST API, the config revision,
    the caller directory, readiness). ``bearers``: the REST API's token checker, for other limits.
    Async for one reason: the config revision is read from ``database`` before anything is built.
    """
    if records is None and database is None:
        raise ValueError("records go to the outbox over a database, or to a sink handed in")
    settings, revision = await in_force(settings, database)
    routing = settings.routing
    metrics = Metrics(routing.queues, routing.agents, [p.name for p in settings.all_pbxs()])
    core = Acd(routing)
    runtime: Runtime | None = None

    def ring_lost(offer_id: str) -> None:
        """An offer's Redirect never landed: the caller still holds; the core routes them again."""
        if runtime is not None:
            runtime.submit(OfferFailed(offer_id, OfferFailed.NOT_STARTED))

    def channel_gone(call_id: str) -> None:
        """Asterisk said the caller's channel is gone and no Hangup came in the grace: the call leaves its queue
        (unless the core has closed it meanwhile, which would only refuse the end)."""
        if runtime is not None and runtime.call_open(call_id):
            runtime.submit(CallEnded(call_id, reason="channel_gone"))

    def agent_engaged(agent_id: str) -> bool:
        """Whether the core has a call on this agent (so a busy phone is ours, not a direct call).

        Called for every device-state event: one lookup, not a snapshot of every agent.
        """
        return core.agent_state(agent_id) in (AgentState.RESERVED, AgentState.ON_CALL, AgentState.CONSULTING)

    def catalogue(call_id: str) -> tuple[str, ...] | None:
        """The disposition catalogue of the queue of a call the core knows (a phone's ``*55<n>`` picks from it)."""
        name = core.call_queue(call_id)
        queue = None if name is None else core.config.queue(name)
        return None if queue is None else queue.dispositions

    token = EventToken()  # this run's; the dialplan copies it into every Acd* event
    translator = Translator(
        routing,
        acd_has_call=agent_engaged,
        catalogue=catalogue,
        agent_call=core.agent_last_call,
        token=token,
        on_refused=lambda reason: metrics.ami_refused.labels(translator.pbx, reason).inc(),
        supervisors={p.endpoint: tuple(sorted(p.queues)) or None for p in settings.supervisors},
    )
    # the names callers record taking a callback: beside the recordings, in the PBX's spool
    names = CallbackNames(Path(settings.recordings.directory).parent / NAMES_FOLDER)
    link = ami = keeper = front = None
    sides: list[tuple[PbxSettings, AmiLink, AmiControl, TokenKeeper]] = []  # each PBX's (docs/pbxs.md)
    if control is None:
        pbxs = settings.all_pbxs()
        for index, pbx in enumerate(pbxs):
            pbx_link = ami_link(settings) if index == 0 and not settings.pbxs else ami_link(settings, pbx)
            pbx_ami = AmiControl(
                pbx_link,
                book=translator.book,
                on_ring_lost=ring_lost,
                on_channel_gone=channel_gone,
                on_lost=_count_lost(metrics, pbx.name),
                transfer_numbers=routing.policy.transfer_numbers,
                callback_numbers=routing.policy.callback_numbers,
                originator=Originator(pbx.host, pbx.port, settings.ami.originate_user, settings.ami.originate_secret),
                callback_names=names,
            )
            sides.append((pbx, pbx_link, pbx_ami, TokenKeeper(pbx_ami, token)))
        _, link, ami, keeper = sides[0]
        # the first PBX tells reachability, whatever its name (one [[pbx]] table named "pbx1" too)
        translator.presence_pbx = pbxs[0].name
        if len(sides) > 1:  # several PBXs: every command to its call's PBX; Uniqueids must name theirs
            front = PbxCallControl(
                {p.name: c for p, _, c, _ in sides},
                translator.book,
                {p.name: (lambda: False) for p, _, _, _ in sides},  # each pump's readiness, below
                open_call=lambda call_id: core.call_state(call_id) is not None,
            )
            translator.pbx_checked = True
        control = front if front is not None else ami
    outbox = None
    stimuli = StimulusLog(routing)  # a test's fake sink: a failure of the core dumps into the log
    if records is None:
        assert database is not None
        records = outbox = Outbox(
            Path(settings.database.journal_dir),
            database.pool("outbox"),
            on_quarantined=lambda kind, n: metrics.records_quarantined.labels(kind).inc(n),
        )
        # beside the journal, not in it: the events that led to a failure of the core, to replay
        stimuli = StimulusLog(routing, directory=Path(settings.database.journal_dir).parent / STIMULI_DIR)
    recording_side: AmiControl | PbxCallControl | None = front if front is not None else ami
    forecaster = Forecaster()  # the expected waits: fed by the runtime, read by the gauges and the announcer
    today = ServiceLevelToday(clock())  # the wallboard's service level of the calendar day
    recorder = Recorder(
        names.watching(records),  # a callback's recorded name is deleted when it closes
        Path(settings.recordings.directory),
        recorded=lambda queue: (q := core.config.queue(queue)) is not None and q.record,
        agent_leg=recording_side.agent_leg_of if recording_side is not None else None,
        agent_uniqueid=recording_side.agent_uniqueid_of if recording_side is not None else None,
        recording_started=recording_side.book.recording_started_of if recording_side is not None else None,
        handed_from=recording_side.book.handed_from_of if recording_side is not None else None,
        mute=recording_side.mute_recording if recording_side is not None else None,
        keep_pause=recording_side.keep_recording_pause if recording_side is not None else None,
        paused_at=recording_side.book.paused_at_of if recording_side is not None else None,
        clock=clock,
    )
    translator.on_recording = recorder.pause_soon  # the agent's feature code (*7, *8)
    translator.on_unkept_recording = recorder.discard_soon  # a consult that went back: its file is no stay's
    runtime = Runtime(core, control, recorder, metrics, clock=clock, sinks=(forecaster, today), stimuli=stimuli)
    customers = probe = pump = None
    if database is not None:
        customers = CustomerDirectory(database.pool("customers"))
        kept = database.pool("api")  # the same rows the API writes

        def keep_scheduled(c: KeepScheduledCallback) -> None:
            """A closed queue's caller took a callback for its next opening: its row, as the API's."""
            assert runtime is not None
            keeping(c.callback_id)
            background(keep_closed_callback(runtime, kept, recording_side, c))

        def close_scheduled(c: CloseScheduledCallback) -> None:
            """A scheduled callback that will never enter its queue: its row says why."""
            background(close_scheduled_row(kept, c))

        runtime.on_keep = keep_scheduled
        runtime.on_close_scheduled = close_scheduled
        probe = DatabaseProbe(database.pool("probe"))
    status = Status(runtime, link_up=lambda: True, outbox=outbox, probe=probe)  # a fake control is always there
    pbx_parts: list[PbxParts] = []
    for pbx, pbx_link, pbx_ami, pbx_keeper in sides:  # one pump per PBX, all into the one runtime
        pbx_pump = Pump(
            pbx_link,
            pbx_ami,
            translator,
            runtime,
            metrics,
            pbx_keeper,
            customers,
            pbx=pbx.name,
            check_name=len(sides) > 1,
            misconfigured_gauge=metrics.pbx_misconfigured,
            # one PBX is never lost: a link down means its callers hold, and the resync settles them
            lost_after=settings.ami.lost_after if len(sides) > 1 else None,
            misnamed=front.misnamed if isinstance(front, PbxCallControl) else None,
            dials_callbacks=not pbx_parts,  # the first PBX (acd/ami/pbx_control.py)
            callbacks_on=front.callbacks_on if isinstance(front, PbxCallControl) else None,
        )
        runtime.pbx_losers[pbx.name] = pbx_pump.lose
        if isinstance(front, PbxCallControl) and front.linked is not None:  # callbacks dialled on a ready PBX
            front.linked[pbx.name] = _ready(pbx_pump)
        metrics.ami_connected.labels(pbx=pbx.name).set(0)  # a series from the start, down until connected
        metrics.pbx_misconfigured.labels(pbx=pbx.name).set(0)  # a series from the start (AcdPbxMisconfigured)
        metrics.pbx_calls.labels(pbx=pbx.name).set(0)  # a series from the start
        pbx_pump.on_monitor = _monitor_by_phone(lambda: runtime, pbx_ami, lambda: audit)
        pbx_parts.append(PbxParts(pbx.name, pbx_link, pbx_ami, pbx_keeper, pbx_pump))
    if pbx_parts:
        pump = pbx_parts[0].pump
        links = [p.link for p in pbx_parts]
        # one PBX: its link; several: "at least one PBX linked" (docs/pbxs.md, "Metrics")
        status.link_up = lambda: any(one.connected for one in links)
    audit = editor = leadership = None
    if database is not None:
        c = settings.cluster
        leadership = Leadership(database.pool("lease"), instance_name(settings), LeaseTimes(c.lease, c.renew, c.margin))
        metrics.leader.labels(leadership.instance).set(0)  # a standby until the service takes the lease
    # several PBXs: one the dispatcher marks inactive while its link is down is lost (docs/pbxs.md)
    kamailio = reader_for(
        settings.kamailio, translator, runtime, metrics, lose=runtime.pbx_lost if len(pbx_parts) > 1 else None
    )
    if database is None:
        site = build_app(runtime, metrics, status.health, ready=status.readiness)
    else:
        api = database.pool("api")  # tokens, audit and record searches never take routing's connections
        audit = AuditLog(api)

        def config_applied(config: RoutingConfig) -> None:
            """A change made through the REST API is in the core: the AMI side learns its queues and endpoints."""
            translator.update_config(config)
            metrics.set_queues(config.queues)

        editor = ConfigEditor(runtime, api, document_of(routing, settings.skills), revision, on_applied=config_applied)
        site = build_site(
            runtime,
            metrics,
            status.health,
            ready=status.readiness,
            engine=api,
            audit=audit,
            http=settings.http,
            editor=editor,
            bearers=bearers,
            customers=customers,
            recorder=recorder,
            recordings=settings.recordings,
            supervisors=settings.supervisors,
            objectives_zone=settings.objectives_zone,
            leadership=leadership,
            pbxs=PbxBoard([p.pump for p in pbx_parts], kamailio) if pbx_parts else None,
        )
    return Parts(
        settings,
        revision,
        metrics,
        core,
        runtime,
        translator,
        forecaster,
        control,
        records,
        recorder,
        status,
        site,
        link=link,
        ami=ami,
        keeper=keeper,
        pump=pump,
        database=database,
        outbox=outbox,
        customers=customers,
        audit=audit,
        editor=editor,
        leadership=leadership,
        pbxs=tuple(pbx_parts),
        kamailio=kamailio,
    )


def _count_lost(metrics: Metrics, pbx: str) -> Callable[[str], None]:
    """``acd_ami_redirects_lost_total{pbx,action}`` of one PBX's call control."""
    return lambda action: metrics.redirects_lost.labels(pbx, action).inc()


def _ready(pump: Pump) -> Callable[[], bool]:
    """Whether a callback may be dialled through the pump's PBX: its link up, its connect checks done."""
    return lambda: pump.ready and pump.link.connected


def _monitor_by_phone(
    runtime: Callable[[], Runtime | None], control: AmiControl, audit: Callable[[], AuditLog | None]
) -> Callable[[MonitorRequested], None]:
    """A supervisor's phone asked to join a call (feature code), on the PBX ``control`` speaks to: the
    core decides, as for the API; a refusal sends the phone to its "no service" at once; both are audited."""

    def monitor_by_phone(event: MonitorRequested) -> None:
        found = runtime()
        assert found is not None
        background(answer_phone(found, control, audit, event))

    return monitor_by_phone
