"""Dependencies point downwards, and core/ stays pure: an AST scan of every import in the product.

    pages → ui → services → adapters → core        (each may import anything below it, nothing above)
                          ↘ db → core               (db and adapters do not import each other)
    cli, demo → services                           (applications above services/: manage.py, the seed)

The command line (cli/ and manage.py) calls services and pure core only: no SQL of its own (no
sqlalchemy, sqlmodel, db.models, db.queries), so it runs under the pages' checks.

core/ imports no database, no Streamlit and nothing above it, and does no process or operating-system
work (child processes, fork, resource limits, sockets, signals): that belongs in adapters/ (the bounded
spreadsheet reader), which imports core/ only. The arrows the tree still has are listed in
KNOWN_EXCEPTIONS with the reason they are pending; the scan fails on any other arrow, and on an exception
that no longer exists (delete its line).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# layer → the modules it must not import (a package name covers its modules)
APPLICATIONS = {"demo", "cli"}
# Everything above the pure layers, and the database libraries: neither core/ nor adapters/ imports them.
ABOVE_ADAPTERS = {
    "db",
    "services",
    "ui",
    "pages",
    "api",
    "streamlit",
    "sqlmodel",
    "sqlalchemy",
    *APPLICATIONS,
}
FORBIDDEN: dict[str, set[str]] = {
    "core": {"adapters", *ABOVE_ADAPTERS},
    "adapters": ABOVE_ADAPTERS,
    "db": {"adapters", "services", "ui", "pages", "api", "streamlit", *APPLICATIONS},
    "services": {"ui", "pages", "streamlit", *APPLICATIONS},
    "ui": {"pages", *APPLICATIONS},
    "demo": {"ui", "pages", "api", "streamlit", "cli"},
    "cli": {
        "ui",
        "pages",
        "api",
        "streamlit",
        "sqlalchemy",
        "sqlmodel",
        "db.models",
        "db.queries",
        "db.bulk",
    },
}
# Process and operating-system work, refused in core/.
OS_MODULES = {"subprocess", "multiprocessing", "resource", "socket", "signal", "select"}
OS_CALLS = {
    "fork",
    "forkpty",
    "kill",
    "killpg",
    "_exit",
    "setsid",
    "wait",
    "waitpid",
    "execv",
    "execve",
    "execvp",
    "posix_spawn",
    "spawnv",
    "system",
    "popen",
}

# (file, what it imports or calls): an arrow kept for now, each with the reason it is pending. None today.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def arrows(path: Path, layer: str) -> set[str]:
    """What ``path`` (in ``layer``) imports or calls that its layer may not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "os":  # from os import fork
                found |= {
                    f"os.{alias.name}" for alias in node.names if alias.name in OS_CALLS and layer == "core"
                }
        for name in names:
            parts = name.split(".")
            prefixes = {".".join(parts[: k + 1]) for k in range(len(parts))}
            if prefixes & FORBIDDEN.get(layer, set()) or (layer == "core" and parts[0] in OS_MODULES):
                found.add(name)
        if (
            layer == "core"
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in OS_CALLS
        ):
            found.add(f"os.{node.attr}")
    return found


def tree_arrows(root: Path = ROOT) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for layer in FORBIDDEN:
        paths = sorted((root / layer).rglob("*.py"))
        if layer == "cli" and (root / "manage.py").exists():
            paths.append(root / "manage.py")  # the entry point belongs to the command line
        for path in paths:
            if "migrations" in path.parts:
                continue
            found |= {(str(path.relative_to(root)), name) for name in arrows(path, layer)}
    return found


def test_no_new_arrow_up_and_no_os_work_in_core() -> None:
    new = tree_arrows() - KNOWN_EXCEPTIONS
    assert not new, (
        f"imports against the layering (pages → ui → services → db → core; core pure): {sorted(new)}"
    )


def test_every_known_exception_still_exists() -> None:
    gone = KNOWN_EXCEPTIONS - tree_arrows()
    assert not gone, f"these arrows are gone — delete them from KNOWN_EXCEPTIONS: {sorted(gone)}"


def test_the_scan_sees_each_kind_of_arrow(tmp_path: Path) -> None:
    for layer, source in {
        "core": "import sqlalchemy\nfrom db.models import X\nimport os\nos.fork()\n"
        "from os import kill\nimport subprocess\n",
        "adapters": "from db import session\n",
        "db": "from services import runs\nimport adapters.reader_worker\n",
        "services": "import streamlit as st\n",
        "ui": "from pages.common import x\nfrom demo import seed_demo\n",
        "demo": "from ui.navigation import x\nfrom cli import main\n",
        "cli": "from db.session import session_scope\nfrom db.models import User\nimport sqlalchemy.orm\n",
    }.items():
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "m.py").write_text(source)
    assert tree_arrows(tmp_path) == {
        ("core/m.py", "sqlalchemy"),
        ("core/m.py", "db.models"),
        ("core/m.py", "os.fork"),
        ("core/m.py", "os.kill"),
        ("core/m.py", "subprocess"),
        ("adapters/m.py", "db"),
        ("db/m.py", "services"),
        ("db/m.py", "adapters.reader_worker"),
        ("services/m.py", "streamlit"),
        ("ui/m.py", "pages.common"),
        ("ui/m.py", "demo"),
        ("demo/m.py", "ui.navigation"),
        ("demo/m.py", "cli"),
        ("cli/m.py", "db.models"),
        ("cli/m.py", "sqlalchemy.orm"),
    }


PRODUCT = ("core", "adapters", "db", "services", "ui", "pages", "api", "demo")
PRODUCT_FILES = ("manage.py", "Home.py", "serve.py")


def product_files(root: Path = ROOT) -> list[Path]:
    """Every product source file (not tests, not benchmarks, not migrations)."""
    files = [root / name for name in PRODUCT_FILES if (root / name).exists()]
    for package in PRODUCT:
        files += [p for p in sorted((root / package).rglob("*.py")) if "migrations" not in p.parts]
    return files


def test_audit_events_are_built_by_services_audit_only() -> None:
    # services/audit.py chains each event it adds to the one before; an event built elsewhere would not be.
    builders = {
        str(path.relative_to(ROOT))
        for path in product_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AuditEvent"
    }
    assert builders <= {"services/audit.py"}, f"build audit events with services.audit.record: {builders}"


# The value store: what may name the values table (its model, its storage and the run's bulk read).
VALUE_STORE = {"db/models.py", "db/values.py", "db/run_inputs.py"}


def names_the_values_table(path: Path) -> bool:
    """``IndicatorValue`` used, or the table named in SQL text, in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name) and node.id == "IndicatorValue":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "IndicatorValue":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "IndicatorValue" for a in node.names):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = node.value.lower()
            if "from indicatorvalue" in sql or "indicatorvalue." in sql:
                return True
    return False


def test_values_are_read_and_written_through_the_value_store_only() -> None:
    # Services ask db.values by name; none queries the table itself, so its storage can change under them.
    outside = {
        str(path.relative_to(ROOT))
        for path in product_files()
        if str(path.relative_to(ROOT)) not in VALUE_STORE and names_the_values_table(path)
    }
    assert not outside, f"read and write values through db.values: {sorted(outside)}"


# Tests about the table itself (its constraints, migrations and reference checks; the bulk insert and the
# run's bulk read that work on it; this scan). Every other test reads and writes values through db.values.
TABLE_TESTS = {
    "tests/integration/test_bulk.py",
    "tests/integration/test_migrations.py",
    "tests/integration/test_runs.py",
    "tests/integration/test_value_references.py",
    "tests/unit/test_layering.py",
}


def test_tests_read_and_write_values_through_the_value_store() -> None:
    # So that a change of how values are stored touches db/ and the tests of the table, not every test.
    touching = {
        str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").rglob("*.py")) if names_the_values_table(p)
    }
    assert touching - TABLE_TESTS == set(), "read and write values through db.values (tests/values.py)"
    assert TABLE_TESTS - touching == set(), "no longer on the table: drop it from TABLE_TESTS"


def test_the_value_store_scan_sees_each_form(tmp_path: Path) -> None:
    forms = [
        "from db.models import IndicatorValue\n",
        "import db.models as m\nm.IndicatorValue\n",
        "q = 'SELECT code FROM indicatorvalue WHERE year = 1'\n",
        "q = 'UPDATE t SET x = 1 WHERE indicatorvalue.is_current'\n",
    ]
    for i, source in enumerate(forms):
        (tmp_path / f"m{i}.py").write_text(source, encoding="utf-8")
    assert [names_the_values_table(tmp_path / f"m{i}.py") for i in range(len(forms))] == [True] * len(forms)
    (tmp_path / "clean.py").write_text("from db.values import code_history\n", encoding="utf-8")
    assert not names_the_values_table(tmp_path / "clean.py")


# (file, the private name it reaches into): pending with its owner; deleted when gone (the scan says so).
PRIVATE_PENDING: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(path: Path, root: Path = ROOT) -> set[tuple[str, str]]:
    """``from m import _x`` and ``m._x`` in ``path`` where ``m`` is another product module."""
    tops = {*PRODUCT, *(name.removesuffix(".py") for name in PRODUCT_FILES)}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}  # local name → the product module (or its member) it stands for
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in tops:
            for alias in node.names:
                if _private(alias.name):
                    found.add(f"{node.module}.{alias.name}")
                else:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in tops:
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.add(f"{ast.unparse(node.value)}.{node.attr}")
    rel = str(path.relative_to(root))
    return {(rel, name) for name in found}


def test_no_module_reaches_into_another_modules_private_names() -> None:
    found = set().union(*(private_reaches(path) for path in product_files()))
    new = found - PRIVATE_PENDING
    assert not new, f"make these names public (or move the code that needs them): {sorted(new)}"
    gone = PRIVATE_PENDING - found
    assert not gone, f"these are gone — delete them from PRIVATE_PENDING: {sorted(gone)}"


def test_the_private_scan_sees_both_forms(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    planted = tmp_path / "services" / "m.py"
    planted.write_text(
        "from core.pools import _label, field_label\nfrom core import explain\nimport db.queries\n"
        "explain._num(1)\ndb.queries._fetch()\nfield_label._x\nself._y\n",
        encoding="utf-8",
    )
    assert private_reaches(planted, tmp_path) == {
        ("services/m.py", "core.pools._label"),
        ("services/m.py", "explain._num"),
        ("services/m.py", "db.queries._fetch"),
        ("services/m.py", "field_label._x"),
    }
