"""The documentation names what the code has: every environment variable the code reads is in the README's
table, and every database table, top-level package and core module is in docs/architecture.md. The scans read
the source (AST, the tree), not a list kept by hand, so a new variable, table or module without its line fails
here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = ("api", "core", "db", "deploy", "services", "ui", "pages", "demo", "cli")


def product_files() -> list[Path]:
    files = [ROOT / name for name in ("manage.py", "serve.py", "Home.py")]
    for directory in PRODUCT_DIRS:
        files += [p for p in (ROOT / directory).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, or a name called ``environ`` (a mapping standing in for it)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def environment_reads(source: str) -> set[str]:
    """The names read by ``os.environ.get("X")``, ``environ.get("X", …)``, ``os.getenv("X")``,
    ``os.environ["X"]`` (read, not written) in ``source``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            if isinstance(func, ast.Attribute) and (
                (func.attr in ("get", "setdefault") and _is_environ(func.value)) or func.attr == "getenv"
            ):
                names.add(str(node.args[0].value))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_environ(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(str(node.slice.value))
    return names


def readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_the_scan_sees_every_way_of_reading_the_environment() -> None:
    source = (
        'import os\nos.environ.get("A")\nos.getenv("B", "1")\nx = os.environ["C"]\n'
        'os.environ["NOT_READ"] = "1"\nenviron.get("D")\n'
    )
    assert environment_reads(source) == {"A", "B", "C", "D"}


def test_every_variable_read_by_the_code_is_in_the_readme_table() -> None:
    read: dict[str, set[str]] = {}
    for path in product_files():
        for name in environment_reads(path.read_text(encoding="utf-8")):
            read.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    read.pop("STREAMLIT_LOGGER_LEVEL", None)  # Streamlit's own variable, only defaulted for child processes
    for name in settings.VARIABLES:
        read.setdefault(name, set()).add("core/settings.py")
    documented = readme_variables()
    missing = {name: sorted(where) for name, where in read.items() if name not in documented}
    assert not missing, f"read by the code but not in the README's configuration table: {missing}"


def test_only_the_settings_module_reads_the_environment() -> None:
    stray = {}
    for path in product_files():
        relative = str(path.relative_to(ROOT))
        # Reading the environment anywhere but core/settings.py is a second home for configuration.
        names = environment_reads(path.read_text(encoding="utf-8"))
        names.discard("STREAMLIT_LOGGER_LEVEL")
        if names and relative not in ("core/settings.py",):
            stray[relative] = sorted(names)
    assert not stray, f"read the environment outside core/settings.py: {stray}"


def test_every_documented_variable_is_a_setting_or_the_test_suites() -> None:
    # A line for a variable nothing reads any more misleads whoever configures a server.
    assert readme_variables() - set(settings.VARIABLES) == {"TEST_DATABASE_URL"}


def database_tables() -> set[str]:
    """The SQLModel classes with ``table=True`` in db/models.py."""
    tree = ast.parse((ROOT / "db" / "models.py").read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(
            k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        )
    }


def test_every_table_is_named_in_the_architecture_doc() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tables = database_tables()
    assert {"Enterprise", "Score", "AuditEvent", "BankToken"} <= tables  # the scan finds the tables
    missing = sorted(name for name in tables if not re.search(rf"\b{name}\b", doc))
    assert not missing, f"tables of db/models.py not named in docs/architecture.md: {missing}"


def _doc() -> str:
    return (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_top_level_package_is_described_in_the_architecture_doc() -> None:
    packages = sorted(
        p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"
    )
    assert {"core", "db", "services", "ui"} <= set(packages)  # the scan finds the packages
    packages.append("pages")  # page scripts, no __init__ on purpose (st.navigation loads them by path)
    missing = [name for name in packages if f"{name}/" not in _doc()]
    assert not missing, f"top-level packages not described in docs/architecture.md: {missing}"


def test_every_core_module_and_package_is_named_in_the_architecture_doc() -> None:
    core = ROOT / "core"
    names = [f"core/{p.name}" for p in core.glob("*.py") if p.name != "__init__.py"]
    names += [f"core/{p.name}/" for p in core.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert "core/engine.py" in names and "core/spreadsheet/" in names  # the scan finds both kinds
    missing = sorted(name for name in names if name not in _doc())
    assert not missing, f"core modules not named in docs/architecture.md: {missing}"
