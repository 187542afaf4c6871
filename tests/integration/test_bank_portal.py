"""Partner banks as users — what a bank sees, the outcomes it reports, its API tokens.

Both backends (db_engine). The clock is frozen before the demo is seeded: "today" decides which run is
in 公示 and which outcome dates are in the future.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from core import clock
from core.spreadsheet import write_xlsx
from db.models import AuditEvent, BankToken, Enterprise, LoanOutcome
from demo import DEMO_BANK, seed_demo
from services import accounts, auth, bank, bank_api, bank_portal, loan_outcomes
from services.actor import Actor
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.runs import compute_run
from tests.seeded import WHITELIST_RECORD_KEYS, actor_of, consenting_codes, refusing_codes, run_in_state

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
TODAY = date(2026, 12, 6)


@pytest.fixture
def world(session):  # noqa: ANN001, ANN201
    with clock.frozen(NOW):
        seed_demo(session, enterprises=40)
        final = run_in_state(session, "final")
        notice = run_in_state(session, "notice")
        yield {
            "session": session,
            "bank": actor_of(session, "bank1"),
            "officer": actor_of(session, "officer1"),
            "admin": actor_of(session, "admin"),
            "ent1": actor_of(session, "ent1"),
            "final": final,
            "notice": notice,
        }


def test_bank_sees_only_consenting_enterprises_of_the_final_run(world: dict) -> None:
    session, actor, final = world["session"], world["bank"], world["final"]
    view = bank_portal.bank_view(session, actor=actor)
    assert view.run_id == final.id
    codes = set(view.rows["credit_code"])
    refused = refusing_codes(session)
    assert refused and codes  # the demo has both kinds
    assert codes == consenting_codes(session, final.id)
    assert not codes & refused
    # the export carries exactly the same enterprises
    data, _ = bank_portal.export_bank_whitelist(session, actor=actor)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)[bank_portal.WHITELIST_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    exported = {r[header.index("统一社会信用代码")] for r in body}
    assert exported == codes
    assert {r[header.index("有效期至")] for r in body} == {view.valid_until.isoformat()}


def test_only_published_figures_reach_a_bank(world: dict) -> None:
    view = bank_portal.bank_view(world["session"], actor=world["bank"])
    record = view.records()[0]
    assert set(record) == WHITELIST_RECORD_KEYS
    assert set(record["class_subtotals"]) == {c.name for c in view.model.scored_classes}
    table = view.table()
    assert list(table.columns[:7]) == [
        "序号",
        "统一社会信用代码",
        "企业名称",
        "所属阶段",
        "阶段排名",
        "积分",
        "榜单",
    ]
    assert not [c for c in table.columns if "填报" in c or "证明" in c or "breakdown" in c]


def test_the_api_answer_rendered_by_the_database_is_the_view(world: dict) -> None:
    session, actor = world["session"], world["bank"]
    view = bank_portal.bank_view(session, actor=actor)
    raw, run_id, count = bank_portal.whitelist_json(session, actor=actor)
    body = json.loads(raw)
    assert (body["run"], body["count"], run_id, count) == (view.run_id, len(view), view.run_id, len(view))
    assert body["valid_until"] == view.valid_until.isoformat()
    assert body["enterprises"] == view.records()  # same rows, order, names, rounding on either backend


def test_never_a_draft_or_notice_run(world: dict) -> None:
    session, actor = world["session"], world["bank"]
    with clock.frozen(NOW):
        draft = compute_run(session, actor=Actor.system(), year=world["notice"].year)
    for run_id in (world["notice"].id, draft.id, 99_999):
        with pytest.raises(NotFound):
            bank_portal.bank_view(session, actor=actor, run_id=run_id)
        with pytest.raises(NotFound):
            bank_portal.export_bank_whitelist(session, actor=actor, run_id=run_id)
        with pytest.raises(NotFound):
            bank_portal.whitelist_json(session, actor=actor, run_id=run_id)
    assert [r for r, _ in bank_portal.final_runs(session, actor=actor)] == [world["final"].id]


def test_withdrawn_consent_disappears_from_the_next_view(world: dict) -> None:
    session, actor, ent1 = world["session"], world["bank"], world["ent1"]
    code = session.get(Enterprise, ent1.enterprise_id).credit_code
    bank.set_bank_consent(session, actor=ent1, enterprise_id=ent1.enterprise_id, consent=True)
    ranked = code in consenting_codes(session, world["final"].id)
    assert (code in set(bank_portal.bank_view(session, actor=actor).rows["credit_code"])) == ranked
    bank.set_bank_consent(session, actor=ent1, enterprise_id=ent1.enterprise_id, consent=False)
    assert code not in set(bank_portal.bank_view(session, actor=actor).rows["credit_code"])
    data, _ = bank_portal.export_bank_whitelist(session, actor=actor)
    assert (
        code not in pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")["统一社会信用代码"].tolist()
    )


def test_only_bank_accounts_reach_the_bank_services(world: dict) -> None:
    session = world["session"]
    for who in ("officer", "admin", "ent1"):
        with pytest.raises(PermissionDenied):
            bank_portal.bank_view(session, actor=world[who])
        with pytest.raises(PermissionDenied):
            loan_outcomes.record_outcome(
                session, actor=world[who], credit_code="x", product="p", decision="授信", decided_on=TODAY
            )
    # and a bank reaches none of the officers' whitelist tools
    from core.bank import Criteria

    with pytest.raises(PermissionDenied):
        bank.bank_whitelist(session, actor=world["bank"], criteria=Criteria("top_n", top_n=3))


def test_admin_creates_a_bank_account_with_its_institution(world: dict) -> None:
    session = world["session"]
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, actor=world["admin"], username="bank2", role="bank")
    user, otp = accounts.create_user(
        session, actor=world["admin"], username="bank2", role="bank", bank_name=" 瓯海农商银行 "
    )
    assert user.bank_name == "瓯海农商银行" and otp
    actor, _ = auth.actor_for(session, "bank2")
    assert actor.role == "bank" and actor.bank_name == "瓯海农商银行"
    with pytest.raises(ValidationFailed):
        accounts.change_role(session, actor=world["admin"], username="bank2", role="officer")


def _outcome_count(session) -> int:  # noqa: ANN001
    return session.execute(select(func.count()).select_from(LoanOutcome)).scalar_one()


def _visible(world: dict, n: int) -> list[str]:
    return bank_portal.bank_view(world["session"], actor=world["bank"]).rows["credit_code"].tolist()[:n]


def test_an_outcome_recorded_in_the_app_reaches_the_officers(world: dict) -> None:
    session, actor = world["session"], world["bank"]
    code = _visible(world, 1)[0]
    with clock.frozen(NOW):
        result = loan_outcomes.record_outcome(
            session,
            actor=actor,
            credit_code=code,
            product="科创积分贷",
            decision="放款",
            amount=300,
            rate=3.65,
            term_months=12,
            decided_on=TODAY - timedelta(days=3),
            start_on=TODAY - timedelta(days=1),
            run_id=world["final"].id,
        )
    assert result.committed and not result.problems
    row = session.execute(select(LoanOutcome)).scalars().one()
    assert (row.bank_name, row.decision, row.amount, row.source) == (DEMO_BANK, "loan", 300.0, "app")
    seen = loan_outcomes.list_outcomes(session, actor=world["officer"])
    assert seen.iloc[0]["统一社会信用代码"] == code and seen.iloc[0]["决定"] == "放款"
    summary = loan_outcomes.outcome_summary(session, actor=world["officer"])
    assert summary.iloc[0]["放款金额（万元）"] == 300.0
    # another bank's user sees none of this bank's outcomes
    other = Actor(username="bank9", role="bank", bank_name="另一家银行")
    assert loan_outcomes.list_outcomes(session, actor=other).empty


def _file(rows: list[dict]) -> bytes:
    frame = pd.DataFrame(rows, columns=["企业名称", *loan_outcomes.loans.HEADERS.values()])
    return write_xlsx({"贷款结果": frame})


def test_outcomes_file_round_trip_with_dry_run(world: dict) -> None:
    session, actor = world["session"], world["bank"]
    a, b = _visible(world, 2)
    rows = [
        {
            "统一社会信用代码": a,
            "产品名称": "科创积分贷",
            "决定": "授信",
            "金额（万元）": 500,
            "年利率（%）": 3.8,
            "期限（月）": 24,
            "决定日期": "2026-11-20",
            "起始日期": "2026/11/21",
            "到期日期": "2028-11-20",
        },
        {
            "统一社会信用代码": b,
            "产品名称": "人才贷",
            "决定": "拒绝",
            "拒绝理由": "负债率过高",
            "决定日期": "2026年12月1日",
        },
    ]
    with clock.frozen(NOW):
        checked = loan_outcomes.import_outcomes_file(
            session, actor=actor, data=_file(rows), filename="结果.xlsx"
        )
        assert checked.ok and checked.rows == 2 and _outcome_count(session) == 0  # a dry run writes nothing
        done = loan_outcomes.import_outcomes_file(
            session, actor=actor, data=_file(rows), filename="结果.xlsx", dry_run=False
        )
    assert done.committed and _outcome_count(session) == 2
    stored = {o.decision: o for o in session.execute(select(LoanOutcome)).scalars()}
    assert stored["credit"].start_on == date(2026, 11, 21) and stored["credit"].term_months == 24
    assert stored["reject"].reason == "负债率过高" and stored["reject"].amount is None
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "loan_outcome.file")).scalars().one()


def test_bad_rows_are_reported_and_nothing_is_written(world: dict) -> None:
    session, actor = world["session"], world["bank"]
    a, b = _visible(world, 2)
    non_consenting = sorted(refusing_codes(session))[0]
    rows = [
        {
            "统一社会信用代码": a,
            "产品名称": "科创积分贷",
            "决定": "放款",
            "金额（万元）": 100,
            "决定日期": "2026-12-01",
        },
        {
            "统一社会信用代码": "91330300MA2ABCDE1X",
            "产品名称": "p",
            "决定": "授信",
            "金额（万元）": 1,
            "决定日期": "2026-12-01",
        },
        {
            "统一社会信用代码": b,
            "产品名称": "p",
            "决定": "放款",
            "金额（万元）": -5,
            "决定日期": "2026-12-01",
        },
        {
            "统一社会信用代码": b,
            "产品名称": "p",
            "决定": "授信",
            "金额（万元）": 10,
            "决定日期": "2026-12-07",
        },
        {
            "统一社会信用代码": non_consenting,
            "产品名称": "p",
            "决定": "授信",
            "金额（万元）": 10,
            "决定日期": "2026-12-01",
        },
    ]
    with clock.frozen(NOW):
        for dry_run in (True, False):
            result = loan_outcomes.import_outcomes_file(
                session, actor=actor, data=_file(rows), filename="x.xlsx", dry_run=dry_run
            )
            by_row = {(p["row"], p["column"]): p["problem"] for p in result.problems}
            assert "统一社会信用代码有误" in by_row[(3, "统一社会信用代码")]
            assert by_row[(4, "金额（万元）")] == "金额不能为负数"
            assert "晚于今天（2026-12-06）" in by_row[(5, "决定日期")]
            assert "不在本行可见的推荐名单中" in by_row[(6, "统一社会信用代码")]
            assert 2 not in {p["row"] for p in result.problems}
            assert not result.committed and _outcome_count(session) == 0
        # the same rows through the API's JSON: the same problems, positions counted from 1
        items = [
            {
                "credit_code": r["统一社会信用代码"],
                "product": r["产品名称"],
                "decision": r["决定"],
                "amount": r["金额（万元）"],
                "decided_on": r["决定日期"],
            }
            for r in rows
        ]
        result = loan_outcomes.import_outcomes_json(session, actor=actor, items=items)
    assert {(p["row"], p["column"]) for p in result.problems} == {
        (2, "统一社会信用代码"),
        (3, "金额（万元）"),
        (4, "决定日期"),
        (5, "统一社会信用代码"),
    }
    assert _outcome_count(session) == 0


def test_an_unknown_column_refuses_the_file(world: dict) -> None:
    frame = pd.DataFrame(
        {
            "统一社会信用代码": ["x"],
            "产品名称": ["p"],
            "决定": ["授信"],
            "决定日期": ["2026-12-01"],
            "担保方式": ["信用"],
        }
    )
    with pytest.raises(ValidationFailed, match="担保方式"):
        loan_outcomes.import_outcomes_file(
            world["session"], actor=world["bank"], data=write_xlsx({"s": frame}), filename="x.xlsx"
        )


def test_template_reads_back_as_the_contract(world: dict) -> None:
    book = openpyxl.load_workbook(io.BytesIO(loan_outcomes.outcome_template()), read_only=True)
    header = next(book["贷款结果"].iter_rows(values_only=True))
    assert list(header) == ["企业名称", *loan_outcomes.loans.HEADERS.values()]


# ------------------------------------------------------------------ tokens
def test_tokens_are_hashed_audited_and_revocable(world: dict) -> None:
    session, admin = world["session"], world["admin"]
    with pytest.raises(PermissionDenied):
        bank_api.create_token(session, actor=world["officer"], bank_name=DEMO_BANK)
    token = bank_api.create_token(session, actor=admin, bank_name=DEMO_BANK)
    stored = session.execute(select(BankToken)).scalars().one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash
    caller = bank_api.authenticate(
        session, authorization=f"Bearer {token}", path="/api/v1/whitelist", address="-"
    )
    assert isinstance(caller, bank_api.Caller) and caller.actor.bank_name == DEMO_BANK
    status, raw = bank_api.get_whitelist(session, caller=caller, run=None, address="-")
    body = json.loads(raw)
    assert status == 200 and body["run"] == world["final"].id
    assert {e["credit_code"] for e in body["enterprises"]} == consenting_codes(session, world["final"].id)
    status, _ = bank_api.get_whitelist(session, caller=caller, run=str(world["notice"].id), address="-")
    assert status == 404
    bank_api.revoke_tokens(session, actor=admin, bank_name=DEMO_BANK)
    refused = bank_api.authenticate(
        session, authorization=f"Bearer {token}", path="/api/v1/whitelist", address="-"
    )
    assert refused[0] == 401
    actions = [
        a for (a,) in session.execute(select(AuditEvent.action).where(AuditEvent.action.like("bank_%")))
    ]
    assert actions.count("bank_token.create") == 1 and actions.count("bank_token.revoke") == 1
    assert actions.count("bank_api.whitelist") == 2 and actions.count("bank_api.refused") == 1


def test_a_token_is_rate_limited(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    session = world["session"]
    monkeypatch.setenv("BANK_API_RATE_LIMIT", "3")
    token = bank_api.create_token(session, actor=world["admin"], bank_name=DEMO_BANK)
    answers = [
        bank_api.authenticate(session, authorization=f"Bearer {token}", path="/p", address="-")
        for _ in range(4)
    ]
    assert all(isinstance(a, bank_api.Caller) for a in answers[:3])
    assert answers[3][0] == 429 and "每分钟最多 3 次" in answers[3][1]["error"]


def test_the_outcomes_call_checks_writes_and_refuses_as_documented(world: dict) -> None:
    session = world["session"]
    token = bank_api.create_token(session, actor=world["admin"], bank_name=DEMO_BANK)
    caller = bank_api.authenticate(
        session, authorization=f"Bearer {token}", path="/api/v1/outcomes", address="-"
    )
    code = _visible(world, 1)[0]
    rows = [
        {
            "credit_code": code,
            "product": "科创积分贷",
            "decision": "授信",
            "amount": 50,
            "decided_on": "2026-12-01",
        }
    ]

    def post(body: object, dry_run: bool = False) -> tuple[int, dict]:
        return bank_api.post_outcomes(session, caller=caller, body=body, dry_run=dry_run, address="-")

    with clock.frozen(NOW):
        assert post({"outcomes": rows}, dry_run=True) == (
            200,
            {"accepted": 1, "dry_run": True, "written": False, "duplicates": 0},
        )
        assert _outcome_count(session) == 0
        status, body = post({"outcomes": rows, "run": world["final"].id})
        assert (status, body["written"], _outcome_count(session)) == (200, True, 1)
        status, _ = post({"outcomes": rows, "run": world["notice"].id})
        assert status == 404 and _outcome_count(session) == 1  # outcomes answer final runs only
        for bad in (None, [], {"outcomes": []}, {"outcomes": [1]}, {"outcomes": rows, "run": "x"}):
            assert post(bad)[0] == 400
    assert _outcome_count(session) == 1


def test_a_retried_call_or_a_resent_file_never_counts_a_loan_twice(world: dict) -> None:
    """A bank's system retries a call whose answer it lost; an officer re-sends last week's file with new rows."""
    session = world["session"]
    token = bank_api.create_token(session, actor=world["admin"], bank_name=DEMO_BANK)
    caller = bank_api.authenticate(
        session, authorization=f"Bearer {token}", path="/api/v1/outcomes", address="-"
    )
    a, b = _visible(world, 2)
    loan = {
        "credit_code": a,
        "product": "科创积分贷",
        "decision": "放款",
        "amount": 120.5,
        "decided_on": "2026-12-01",
    }
    with clock.frozen(NOW):
        assert (
            bank_api.post_outcomes(
                session, caller=caller, body={"outcomes": [loan]}, dry_run=False, address="-"
            )[1]["duplicates"]
            == 0
        )
        status, body = bank_api.post_outcomes(
            session, caller=caller, body={"outcomes": [loan]}, dry_run=False, address="-"
        )
        assert (status, body["duplicates"], _outcome_count(session)) == (200, 1, 1)
        rows = [
            {
                "统一社会信用代码": a,
                "产品名称": "科创积分贷",
                "决定": "放款",
                "金额（万元）": "120.50",
                "决定日期": "2026/12/1",
            },  # the same loan as the API's, written as a spreadsheet writes it
            {
                "统一社会信用代码": b,
                "产品名称": "科创积分贷",
                "决定": "放款",
                "金额（万元）": 80,
                "决定日期": "2026-12-02",
            },
            {
                "统一社会信用代码": a,
                "产品名称": "科创积分贷",
                "决定": "放款",
                "金额（万元）": 60,
                "决定日期": "2026-12-01",
            },
        ]
        checked = loan_outcomes.import_outcomes_file(
            session, actor=world["bank"], data=_file(rows), filename="周报.xlsx"
        )
        assert checked.ok and (checked.rows, checked.duplicates, len(checked.accepted)) == (3, 1, 2)
        done = loan_outcomes.import_outcomes_file(
            session, actor=world["bank"], data=_file(rows), filename="周报.xlsx", dry_run=False
        )
        assert (
            done.committed and _outcome_count(session) == 3
        )  # a different amount the same day is another loan
        again = loan_outcomes.import_outcomes_file(
            session, actor=world["bank"], data=_file(rows), filename="周报.xlsx", dry_run=False
        )
        assert (again.duplicates, _outcome_count(session)) == (3, 3)
    summary = loan_outcomes.outcome_summary(session, actor=world["officer"])
    assert summary.loc[summary["合作银行"] == DEMO_BANK, "放款（笔）"].item() == 3
