"""Agent phone presence: fold PJSIP contact and device-state news into ``AgentReachability``.

Two sources say overlapping things. Contacts (``ContactStatus``, ``ContactList``) say whether a
phone is registered and answers qualify; device state (``DeviceStateChange``) says whether it is
unavailable, idle or in use. An agent is reachable when neither source says otherwise, and
``busy_elsewhere`` when the device is in use but the ACD has no call on that agent (a personal
call, or a call the ACD did not place). Only changes are reported, so a chatty qualify loop does
not flood the core.

Behind Kamailio (docs/pbxs.md, "Agent reachability from Kamailio") the PBX's contacts say nothing of
the phone: once the presence ``follows_registrar``, contacts come from Kamailio's location table alone
(``registered``), and the PBX's ``ContactStatus`` and contact lists are ignored. Device state still
counts (a phone in use on a call through the PBX).

With several PBXs (docs/pbxs.md, "Agent reachability from Kamailio") each PBX's device state is kept
apart and combined: in use on any PBX is busy (a direct call through any of them); else idle on any
is idle; unavailable only when every PBX that says something says so. A PBX whose link is down or
that is lost drops its part (``drop``). Contacts stay the first PBX's (or Kamailio's).
"""

from __future__ import annotations

from acd.core.events import AgentReachability

CONTACT_UP = frozenset({"Reachable", "Created", "Updated", "NonQualified", "Unqualified", "Unknown"})
CONTACT_DOWN = frozenset({"Unreachable"})
CONTACT_GONE = frozenset({"Removed"})

DEVICE_DOWN = frozenset({"UNAVAILABLE", "INVALID"})
DEVICE_BUSY = frozenset({"INUSE", "BUSY", "RINGINUSE", "ONHOLD"})
DEVICE_IDLE = frozenset({"NOT_INUSE", "RINGING"})


class Presence:
    """Per-agent contact and device state, and the last reachability reported for each."""

    def __init__(self) -> None:
        self._contacts: dict[str, dict[str, bool]] = {}
        self._device: dict[str, dict[str, str]] = {}  # agent -> PBX -> its device state there
        self._reported: dict[str, tuple[bool, bool]] = {}
        # Kamailio's word per agent (registered or not) when it is the registrar; None: the PBX's contacts
        self._registrar: dict[str, bool] | None = None

    @property
    def follows_registrar(self) -> bool:
        return self._registrar is not None

    def follow_registrar(self) -> None:
        """From now on contacts are Kamailio's (``registered``); the PBX's contact news are ignored."""
        if self._registrar is None:
            self._registrar = {}
            self._contacts.clear()

    def registered(self, agent_id: str, has_contact: bool, engaged: bool) -> AgentReachability | None:
        """Kamailio's location table says whether the agent's endpoint has a contact; the change, if any."""
        if self._registrar is None:
            raise RuntimeError("registered() without follow_registrar()")
        self._registrar[agent_id] = has_contact
        return self._report(agent_id, engaged)

    def contact(self, agent_id: str, uri: str, status: str, engaged: bool) -> AgentReachability | None:
        """Apply one contact status. ``ValueError`` for a status this table does not know. Ignored
        (None) while the presence follows the registrar."""
        if self._registrar is not None:
            return None
        contacts = self._contacts.setdefault(agent_id, {})
        if status in CONTACT_GONE:
            contacts.pop(uri, None)
        elif status in CONTACT_UP or status in CONTACT_DOWN:
            contacts[uri] = status in CONTACT_UP
        else:
            raise ValueError(f"unknown contact status {status!r}")
        return self._report(agent_id, engaged)

    def device(self, agent_id: str, state: str, engaged: bool, pbx: str = "pbx") -> AgentReachability | None:
        """Apply one PBX's device state of the agent's endpoint."""
        if state not in DEVICE_DOWN | DEVICE_BUSY | DEVICE_IDLE:
            return None  # UNKNOWN and friends: no news
        self._device.setdefault(agent_id, {})[pbx] = state
        return self._report(agent_id, engaged)

    def load_device(self, agent_id: str, device_state: str | None, pbx: str) -> None:
        """Replace one PBX's device state of the agent with a snapshot (that PBX's resync)."""
        if device_state is not None and device_state in DEVICE_DOWN | DEVICE_BUSY | DEVICE_IDLE:
            self._device.setdefault(agent_id, {})[pbx] = device_state
        else:
            self._device.get(agent_id, {}).pop(pbx, None)

    def drop(self, pbx: str, engaged: dict[str, bool]) -> list[AgentReachability]:
        """``pbx``'s device states no longer count (its link is down, or it is lost); the changes."""
        out: list[AgentReachability] = []
        for agent_id, states in sorted(self._device.items()):
            if states.pop(pbx, None) is None:
                continue
            change = self._report(agent_id, engaged.get(agent_id, False))
            if change is not None:
                out.append(change)
        return out

    def changes(self, agent_ids: list[str], engaged: dict[str, bool]) -> list[AgentReachability]:
        """The agents whose reachability changed since last reported."""
        out = [self._report(a, engaged.get(a, False)) for a in agent_ids]
        return [r for r in out if r is not None]

    def load(
        self, agent_id: str, contacts: list[tuple[str, str]] | None, device_state: str | None, pbx: str = "pbx"
    ) -> None:
        """Replace what is known of one agent with a snapshot (resync).

        ``contacts=[]``: no registration, unreachable. ``None``: contacts unknown (the AMI user may
        not be allowed to list them), so device state alone decides. While the presence follows the
        registrar, ``contacts`` is ignored (Kamailio's word stays).
        """
        if self._registrar is not None:
            pass
        elif contacts is None:
            self._contacts.pop(agent_id, None)
        else:
            self._contacts[agent_id] = {
                uri: status in CONTACT_UP for uri, status in contacts if status not in CONTACT_GONE
            }
        self.load_device(agent_id, device_state, pbx)

    def forget(self, pbx: str | None = None) -> None:
        """Drop what the PBX that tells contacts said (``pbx``'s device states; None: every PBX's); the
        next snapshot is reported in full (after a reconnect). Kamailio's word is not the PBX's: it
        stays until Kamailio's next read."""
        self._contacts.clear()
        if pbx is None:
            self._device.clear()
        else:
            for states in self._device.values():
                states.pop(pbx, None)
        self._reported.clear()

    def device_state(self, agent_id: str) -> str | None:
        """The agent's device state across PBXs: in use on any, else idle on any, else unavailable."""
        states = self._device.get(agent_id, {}).values()
        for kind in (DEVICE_BUSY, DEVICE_IDLE, DEVICE_DOWN):
            for state in states:
                if state in kind:
                    return state
        return None

    def current(self, agent_id: str, engaged: bool) -> AgentReachability:
        state = self.device_state(agent_id)
        if self._registrar is not None:
            registered = self._registrar.get(agent_id)  # None: Kamailio not read yet, device state decides
            contact_up = registered is None or registered
        else:
            contacts = self._contacts.get(agent_id)
            contact_up = contacts is None or any(contacts.values())
        reachable = contact_up and state not in DEVICE_DOWN
        busy = reachable and state in DEVICE_BUSY and not engaged
        return AgentReachability(agent_id, reachable, busy)

    def report_all(self, agent_ids: list[str], engaged: dict[str, bool]) -> list[AgentReachability]:
        out = [self.current(a, engaged.get(a, False)) for a in agent_ids]
        self._reported.update({r.agent_id: (r.reachable, r.busy_elsewhere) for r in out})
        return out

    def _report(self, agent_id: str, engaged: bool) -> AgentReachability | None:
        now = self.current(agent_id, engaged)
        key = (now.reachable, now.busy_elsewhere)
        if self._reported.get(agent_id) == key:
            return None
        self._reported[agent_id] = key
        return now
