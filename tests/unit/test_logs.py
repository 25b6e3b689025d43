"""The ACD's processes log their own lines; libraries speak up only with warnings, unless -v."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from acd.logs import configure_logging

NAMES = ("panoramisk.manager", "alembic.runtime.migration", "acd", "acd.runtime")


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("panoramisk", "alembic", "")]
    saved = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, saved, strict=True):
        logger.setLevel(level)


def test_library_info_lines_are_quiet_and_the_acds_are_not() -> None:
    configure_logging(verbose=False, fmt="%(message)s")
    logging.getLogger().setLevel(logging.INFO)  # basicConfig leaves an already configured root alone
    enabled = {n: logging.getLogger(n).isEnabledFor(logging.INFO) for n in NAMES}
    assert enabled == {
        "panoramisk.manager": False,
        "alembic.runtime.migration": False,
        "acd": True,
        "acd.runtime": True,
    }
    assert logging.getLogger("panoramisk.manager").isEnabledFor(logging.WARNING)


def test_verbose_lets_the_libraries_speak() -> None:
    configure_logging(verbose=True, fmt="%(message)s")
    logging.getLogger().setLevel(logging.DEBUG)
    assert all(logging.getLogger(n).isEnabledFor(logging.DEBUG) for n in NAMES)
