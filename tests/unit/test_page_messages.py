"""Messages from services reach Markdown-rendering widgets only through ui.text.plain.

A service error can quote what a user typed or a file contained (an enterprise name, a header, a field
value); st.error/warning/info/success/caption/markdown render Markdown, so ``st.error(str(exc))`` would
turn ``[点此](http://evil)`` into a link. This scan fails on any exception object passed to one of them
raw — directly, through str(), or inside an f-string — anywhere in pages/ or ui/.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN_WIDGETS = {"error", "warning", "info", "success", "caption", "markdown", "write", "toast"}


def _exception_names(tree: ast.AST) -> set[str]:
    return {h.name for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.name}


def _raw_uses(node: ast.AST, names: set[str]) -> bool:
    """True when `node` shows an exception name other than as plain(...)'s argument."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "plain":
            return False
        if isinstance(func, ast.Name) and func.id == "str":
            return any(_raw_uses(a, names) for a in node.args)
        return False
    if isinstance(node, ast.JoinedStr):
        return any(_raw_uses(v.value, names) for v in node.values if isinstance(v, ast.FormattedValue))
    if isinstance(node, ast.BinOp):
        return _raw_uses(node.left, names) or _raw_uses(node.right, names)
    return False


def offending_calls(source: str) -> list[int]:
    tree = ast.parse(source)
    names = _exception_names(tree)
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MARKDOWN_WIDGETS
            and node.args
            and _raw_uses(node.args[0], names)
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_sees_raw_exception_text() -> None:
    bad = (
        "try:\n    f()\nexcept ValueError as exc:\n    st.error(str(exc))\n    st.warning(f'未保存：{exc}')\n"
    )
    good = "try:\n    f()\nexcept ValueError as exc:\n    st.error(plain(exc))\n    st.info(f'未保存：{plain(exc)}')\n"
    assert offending_calls(bad) == [4, 5]
    assert offending_calls(good) == []


def test_no_page_shows_an_exception_as_markdown() -> None:
    found = {}
    for path in [ROOT / "Home.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        lines = offending_calls(path.read_text(encoding="utf-8"))
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    assert not found, f"wrap service messages in ui.text.plain: {found}"
