"""Fixtures every test layer shares: a headless browser for the page tests (wallboard, agent desk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from integration.headless_chromium import Chromium


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[Chromium]:
    """Debian's Chromium, started for one test and stopped after it; fails (never skips) without it."""
    browser = Chromium(tmp_path)
    try:
        await browser.start()
        yield browser
    finally:
        await browser.stop()
