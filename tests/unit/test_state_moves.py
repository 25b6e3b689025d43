"""Only the state tables move calls and agents: no code in ``acd/`` assigns a ``state`` by hand.

Every move goes through ``step_call`` / ``step_agent`` in ``acd/core/states.py``, which look the
next state up in the transition tables (docs/routing-core.md, "States and invariants"). A hand-made
``call.state = ...`` elsewhere would be a move the tables never saw, so this scan refuses it, as
``test_core_purity.py`` refuses an impure import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import acd

# (file relative to the package's parent, qualified function) allowed to assign a ``state``.
ALLOWED = {
    ("acd/core/states.py", "step_call"),
    ("acd/core/states.py", "step_agent"),
    # The refused state's name, kept on the error for its body: text, not a move.
    ("acd/core/errors.py", "InvalidTransition.__init__"),
}


def _targets(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.Tuple | ast.List):
        return [t for element in node.elts for t in _targets(element)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return [node]


def _assigns_state(node: ast.AST) -> bool:
    """``x.state = ...`` (also augmented, annotated or unpacked), or ``setattr(x, "state", ...)``."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = [t for target in node.targets for t in _targets(target)]
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = _targets(node.target)
    elif isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in ("setattr", "__setattr__") and len(node.args) >= 2:
            # A computed name cannot be read statically; the tallies use those for their counters.
            attr = node.args[1]
            return isinstance(attr, ast.Constant) and attr.value == "state"
        return False
    return any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets)


def state_assignments(source: str, filename: str) -> list[tuple[str, int]]:
    """Each place in ``source`` that assigns a ``state``: (qualified function or ``<module>``, line)."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                walk(child, [*scope, child.name])
                continue
            if isinstance(child, ast.stmt | ast.expr) and _assigns_state(child):
                found.append((".".join(scope) or "<module>", child.lineno))
            walk(child, scope)

    walk(ast.parse(source, filename), [])
    return found


def test_no_state_is_assigned_outside_the_table_steps() -> None:
    package = Path(acd.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert len(files) > 50
    offenders = []
    for path in files:
        name = path.relative_to(package.parent).as_posix()
        for scope, line in state_assignments(path.read_text(), name):
            if (name, scope) not in ALLOWED:
                offenders.append(f"{name}:{line} in {scope}")
    assert offenders == []


def test_the_helpers_themselves_are_found() -> None:
    # If the steps stopped assigning (or moved), the allowance above would guard nothing.
    package = Path(acd.__file__).parent
    states = package / "core" / "states.py"
    scopes = {scope for scope, _ in state_assignments(states.read_text(), "states.py")}
    assert scopes == {"step_call", "step_agent"}


def test_the_guard_sees_every_way_of_assigning_a_state() -> None:
    source = """
call.state = CallState.ENDED
def f(agent):
    agent.state += 1
    a.state, b = 1, 2
    setattr(agent, "state", x)
    object.__setattr__(call, "state", x)
class C:
    def m(self) -> None:
        self.state: int = 0
def fine(call):
    call.status = 1
    state = 2
    setattr(call, "status", 3)
    return call.state == 1
"""
    assert state_assignments(source, "bad.py") == [
        ("<module>", 2),
        ("f", 4),
        ("f", 5),
        ("f", 6),
        ("f", 7),
        ("C.m", 10),
    ]
