"""One transaction rule for services/: the use case commits (docs/architecture.md, "services/ conventions").

An AST scan of services/ (packages too). A function "writes" when it adds, deletes, flushes, executes an
INSERT/UPDATE/DELETE or appends an audit line — itself or through a private helper of the same module. Every
public function that writes must commit, unless its docstring says it works "in the caller's transaction"
(a part of other use cases, such as ``audit.record``); a private helper must not commit, unless the line
says why it commits early (a comment containing "commits early"). Modules whose owners have not yet moved to the rule
are listed in PENDING; the scan fails when one of them already follows it (delete its line).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

WRITE_METHODS = {"add", "add_all", "delete", "flush", "merge", "bulk_save_objects", "bulk_insert_mappings"}
WRITE_STATEMENTS = {"insert", "update", "delete"}
AUDIT_CALLS = {"record"}  # services.audit.record: flushes one AuditEvent
EARLY_COMMIT_MARK = "commits early"
PART_MARK = "in the caller's transaction"  # a public part of other use cases says so in its docstring
# Modules not on the rule yet (none today).
PENDING: set[str] = set()


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _on_session(node: ast.Call) -> bool:
    """``session.add(...)``, ``own_session.flush()``: a method of something named like a session."""
    func = node.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and "session" in func.value.id


def _writes_directly(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if _on_session(node) and name in WRITE_METHODS:
            return True
        if name in AUDIT_CALLS:
            return True
        if name == "execute" and node.args:
            statement = node.args[0]
            while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute):
                statement = statement.func.value  # update(X).where(...).values(...) → update(X)
            if isinstance(statement, ast.Call) and _call_name(statement) in WRITE_STATEMENTS:
                return True
    return False


def _commit_lines(function: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and _on_session(node) and _call_name(node) == "commit"
    ]


def _called_names(function: ast.AST) -> set[str]:
    return {_call_name(node) for node in ast.walk(function) if isinstance(node, ast.Call)}


def module_problems(path: Path) -> list[str]:
    """The places in one services module that break the rule."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    functions = {
        node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    writes = {name for name, node in functions.items() if _writes_directly(node)}
    changed = True
    while changed:  # a function that calls a private writing helper of this module writes too
        changed = False
        for name, node in functions.items():
            if name not in writes and any(
                callee in writes and callee.startswith("_") for callee in _called_names(node)
            ):
                writes.add(name)
                changed = True
    problems = []
    for name, node in functions.items():
        commits = _commit_lines(node)
        if name.startswith("_"):
            problems += [
                f"{path.name}:{line} private {name} commits (only a use case commits)"
                for line in commits
                if EARLY_COMMIT_MARK not in lines[line - 1]
            ]
        elif (
            name in writes
            and not commits
            and PART_MARK not in " ".join((ast.get_docstring(node) or "").split())
        ):
            problems.append(f"{path.name}:{node.lineno} {name} writes but does not commit")
    return problems


def test_every_writing_use_case_commits_and_no_helper_does() -> None:
    problems = {
        str(path.relative_to(SERVICES)): module_problems(path) for path in sorted(SERVICES.rglob("*.py"))
    }
    failing = [problem for name, found in problems.items() if name not in PENDING for problem in found]
    assert not failing, "services/ break the transaction rule:\n" + "\n".join(failing)
    settled = sorted(name for name in PENDING if not problems.get(name))
    assert not settled, f"these modules now follow the rule: delete them from PENDING: {settled}"


def test_the_scan_sees_a_missing_commit_and_a_committing_helper(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def _helper(session):\n"
        "    session.add(1)\n"
        "    session.commit()\n"
        "def use_case(session):\n"
        "    _helper(session)\n"
        "def fine(session):\n"
        "    session.add(1)\n"
        "    session.commit()\n"
        "def part(session):\n"
        '    """Adds one row in the caller\'s transaction."""\n'
        "    session.add(1)\n",
        encoding="utf-8",
    )
    assert module_problems(planted) == [
        "planted.py:3 private _helper commits (only a use case commits)",
        "planted.py:4 use_case writes but does not commit",
    ]
