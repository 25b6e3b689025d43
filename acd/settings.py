"""Load ``acd.toml`` into typed, frozen settings, or explain every problem in it.

A supervisor editing the file should see all of their mistakes at once, each as
``file: key: what is wrong``, never a traceback. Secrets never live in the file: they come from
the environment (``ACD_AMI_SECRET``, ``DATABASE_URL``).

The skills, queues and agents part is also what the REST API stores as a config revision
(``routing_from_document``): a change made through the API passes exactly the checks the file does.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from acd.core import transfer_numbers
from acd.core.config import (
    DEFAULT_DISPOSITIONS,
    AgentConfig,
    EwtAction,
    OtfCriteria,
    QueueChoice,
    QueueConfig,
    RoutingConfig,
    RoutingPolicy,
    SkillRequirement,
    WideningStep,
    default_resolving,
)
from acd.core.hours import CALLBACK_TARGET, WEEKDAYS, OpeningHours, openings, queue_target
from acd.core.objectives import COMPARISONS, METRICS, PERIODS, Comparison, Objective, PeriodKind, ScopeKind
from acd.dialling import (
    DEFAULT_OVERFLOW_TARGETS,
    ENDPOINT_RULE,
    SOUNDS,
    bare_endpoint,
    is_endpoint,
    is_overflow_extension,
)
from acd.records.text import fit_text
from acd.zones import load_zone


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class SettingsError(Exception):
    """The config file (or the environment) is wrong; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    user: str = "acd"
    secret: str = field(default="", repr=False)
    ping_interval: float = 2.0
    ping_timeout: float = 3.0
    heartbeat_interval: float = 2.0
    # with several PBXs: a PBX whose link stays down this long is lost, its calls closed pbx_lost
    # (docs/pbxs.md, "A PBX dies"); past the dialplan's 15 s heartbeat fallback
    lost_after: float = 30.0
    # the AMI user that may only Originate into acd-monitor (docs/security.md, "Supervisor monitoring")
    originate_user: str = "acd-monitor"
    originate_secret: str = field(default="", repr=False)


PBX_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
"""A PBX's name: it reaches the PBX (its calls' ids, its ``systemname``), Kamailio and the metrics'
``pbx`` label, so lowercase letters, digits and '-', starting with a letter (docs/pbxs.md)."""

LOST_AFTER_LOW = 16.0  # [ami] lost_after: past the dialplan's 15 s heartbeat fallback

SINGLE_PBX = "pbx"
"""The name of the one PBX an ``[ami]`` table without ``[[pbx]]`` describes."""

SECRET_ENV = re.compile(r"ACD_[A-Z0-9_]{1,60}")


@dataclass(frozen=True, slots=True)
class PbxSettings:
    """One Asterisk the ACD talks to over AMI (a ``[[pbx]]`` table, or ``[ami]`` alone: one named "pbx").

    ``secret_env`` names the environment variable holding this PBX's AMI password; ``secret`` is its
    value, read at start. The link's timings and the heartbeat are ``[ami]``'s, the same for every PBX.
    """

    name: str = SINGLE_PBX
    host: str = "127.0.0.1"
    port: int = 5038
    user: str = "acd"
    secret_env: str = "ACD_AMI_SECRET"
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SupervisorPhone:
    """A supervisor's phone: the PJSIP endpoint the PBX rings to join them to a conversation
    (listen, whisper, barge), and the queues whose calls it may join (empty: every queue).

    On the PBX the endpoint's context must be ``acd-supervisors``: that is how the dialplan knows a
    supervisor's phone (docs/dialplan.md, "Supervisor monitoring").
    """

    endpoint: str
    queues: tuple[str, ...] = ()

    def may_monitor(self, queue: str) -> bool:
        return not self.queues or queue in self.queues


MONITOR_EXTENSIONS = frozenset({"listen", "whisper", "barge", "failed"})
"""The named extensions of ``acd-monitor`` (the modes, and Asterisk's ``failed`` for an unanswered
Originate): no supervisor's endpoint may be named so."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    allowed_hosts: tuple[str, ...] = ()  # the Host names clients may use; empty: host, localhost, 127.0.0.1
    streams_per_token: int = 16  # event streams (wallboard, agent desk) one token may hold open
    metrics_token: str = field(default="", repr=False)  # /metrics scrape token; empty: loopback clients only


CustomerNumbers = Literal["keep", "mask"]


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str | None = field(default=None, repr=False)  # None: start an embedded PostgreSQL
    data_dir: str = "var/pg"
    journal_dir: str = "var/journal"
    # Retention (docs/records.md): records older than this many days lose caller numbers, notes and
    # audit details, daily; 0 keeps them. Missing means 90, as the shipped acd.toml says.
    caller_retention_days: int = 90
    customer_numbers: CustomerNumbers = "keep"  # "mask": also the numbers of customers not heard from since


RECORDINGS_DIR = "/var/cache/acd/asterisk-root/var/spool/asterisk/acd-recordings"
"""Where ``make run`` and the e2e tests' PBX (chrooted) writes its recordings, as this machine sees it."""


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Call recordings (docs/records.md, "Recordings"); which queues record is each queue's ``record``."""

    # the PBX's ${ASTSPOOLDIR}/acd-recordings as the ACD sees it (the same files: a shared or local disk)
    directory: str = RECORDINGS_DIR
    retention_days: int = 90  # files older than this are deleted, daily (the interaction row stays); 0 keeps them
    agents_own: bool = False  # an agent may listen to the recordings of their own calls


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """The leadership lease (docs/standby.md): the ACD processes sharing one database elect one leader."""

    instance: str = ""  # this process's name in the lease; empty: "<host name>:<http port>"
    lease: float = 2.0  # seconds one renewal holds the lease (the database's clock)
    renew: float = 0.25  # seconds between two renewals (or a standby's two attempts)
    margin: float = 0.5  # the leader stops routing this long before its lease could lapse


INSTANCE = re.compile(r"[-_.:0-9A-Za-z]{1,200}")


KAMAILIO_CONTROL = "/run/kamailio/kamailio_rpc.sock"  # kamailio.cfg's RPC_SOCKET default


@dataclass(frozen=True, slots=True)
class KamailioSettings:
    """``[kamailio]``: agent reachability and the PBXs' dispatcher state read from Kamailio (docs/pbxs.md,
    "Agent reachability from Kamailio"). Absent: off, reachability is the PBX's."""

    # Kamailio's jsonrpcs datagram socket (kamailio.cfg's RPC_SOCKET): a unix socket, so local only
    control: str = KAMAILIO_CONTROL
    interval: float = 2.0  # seconds between two reads (each read is the whole table)


KAMAILIO_CONTROL_MAX = 107  # bytes: a unix socket's path (sun_path, with its NUL)


@dataclass(frozen=True, slots=True)
class Settings:
    ami: AmiSettings
    http: HttpSettings
    database: DatabaseSettings
    routing: RoutingConfig
    source: str
    skills: tuple[str, ...] = ()  # the declared skills (the routing config itself names only those used)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    supervisors: tuple[SupervisorPhone, ...] = ()  # the supervisors' phones ([[supervisors]])
    objectives_zone: str = "UTC"  # [objectives] zone: the periods' days, weeks and months
    objectives_refresh_seconds: float = 30.0  # [objectives] refresh: how often acd_objective_* are computed
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    pbxs: tuple[PbxSettings, ...] = ()  # the [[pbx]] tables; empty: the one PBX of [ami]
    kamailio: KamailioSettings | None = None  # [kamailio]; None: not configured, reachability is the PBX's

    def all_pbxs(self) -> tuple[PbxSettings, ...]:
        """Every PBX, in the file's order: the ``[[pbx]]`` tables, or the one ``[ami]`` names ("pbx").

        Each has its link and pump, all into the one runtime (docs/pbxs.md, "Per PBX")."""
        if self.pbxs:
            return self.pbxs
        a = self.ami
        return (PbxSettings(SINGLE_PBX, a.host, a.port, a.user, "ACD_AMI_SECRET", a.secret),)

    def supervisor_phone(self, endpoint: str) -> SupervisorPhone | None:
        return next((p for p in self.supervisors if p.endpoint == endpoint), None)


_TOP_KEYS = {
    "ami",
    "pbx",
    "http",
    "database",
    "routing",
    "transfers",
    "callbacks",
    "skills",
    "queues",
    "agents",
    "recordings",
    "supervisors",
    "objectives",
    "cluster",
    "kamailio",
}


class _Reader:
    """Walks the parsed TOML and collects problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def table(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a table, got {type(value).__name__}")
            return {}
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(data) - allowed):
            where = f"{path}.{key}" if path else key
            self.problem(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> float:
        where = f"{path}.{key}" if path else key
        value = data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
            or not _finite(value)
        ):
            kind = "an integer" if integer else "a number"
            self.problem(where, f"must be {kind}, got {_shown(value)}")
            return default
        if low is not None and value < low:
            self.problem(where, f"must be at least {low:g}, got {_shown(value)}")
            return default
        if high is not None and value > high:
            self.problem(where, f"must be at most {high:g}, got {_shown(value)}")
            return default
        return float(value)

    def integer(self, data: Mapping[str, Any], key: str, path: str, default: int, **bounds: float) -> int:
        return int(self.number(data, key, path, default, integer=True, **bounds))

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", f"must be true or false, got {_shown(value)}")
            return default
        return value

    def string(
        self, data: Mapping[str, Any], key: str, path: str, default: str, *, empty: bool = False, max_length: int = 256
    ) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or (not value and not empty) or len(value) > max_length or not _plain(value):
            kind = "a string" if empty else "a non-empty string"
            self.problem(
                f"{path}.{key}",
                f"must be {kind} of at most {max_length} characters without NUL or "
                f"other control characters, got {_shown(value)}",
            )
            return default
        return value

    def name(self, value: str, path: str, what: str) -> bool:
        """A skill, queue or agent name: it becomes a key in PostgreSQL, metrics labels and the dialplan."""
        if not NAME.fullmatch(value):
            self.problem(
                path,
                f"{what} {_shown(value)} must be 1 to 64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit",
            )
            return False
        return True


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
HOST_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[?[0-9A-Fa-f:.]{2,45}\]?")

DAY = 86400.0
"""The upper bound of every duration in the routing config: a longer one is a typo (or an attack on
the int4 and timestamp columns the records keep), never a wish."""


def _plain(text: str) -> bool:
    """The API's rule for one line of text (``acd.records.text``: no NUL or other control character,
    no lone surrogate), and no line or paragraph separator either: a label is one line."""
    return fit_text(text) and "\u2028" not in text and "\u2029" not in text


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False


def _shown(value: Any) -> str:
    """A bad value in a message, cut short: a client may send anything, of any size."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _skill_levels(r: _Reader, data: Any, path: str, known: set[str]) -> tuple[tuple[str, int], ...]:
    """A ``{skill = proficiency}`` table: known skills only, proficiency 1..5."""
    if not isinstance(data, Mapping):
        r.problem(path, "must be a table of skill = proficiency (1..5)")
        return ()
    levels: list[tuple[str, int]] = []
    for skill in sorted(data):
        if known and skill not in known:  # an undeclared list is reported once, not per skill
            r.problem(f"{path}.{skill}", f"unknown skill (declared skills: {', '.join(sorted(known))})")
            continue
        levels.append((skill, r.integer(data, skill, path, 1, low=1, high=5)))
    return tuple(levels)


QUEUE_KEYS = {  # the keys of a [queues.<name>] table; the simulator's scenarios share them
    "skills",
    "sla_threshold",
    "sla_target",
    "max_wait",
    "overflow",
    "wrapup",
    "max_handle",
    "widening",
    "vip_priority_boost",
    "dispositions",
    "resolving",  # the codes of the catalogue that close a contact complete (OTF's "full")
    "otf",  # OTF's criteria: answer, handle, resolving, repeat_window, order_promise, target
    "record",
    "hours",  # opening hours, holidays, closed treatment (acd.core.hours)
    "empty_overflow",  # seconds before a caller overflows when nobody can serve the queue
    "callback_after",  # seconds of holding before a callback is offered; absent: never
    "callback_attempts",  # times a callback's caller is dialled before it closes unreached
    "callback_gap",  # seconds between two tries of a callback's caller
    "scheduled_callback_priority",  # the priority a scheduled callback enters the queue with
    "ewt_limit",  # seconds: a new caller whose estimated wait is above it is diverted at entry
    "ewt_action",  # "callback" (offered at once) or "overflow" (to the queue's overflow target)
    "announce_waited",  # holding's announcements also say the caller's wait so far (all stays)
}


def _tables(r: _Reader, section: Mapping[str, Any], path: str, what: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each ``[path.NAME]`` table by name; a value that is not a table is a problem and skipped."""
    for name in sorted(section):
        value = section[name]
        if not isinstance(value, Mapping):
            r.problem(f"{path}.{name}", "must be a table")
            continue
        r.name(name, f"{path}.{name}", what)
        yield name, value


def _queue(
    r: _Reader,
    name: str,
    data: Mapping[str, Any],
    known: set[str],
    policy: RoutingPolicy,
    queue_names: frozenset[str] = frozenset(),
) -> QueueConfig:
    path = f"queues.{name}"
    r.unknown(data, QUEUE_KEYS, path)
    if "skills" not in data:
        r.problem(f"{path}.skills", "missing: a queue needs at least one skill")
    skills = _skill_levels(r, data.get("skills", {}), f"{path}.skills", known)
    if "skills" in data and not skills and isinstance(data.get("skills"), Mapping) and not data["skills"]:
        r.problem(f"{path}.skills", "must name at least one skill")
    widening: list[WideningStep] = []
    steps = data.get("widening", [])
    if not isinstance(steps, list):
        r.problem(f"{path}.widening", "must be an array of tables")
        steps = []
    for i, step in enumerate(steps):
        spath = f"{path}.widening[{i}]"
        if not isinstance(step, Mapping):
            r.problem(spath, "must be a table")
            continue
        r.unknown(step, {"after", "min_proficiency_drop", "extra_skills"}, spath)
        if "after" not in step:
            r.problem(f"{spath}.after", "missing: seconds of wait before this step applies")
        extra = _skill_levels(r, step.get("extra_skills", {}), f"{spath}.extra_skills", known)
        widening.append(
            WideningStep(
                after_seconds=r.number(step, "after", spath, 0.0, low=0, high=DAY),
                min_proficiency_drop=r.integer(step, "min_proficiency_drop", spath, 0, low=0, high=4),
                extra_skills=tuple(SkillRequirement(s, p) for s, p in extra),
            )
        )
    widening.sort(key=lambda w: w.after_seconds)
    return QueueConfig(
        name=name,
        skills=tuple(SkillRequirement(s, p) for s, p in skills),
        sla_threshold_seconds=r.number(data, "sla_threshold", path, 20.0, low=1, high=DAY),
        sla_target_ratio=r.number(data, "sla_target", path, 0.8, low=0, high=1),
        max_wait_seconds=r.number(data, "max_wait", path, 300.0, low=1, high=DAY),
        overflow_target=_overflow(r, data, path, policy.overflow_targets, "overflow", queue_names),
        wrapup_seconds=r.number(data, "wrapup", path, 0.0, low=0, high=DAY),
        max_handle_seconds=r.number(data, "max_handle", path, 600.0, low=1, high=DAY),
        widening=tuple(widening),
        vip_priority_boost=r.integer(data, "vip_priority_boost", path, 0, low=0, high=9),
        dispositions=_dispositions(r, data, path),
        resolving_dispositions=_resolving(r, data, path),
        otf=_otf(r, data, path),
        record=r.boolean(data, "record", path, False),
        hours=_hours(r, data, path, policy.overflow_targets, queue_names),
        empty_overflow_seconds=_empty_overflow(r, data, path),
        callback_after_seconds=(
            r.number(data, "callback_after", path, 0.0, low=0, high=DAY) if "callback_after" in data else None
        ),
        callback_attempts=r.integer(data, "callback_attempts", path, 3, low=1, high=10),
        callback_gap_seconds=r.number(data, "callback_gap", path, 60.0, low=1, high=DAY),
        scheduled_callback_priority=r.integer(data, "scheduled_callback_priority", path, 5, low=0, high=1000),
        ewt_limit_seconds=r.number(data, "ewt_limit", path, 0.0, low=0, high=DAY) if "ewt_limit" in data else None,
        ewt_action=_ewt_action(r, data, path),
        announce_waited=r.boolean(data, "announce_waited", path, False),
    )


def _ewt_action(r: _Reader, data: Mapping[str, Any], path: str) -> EwtAction:
    """What a queue does with a caller whose estimated wait is above its ``ewt_limit`` (docs/kpis.md)."""
    action = r.string(data, "ewt_action", path, "overflow")
    if action not in ("callback", "overflow"):
        r.problem(f"{path}.ewt_action", f"must be 'callback' or 'overflow', got {_shown(action)}")
        return "overflow"
    return cast(EwtAction, action)


DISPOSITION = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}/[a-z0-9][a-z0-9_-]{0,31}")
MAX_DISPOSITIONS = 100


def _dispositions(r: _Reader, data: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The queue's disposition catalogue: ``kind/sub-code`` codes (docs/kpis.md), the default when absent."""
    where = f"{path}.dispositions"
    if "dispositions" not in data:
        return DEFAULT_DISPOSITIONS
    codes = data["dispositions"]
    if not isinstance(codes, list) or not codes or len(codes) > MAX_DISPOSITIONS:
        r.problem(
            where,
            f'must be an array of 1 to {MAX_DISPOSITIONS} codes "kind/sub-code", '
            f'e.g. ["inquiry/billing-question", "complaint/overcharge"], got {_shown(codes)}',
        )
        return DEFAULT_DISPOSITIONS
    good = True
    for i, code in enumerate(codes):
        if not isinstance(code, str) or not DISPOSITION.fullmatch(code):
            r.problem(
                f"{where}[{i}]",
                f"code {_shown(code)} must be kind/sub-code: each part 1 to 32 lower-case letters, "
                "digits, '_' or '-', starting with a letter or digit",
            )
            good = False
    for code in sorted({c for c in codes if isinstance(c, str) and codes.count(c) > 1}):
        r.problem(where, f"code {code!r} is listed more than once")
        good = False
    return tuple(codes) if good else DEFAULT_DISPOSITIONS


def _resolving(r: _Reader, data: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The codes of the queue's catalogue marked as resolving (docs/kpis.md, "OTF and FCR"): listed, or
    ``default_resolving``."""
    catalogue = _dispositions(_Reader(r.file), data, path)  # its problems are reported once, by the queue
    where = f"{path}.resolving"
    if "resolving" not in data:
        return default_resolving(catalogue)
    codes = data["resolving"]
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        r.problem(where, f"must be an array of codes of the queue's dispositions, got {_shown(codes)}")
        return ()
    unknown = [c for c in codes if c not in catalogue]
    for code in unknown:
        r.problem(where, f"code {code!r} is not in the queue's dispositions")
    return tuple(c for c in catalogue if c in codes)


OTF_KEYS = {"answer", "handle", "resolving", "repeat_window", "order_promise", "target"}


def _otf(r: _Reader, data: Mapping[str, Any], path: str) -> OtfCriteria:
    """``[queues.NAME.otf]``: OTF's criteria for the queue (docs/kpis.md, "OTF and FCR")."""
    where = f"{path}.otf"
    table = data.get("otf", {})
    if not isinstance(table, Mapping):
        r.problem(where, "must be a table")
        return OtfCriteria()
    r.unknown(table, OTF_KEYS, where)
    return OtfCriteria(
        answer=r.boolean(table, "answer", where, True),
        handle=r.boolean(table, "handle", where, True),
        resolving=r.boolean(table, "resolving", where, True),
        repeat_window_seconds=r.number(table, "repeat_window", where, 86400.0, low=0, high=31 * DAY),
        order_promise_seconds=(
            r.number(table, "order_promise", where, 0.0, low=1, high=31 * DAY) if "order_promise" in table else None
        ),
        target=r.number(table, "target", where, 0.0, low=0, high=1) if "target" in table else None,
    )


def _overflow(
    r: _Reader,
    data: Mapping[str, Any],
    path: str,
    targets: tuple[str, ...],
    key: str = "overflow",
    queue_names: frozenset[str] = frozenset(),
) -> str:
    """The queue's overflow target: one of the extensions ``acd-overflow`` is declared to have, or
    ``queue:<name>``, another queue of the config (docs/kpis.md, "Overflow into another queue")."""
    default = "voicemail" if "voicemail" in targets else targets[0]
    target = r.string(data, key, path, default, max_length=70)
    into = queue_target(target)
    if into is not None and into in queue_names:
        return target
    if target not in targets:
        r.problem(
            f"{path}.{key}",
            f"{_shown(target)} is not an overflow target (declared in "
            f"[routing] overflow_targets: {', '.join(targets)}), nor queue:<another queue>",
        )
        return default
    return target


def _endpoint(r: _Reader, data: Mapping[str, Any], path: str, agent_id: str) -> str:
    """The agent's PJSIP endpoint in its one form, the bare name: it is what the PBX dials."""
    raw = r.string(data, "endpoint", path, agent_id)
    endpoint = bare_endpoint(raw)
    if "endpoint" in data and raw == data["endpoint"] and not is_endpoint(endpoint):
        r.problem(
            f"{path}.endpoint",
            f"endpoint {_shown(raw)} must be a PJSIP endpoint name: {ENDPOINT_RULE} (written bare or as PJSIP/<name>)",
        )
    return endpoint


def _agent(r: _Reader, agent_id: str, data: Mapping[str, Any], known: set[str]) -> AgentConfig:
    path = f"agents.{agent_id}"
    r.unknown(data, {"endpoint", "name", "skills", "team"}, path)
    if "skills" not in data:
        r.problem(f"{path}.skills", "missing: an agent needs skills (skill = proficiency 1..5)")
    team = r.string(data, "team", path, "", empty=True, max_length=64)
    if team and not r.name(team, f"{path}.team", "team"):
        team = ""
    return AgentConfig(
        id=agent_id,
        endpoint=_endpoint(r, data, path, agent_id),
        name=r.string(data, "name", path, "", empty=True, max_length=128),
        skills=_skill_levels(r, data.get("skills", {}), f"{path}.skills", known),
        team=team,
    )


ROUTING_KEYS = frozenset({"skills", "queues", "agents", "objectives"})
OBJECTIVES_KEYS = frozenset({"zone", "refresh"})  # [objectives]'s own keys, beside its [objectives.NAME] tables


def _routing(r: _Reader, data: Mapping[str, Any], policy: RoutingPolicy) -> tuple[RoutingConfig, tuple[str, ...]]:
    """``skills``, ``queues``, ``agents`` and ``objectives`` (acd.toml's shape) into a RoutingConfig and
    the declared skills."""
    raw_skills = data.get("skills", [])
    known: set[str] = set()
    if not isinstance(raw_skills, list) or not all(isinstance(s, str) and s for s in raw_skills):
        r.problem("skills", 'must be an array of skill names, e.g. skills = ["billing", "support"]')
    else:
        known = set(raw_skills)
        if not known:
            r.problem("skills", "declare at least one skill")
        for i, skill in enumerate(raw_skills):
            r.name(skill, f"skills[{i}]", "skill")
        for skill in sorted({s for s in raw_skills if raw_skills.count(s) > 1}):
            r.problem("skills", f"skill {skill!r} is declared more than once")

    queues_t = r.table(data, "queues", "queues")
    if not queues_t:
        r.problem("queues", "define at least one queue, e.g. [queues.billing]")
    queues = []
    names = frozenset(str(n) for n in queues_t)
    for name, q in _tables(r, queues_t, "queues", "queue name"):
        queues.append(_queue(r, name, q, known, policy, names))
    _no_overflow_ring(r, queues)

    agents_t = r.table(data, "agents", "agents")
    agents = []
    endpoints: dict[str, str] = {}
    for agent_id, a in _tables(r, agents_t, "agents", "agent id"):
        agent = _agent(r, agent_id, a, known)
        endpoint = agent.endpoint  # bare: PJSIP/agent1 and agent1 are the same phone
        if endpoint in endpoints:
            r.problem(
                f"agents.{agent_id}.endpoint",
                f"endpoint {agent.endpoint!r} is already used by agent {endpoints[endpoint]!r}",
            )
        endpoints[endpoint] = agent_id
        agents.append(agent)
    config = RoutingConfig(queues=tuple(queues), agents=tuple(agents), policy=policy)
    objectives_t = r.table(data, "objectives", "objectives")
    # the file's [objectives] zone and refresh are not objectives (parse reads them); a table so called is one
    tables = {k: v for k, v in objectives_t.items() if not (k in OBJECTIVES_KEYS and not isinstance(v, Mapping))}
    config = dataclasses.replace(config, objectives=_objectives(r, tables, config))
    return config, tuple(sorted(known))


def routing_from_document(
    document: Mapping[str, Any], policy: RoutingPolicy, source: str
) -> tuple[RoutingConfig, tuple[str, ...]]:
    """A routing document (``skills``, ``queues``, ``agents`` in acd.toml's shape, e.g. a revision the
    REST API stored) into a RoutingConfig and its declared skills, checked exactly as the file is.

    Raises SettingsError listing every problem, each keyed like the file's (``queues.billing.skills``).
    """
    r = _Reader(source)
    r.unknown(document, set(ROUTING_KEYS), "")
    routing = _routing(r, document, policy)
    if r.problems:
        raise SettingsError(r.problems)
    return routing


def _overflow_targets(r: _Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The extensions of the dialplan's ``acd-overflow`` a queue may overflow to."""
    value = data.get("overflow_targets", list(DEFAULT_OVERFLOW_TARGETS))
    if not isinstance(value, list) or not value or len(value) > 64:
        r.problem(
            "routing.overflow_targets",
            f"must be an array of 1 to 64 extension names of acd-overflow, e.g. {list(DEFAULT_OVERFLOW_TARGETS)}",
        )
        return DEFAULT_OVERFLOW_TARGETS
    targets: list[str] = []
    for i, target in enumerate(value):
        if not isinstance(target, str) or not is_overflow_extension(target):
            r.problem(
                f"routing.overflow_targets[{i}]",
                f"{_shown(target)} must be a plain extension name: 1 to 64 letters, digits, '_', '.' or "
                "'-', starting with a letter or digit (not a pattern, not h, i, t, s, a, o, e or T)",
            )
        elif target not in targets:
            targets.append(target)
    return tuple(targets) or DEFAULT_OVERFLOW_TARGETS


def _transfer_numbers(r: _Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    """``[transfers] allowed_numbers``: the outside numbers a caller may be transferred to, as dial-plan
    patterns (``acd.core.transfer_numbers``); none by default: no transfer dials out."""
    r.unknown(data, {"allowed_numbers", "agent_wait"}, "transfers")
    return _number_patterns(r, data, "transfers")


def _callback_numbers(r: _Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    """``[callbacks] allowed_numbers``: the numbers a caller taking a callback may key in instead of
    their own (docs/dialplan.md, "Callbacks"), the same dial-plan patterns; none by default."""
    r.unknown(data, {"allowed_numbers"}, "callbacks")
    return _number_patterns(r, data, "callbacks")


def _number_patterns(r: _Reader, data: Mapping[str, Any], table: str) -> tuple[str, ...]:
    value = data.get("allowed_numbers", [])
    if not isinstance(value, list) or len(value) > transfer_numbers.MAX_PATTERNS:
        r.problem(
            f"{table}.allowed_numbers",
            f'must be an array of at most {transfer_numbers.MAX_PATTERNS} dial-plan patterns, e.g. ["_1555NXXXXXX"]',
        )
        return ()
    patterns: list[str] = []
    for i, pattern in enumerate(value):
        if not isinstance(pattern, str) or not transfer_numbers.is_pattern(pattern):
            r.problem(
                f"{table}.allowed_numbers[{i}]",
                f"{_shown(pattern)} must be digits, or '_' then X, Z, N, digits or [digit ranges], with '.' "
                f"or '!' only at the end ({transfer_numbers.MAX_NUMBER} characters at most)",
            )
        elif pattern not in patterns:
            patterns.append(pattern)
    return tuple(patterns)


def parse(data: Mapping[str, Any], file: str, env: Mapping[str, str]) -> Settings:
    """Turn parsed TOML plus the environment into settings, or raise SettingsError with every problem."""
    r = _Reader(file)
    r.unknown(data, _TOP_KEYS, "")

    ami_t = r.table(data, "ami", "ami")
    r.unknown(
        ami_t,
        {"host", "port", "user", "ping_interval", "ping_timeout", "heartbeat_interval", "lost_after", "originate_user"},
        "ami",
    )
    secret = env.get("ACD_AMI_SECRET", "")
    if "secret" in ami_t:
        r.problem("ami.secret", "secrets do not belong in the file: set ACD_AMI_SECRET in the environment")
    pbxs = _pbxs(r, data, ami_t, env)
    first = pbxs[0] if pbxs else None
    ami = AmiSettings(
        host=first.host if first else r.string(ami_t, "host", "ami", "127.0.0.1"),
        port=first.port if first else r.integer(ami_t, "port", "ami", 5038, low=1, high=65535),
        user=first.user if first else r.string(ami_t, "user", "ami", "acd"),
        secret=first.secret if first else secret,
        ping_interval=r.number(ami_t, "ping_interval", "ami", 2.0, low=0.1, high=60),
        ping_timeout=r.number(ami_t, "ping_timeout", "ami", 3.0, low=0.1, high=60),
        # the dialplan sends callers to the fallback when ACD_HEARTBEAT is older than 15 s
        heartbeat_interval=r.number(ami_t, "heartbeat_interval", "ami", 2.0, low=0.5, high=10),
        # more than the heartbeat's 15 s fallback: a link that only broke has its callers settled by
        # the dialplan and the resync first (docs/pbxs.md, "A PBX dies")
        lost_after=r.number(ami_t, "lost_after", "ami", 30.0, low=LOST_AFTER_LOW, high=3600),
        originate_user=r.string(ami_t, "originate_user", "ami", "acd-monitor"),
        originate_secret=env.get("ACD_AMI_ORIGINATE_SECRET", ""),
    )

    http_t = r.table(data, "http", "http")
    r.unknown(http_t, {"host", "port", "allowed_hosts", "streams_per_token"}, "http")
    if "metrics_token" in http_t:
        r.problem("http.metrics_token", "secrets do not belong in the file: set ACD_METRICS_TOKEN in the environment")
    metrics_token = env.get("ACD_METRICS_TOKEN", "")
    if metrics_token and (
        len(metrics_token) < 16
        or not metrics_token.isascii()
        or not metrics_token.isprintable()
        or " " in metrics_token
    ):
        r.problem("ACD_METRICS_TOKEN", "must be at least 16 printable ASCII characters without spaces")
    http = HttpSettings(
        host=r.string(http_t, "host", "http", "127.0.0.1"),
        port=r.integer(http_t, "port", "http", 8080, low=0, high=65535),
        allowed_hosts=_host_names(r, http_t),
        streams_per_token=r.integer(http_t, "streams_per_token", "http", 16, low=1, high=1000),
        metrics_token=metrics_token,
    )
    if http.host in ("0.0.0.0", "::") and not http.allowed_hosts:
        r.problem(
            "http.allowed_hosts",
            f"http.host {http.host!r} listens on every address: list the names and "
            'addresses clients use (their Host header), e.g. ["acd.example.com"]',
        )

    db_t = r.table(data, "database", "database")
    r.unknown(db_t, {"data_dir", "journal_dir", "caller_retention_days", "customer_numbers"}, "database")
    customer_numbers = r.string(db_t, "customer_numbers", "database", "keep")
    if customer_numbers not in get_args(CustomerNumbers):
        r.problem("database.customer_numbers", f"must be 'keep' or 'mask', got {_shown(customer_numbers)}")
        customer_numbers = "keep"
    database = DatabaseSettings(
        url=env.get("DATABASE_URL") or None,
        data_dir=r.string(db_t, "data_dir", "database", "var/pg"),
        journal_dir=r.string(db_t, "journal_dir", "database", "var/journal"),
        caller_retention_days=r.integer(db_t, "caller_retention_days", "database", 90, low=0, high=36500),
        customer_numbers=cast(CustomerNumbers, customer_numbers),
    )

    rt = r.table(data, "routing", "routing")
    r.unknown(
        rt,
        {"ring_timeout", "reoffer_cooldown", "max_consecutive_misses", "short_abandon", "overflow_targets"}
        | {"queue_choice", "service_level_window", "claim_on_pbx"},
        "routing",
    )
    # How an agent chooses between queues (docs/routing-core.md, "Choosing between queues").
    queue_choice = r.string(rt, "queue_choice", "routing", "service_level")
    if queue_choice not in ("service_level", "deadline"):
        r.problem("routing.queue_choice", f"must be 'service_level' or 'deadline', got {_shown(queue_choice)}")
        queue_choice = "service_level"
    transfers_t = r.table(data, "transfers", "transfers")
    policy = RoutingPolicy(
        ring_timeout_seconds=r.number(rt, "ring_timeout", "routing", 15.0, low=1, high=300),
        reoffer_cooldown_seconds=r.number(rt, "reoffer_cooldown", "routing", 30.0, low=0, high=DAY),
        max_consecutive_misses=r.integer(rt, "max_consecutive_misses", "routing", 3, low=1, high=1000),
        short_abandon_seconds=r.number(rt, "short_abandon", "routing", 5.0, low=0, high=3600),
        overflow_targets=_overflow_targets(r, rt),
        transfer_numbers=_transfer_numbers(r, transfers_t),
        # a caller transferred to an agent by name waits for that agent alone this long (docs/kpis.md)
        transfer_agent_wait_seconds=r.number(transfers_t, "agent_wait", "transfers", 30.0, low=0, high=3600),
        callback_numbers=_callback_numbers(r, r.table(data, "callbacks", "callbacks")),
        queue_choice=cast(QueueChoice, queue_choice),
        service_level_window_seconds=r.number(rt, "service_level_window", "routing", 900.0, low=60, high=DAY),
        # the next agent of each queue published on the PBX, claimed by the dialplan (docs/dialplan.md, "Claims")
        claim_on_pbx=r.boolean(rt, "claim_on_pbx", "routing", False),
    )

    if policy.claim_on_pbx and len(pbxs) > 1:  # a claim's lock and marks live on one PBX (docs/dialplan.md)
        r.problem("routing.claim_on_pbx", "claims work on one PBX: turn them off while [[pbx]] lists several")
    routing, skills = _routing(r, data, policy)
    supervisors = _supervisors(r, data.get("supervisors", []), {q.name for q in routing.queues})

    rec_t = r.table(data, "recordings", "recordings")
    r.unknown(rec_t, {"directory", "retention_days", "agents_own"}, "recordings")
    recordings = RecordingSettings(
        directory=r.string(rec_t, "directory", "recordings", RECORDINGS_DIR, max_length=4096),
        retention_days=r.integer(rec_t, "retention_days", "recordings", 90, low=0, high=36500),
        agents_own=r.boolean(rec_t, "agents_own", "recordings", False),
    )

    objectives_t = r.table(data, "objectives", "objectives")
    objectives_zone = r.string(objectives_t, "zone", "objectives", "UTC", max_length=64)
    if load_zone(objectives_zone) is None:
        r.problem("objectives.zone", f"{_shown(objectives_zone)} is not a time zone (an IANA name, e.g. Europe/Berlin)")
    # each refresh runs a query per objective: not more than once a second
    objectives_refresh = r.number(objectives_t, "refresh", "objectives", 30.0, low=1.0, high=3600.0)

    cluster = _cluster(r, r.table(data, "cluster", "cluster"))
    kamailio = _kamailio(r, r.table(data, "kamailio", "kamailio")) if "kamailio" in data else None

    if r.problems:
        raise SettingsError(r.problems)
    return Settings(
        kamailio=kamailio,
        cluster=cluster,
        objectives_zone=objectives_zone,
        objectives_refresh_seconds=objectives_refresh,
        ami=ami,
        pbxs=pbxs,
        http=http,
        database=database,
        routing=routing,
        source=file,
        skills=skills,
        recordings=recordings,
        supervisors=supervisors,
    )


PBX_KEYS = {"name", "host", "port", "user", "secret_env"}
_PER_PBX = ("host", "port", "user")  # [ami] keys a [[pbx]] table says instead


def _pbxs(
    r: _Reader, data: Mapping[str, Any], ami_t: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[PbxSettings, ...]:
    """``[[pbx]]``: the PBXs, each with its name, AMI address, user and the variable of its secret.

    None: ``[ami]`` describes the one PBX (``Settings.all_pbxs``). With some, ``[ami]`` keeps only what
    every link shares (timings, heartbeat, the monitor's user), so an address is never said twice."""
    raw = data.get("pbx")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(t, Mapping) for t in raw):
        r.problem("pbx", 'must be an array of tables, e.g. [[pbx]] name = "pbx1" host = "10.0.0.11"')
        return ()
    for key in _PER_PBX:
        if key in ami_t:
            r.problem(f"ami.{key}", "with [[pbx]] tables each PBX says its own; remove it from [ami]")
    found: list[PbxSettings] = []
    names: dict[str, int] = {}
    addresses: dict[tuple[str, int], str] = {}
    for i, table in enumerate(cast(list[Mapping[str, Any]], raw)):
        where = f"pbx[{i}]"
        r.unknown(table, PBX_KEYS, where)
        if "secret" in table:
            r.problem(f"{where}.secret", "secrets do not belong in the file: name their variable in secret_env")
        name = table.get("name")
        if not isinstance(name, str) or not PBX_NAME.fullmatch(name):
            r.problem(
                f"{where}.name",
                f"{_shown(name)} must be 1 to 32 lowercase letters, digits or '-', starting with a letter",
            )
            name = ""
        elif name in names:
            r.problem(f"{where}.name", f"PBX {name!r} is already pbx[{names[name]}]")
        else:
            names[name] = i
        host = r.string(table, "host", where, "127.0.0.1")
        if not HOST_NAME.fullmatch(host):
            r.problem(f"{where}.host", f"{_shown(host)} is not a host name or address")
        port = r.integer(table, "port", where, 5038, low=1, high=65535)
        other = addresses.get((host, port))
        if other is not None:
            r.problem(f"{where}.host", f"{host}:{port} is already the address of PBX {other!r}")
        addresses[(host, port)] = name
        secret_env = r.string(table, "secret_env", where, "ACD_AMI_SECRET", max_length=64)
        if not SECRET_ENV.fullmatch(secret_env):
            r.problem(f"{where}.secret_env", f"{_shown(secret_env)} must be a variable name like ACD_AMI_SECRET_PBX2")
            secret_env = "ACD_AMI_SECRET"
        user = r.string(table, "user", where, "acd")
        found.append(PbxSettings(name, host, port, user, secret_env, env.get(secret_env, "")))
    return tuple(found)


def _kamailio(r: _Reader, table: Mapping[str, Any]) -> KamailioSettings:
    """``[kamailio]``: where its control socket is (an absolute path: a unix socket, never a network
    address, docs/security.md) and how often it is read."""
    r.unknown(table, {"control", "interval"}, "kamailio")
    control = r.string(table, "control", "kamailio", KAMAILIO_CONTROL)
    if not control.startswith("/") or len(control.encode()) >= KAMAILIO_CONTROL_MAX:
        r.problem(
            "kamailio.control",
            f"must be the absolute path of Kamailio's jsonrpcs datagram socket (a unix socket, shorter than "
            f"{KAMAILIO_CONTROL_MAX} bytes), got {_shown(control)}",
        )
    # a read is two small datagrams; at most twice a second, at least once a minute
    interval = r.number(table, "interval", "kamailio", 2.0, low=0.5, high=60)
    return KamailioSettings(control, interval)


def _cluster(r: _Reader, table: Mapping[str, Any]) -> ClusterSettings:
    """``[cluster]``: this instance's name and the lease's figures (docs/standby.md, "Margins")."""
    r.unknown(table, {"instance", "lease", "renew", "margin"}, "cluster")
    instance = r.string(table, "instance", "cluster", "", empty=True, max_length=200)
    if instance and not INSTANCE.fullmatch(instance):
        r.problem("cluster.instance", f"{_shown(instance)} must be letters, digits, '-', '_', '.', ':'")
        instance = ""
    found = ClusterSettings(
        instance=instance,
        lease=r.number(table, "lease", "cluster", 2.0, low=0.5, high=60),
        renew=r.number(table, "renew", "cluster", 0.25, low=0.05, high=10),
        margin=r.number(table, "margin", "cluster", 0.5, low=0.1, high=30),
    )
    if found.margin >= found.lease or found.renew * 2 > found.lease - found.margin:
        r.problem("cluster", "lease - margin must be positive and allow at least two renewals (renew)")
    return found


OBJECTIVE_KEYS = {"metric", "comparison", "target", "queue", "queues", "agent", "team"} | {
    "period",
    "from",
    "to",
    "owner",
    "note",
}


def _objectives(r: _Reader, tables: Mapping[str, Any], routing: RoutingConfig) -> tuple[Objective, ...]:
    """``[objectives.NAME]``: each an objective (docs/kpis.md, "Objectives"), checked against the routing config."""
    found = []
    for name, table in _tables(r, tables, "objectives", "objective name"):
        objective = objective_of(r, name, table, routing)
        if objective is not None:
            found.append(objective)
    return tuple(found)


def objective_of(r: _Reader, name: str, data: Mapping[str, Any], routing: RoutingConfig) -> Objective | None:
    """One objective's table, or None (with the problems told to ``r``)."""
    path = f"objectives.{name}"
    before = len(r.problems)
    r.unknown(data, OBJECTIVE_KEYS, path)
    metric = r.string(data, "metric", path, "")
    if metric not in METRICS:
        r.problem(f"{path}.metric", f"must be one of {', '.join(METRICS)}, got {_shown(metric)}")
    comparison = r.string(data, "comparison", path, "")
    if comparison not in COMPARISONS:
        r.problem(f"{path}.comparison", f"must be one of {', '.join(COMPARISONS)}, got {_shown(comparison)}")
    if "target" not in data:
        r.problem(f"{path}.target", "missing: the value the metric is held to (a ratio 0..1, seconds or a count)")
    kind = METRICS[metric].kind if metric in METRICS else "count"
    target = r.number(data, "target", path, 0.0, low=0, high=1 if kind == "ratio" else 10 * DAY)
    scopes = [s for s in ("queue", "queues", "agent", "team") if s in data]
    if len(scopes) != 1:
        r.problem(path, "name exactly one scope: queue, queues (a group), agent or team")
        return None
    scope = cast(ScopeKind, scopes[0])
    raw = data[scope]
    members: tuple[str, ...] = ()
    if scope == "queues":
        if not isinstance(raw, list) or not raw or not all(isinstance(q, str) for q in raw):
            r.problem(f"{path}.queues", "must be a non-empty array of queue names")
        else:
            members = tuple(sorted(set(raw)))
    elif isinstance(raw, str):
        members = (raw,)
    else:
        r.problem(f"{path}.{scope}", f"must be a {scope} name")
    queues, agents = {q.name for q in routing.queues}, {a.id for a in routing.agents}
    teams = {a.team for a in routing.agents if a.team}
    known = queues if scope in ("queue", "queues") else agents if scope == "agent" else teams
    for member in members:
        if member not in known:
            r.problem(f"{path}.{scope}", f"{_shown(member)} is not a configured {scope.rstrip('s')}")
    if metric in METRICS and scope not in METRICS[metric].scopes:
        allowed = ", ".join(s for s in ("queue", "queues", "agent", "team") if s in METRICS[metric].scopes)
        r.problem(f"{path}.{scope}", f"{metric} is defined for a scope of: {allowed}")
    period = r.string(data, "period", path, "day")
    first = last = None
    if period not in PERIODS:
        r.problem(f"{path}.period", f"must be one of {', '.join(PERIODS)}, got {_shown(period)}")
    elif period == "dates":
        first, last = _day(data.get("from")), _day(data.get("to"))
        if first is None or last is None:
            r.problem(path, 'period "dates" needs from and to, two dates (e.g. 2026-12-01, last day included)')
            first = last = None
        elif last < first:
            r.problem(f"{path}.to", "must not be before from")
    elif "from" in data or "to" in data:
        r.problem(path, 'from and to are for period = "dates"')
    owner = r.string(data, "owner", path, "", empty=True, max_length=128)
    note = r.string(data, "note", path, "", empty=True, max_length=1024)
    if len(r.problems) > before:
        return None
    return Objective(
        name=name,
        metric=metric,
        comparison=cast(Comparison, comparison),
        target=target,
        scope=scope,
        members=members,
        period=cast(PeriodKind, period),
        first=first.isoformat() if first else "",
        last=last.isoformat() if last else "",
        owner=owner,
        note=note,
    )


def _day(value: Any) -> date | None:
    """A TOML date (2026-12-01) or its ISO text (as JSON carries it); None for anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(value) if _is_date(value) else None


def _supervisors(r: _Reader, data: Any, queues: set[str]) -> tuple[SupervisorPhone, ...]:
    """``[[supervisors]]``: each an ``endpoint`` (a PJSIP endpoint name) and its ``queues``."""
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        r.problem("supervisors", "must be an array of tables: [[supervisors]] endpoint = ..., queues = [...]")
        return ()
    phones: list[SupervisorPhone] = []
    for i, table in enumerate(data):
        path = f"supervisors[{i}]"
        r.unknown(table, {"endpoint", "queues"}, path)
        endpoint = bare_endpoint(r.string(table, "endpoint", path, ""))
        if not is_endpoint(endpoint) or endpoint in MONITOR_EXTENSIONS:
            r.problem(
                f"{path}.endpoint",
                f"must be a PJSIP endpoint name: {ENDPOINT_RULE} (not listen, whisper, barge, failed)",
            )
            continue
        if any(p.endpoint == endpoint for p in phones):
            r.problem(f"{path}.endpoint", f"{endpoint!r} is listed twice")
            continue
        names = table.get("queues", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            r.problem(f"{path}.queues", "must be a list of queue names (empty: every queue)")
            continue
        unknown = [n for n in names if n not in queues]
        if unknown:
            r.problem(f"{path}.queues", f"no such queue: {', '.join(_shown(n) for n in unknown)}")
            continue
        phones.append(SupervisorPhone(endpoint, tuple(dict.fromkeys(names))))
    return tuple(phones)


def _host_names(r: _Reader, http_t: Mapping[str, Any]) -> tuple[str, ...]:
    names = http_t.get("allowed_hosts", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and HOST_NAME.fullmatch(n) for n in names):
        r.problem(
            "http.allowed_hosts",
            f"must be a list of host names or IP addresses (as clients write them in "
            f"the Host header, without the port), got {_shown(names)}",
        )
        return ()
    return tuple(names)


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Settings:
    """Read and check a config file. Raises SettingsError listing every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError([Problem(file, "-", "file not found")]) from None
    except OSError as exc:
        raise SettingsError([Problem(file, "-", f"cannot read: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([Problem(file, "-", f"not valid TOML: {exc}")]) from None
    return parse(data, file, os.environ if env is None else env)


# -- opening hours, holidays, closed treatment, and the join rule (acd.core.hours) -----------------
HOURS_KEYS = {*WEEKDAYS, "zone", "holidays", "closed", "announcement"}
SPAN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])")
HOLIDAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_HOLIDAYS = 366


def _hours(
    r: _Reader, data: Mapping[str, Any], path: str, targets: tuple[str, ...], queue_names: frozenset[str]
) -> OpeningHours | None:
    """``[queues.NAME.hours]``: ``zone`` (IANA), ``mon`` .. ``sun`` = ["08:00-18:00", ...] (a day left
    out is closed), ``holidays`` = ["2026-12-25", ...] (closed all day, local dates), ``closed`` (an
    overflow target, queue:<name>, or "callback": a callback at the next opening) and
    ``announcement`` (stock sound names joined by '&')."""
    table = data.get("hours")
    if table is None:
        return None
    where = f"{path}.hours"
    if not isinstance(table, Mapping):
        r.problem(where, "must be a table: zone, mon .. sun, holidays, closed, announcement")
        return None
    r.unknown(table, HOURS_KEYS, where)
    if "zone" not in table:
        r.problem(f"{where}.zone", "missing: the time zone of the hours (an IANA name, e.g. Europe/Berlin)")
        return None
    zone_name = r.string(table, "zone", where, "UTC", max_length=64)
    zone = load_zone(zone_name)
    if zone is None:
        r.problem(f"{where}.zone", f"{_shown(zone_name)} is not a time zone (an IANA name, e.g. Europe/Berlin)")
        return None
    spans: list[tuple[int, int, int]] = []
    for day, weekday in zip(WEEKDAYS, range(7), strict=True):
        value = table.get(day, [])
        if not isinstance(value, list) or len(value) > 8:
            r.problem(f"{where}.{day}", 'must be an array of up to 8 "HH:MM-HH:MM" spans, e.g. ["08:00-18:00"]')
            continue
        for i, span in enumerate(value):
            m = SPAN.fullmatch(span) if isinstance(span, str) else None
            start = int(m.group(1)) * 3600 + int(m.group(2)) * 60 if m else 0
            end = int(m.group(3)) * 3600 + int(m.group(4)) * 60 if m else 0
            if m is None or end <= start or end > 86400:
                r.problem(
                    f"{where}.{day}[{i}]",
                    f'{_shown(span)} must be "HH:MM-HH:MM" within one day, the end after the start (24:00 at most)',
                )
                continue
            spans.append((weekday, start, end))
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list) or len(holidays) > MAX_HOLIDAYS or not all(_is_date(h) for h in holidays):
        r.problem(f"{where}.holidays", f'must be an array of up to {MAX_HOLIDAYS} dates "YYYY-MM-DD"')
        holidays = []
    announcement = r.string(table, "announcement", where, "im-sorry", empty=True, max_length=259)
    if announcement and not SOUNDS.fullmatch(announcement):
        r.problem(
            f"{where}.announcement",
            f"{_shown(announcement)} must be 1 to 4 sound names (letters, digits, '_', '-') joined by '&'",
        )
        announcement = "im-sorry"
    # "callback": offered a callback at the next opening, else voicemail (docs/dialplan.md, "Closed queues")
    closed = (
        CALLBACK_TARGET
        if table.get("closed") == CALLBACK_TARGET
        else _overflow(r, table, where, targets, "closed", queue_names)
    )
    if queue_target(closed) is not None:
        # the caller goes on waiting in the other queue's holding, where the ACD may ring an agent at
        # once: nothing would let an announcement finish (docs/dialplan.md, "Closed queues")
        if table.get("announcement"):
            r.problem(f"{where}.announcement", f"a closed treatment into a queue ({closed}) plays no announcement")
        announcement = ""
    return OpeningHours(
        zone=zone,
        zone_name=zone.name,
        weekly=openings(spans),
        holidays=tuple(sorted(set(holidays))),
        closed_target=closed,
        announcement=announcement,
    )


def hours_of_queue(
    name: str, data: Mapping[str, Any], targets: tuple[str, ...], queue_names: frozenset[str], source: str
) -> tuple[OpeningHours | None, float | None]:
    """A ``[queues.NAME]`` table's opening hours and join rule, checked as the config file's are
    (the simulator's scenarios use it); raises SettingsError listing every problem."""
    r = _Reader(source)
    path = f"queues.{name}"
    found = _hours(r, data, path, targets, queue_names), _empty_overflow(r, data, path)
    if r.problems:
        raise SettingsError(r.problems)
    return found


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not HOLIDAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _empty_overflow(r: _Reader, data: Mapping[str, Any], path: str) -> float | None:
    """Seconds a caller waits while nobody who could serve the queue is logged in (or all are
    paused) before overflowing; 0: at once; absent (or null): callers wait as usual."""
    if data.get("empty_overflow") is None:
        return None
    return r.number(data, "empty_overflow", path, 0.0, low=0, high=DAY)


def _no_overflow_ring(r: _Reader, queues: list[QueueConfig]) -> None:
    """Queues may overflow into each other only without a ring (a caller would go round for ever)."""
    into: dict[str, set[str]] = {}
    for q in queues:
        targets = [q.overflow_target] + ([q.hours.closed_target] if q.hours is not None else [])
        into[q.name] = {t for t in (queue_target(x) for x in targets) if t is not None}
    for start in sorted(into):
        seen: set[str] = set()
        todo = sorted(into[start])
        while todo:
            name = todo.pop()
            if name == start:
                r.problem(f"queues.{start}", "overflows into a ring of queues that leads back to it")
                break
            if name not in seen:
                seen.add(name)
                todo.extend(sorted(into.get(name, ())))


def otf_of_queue(
    name: str, data: Mapping[str, Any], source: str
) -> tuple[tuple[str, ...], tuple[str, ...], OtfCriteria]:
    """A ``[queues.NAME]`` table's disposition catalogue, its resolving codes and OTF's criteria, checked
    as the config file's are (the simulator's scenarios use it); raises SettingsError listing every problem."""
    r = _Reader(source)
    path = f"queues.{name}"
    found = _dispositions(r, data, path), _resolving(r, data, path), _otf(r, data, path)
    if r.problems:
        raise SettingsError(r.problems)
    return found
