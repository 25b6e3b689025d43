"""Call control across several PBXs: each command to the AMI link of its call's PBX.

A call is on one PBX for its whole life (docs/pbxs.md, "Calls are identified by PBX and channel"),
and the ``CallerBook`` the translator keeps knows which (``CallerBook.pbx_of``). ``PbxCallControl``
is the runtime's one call control (``acd.ports.CallControl``) in front of one ``AmiCallControl`` per
PBX: a command goes to the control of its call's PBX, and fails there as on any link that is down
when that PBX's link is, or while its ``SystemName`` is not its name or could not be read (``misnamed``:
its Uniqueids cannot be trusted to name it, docs/pbxs.md). A call the book does not hold (a pending
callback, which has no caller channel) goes to the first PBX, as with one PBX, but for a callback's dial
(``RingAgent.callback``): it goes through the first PBX whose link is up, and the callback's later
commands follow it there (``callbacks_on`` tells a lost PBX's pump which callbacks it dialled). A
deployment with one PBX uses its ``AmiCallControl`` directly, without this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from acd.ami.callers import CallerBook
from acd.ami.control import AmiCallControl
from acd.core.commands import ControlCommand, MonitorCall, PublishNext, RingAgent, WithdrawNext
from acd.ports import NotCarriedOut


class PbxCallControl:
    """``controls``: each PBX's call control, by name, the first PBX first; ``book``: the one the
    translator keeps (shared by every control)."""

    def __init__(
        self,
        controls: Mapping[str, AmiCallControl],
        book: CallerBook,
        linked: Mapping[str, Callable[[], bool]] | None = None,
        open_call: Callable[[str], bool] | None = None,
    ) -> None:
        if not controls:
            raise ValueError("no PBX")
        self.controls = dict(controls)
        self.first = next(iter(self.controls.values()))
        self.first_name = next(iter(self.controls))
        self.book = book
        # the PBXs whose SystemName is wrong or unread (kept by their pumps): commands refused
        self.misnamed: set[str] = set()
        # whether each PBX is ready for a dial: its link up and its pump's connect checks (name, start
        # time) done (None: every PBX taken as ready, callbacks on the first)
        self.linked = dict(linked) if linked is not None else None
        # whether a call is still open in the core: a callback's entry below leaves once it is not
        # (a live one is never forgotten, whatever their number)
        self.open_call = open_call
        self._dialled: dict[str, str] = {}  # a callback's call id -> the PBX dialling it

    def _prune(self) -> None:
        """Forget the callbacks the core has closed (their later commands, if any, go to the first PBX)."""
        if self.open_call is not None:
            for call_id in [c for c in self._dialled if not self.open_call(c)]:
                del self._dialled[call_id]

    def of(self, call_id: str) -> AmiCallControl:
        """The call control of the call's PBX (the first PBX's when the book does not hold the call);
        refused (``NotCarriedOut``, as on a link that is down) while that PBX is ``misnamed``."""
        pbx = self.book.pbx_of(call_id) or self._dialled.get(call_id)
        return self._usable(self.first_name if pbx is None or pbx not in self.controls else pbx)

    def dialler(self) -> str:
        """The PBX a callback is dialled through: the first that is ready (link up, connect checks done)
        and whose name is right;
        the first PBX when none is (the dial then fails there as on any link that is down)."""
        for name in self.controls:
            if name not in self.misnamed and (self.linked is None or self.linked[name]()):
                return name
        return self.first_name

    def callbacks_on(self, pbx: str) -> tuple[str, ...]:
        """The callbacks last dialled through ``pbx`` and still open (for its ``PbxLost``)."""
        self._prune()
        return tuple(sorted(c for c, p in self._dialled.items() if p == pbx))

    def _usable(self, pbx: str) -> AmiCallControl:
        if pbx in self.misnamed:
            raise NotCarriedOut(f"ami: PBX {pbx}: its SystemName is not its name; not connected")
        return self.controls[pbx]

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]:
        """Carry out ``command`` on its call's PBX (``acd.ports.CallControl``); ``rest``: the same
        decision's other commands (a call's commands all go to one PBX)."""
        if (
            isinstance(command, MonitorCall)
            and command.pbx is not None
            and command.pbx != self.book.pbx_of(command.call_id)
        ):
            raise NotCarriedOut(f"the phone is on {command.pbx}, the call is not")  # one PBX's ChanSpy
        if isinstance(command, RingAgent) and command.callback and self.book.pbx_of(command.call_id) is None:
            pbx = self.dialler()  # a callback has no caller channel: any PBX ready dials it
            self._prune()
            self._dialled[command.call_id] = pbx
            return self._usable(pbx).send(command, rest)
        return self.of(command.call_id).send(command, rest)

    def publish(self, command: PublishNext | WithdrawNext) -> Awaitable[None]:
        """Claims (docs/dialplan.md, "Claims") work on one PBX: settings refuse them with several, so a
        publication (a withdrawal, should one come) goes to the first."""
        return self.first.publish(command)

    def channel_of(self, call_id: str) -> str | None:
        return self.book.channel_of(call_id)

    def agent_leg_of(self, call_id: str) -> str | None:
        return self.book.agent_leg_of(call_id)

    def agent_uniqueid_of(self, call_id: str) -> str | None:
        return self.book.agent_uniqueid_of(call_id)

    def _of_leg(self, channel: str) -> AmiCallControl:
        pbx = self.book.pbx_of_agent_leg(channel)
        return self._usable(self.first_name if pbx is None or pbx not in self.controls else pbx)

    async def keep_recording_pause(self, channel: str, paused_at: str) -> None:
        await self._of_leg(channel).keep_recording_pause(channel, paused_at)

    async def mute_recording(self, channel: str, muted: bool) -> None:
        await self._of_leg(channel).mute_recording(channel, muted)

    async def callback_kept(self, call_id: str, at: float | None = None, zone: str = "", name: str = "") -> bool:
        return await self.of(call_id).callback_kept(call_id, at, zone, name)
