"""The small rules of the HTTP boundary, one by one: which Host names match, which peers count as
loopback for /metrics, which origins are this service's, which characters a string may carry into
the records."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from acd.http.app import loopback
from acd.http.boundary import default_hosts, host_name, same_origin
from acd.records.text import fit_text


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("ACD.example.com", "acd.example.com"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("localhost:80", "localhost"),
    ],
)
def test_host_name_drops_the_port_and_the_case(header: str, name: str) -> None:
    assert host_name(header) == name


def test_default_hosts_are_the_bind_address_and_loopback_names() -> None:
    assert default_hosts("10.0.0.5") == ("10.0.0.5", "localhost", "127.0.0.1")
    assert default_hosts("127.0.0.1") == ("127.0.0.1", "localhost")


@pytest.mark.parametrize(
    ("remote", "is_loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1", False),
        (None, False),
        ("", False),
        ("not-an-address", False),
    ],
)
def test_which_peers_are_loopback(remote: str | None, is_loopback: bool) -> None:
    assert loopback(remote) is is_loopback


@pytest.mark.parametrize(
    ("value", "line", "free_text"),
    [
        ("lunch", True, True),
        ("Zoë's café ☕", True, True),
        ("", True, True),
        ("a\x00b", False, False),
        ("\x1b[31m", False, False),
        ("del\x7f", False, False),
        ("c1\x9b", False, False),
        ("\ud800", False, False),
        ("two\nlines", False, True),
        ("tab\there", False, True),
        ("crlf\r\n", False, True),
    ],
)
def test_which_strings_may_reach_a_record(value: str, line: bool, free_text: bool) -> None:
    assert fit_text(value) is line
    assert fit_text(value, multiline=True) is free_text


@pytest.mark.parametrize(
    ("host", "origin", "same"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080", True),
        ("127.0.0.1:8080", "http://127.0.0.1:9090", False),
        ("127.0.0.1:8080", "http://attacker.example:8080", False),
        ("acd.example.com", "https://acd.example.com", True),  # behind a TLS proxy: Host has no port
        ("acd.example.com", "https://acd.example.com.attacker.example", False),
        ("[::1]:8080", "http://[::1]:8080", True),
        ("127.0.0.1:8080", "null", False),
        ("127.0.0.1:8080", "file://", False),
    ],
)
def test_which_origins_are_this_service(host: str, origin: str, same: bool) -> None:
    request = make_mocked_request("POST", "/api/v1/agents/a1/login", headers={"Host": host, "Origin": origin})
    assert same_origin(request, origin) is same


def test_a_value_the_core_refuses_is_the_clients_400_not_a_conflict() -> None:
    import json

    from acd.core.errors import InvalidValue
    from acd.http.v1.audited import refusal

    response = refusal(InvalidValue("AgentPaused", "reason", "holds a control character"))
    assert response.status == 400
    assert isinstance(response.body, bytes)
    assert json.loads(bytes(response.body))["error_id"] == "invalid-input"
