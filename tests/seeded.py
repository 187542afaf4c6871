"""Setting up and looking into the test databases that many integration tests share.

``seed_demo`` leaves one final run, one run in 公示 and the demo accounts (ent1, officer1, bank1, admin…);
these helpers find them, add enterprises or an enterprise account where a test needs its own, and file an
objection the usual way. Apart from that last one (a service call), they read and write through the
models (values through the value store, db.values), never through the services under test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import Enterprise, Objection, Score, ScoreRun, User
from db.values import stored_values
from services.actor import Actor


@contextmanager
def database_session(url: str) -> Iterator[Session]:
    """A session on the database at ``url`` (another process's: a server's, a command's), committed on
    leaving; its engine is disposed of afterwards."""
    from db.session import make_engine, session_scope

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def add_enterprises(session: Session, codes: list[str], names: list[str]) -> Session:
    """Register enterprises (credit code, name) straight in the table and commit; returns the session."""
    session.execute(
        insert(Enterprise), [{"credit_code": c, "name": n} for c, n in zip(codes, names, strict=True)]
    )
    session.commit()
    return session


def run_in_state(session: Session, state: str) -> ScoreRun:
    """The one seeded run in ``state`` ("final" or "notice")."""
    return session.execute(select(ScoreRun).where(ScoreRun.state == state)).scalars().one()


def latest_published(session: Session) -> ScoreRun:
    """The run the public screens show: the latest year's newest run in 公示 or final."""
    from db.queries import PUBLISHED_STATES

    return (
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.state.in_(PUBLISHED_STATES))
            .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
        )
        .scalars()
        .first()
    )


def funded_enterprises(session: Session, run: ScoreRun, n: int = 2) -> list[int]:
    """The first ``n`` enterprises (by id) the run funds: a subsidy and no veto."""
    return list(
        session.execute(
            select(Score.enterprise_id)
            .where(Score.run_id == run.id, Score.subsidy > 0, Score.veto.is_(False))
            .order_by(Score.enterprise_id)
            .limit(n)
        ).scalars()
    )


def actor_of(session: Session, username: str) -> Actor:
    """The actor a seeded account signs in as, with its role, enterprise and bank."""
    user = session.execute(select(User).where(User.username == username)).scalars().one()
    return Actor(user.username, user.role, user.id, user.enterprise_id, user.bank_name)


def new_enterprise_actor(session: Session, enterprise_id: int, username: str) -> Actor:
    """A new (committed) enterprise account for ``enterprise_id``, as the actor it signs in as."""
    user = User(
        username=username,
        display_name=username,
        password_hash="x",
        role="enterprise",
        enterprise_id=enterprise_id,
    )
    session.add(user)
    session.commit()
    return Actor(username=username, role="enterprise", user_id=user.id, enterprise_id=enterprise_id)


def consenting_codes(session: Session, run_id: int) -> set[str]:
    """Credit codes a bank may see in ``run_id``: consenting, ranked, no veto."""
    return set(
        session.execute(
            select(Enterprise.credit_code)
            .join(Score, Score.enterprise_id == Enterprise.id)
            .where(
                Score.run_id == run_id,
                Enterprise.bank_consent.is_(True),
                Score.veto.is_(False),
                Score.rank.is_not(None),
            )
        ).scalars()
    )


def private_values(session: Session, names: Iterable[str]) -> list[float]:
    """The revenue and R&D figures (G01, T01; not zero) stored for the enterprises called ``names``: values
    no public screen may show."""
    ids = set(session.execute(select(Enterprise.id).where(Enterprise.name.in_(list(names)))).scalars())
    values = stored_values(session, code=["G01", "T01"])
    numbers = values.loc[values["enterprise_id"].isin(ids) & values["value_num"].notna(), "value_num"]
    return numbers[numbers != 0].tolist()


def refusing_codes(session: Session) -> set[str]:
    """Credit codes of the enterprises that refused banks their data."""
    return set(
        session.execute(select(Enterprise.credit_code).where(Enterprise.bank_consent.is_(False))).scalars()
    )


# The fields of one whitelist record, as the bank API documents them (stated here, not read from the
# service, so that a test fails when the service changes them).
WHITELIST_RECORD_KEYS = (
    {"credit_code", "name"}  # who
    | {"stage", "rank_in_stage", "score", "list", "class_subtotals"}  # standing
    | {"run", "valid_until"}  # from which list, until when
)


def file_own_objection(
    session: Session,
    ent: Actor,
    run_id: int,
    *,
    reason: str = "营业收入有误",
    indicator_code: str | None = None,
    **more: object,
) -> Objection:
    """``ent`` objects to its own enterprise's figures in run ``run_id`` (through the service)."""
    from services import objections

    return objections.file_objection(
        session,
        actor=ent,
        run_id=run_id,
        enterprise_id=ent.enterprise_id,
        indicator_code=indicator_code,
        reason=reason,
        **more,
    )
