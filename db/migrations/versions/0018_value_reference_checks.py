"""PostgreSQL: an IndicatorValue row's references (its enterprise, import batch and self-report
submission) are checked once per statement, not once per row, as a Score row's have been since 0016 —
now by two generic trigger functions that both tables share (0016's were written for ``score`` alone).

An import of 100,000 enterprises × 35 columns writes 2.1 million value rows in one COPY; each fired the
three foreign keys' per-row checks (a query locking the parent row), about half of the server's work.

The guarantee is 0016's, by statement triggers named after the tables they guard:

* ``references_exist(column, parent, …)`` — after an INSERT on a child table, one pass over the
  statement's new rows (transition table ``child_new``) hash-joined to every parent finds any non-null
  reference to a missing row (``foreign_key_violation``). An UPDATE is checked row by row, and only
  when it changes a reference column (``UPDATE OF`` and ``WHEN``): retiring 2.1 million values
  (``is_current``) collects no transition table and checks nothing;
* ``referenced_rows_kept(child, column, …)`` — after a DELETE, UPDATE or TRUNCATE of a parent that
  makes an id disappear, a SHARE lock on each child (waiting for every transaction writing its rows,
  holding off new ones), then refused while a child row refers to a vanished id.

The queries read a fresh snapshot: READ COMMITTED only, as in 0016 (refused at other levels).
TRUNCATE of a parent is guarded here as well (``importbatch`` has no other foreign key to refuse it);
truncating the children in the same statement passes. SQLite keeps its foreign keys.

Revision ID: 0018_value_reference_checks
Revises: 0017_score_subsidy_index
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0018_value_reference_checks"
down_revision: str | Sequence[str] | None = "0017_score_subsidy_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# child table → {reference column: parent table}
REFERENCES = {
    "score": {"enterprise_id": "enterprise", "run_id": "scorerun"},
    "indicatorvalue": {"enterprise_id": "enterprise", "batch_id": "importbatch", "submission_id": "submission"},
}
NEW_FOREIGN_CHECKS = ("indicatorvalue",)  # "score" had its foreign keys replaced by 0016

_READ_COMMITTED = """
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '% references are checked at READ COMMITTED only', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;"""

REFERENCES_EXIST = f"""
CREATE OR REPLACE FUNCTION references_exist() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
-- After INSERT (statement, NEW TABLE AS child_new) or UPDATE (row) of a child table.
-- Arguments: column, parent table, column, parent table, ...
DECLARE
    joins text := '';
    missing text := 'false';
    found_missing boolean;
BEGIN{_READ_COMMITTED}
    FOR i IN 0 .. TG_NARGS - 1 BY 2 LOOP
        joins := joins || format(' LEFT JOIN %I p%s ON p%s.id = n.%I', TG_ARGV[i + 1], i, i, TG_ARGV[i]);
        missing := missing || format(' OR (n.%I IS NOT NULL AND p%s.id IS NULL)', TG_ARGV[i], i);
    END LOOP;
    -- A count, not EXISTS: EXISTS is planned for an early first match and probes each parent's index
    -- once per row; the count hashes each parent once (2.1M rows: ~1.8 s instead of 2.4-3.5 s).
    IF TG_LEVEL = 'ROW' THEN
        EXECUTE 'SELECT count(*) > 0 FROM (SELECT ($1).*) n' || joins || ' WHERE ' || missing
            INTO found_missing USING NEW;
    ELSE
        EXECUTE 'SELECT count(*) > 0 FROM child_new n' || joins || ' WHERE ' || missing
            INTO found_missing;
    END IF;
    IF found_missing THEN
        RAISE EXCEPTION '% refers to a missing row of %', TG_TABLE_NAME, array_to_string(TG_ARGV, ', ')
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

REFERENCED_ROWS_KEPT = f"""
CREATE OR REPLACE FUNCTION referenced_rows_kept() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
-- After DELETE or UPDATE (statement, OLD TABLE AS parent_old) or TRUNCATE of a parent table.
-- Arguments: child table, column, child table, column, ...
DECLARE
    gone text := format('parent_old o WHERE NOT EXISTS (SELECT 1 FROM %I.%I p WHERE p.id = o.id)',
                        TG_TABLE_SCHEMA, TG_TABLE_NAME);
    referenced boolean;
BEGIN
    IF TG_OP <> 'TRUNCATE' THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || gone || ')' INTO referenced;
        IF NOT referenced THEN
            RETURN NULL;  -- no id disappeared (an update of other columns)
        END IF;
    END IF;{_READ_COMMITTED}
    FOR i IN 0 .. TG_NARGS - 1 BY 2 LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[i]);
        IF TG_OP = 'TRUNCATE' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I c WHERE c.%I IS NOT NULL)', TG_ARGV[i], TG_ARGV[i + 1])
                INTO referenced;
        ELSE
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I c, ', TG_ARGV[i]) || gone
                    || format(' AND o.id = c.%I)', TG_ARGV[i + 1])
                INTO referenced;
        END IF;
        IF referenced THEN
            RAISE EXCEPTION '% still referenced by %', TG_TABLE_NAME, TG_ARGV[i]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END $$
"""


def _parents() -> dict[str, list[str]]:
    """parent table → the trigger arguments (child, column, child, column, …) of its guard."""
    parents: dict[str, list[str]] = {}
    for child, columns in REFERENCES.items():
        for column, parent in columns.items():
            parents.setdefault(parent, []).extend([child, column])
    return parents


def _args(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _revision_0016() -> ModuleType:
    path = Path(__file__).with_name("0016_score_reference_checks.py")
    spec = importlib.util.spec_from_file_location("revision_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child in NEW_FOREIGN_CHECKS:
        for column in REFERENCES[child]:
            op.drop_constraint(f"{child}_{column}_fkey", child, type_="foreignkey")
    _revision_0016().drop_checks()  # score moves onto the shared functions
    op.execute(REFERENCES_EXIST)
    op.execute(REFERENCED_ROWS_KEPT)
    for child, columns in REFERENCES.items():
        args = _args([v for pair in columns.items() for v in pair])
        op.execute(
            f"CREATE TRIGGER {child}_references_on_insert AFTER INSERT ON {child} REFERENCING NEW TABLE AS "
            f"child_new FOR EACH STATEMENT EXECUTE FUNCTION references_exist({args})"
        )
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER {child}_references_on_update AFTER UPDATE OF {', '.join(columns)} ON {child} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION references_exist({args})"
        )
    for parent, children in _parents().items():
        for event in ("DELETE", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {parent}_referenced_on_{event.lower()} AFTER {event} ON {parent} "
                "REFERENCING OLD TABLE AS parent_old FOR EACH STATEMENT "
                f"EXECUTE FUNCTION referenced_rows_kept({_args(children)})"
            )
        op.execute(
            f"CREATE TRIGGER {parent}_referenced_on_truncate AFTER TRUNCATE ON {parent} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_kept({_args(children)})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in _parents():
        for event in ("delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {parent}_referenced_on_{event} ON {parent}")
    for child in REFERENCES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {child}_references_on_{event} ON {child}")
    op.execute("DROP FUNCTION IF EXISTS referenced_rows_kept()")
    op.execute("DROP FUNCTION IF EXISTS references_exist()")
    _revision_0016().create_checks()
    for child in NEW_FOREIGN_CHECKS:
        for column, parent in REFERENCES[child].items():
            op.create_foreign_key(f"{child}_{column}_fkey", child, parent, [column], ["id"])
