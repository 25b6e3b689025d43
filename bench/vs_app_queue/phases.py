"""One phase of the measurement (a system under one load) and the samples it yields."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.vs_app_queue.plan import INF


@dataclass
class Phase:
    system: str  # "app_queue" | "acd"
    metric: str  # "idle" | "waiting"
    did: str
    prefix: str  # caller numbers of this phase start with it
    numbers: list[str] = field(default_factory=list)
    call_ids: dict[str, str] = field(default_factory=dict)  # farm call id -> number
    stopped_at: float = INF  # wall clock when the load stopped (farm hangs everyone up)
    samples: list[Sample] = field(default_factory=list)
    excluded: int = 0
    breakdown: list[tuple[str, list[float]]] = field(default_factory=list)
    # (a) from the dialplan's entry: ms from past the Answer() (acd-enqueue's next step, or Queue()) to the INVITE
    from_entry: list[float] = field(default_factory=list)
    # (a), ACD: each dialplan step of the caller from that entry to the INVITE, on the most common path
    step_costs: list[tuple[str, list[float]]] = field(default_factory=list)
    step_path_share: tuple[int, int] = (0, 0)  # samples on that path, samples with steps
    outliers: list[tuple[Sample, list[tuple[str, float | None]]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "(a) agent idle" if self.metric == "idle" else "(b) callers waiting"


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    agent: str
    number: str  # the caller whose INVITE ends the sample
    previous: str = ""  # (b): the caller whose call ended at ``start``

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000.0
