"""The routing core stays pure: no I/O, no event loop, no clock, no randomness (docs/routing-core.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import acd.core

FORBIDDEN = {
    "asyncio",
    "time",
    "random",
    "secrets",
    "datetime",
    "os",
    "io",
    "socket",
    "select",
    "selectors",
    "threading",
    "multiprocessing",
    "subprocess",
    "logging",
    "pathlib",
    "urllib",
    "http",
    "sqlalchemy",
    "asyncpg",
    "aiohttp",
    "panoramisk",
    "prometheus_client",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules_import_nothing_impure() -> None:
    core = Path(acd.core.__file__).parent
    files = sorted(core.glob("*.py"))
    assert len(files) > 10
    offenders = {f.name: sorted(m for m in imported_modules(f) if m.split(".")[0] in FORBIDDEN) for f in files}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_core_imports_only_itself_and_the_standard_library() -> None:
    core = Path(acd.core.__file__).parent
    for f in core.glob("*.py"):
        for module in imported_modules(f):
            top = module.split(".")[0]
            assert top in {
                "__future__",
                "acd",
                "bisect",
                "collections",
                "dataclasses",
                "enum",
                "heapq",
                "math",
                "typing",
                "uuid",
            }, (f.name, module)
            if top == "acd":
                assert module.startswith("acd.core"), (f.name, module)


def test_the_guard_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom random import random\n")
    assert imported_modules(bad) & FORBIDDEN == {"time", "random"}
