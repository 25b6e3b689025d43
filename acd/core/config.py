"""Routing configuration as frozen values: what the core needs to know about queues and agents.

The TOML loader (``acd.settings``) builds these; the core never reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from acd.core.hours import OpeningHours
from acd.core.objectives import Objective

EwtAction = Literal["callback", "overflow"]
"""What a queue with ``ewt_limit_seconds`` does with a new caller whose estimated wait is above it
(docs/kpis.md, "Estimated-wait diversion"): offer a callback at once, or overflow to the queue's
``overflow_target``."""

QueueChoice = Literal["service_level", "deadline"]
"""How an agent who may serve several queues chooses between them, within a priority band
(docs/routing-core.md, "Choosing between queues")."""


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    """A queue needs ``skill`` at ``min_proficiency`` (1..5) or better."""

    skill: str
    min_proficiency: int = 1


@dataclass(frozen=True, slots=True)
class WideningStep:
    """After a call has waited ``after_seconds``, relax the queue's requirements.

    ``min_proficiency_drop`` lowers every minimum proficiency (never below 1); ``extra_skills``
    adds alternative skills that also make an agent eligible.
    """

    after_seconds: float
    min_proficiency_drop: int = 0
    extra_skills: tuple[SkillRequirement, ...] = ()


DEFAULT_DISPOSITIONS: tuple[str, ...] = (
    "inquiry/information",
    "inquiry/account",
    "inquiry/status",
    "complaint/service",
    "complaint/billing",
    "complaint/product",
    "order/new",
    "order/change",
    "order/cancel",
    "support/resolved",
    "support/escalated",
    "support/callback",
)
"""The disposition catalogue of a queue that declares none: four kinds of work (inquiry, complaint,
order, support), each with a few sub-codes, written ``kind/sub-code`` (docs/kpis.md)."""


DEFAULT_RESOLVING: tuple[str, ...] = (
    "inquiry/information",
    "inquiry/account",
    "inquiry/status",
    "order/new",
    "order/change",
    "order/cancel",
    "support/resolved",
)
"""The codes of the default catalogue that close a contact complete (docs/kpis.md, "OTF and FCR"): a
complaint, an escalation and a promised callback leave work open."""


def default_resolving(catalogue: tuple[str, ...]) -> tuple[str, ...]:
    """The resolving codes of a queue that lists none: the default catalogue's own, else every code."""
    return DEFAULT_RESOLVING if catalogue == DEFAULT_DISPOSITIONS else catalogue


@dataclass(frozen=True, slots=True)
class OtfCriteria:
    """What OTF asks of a queue's interactions (``[queues.NAME.otf]``; docs/kpis.md, "OTF and FCR").

    ``answer``: on time needs the answer within the queue's threshold T (a callback: the agent's accept
    within T of its entering the queue); ``handle``: and talk + wrap-up within ``max_handle_seconds``;
    ``resolving``: full needs a resolving disposition; ``repeat_window_seconds``: and no repeat contact
    of the same customer on the queue that long after the call (0: not looked for);
    ``order_promise_seconds``: a call whose disposition kind is ``order`` is on time when closed (its
    wrap-up over) within that long of its arrival, instead of by ``answer`` and ``handle`` (None: as any
    call); ``target``: the OTF ratio the queue aims at, for the alert AcdOtfBelowTarget (None: none)."""

    answer: bool = True
    handle: bool = True
    resolving: bool = True
    repeat_window_seconds: float = 86400.0
    order_promise_seconds: float | None = None
    target: float | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    skills: tuple[SkillRequirement, ...]
    sla_threshold_seconds: float = 20.0
    sla_target_ratio: float = 0.8
    max_wait_seconds: float = 300.0
    overflow_target: str = "voicemail"
    wrapup_seconds: float = 0.0
    max_handle_seconds: float = 600.0
    widening: tuple[WideningStep, ...] = ()
    vip_priority_boost: int = 0
    # the codes an agent may set on this queue's calls; the core carries them and checks nothing:
    # the API's wrap-up checks them (a phone's *55<n> digit code is outside any catalogue)
    dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS
    # the codes of the catalogue marked as resolving: a call closed with one is complete (OTF's "full")
    resolving_dispositions: tuple[str, ...] = DEFAULT_RESOLVING
    # OTF's criteria (acd.core.otf)
    otf: OtfCriteria = field(default_factory=OtfCriteria)
    # record each answered call (MixMonitor on the PBX; docs/records.md, "Recordings")
    record: bool = False
    # opening hours, holidays and the closed treatment; None: always open (acd.core.hours)
    hours: OpeningHours | None = None
    # nobody logged in (or all paused) who could serve the queue: overflow a caller after this many
    # seconds (0: at once); None: callers wait as usual (docs/kpis.md, "Overflow into another queue")
    empty_overflow_seconds: float | None = None
    # callbacks keeping the caller's place (acd.core.callbacks): offered to a caller holding this
    # long (None: never offered); a caller not reached is tried this many times in all, this far apart
    callback_after_seconds: float | None = None
    callback_attempts: int = 3
    callback_gap_seconds: float = 60.0
    # a scheduled callback (acd.core.scheduled_callbacks) enters this queue at its time with this priority
    scheduled_callback_priority: int = 5
    # estimated-wait diversion at entry (acd.core.wait_estimate): a new stay whose estimate is above
    # this many seconds is offered a callback at once or overflowed (``ewt_action``); None: never
    ewt_limit_seconds: float | None = None
    ewt_action: EwtAction = "overflow"
    # holding's periodic announcements also say the caller's wait so far, counted over every stay
    # (docs/kpis.md, "The caller's wait so far"; acd.core.wait_said); off by default
    announce_waited: bool = False


@dataclass(frozen=True, slots=True)
class AgentConfig:
    id: str
    endpoint: str
    skills: tuple[tuple[str, int], ...]  # (skill, proficiency 1..5), sorted by skill
    name: str = ""
    # the team the agent belongs to ("" none): objectives and reports may be per team (docs/kpis.md,
    # "Teams"); routing never reads it
    team: str = ""


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Rules that hold across queues."""

    ring_timeout_seconds: float = 15.0
    reoffer_cooldown_seconds: float = 30.0
    max_consecutive_misses: int = 3
    short_abandon_seconds: float = 5.0
    # the extensions of the dialplan's acd-overflow a queue may name as its overflow target
    overflow_targets: tuple[str, ...] = ("voicemail", "fallback")
    # the outside numbers an agent may transfer a caller to ([transfers] allowed_numbers: dial-plan
    # patterns, acd.core.transfer_numbers); none: no transfer ever dials out
    transfer_numbers: tuple[str, ...] = ()
    # a caller transferred blind to an agent by name waits this long for that agent alone, then any
    # agent of the queue may take them ([transfers] agent_wait; 0: at once, as a transfer to the queue)
    transfer_agent_wait_seconds: float = 30.0
    # the numbers a caller taking a callback may key in instead of their own ([callbacks]
    # allowed_numbers: the same dial-plan patterns); none: a callback only calls back the caller's own
    callback_numbers: tuple[str, ...] = ()
    # the queue furthest below its service-level target first ("service_level"), or the nearest SLA
    # deadline across queues ("deadline"); and the sliding window of its running service level
    queue_choice: QueueChoice = "service_level"
    service_level_window_seconds: float = 900.0
    # the next agent of each queue published on the PBX for the dialplan to claim when a caller enters
    # ([routing] claim_on_pbx; acd.core.claims, docs/dialplan.md "Claims"); off: every offer is a Redirect
    claim_on_pbx: bool = False


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...]
    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    # objectives (KPOs) kept with the routing config and its revisions; routing never reads them
    # (docs/kpis.md, "Objectives")
    objectives: tuple[Objective, ...] = ()

    def queue(self, name: str) -> QueueConfig | None:
        for q in self.queues:
            if q.name == name:
                return q
        return None
