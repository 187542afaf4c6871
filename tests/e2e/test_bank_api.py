"""The banks' API on the running app server (the same process as the pages, serve.py).

Tokens come from ``manage.py users bank-token create/revoke`` as an admin would make them; the checks
read the e2e database directly. The server runs on the real clock, so "a date in the future" is
computed from the same clock (core.clock.today(): Beijing's date).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from db.models import AuditEvent, Enterprise, LoanOutcome, ScoreRun, User
from db.session import make_engine, session_scope
from demo import DEMO_BANK
from tests.e2e.conftest import ROOT
from tests.seeded import WHITELIST_RECORD_KEYS, consenting_codes, refusing_codes


def _call(
    url: str,
    *,
    token: str | None = None,
    body: object = None,
    raw: bytes | None = None,
    method: str | None = None,
) -> tuple[int, object]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _manage(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def db(e2e_database_url: str):  # noqa: ANN201
    engine = make_engine(e2e_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def token(e2e_database_url: str) -> str:
    out = _manage(e2e_database_url, "users", "bank-token", "create", "--bank", DEMO_BANK)
    return out.strip().splitlines()[-1]


def _codes(body: dict) -> set[str]:
    return {e["credit_code"] for e in body["enterprises"]}


def _final_consenting(db) -> tuple[int, set[str], set[str]]:  # noqa: ANN001
    with session_scope(db) as session:
        final = session.execute(select(ScoreRun.id).where(ScoreRun.state == "final")).scalar_one()
        consenting = consenting_codes(session, final)
        refusing = refusing_codes(session)
    return final, consenting, refusing


def test_healthz_needs_no_login(app_server: str) -> None:
    assert _call(f"{app_server}/healthz") == (200, "ok")


def test_whitelist_only_consenting_firms_of_final_runs(app_server: str, db, token: str) -> None:  # noqa: ANN001
    assert _call(f"{app_server}/api/v1/whitelist")[0] == 401
    assert _call(f"{app_server}/api/v1/whitelist", token="bk_not-a-token")[0] == 401
    final, consenting, refusing = _final_consenting(db)
    status, body = _call(f"{app_server}/api/v1/whitelist", token=token)
    assert status == 200 and body["run"] == final and body["count"] == len(body["enterprises"])
    assert _codes(body) == consenting and not _codes(body) & refusing
    assert set(body["enterprises"][0]) == WHITELIST_RECORD_KEYS
    assert _call(f"{app_server}/api/v1/whitelist?run={final}", token=token)[0] == 200
    with session_scope(db) as session:
        unpublished = session.execute(select(ScoreRun.id).where(ScoreRun.state != "final")).scalars().all()
    assert unpublished  # the demo's run in 公示
    for run_id in unpublished:
        status, body = _call(f"{app_server}/api/v1/whitelist?run={run_id}", token=token)
        assert status == 404 and "enterprises" not in body


def test_withdrawn_consent_is_gone_from_the_next_answer(app_server: str, db, token: str) -> None:  # noqa: ANN001
    from services.actor import Actor
    from services.bank import set_bank_consent

    _, consenting, _ = _final_consenting(db)
    with session_scope(db) as session:
        user, code = next(
            (u, c)
            for u, c in session.execute(
                select(User, Enterprise.credit_code)
                .join(Enterprise, Enterprise.id == User.enterprise_id)
                .order_by(User.username)
            ).all()
            if c in consenting
        )
        actor = Actor(
            username=user.username, role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id
        )
    assert code in _codes(_call(f"{app_server}/api/v1/whitelist", token=token)[1])
    with session_scope(db) as session:
        set_bank_consent(session, actor=actor, enterprise_id=actor.enterprise_id, consent=False)
    try:
        assert code not in _codes(_call(f"{app_server}/api/v1/whitelist", token=token)[1])
    finally:
        with session_scope(db) as session:
            set_bank_consent(session, actor=actor, enterprise_id=actor.enterprise_id, consent=True)


def _outcomes(db) -> int:  # noqa: ANN001
    with session_scope(db) as session:
        return session.execute(
            select(func.count()).select_from(LoanOutcome).where(LoanOutcome.source == "api")
        ).scalar_one()


def test_outcomes_round_trip_and_per_row_errors(app_server: str, db, token: str) -> None:  # noqa: ANN001
    _, consenting, refusing = _final_consenting(db)
    a, b = sorted(consenting)[:2]
    today = clock.today()
    good = [
        {
            "credit_code": a,
            "product": "科创积分贷",
            "decision": "放款",
            "amount": 300,
            "rate": 3.65,
            "term_months": 12,
            "decided_on": (today - timedelta(days=2)).isoformat(),
            "start_on": (today - timedelta(days=1)).isoformat(),
            "end_on": (today + timedelta(days=364)).isoformat(),
        },
        {
            "credit_code": b,
            "product": "人才贷",
            "decision": "拒绝",
            "reason": "经营年限不足",
            "decided_on": today.isoformat(),
        },
    ]
    before = _outcomes(db)
    status, body = _call(f"{app_server}/api/v1/outcomes?dry_run=1", token=token, body={"outcomes": good})
    assert (status, body["written"]) == (200, False) and _outcomes(db) == before
    status, body = _call(f"{app_server}/api/v1/outcomes", token=token, body={"outcomes": good})
    assert status == 200 and body == {"accepted": 2, "dry_run": False, "written": True, "duplicates": 0}
    assert _outcomes(db) == before + 2
    # the bank's system lost the answer and retries: nothing is counted twice
    status, body = _call(f"{app_server}/api/v1/outcomes", token=token, body={"outcomes": good})
    assert (status, body["duplicates"]) == (200, 2) and _outcomes(db) == before + 2
    with session_scope(db) as session:
        stored = (
            session.execute(
                select(LoanOutcome)
                .where(LoanOutcome.source == "api")
                .order_by(LoanOutcome.id.desc())
                .limit(2)
            )
            .scalars()
            .all()
        )
        assert {(o.bank_name, o.decision) for o in stored} == {(DEMO_BANK, "loan"), (DEMO_BANK, "reject")}

    bad = [
        good[0],
        {**good[0], "credit_code": "91330300MA2ABCDE1X"},
        {**good[0], "amount": -100},
        {**good[0], "decided_on": (today + timedelta(days=2)).isoformat()},
        {**good[0], "credit_code": sorted(refusing)[0]},
    ]
    status, body = _call(f"{app_server}/api/v1/outcomes", token=token, body={"outcomes": bad})
    assert status == 422
    problems = {(p["row"], p["column"]) for p in body["problems"]}
    assert problems == {
        (2, "统一社会信用代码"),
        (3, "金额（万元）"),
        (4, "决定日期"),
        (5, "统一社会信用代码"),
    }
    assert _outcomes(db) == before + 2  # nothing of the batch was written
    assert _call(f"{app_server}/api/v1/outcomes", token=token, raw=b"{not json")[0] == 400
    assert _call(f"{app_server}/api/v1/outcomes", token=token, body=[1, 2])[0] == 400


def test_a_revoked_token_is_refused_and_every_call_is_audited(
    app_server: str,
    db,  # noqa: ANN001
    e2e_database_url: str,
) -> None:
    token = (
        _manage(e2e_database_url, "users", "bank-token", "create", "--bank", "瓯海农商银行")
        .strip()
        .splitlines()[-1]
    )
    with session_scope(db) as session:
        audited = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("bank_api.%"))
        ).scalar_one()
    assert _call(f"{app_server}/api/v1/whitelist", token=token)[0] == 200
    _manage(e2e_database_url, "users", "bank-token", "revoke", "--bank", "瓯海农商银行")
    status, body = _call(f"{app_server}/api/v1/whitelist", token=token)
    assert status == 401 and "已撤销" in body["error"]
    with session_scope(db) as session:
        events = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action.like("bank_api.%")).order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    assert len(events) == audited + 2
    assert [e.action for e in events[-2:]] == ["bank_api.whitelist", "bank_api.refused"]
    assert events[-1].after["status"] == 401
