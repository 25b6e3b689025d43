"""The farm's side of every call: what its caller lived through, from the farm's own events.

The farm raises a UserEvent at each step of a caller (deploy/farm/extensions.conf); from them each
placed call gets the outcome the ACD must have recorded: an agent talked to the caller (answered),
the caller gave up (abandoned), or the PBX hung up on a caller nobody talked to (overflowed: every
queue of the soak overflows to the fallback, an apology and a hang-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phonefarm import AmiEvent


@dataclass
class FarmCall:
    call_id: str
    number: str = ""  # the caller's number, as the PBX passes it on (the records' ``caller``)
    placed: bool | None = None  # the Originate's result: None while unknown
    talked: bool = False
    abandoned: bool = False
    ended: bool = False

    @property
    def outcome(self) -> str:
        """What the ACD must have recorded: answered, abandoned, overflowed; ``open`` while the call lasts."""
        if not self.ended:
            return "open"
        if self.talked:
            return "answered"
        return "abandoned" if self.abandoned else "overflowed"


@dataclass
class Ledger:
    calls: dict[str, FarmCall] = field(default_factory=dict)
    not_callers: set[str] = field(default_factory=set)  # the farm call ids of agents' feature codes

    def _call(self, call_id: str) -> FarmCall:
        return self.calls.setdefault(call_id, FarmCall(call_id))

    def on_farm(self, event: AmiEvent) -> None:
        if event.get("Event") != "UserEvent":
            return
        kind, call_id = event.get("UserEvent", ""), event.get("FarmCallId", "")
        if not call_id or not kind.startswith(("FarmCaller", "FarmOriginate")):
            return
        if call_id in self.not_callers:
            return
        call = self._call(call_id)
        if kind == "FarmOriginate":
            call.placed = event.get("FarmResponse") == "Success"
        elif kind == "FarmCallerAnswered":
            call.number = event.get("FarmCaller", "")
        elif kind == "FarmCallerTalking":
            call.talked = True
        elif kind == "FarmCallerAbandon":
            call.abandoned = True
        elif kind == "FarmCallerHangup":
            call.ended = True

    def callers(self) -> dict[str, FarmCall]:
        """The calls the PBX answered (so the ACD saw them), by caller number."""
        return {c.number: c for c in self.calls.values() if c.number}

    def open_calls(self) -> list[FarmCall]:
        return [c for c in self.calls.values() if c.placed is None or (c.placed and not c.ended)]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for call in self.callers().values():
            out[call.outcome] = out.get(call.outcome, 0) + 1
        return out
