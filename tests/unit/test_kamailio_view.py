"""Kamailio's replies (acd.kamailio.view): ul.dump and dispatcher.list as Kamailio 5.6 gives them, and
every way a reply can be wrong: a malformed shape is refused whole, an oversized one too, a hostile
AoR is left out, and nothing raises anything but ``Malformed``."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest

from acd.dialling import is_endpoint
from acd.kamailio.view import MAX_AORS, MAX_CONTACTS, MAX_TARGETS, KamailioView, Malformed, dispatcher, location


def contact(expires: Any) -> dict[str, Any]:
    return {"Contact": {"Address": "sip:agent1@127.0.0.1:36006", "Expires": expires, "Q": -1, "State": "CS_NEW"}}


def full(*aors: tuple[str, list[Any]], table: str = "location") -> dict[str, Any]:
    """ul.dump's result (full), as Kamailio 5.6 writes it."""
    entries = [{"Info": {"AoR": aor, "HashID": 1, "Contacts": contacts}} for aor, contacts in aors]
    return {"Domains": [{"Domain": {"Domain": table, "Size": 1024, "AoRs": entries, "Stats": {"Records": 1}}}]}


def brief(*aors: str) -> dict[str, Any]:
    entries = [{"AoR": aor} for aor in aors]
    return {"Domains": [{"Domain": {"Domain": "location", "Size": 1024, "AoRs": entries}}]}


def target(uri: str, flags: str, duid: str | None = None) -> dict[str, Any]:
    attrs = {"BODY": f"duid={duid}" if duid else "", "DUID": duid, "MAXLOAD": 0, "SOCKET": None}
    return {"DEST": {"URI": uri, "FLAGS": flags, "PRIORITY": 0, "ATTRS": attrs}}


def targets(*found: dict[str, Any]) -> dict[str, Any]:
    return {"NRSETS": 1, "RECORDS": [{"SET": {"ID": 1, "TARGETS": list(found)}}]}


# -- ul.dump -----------------------------------------------------------------------------------------
def test_a_full_dump_names_the_endpoints_with_a_live_contact() -> None:
    result = full(
        ("agent1", [contact(60)]),
        ("agent2", [contact("expired")]),
        ("agent3", [contact("deleted"), contact("permanent")]),
        ("agent4", []),
        ("agent5", [contact("expired"), contact(3)]),
    )
    assert location(result) == {"agent1", "agent3", "agent5"}


def test_a_brief_dump_names_every_aor_and_the_user_part_in_lowercase() -> None:
    assert location(brief("agent1", "Agent2@acd", "sip:agent3@10.0.0.1")) == {"agent1", "agent2", "agent3"}


def test_an_empty_table_is_nobody_and_other_tables_do_not_count() -> None:
    assert location(full()) == frozenset()
    assert location(full(("agent1", [contact(60)]), table="aliases")) == frozenset()


@pytest.mark.parametrize(
    "aor",
    ["", "agent 1", "agent1\r\nX: y", "agent1\x00", "ag/ent1", "a" * 65, "../../etc", "agent1;x=y", "x" * 100_000],
)
def test_an_aor_that_names_no_endpoint_is_left_out_and_the_rest_counts(aor: str) -> None:
    assert location(full((aor, [contact(60)]), ("agent9", [contact(60)]))) == {"agent9"}


@pytest.mark.parametrize(
    "name",
    ["agent1", "Agent_2.x-y", "a", "ab", "_agent", "-x", "a" * 64, "a" * 65, "7", "77", "agent1 ", "agënt", "a\nb"],
)
def test_an_aor_names_an_endpoint_exactly_when_the_acd_could_configure_it(name: str) -> None:
    expected = {name.lower()} if is_endpoint(name) else set()
    assert location(brief(name)) == expected
    assert location(brief(f"sip:{name}@acd.example")) == expected
    assert location(full((name, [contact(60)]))) == expected


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        "Domains",
        {},
        {"Domains": None},
        {"Domains": {"Domain": {}}},
        {"Domains": [None]},
        {"Domains": [{"Domain": {"Domain": "location"}}]},  # no AoRs
        {"Domains": [{"Domain": {"Domain": 7, "AoRs": []}}]},
        {"Domains": [{"Domain": {"Domain": "location", "AoRs": "agent1"}}]},
        {"Domains": [{"Domain": {"Domain": "location", "AoRs": [None]}}]},
        {"Domains": [{"Domain": {"Domain": "location", "AoRs": [["agent1"]]}}]},
        brief(7),  # type: ignore[arg-type]
        full((7, [contact(60)])),  # type: ignore[arg-type]
        full(("agent1", None)),  # type: ignore[arg-type]
        full(("agent1", [None])),
        full(("agent1", [{"Contact": "sip:x"}])),
        full(("agent1", [{"Contact": {"Expires": 60}}])),  # no Address
    ],
)
def test_a_dump_of_the_wrong_shape_is_refused_whole(result: Any) -> None:
    with pytest.raises(Malformed):
        location(result)


@pytest.mark.parametrize("expires", [None, "soon", True, float("inf"), float("nan"), [60], {"s": 60}])
def test_an_expiry_kamailio_never_writes_is_refused(expires: Any) -> None:
    with pytest.raises(Malformed):
        location(full(("agent1", [contact(expires)])))


def test_sizes_are_bounded() -> None:
    with pytest.raises(Malformed, match="AoRs"):
        location(brief(*(f"agent{n}" for n in range(MAX_AORS + 1))))
    assert len(location(brief(*(f"agent{n}" for n in range(1000))))) == 1000
    with pytest.raises(Malformed, match="Contacts"):
        location(full(("agent1", [contact(60)] * (MAX_CONTACTS + 1))))


def test_no_mangled_dump_raises_anything_but_malformed() -> None:
    """Every field of a real reply dropped, or replaced by a value of each JSON type, in turn."""
    good = full(("agent1", [contact(60)]), ("agent2", [contact("expired")]))
    odd: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, [None], {"k": None}]

    def paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [at] if at else []
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            found += paths(child, (*at, key))
        return found

    tried = 0
    for path in paths(good):
        for value in [*odd, ...]:
            mangled = copy.deepcopy(good)
            parent = mangled
            for key in path[:-1]:
                parent = parent[key]
            if value is ...:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            with contextlib.suppress(Malformed):
                assert location(mangled) <= {"agent1", "agent2"}
            tried += 1
    assert tried > 200


# -- dispatcher.list -----------------------------------------------------------------------------------
def test_the_dispatchers_state_of_each_pbx_by_its_duid() -> None:
    found = dispatcher(
        targets(
            target("sip:127.0.0.1:5060", "AP", "pbx1"),
            target("sip:127.0.0.1:5062", "IP", "pbx2"),
            target("sip:127.0.0.1:5064", "TP", "pbx3"),
            target("sip:127.0.0.1:5066", "DX", "pbx4"),
            target("sip:127.0.0.1:5068", "AX"),
        )
    )
    assert [(p.name, p.active, p.probing) for p in found] == [
        ("pbx1", True, True),
        ("pbx2", False, True),
        ("pbx3", True, True),  # Trying: still sent calls, probes failing below the threshold
        ("pbx4", False, False),
        ("", True, False),
    ]
    view = KamailioView(pbxs=found)
    assert view.pbx_active("pbx1") is True
    assert view.pbx_active("pbx2") is False
    assert view.pbx_active("pbx9") is None
    # as GET /api/v1/pbxs shows it
    assert [view.pbx_state(n) for n in ("pbx1", "pbx2", "pbx3", "pbx4", "pbx9")] == [
        "active",
        "inactive",
        "probing",
        "inactive",  # disabled by hand
        None,
    ]


def test_an_empty_dispatcher_and_a_duid_that_is_no_pbx_name() -> None:
    assert dispatcher({"NRSETS": 0}) == ()
    odd = dispatcher(targets(target("sip:10.0.0.1:5060", "AP", "PBX 1; drop"), target("sip:10.0.0.2", "AP", "p" * 40)))
    assert [p.name for p in odd] == ["", ""]
    view = KamailioView(pbxs=dispatcher(targets(target("sip:a", "AP", "pbx1"), target("sip:b", "IP", "pbx1"))))
    assert view.pbx_active("pbx1") is None  # said twice: not one answer
    assert view.pbx_state("pbx1") is None


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"NRSETS": 1},
        {"RECORDS": {}},
        {"RECORDS": [{"SET": None}]},
        {"RECORDS": [{"SET": {"TARGETS": None}}]},
        targets({"DEST": None}),
        targets({"DEST": {"URI": "sip:x", "FLAGS": 1}}),
        targets(target("sip:x", "")),
        targets(target("sip:x", "A")),
        targets(target("sip:x", "XX")),
        targets(target("sip:x", "APP")),
        targets(target("sip:\x00x", "AP")),
        targets(target("sip:" + "x" * 600, "AP")),
        targets(*[target(f"sip:10.0.0.{n}", "AP") for n in range(MAX_TARGETS + 1)]),
    ],
)
def test_a_dispatcher_list_of_the_wrong_shape_is_refused_whole(result: Any) -> None:
    with pytest.raises(Malformed):
        dispatcher(result)


def test_the_real_replies_round_trip_through_json() -> None:
    """The fixtures are what json.loads makes of Kamailio's text (no tuples, no non-JSON types)."""
    for result in (full(("agent1", [contact(60)])), targets(target("sip:a", "AP", "pbx1"))):
        assert json.loads(json.dumps(result)) == result
