"""Two pages of one enterprise writing the same self-report at the same moment.

Each "page" is its own thread with its own connection. The interleaving that loses data — both read
version v, one commits, the other then writes — is forced by holding one writer just before its first
write statement until the other has committed; the barrier trials let the two run freely.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from core import self_report_rules as rules
from db.models import Enterprise, Submission
from services import self_report as sr
from services.actor import Actor
from services.errors import Conflict, ValidationFailed
from tests.values import add_values

YEAR = 2025
VALID = {"T04": 6, "T11": 45}
INVALID = {"T04": -50, "T11": 500}
MESSAGE = "该填报已在其他页面修改，请刷新后再改"


@pytest.fixture
def report(db_engine: Engine) -> tuple[Actor, int]:
    """An enterprise with a valid saved draft (version 2)."""
    with Session(db_engine, expire_on_commit=False) as session:
        ent = Enterprise(credit_code="91330303MA2ABCDE1X", name="甲企业")
        session.add(ent)
        session.commit()
        add_values(
            session,
            *[
                {
                    "enterprise_id": ent.id,
                    "year": YEAR,
                    "code": "insured_staff",
                    "value_num": 20.0,
                    "source": "人社",
                    "is_current": True,
                },
                {
                    "enterprise_id": ent.id,
                    "year": YEAR,
                    "code": "G01",
                    "value_num": 800.0,
                    "source": "税务",
                    "is_current": True,
                },
            ],
        )
        session.commit()
        actor = Actor(username="enta", role="enterprise", user_id=1, enterprise_id=ent.id)
        draft = sr.get_or_create_draft(session, actor=actor, enterprise_id=ent.id, year=YEAR)
        sr.save_draft(session, actor=actor, submission_id=draft.id, items=VALID, version=1)
        return actor, draft.id


def _stored(engine: Engine, submission_id: int) -> Submission:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Submission, submission_id)


def _problems(engine: Engine, submission: Submission) -> list:
    with Session(engine) as session:
        specs = rules.form_specs(sr.active_model(session))
        context = sr.department_context(
            session, actor=Actor.system(), enterprise_id=submission.enterprise_id, year=YEAR
        )
    numbers = {c: float(e["value"]) for c, e in context.items()}
    return rules.validate(specs, submission.items or {}, year=YEAR, context=numbers, evidence=set())


class _HoldBeforeFirstWrite:
    """Pause the thread named ``held`` just before its first INSERT/UPDATE/DELETE until ``release`` is set
    (it has read everything a service reads first, holding no lock yet)."""

    def __init__(self, engine: Engine, held: str) -> None:
        self.engine, self.held = engine, held
        self.reached, self.release = threading.Event(), threading.Event()

    def __enter__(self) -> _HoldBeforeFirstWrite:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)
        self.release.set()

    def _hook(self, _conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
        if (
            threading.current_thread().name == self.held
            and not self.reached.is_set()
            and statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ):
            self.reached.set()
            assert self.release.wait(60), "the other writer never finished"


def _run(engine: Engine, name: str, call, results: dict) -> threading.Thread:  # noqa: ANN001
    def target() -> None:
        with Session(engine, expire_on_commit=False) as session:
            try:
                results[name] = call(session)
            except (Conflict, ValidationFailed) as exc:
                results[name] = exc

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


def _held_then_other(engine: Engine, first, second) -> dict:  # noqa: ANN001
    """``first`` reads and is held before writing; ``second`` runs to its commit; then ``first`` goes on."""
    results: dict = {}
    with _HoldBeforeFirstWrite(engine, "first") as hold:
        a = _run(engine, "first", first, results)
        assert hold.reached.wait(60)
        _run(engine, "second", second, results).join(60)
        hold.release.set()
        a.join(60)
    return results


def test_two_pages_saving_from_the_same_version_one_saved_one_conflict(db_engine: Engine, report) -> None:  # noqa: ANN001
    actor, sid = report
    tab_a = {"T04": 7, "T11": 40}
    tab_b = {"T04": 8, "T11": 30}
    results = _held_then_other(
        db_engine,
        lambda s: sr.save_draft(s, actor=actor, submission_id=sid, items=tab_a, version=2),
        lambda s: sr.save_draft(s, actor=actor, submission_id=sid, items=tab_b, version=2),
    )
    assert isinstance(results["second"], Submission) and results["second"].version == 3
    assert isinstance(results["first"], Conflict) and MESSAGE in str(results["first"])
    stored = _stored(db_engine, sid)
    assert stored.version == 3 and stored.items["T04"] == 8.0 and stored.items["T11"] == 30.0


def test_concurrent_saves_never_lose_one_silently(db_engine: Engine, report) -> None:  # noqa: ANN001
    actor, sid = report
    for trial in range(8):
        version = _stored(db_engine, sid).version
        barrier = threading.Barrier(2)
        results: dict = {}

        def save(items: dict, v: int = version, barrier: threading.Barrier = barrier):  # noqa: ANN202
            def call(s):  # noqa: ANN001, ANN202
                barrier.wait()
                return sr.save_draft(s, actor=actor, submission_id=sid, items=items, version=v)

            return call

        items = {"a": {"T04": 10 + trial, "T11": 40}, "b": {"T04": 20 + trial, "T11": 30}}
        threads = [_run(db_engine, name, save(items[name]), results) for name in ("a", "b")]
        for t in threads:
            t.join(60)
        winners = [n for n, r in results.items() if isinstance(r, Submission)]
        losers = [n for n, r in results.items() if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert MESSAGE in str(results[losers[0]])
        stored = _stored(db_engine, sid)
        assert stored.version == version + 1 and stored.items["T04"] == float(items[winners[0]]["T04"])


def test_a_submit_held_while_invalid_values_are_saved_is_refused(db_engine: Engine, report) -> None:  # noqa: ANN001
    actor, sid = report
    results = _held_then_other(
        db_engine,
        lambda s: sr.submit(s, actor=actor, submission_id=sid, version=2),
        lambda s: sr.save_draft(s, actor=actor, submission_id=sid, items=INVALID, version=2),
    )
    assert isinstance(results["second"], Submission)
    assert isinstance(results["first"], Conflict) and MESSAGE in str(results["first"])
    stored = _stored(db_engine, sid)
    assert stored.state == "draft" and stored.items["T04"] == -50.0


def test_an_invalid_save_held_while_the_report_is_submitted_is_refused(db_engine: Engine, report) -> None:  # noqa: ANN001
    actor, sid = report
    results = _held_then_other(
        db_engine,
        lambda s: sr.save_draft(s, actor=actor, submission_id=sid, items=INVALID, version=2),
        lambda s: sr.submit(s, actor=actor, submission_id=sid, version=2),
    )
    assert isinstance(results["second"], Submission) and results["second"].state == "submitted"
    assert isinstance(results["first"], Conflict)
    stored = _stored(db_engine, sid)
    assert stored.state == "submitted" and stored.items["T04"] == 6.0 and not _problems(db_engine, stored)


def test_racing_invalid_saves_never_yield_a_submitted_report_with_invalid_values(
    db_engine: Engine, report
) -> None:  # noqa: ANN001
    actor, sid = report
    for _ in range(6):
        stored = _stored(db_engine, sid)
        if stored.state != "draft":
            break
        barrier = threading.Barrier(2)
        results: dict = {}

        def go(call, barrier: threading.Barrier = barrier):  # noqa: ANN001, ANN202
            def run(s):  # noqa: ANN001, ANN202
                barrier.wait()
                return call(s)

            return run

        v = stored.version
        threads = [
            _run(
                db_engine,
                "save",
                go(lambda s, v=v: sr.save_draft(s, actor=actor, submission_id=sid, items=INVALID, version=v)),
                results,
            ),
            _run(
                db_engine,
                "submit",
                go(lambda s, v=v: sr.submit(s, actor=actor, submission_id=sid, version=v)),
                results,
            ),
        ]
        for t in threads:
            t.join(60)
        stored = _stored(db_engine, sid)
        if stored.state == "submitted":
            assert not _problems(db_engine, stored), stored.items
        else:  # the invalid save won: put valid values back for the next trial
            with Session(db_engine) as session:
                sr.save_draft(session, actor=actor, submission_id=sid, items=VALID, version=stored.version)
