"""PostgreSQL: a Score row's references (its enterprise, its run) are checked once per statement, not
once per row. A run's 100,000 Score rows cost the server 1.7 s of CPU in the two foreign keys' per-row
checks (each a query locking the parent row); the set-based check costs a tenth of that.

The same guarantee as the foreign keys, by two statement triggers each way:

* an INSERT or UPDATE on ``score`` checks, in one anti-join over the statement's new rows, that every
  ``enterprise_id`` and ``run_id`` exists (else ``foreign_key_violation``, as the foreign keys raised);
* a DELETE on ``enterprise`` or ``scorerun``, or an UPDATE that makes an id disappear, first takes a
  SHARE lock on ``score`` (it waits for every transaction writing Score rows to end and holds off new
  ones), then refuses when a Score row refers to an id that no longer exists. The triggers' queries read
  a fresh snapshot (READ COMMITTED, plpgsql): a Score row committed while the delete waited is seen, and
  a run whose check runs while a delete of its enterprise is pending waits on nothing — it sees the row
  still there, and that delete then waits for the run's commit and refuses.

A transaction at REPEATABLE READ or SERIALIZABLE keeps one snapshot, which could miss the other side's
rows: there Score rows cannot be written, nor a referenced id deleted (the application runs READ
COMMITTED; the foreign keys' own checks used a special snapshot that plpgsql has not).
TRUNCATE of either parent stays refused by the other foreign keys that point at them. SQLite keeps its
foreign keys: its per-row checks are in-process index probes.

Revision ID: 0016_score_reference_checks
Revises: 0015_value_enterprise_index
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_score_reference_checks"
down_revision: str | Sequence[str] | None = "0015_value_enterprise_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARENTS = {"enterprise": "enterprise_id", "scorerun": "run_id"}
MISSING_PARENT = "score refers to a missing enterprise or score run"
REFERENCED_PARENT = "enterprise or score run still referenced by score"
ISOLATION = "score references are checked at READ COMMITTED only"

_READ_COMMITTED = f"""
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '{ISOLATION}' USING ERRCODE = 'feature_not_supported';
    END IF;"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent, column in PARENTS.items():
        op.drop_constraint(f"score_{column}_fkey", "score", type_="foreignkey")
    create_checks()


def create_checks() -> None:
    """This revision's functions and triggers (migration 0018's downgrade puts them back too)."""
    missing = " OR ".join(
        f"EXISTS (SELECT 1 FROM score_new n WHERE NOT EXISTS "
        f"(SELECT 1 FROM {parent} p WHERE p.id = n.{column}))"
        for parent, column in PARENTS.items()
    )
    op.execute(
        f"""
        CREATE FUNCTION score_references_exist() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
        BEGIN{_READ_COMMITTED}
            IF {missing} THEN
                RAISE EXCEPTION '{MISSING_PARENT}' USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER score_references_on_{event.lower()} AFTER {event} ON score "
            "REFERENCING NEW TABLE AS score_new FOR EACH STATEMENT EXECUTE FUNCTION score_references_exist()"
        )
    for parent, column in PARENTS.items():
        op.execute(
            f"""
            CREATE FUNCTION {parent}_scores_unreferenced() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM parent_old o WHERE NOT EXISTS
                               (SELECT 1 FROM {parent} p WHERE p.id = o.id)) THEN
                    RETURN NULL;  -- no id disappeared (an update of other columns)
                END IF;{_READ_COMMITTED}
                LOCK TABLE score IN SHARE MODE;
                IF EXISTS (SELECT 1 FROM parent_old o JOIN score s ON s.{column} = o.id
                           WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = o.id)) THEN
                    RAISE EXCEPTION '{REFERENCED_PARENT}' USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN NULL;
            END $$
            """
        )
        for event in ("DELETE", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {parent}_scores_on_{event.lower()} AFTER {event} ON {parent} "
                "REFERENCING OLD TABLE AS parent_old FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {parent}_scores_unreferenced()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drop_checks()
    for parent, column in PARENTS.items():
        op.create_foreign_key(f"score_{column}_fkey", "score", parent, [column], ["id"])


def drop_checks() -> None:
    for parent in PARENTS:
        for event in ("delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {parent}_scores_on_{event} ON {parent}")
        op.execute(f"DROP FUNCTION IF EXISTS {parent}_scores_unreferenced()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS score_references_on_{event} ON score")
    op.execute("DROP FUNCTION IF EXISTS score_references_exist()")
