"""Every record command fails the same way: one line ``acd <command>: <error>`` on stderr and its exit code.

The commands share ``acd.records.cli.command``; these checks hold it to what the commands printed and
returned when each had its own ``except`` clause (the integration tests check the commands themselves).
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from acd.records.cli.command import run_command
from acd.records.errors import DatabaseUnavailable


def _raise(exc: Exception) -> int:
    raise exc


def test_the_body_s_exit_code_is_the_command_s(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("acd report", lambda: 0) == 0
    assert run_command("acd tokens", lambda: 1) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "exc",
    [
        DatabaseUnavailable("postgres is down"),
        OSError("disk on fire"),
        OperationalError("SELECT 1", {}, Exception("no route")),
    ],
)
def test_a_usual_failure_is_one_line_and_the_failure_code(exc: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("acd report", lambda: _raise(exc)) == 1
    assert run_command("acd quarantine", lambda: _raise(exc), failure=2) == 2
    err = capsys.readouterr().err
    assert err == f"acd report: {exc}\nacd quarantine: {exc}\n"


def test_other_errors_are_not_swallowed_unless_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="bad label"):
        run_command("acd customers", lambda: _raise(ValueError("bad label")))
    assert run_command("acd tokens", lambda: _raise(ValueError("bad label")), also=(ValueError,)) == 1
    assert capsys.readouterr().err == "acd tokens: bad label\n"
