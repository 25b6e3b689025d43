"""Kamailio's replies, checked and turned into what the ACD believes (docs/pbxs.md, "Agent reachability
from Kamailio").

A reply comes from another process and is believed only once checked: every level must have the
shape Kamailio 5.6 gives it, sizes are bounded, and every value that reaches the core is one the ACD
could have configured. A reply that fails a check is ``Malformed`` as a whole (the last view stays:
half a dump is not the truth). An entry that is well formed but cannot name anything of the ACD (an
AoR outside the endpoint alphabet, a dispatcher id that is no PBX name) is left out, as any AoR of a
phone that is not an agent's is.

``ul.dump`` (full or ``brief``) → the endpoints with a contact; ``dispatcher.list`` → each PBX's
state. Only the location table ``location`` (the one ``kamailio.cfg`` saves to) counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KamailioView", "Malformed", "PbxDispatch", "dispatcher", "location"]

LOCATION_TABLE = "location"
MAX_AORS = 50_000  # a floor of thousands of agents, with room; more is not a registrar the ACD reads
MAX_CONTACTS = 64  # per AoR (kamailio.cfg keeps one)
MAX_TARGETS = 256  # dispatcher destinations, all sets together
MAX_TEXT = 512  # any string the ACD keeps or compares
# the dispatcher's flags of a destination: its state (Active, Inactive, Disabled, Trying) and P(robing)/X
_FLAGS = re.compile(r"[AIDT][PX]")
_PBX_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")  # as acd.toml's [[pbx]] name (docs/pbxs.md)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# an AoR: [sip:]user[@domain], the user an endpoint name (as acd.dialling.is_endpoint: a letter or a
# digit, then letters, digits, _ . -; 2 to 64 in all)
_AOR = re.compile(r"(?:sip:)?([A-Za-z0-9][A-Za-z0-9_.-]{1,63})(?:@.*)?", re.DOTALL)


class Malformed(Exception):
    """A reply that is not what Kamailio says: the whole read is refused."""


@dataclass(frozen=True, slots=True)
class PbxDispatch:
    """One destination of Kamailio's dispatcher: a PBX and whether new calls may go to it."""

    uri: str  # its SIP URI, as in the dispatcher's list
    name: str  # its ``duid`` attribute: the PBX's name in acd.toml ("" when the list gives none)
    active: bool  # the dispatcher sends it new calls (state Active or Trying)
    probing: bool  # it is being probed with OPTIONS
    # inactive because probes (or a failed call) found it dead (flags IP): a PBX disabled by hand (D,
    # drained for maintenance) is not, it still carries its calls (docs/pbxs.md, "A PBX dies")
    dead: bool = False
    trying: bool = False  # state Trying: probes failed lately but not enough to take it out yet

    @property
    def state(self) -> str:
        """Its state for a reader: ``active``, ``probing`` (Trying: still sent new calls) or ``inactive``
        (Inactive, or Disabled by hand)."""
        return "probing" if self.trying else "active" if self.active else "inactive"


@dataclass(frozen=True, slots=True)
class KamailioView:
    """What the ACD last read from Kamailio, each part with the moment it was read (epoch seconds; None:
    never read yet). A failed read keeps the part it failed to refresh, older."""

    registered: frozenset[str] = frozenset()  # endpoints (agentN) with a contact in the location table
    registered_at: float | None = None
    pbxs: tuple[PbxDispatch, ...] = ()
    pbxs_at: float | None = None

    def pbx_active(self, name: str) -> bool | None:
        """Whether the dispatcher sends the PBX named ``name`` new calls; None: not in its list (or never read)."""
        found = [p.active for p in self.pbxs if p.name == name]
        return found[0] if len(found) == 1 else None

    def pbx_state(self, name: str) -> str | None:
        """The dispatcher's state of the PBX named ``name`` (``PbxDispatch.state``); None as ``pbx_active``."""
        found = [p.state for p in self.pbxs if p.name == name]
        return found[0] if len(found) == 1 else None


def location(result: Any) -> frozenset[str]:
    """The endpoints with a live contact in ``ul.dump``'s result (full or brief).

    Full dump: a contact is live while its ``Expires`` is a positive number of seconds or
    ``"permanent"`` (not ``"expired"``, not ``"deleted"``). Brief dump: every AoR listed has a contact
    (an expired one stays listed until usrloc's timer removes it, ``timer_interval``)."""
    domains = _field(result, "Domains", list, "result")
    found: set[str] = set()
    seen = 0
    for entry in _bounded(domains, 64, "Domains"):
        domain = _field(entry, "Domain", dict, "Domains[]")
        name = _field(domain, "Domain", str, "Domain")
        aors = _field(domain, "AoRs", list, "Domain")
        seen += len(aors)
        if seen > MAX_AORS:
            raise Malformed(f"more than {MAX_AORS} AoRs")
        if name != LOCATION_TABLE:
            continue
        for aor in aors:
            # the brief form inline (thousands of AoRs every 2 s, on the routing loop); the rest checked
            brief = aor.get("AoR") if type(aor) is dict and "Info" not in aor else None
            endpoint = _endpoint(brief) if type(brief) is str else _aor_entry(aor)
            if endpoint is not None:
                found.add(endpoint)
    return frozenset(found)


def _aor_entry(aor: Any) -> str | None:
    """One AoR of the dump: its endpoint if it has a live contact and names one, else None."""
    if not isinstance(aor, dict):
        raise Malformed(f"an AoR is a {type(aor).__name__}")
    if "Info" not in aor:  # brief: {"AoR": "agent1"}
        return _endpoint(_field(aor, "AoR", str, "AoR"))
    info = _field(aor, "Info", dict, "AoR")
    name = _field(info, "AoR", str, "Info")
    contacts = _bounded(_field(info, "Contacts", list, "Info"), MAX_CONTACTS, "Contacts")
    live = False
    for entry in contacts:
        contact = _field(entry, "Contact", dict, "Contacts[]")
        _field(contact, "Address", str, "Contact")
        live = _live(contact.get("Expires")) or live
    return _endpoint(name) if live else None


def _live(expires: Any) -> bool:
    """``Expires`` of a contact: seconds left (int), or "permanent", "expired", "deleted"."""
    if isinstance(expires, bool):
        raise Malformed("Expires is a boolean")
    if isinstance(expires, int | float):
        if not math.isfinite(expires):
            raise Malformed("Expires is not finite")
        return expires > 0
    if expires in ("permanent",):
        return True
    if expires in ("expired", "deleted"):
        return False
    raise Malformed(f"Expires {_shown(expires)} is none of seconds, permanent, expired, deleted")


def _endpoint(aor: str) -> str | None:
    """The endpoint an AoR names: its user part (``agent1`` of ``agent1@acd``), in lowercase as Kamailio's
    registrar keeps it by default (usrloc ``case_sensitive`` 0); None when that is no
    endpoint name the ACD could have configured (so also for any odd or hostile text: it is left out, and
    the rest of the dump still counts)."""
    found = _AOR.fullmatch(aor) if len(aor) <= MAX_TEXT else None
    return found.group(1).lower() if found is not None else None


def dispatcher(result: Any) -> tuple[PbxDispatch, ...]:
    """Every destination of ``dispatcher.list``'s result, in its order."""
    if isinstance(result, dict) and "RECORDS" not in result and result.get("NRSETS") == 0:
        return ()  # an empty list: Kamailio omits RECORDS
    records = _field(result, "RECORDS", list, "result")
    out: list[PbxDispatch] = []
    for record in _bounded(records, MAX_TARGETS, "RECORDS"):
        group = _field(record, "SET", dict, "RECORDS[]")
        for target in _bounded(_field(group, "TARGETS", list, "SET"), MAX_TARGETS, "TARGETS"):
            dest = _field(target, "DEST", dict, "TARGETS[]")
            uri = _text(_field(dest, "URI", str, "DEST"), "URI")
            flags = _field(dest, "FLAGS", str, "DEST")
            if _FLAGS.fullmatch(flags) is None:
                raise Malformed(f"FLAGS {_shown(flags)} is not a dispatcher state")
            attrs = dest.get("ATTRS")
            duid = attrs.get("DUID") if isinstance(attrs, dict) else None
            name = duid if isinstance(duid, str) and _PBX_NAME.fullmatch(duid) else ""
            out.append(PbxDispatch(uri, name, flags[0] in "AT", flags[1] == "P", flags == "IP", flags[0] == "T"))
            if len(out) > MAX_TARGETS:
                raise Malformed(f"more than {MAX_TARGETS} dispatcher destinations")
    return tuple(out)


def _field(parent: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(parent, Mapping):
        raise Malformed(f"{where} is a {type(parent).__name__}, not an object")
    value = parent.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Malformed(f"{where}.{key} is {'missing' if value is None else type(value).__name__}")
    return value


def _bounded(items: list[Any], cap: int, where: str) -> list[Any]:
    if len(items) > cap:
        raise Malformed(f"{where}: {len(items)} entries, more than {cap}")
    return items


def _text(value: str, where: str) -> str:
    if len(value) > MAX_TEXT or _CONTROL.search(value):
        raise Malformed(f"{where} {_shown(value)} is too long or holds control characters")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"
