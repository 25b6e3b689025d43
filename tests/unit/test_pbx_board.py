"""The list of PBXs (``acd.pbx_board``, docs/pbxs.md, "The list of PBXs"): each PBX's row from its pump,
the snapshot's calls and, with ``[kamailio]``, the dispatcher's state; no address."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from acd.ami.pump import Pump
from acd.kamailio.reader import KamailioReader
from acd.kamailio.view import KamailioView, PbxDispatch
from acd.pbx_board import PbxBoard


def pump(name: str, connected: bool, misconfigured: bool = False, lost: bool = False) -> Pump:
    link = SimpleNamespace(connected=connected, host="10.0.0.1", port=5038)
    return cast(Pump, SimpleNamespace(pbx=name, link=link, misconfigured=misconfigured, lost=lost))


PUMPS = [pump("pbx1", True), pump("pbx2", False, lost=True), pump("pbx3", True, misconfigured=True)]


def test_each_pbx_in_order_with_its_calls_and_no_dispatcher_without_kamailio() -> None:
    rows = PbxBoard(PUMPS).rows({"pbx1": 3})
    assert rows == [
        {"name": "pbx1", "linked": True, "misconfigured": False, "lost": False, "calls": 3},
        {"name": "pbx2", "linked": False, "misconfigured": False, "lost": True, "calls": 0},
        {"name": "pbx3", "linked": True, "misconfigured": True, "lost": False, "calls": 0},
    ]


def test_the_dispatcher_s_state_of_each_pbx_with_kamailio() -> None:
    view = KamailioView(
        pbxs=(
            PbxDispatch("sip:10.0.0.1", "pbx1", active=True, probing=True),
            PbxDispatch("sip:10.0.0.2", "pbx2", active=False, probing=True, dead=True),
        )
    )
    reader = cast(KamailioReader, SimpleNamespace(view=view))
    rows: list[dict[str, Any]] = PbxBoard(PUMPS, reader).rows({})
    assert [(r["name"], r["dispatcher"]) for r in rows] == [("pbx1", "active"), ("pbx2", "inactive"), ("pbx3", None)]
    assert all("host" not in r and "port" not in r for r in rows)
