"""扶持资金拨付 on a seeded database, SQLite and PostgreSQL: the state machine, who may move a
line, the audit of every step, and the export carrying the state."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from core import audit_labels
from core.clock import frozen
from db.models import AuditEvent, Score, ScoreRun, SubsidyPayment
from demo import seed_demo
from services import subsidies
from services.actor import Actor
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.seeded import funded_enterprises as _funded
from tests.seeded import new_enterprise_actor as _enterprise
from tests.seeded import run_in_state

OFFICER = Actor(username="officer1", role="officer")
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture
def seeded(session):  # noqa: ANN001, ANN201
    with frozen(NOW):
        seed_demo(session, enterprises=120)
    return session


def _pay(session, run: ScoreRun, eid: int, **changes: object) -> SubsidyPayment:  # noqa: ANN001
    """Record the payment of ``eid``'s line as officer1 on 2026-06-01, voucher 付-001, unless ``changes``."""
    call: dict = {"actor": OFFICER, "paid_on": date(2026, 6, 1), "voucher": "付-001"} | changes
    return subsidies.record_payment(session, run_id=run.id, enterprise_id=eid, **call)


def test_a_line_moves_pending_confirmed_paid_and_every_step_is_audited(seeded) -> None:  # noqa: ANN001
    run = run_in_state(seeded, "final")
    eid = _funded(seeded, run)[0]
    amount = seeded.execute(
        select(Score.subsidy).where(Score.run_id == run.id, Score.enterprise_id == eid)
    ).scalar()
    ent = _enterprise(seeded, eid, "funded1")
    with frozen(NOW):
        view = subsidies.subsidy_lines(seeded, actor=OFFICER, run_id=run.id)
        row = view.table[
            view.table["统一社会信用代码"] == view.lines.set_index("enterprise_id").at[eid, "credit_code"]
        ]
        assert row["拨付状态"].tolist() == ["待确认"] and row["扶持金额（万元）"].tolist() == [
            pytest.approx(amount)
        ]
        # staff cannot pay a line the enterprise has not confirmed
        with pytest.raises(Conflict, match="待确认"):
            _pay(seeded, run, eid)
        subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=eid)
        with pytest.raises(Conflict, match="已确认"):
            subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=eid)
        # a date in the future, a missing voucher: refused, nothing changes
        with pytest.raises(ValidationFailed, match="晚于今天"):
            _pay(seeded, run, eid, paid_on=date(2026, 6, 2))
        with pytest.raises(ValidationFailed, match="凭证号"):
            _pay(seeded, run, eid, voucher="  ")
        paid = _pay(seeded, run, eid, voucher=" 付-001 ")
        assert (paid.state, paid.voucher, paid.amount) == ("paid", "付-001", pytest.approx(amount))
        with pytest.raises(Conflict, match="已拨付"):
            subsidies.refuse_subsidy(seeded, actor=OFFICER, run_id=run.id, enterprise_id=eid, reason="重复")
    events = (
        seeded.execute(
            select(AuditEvent).where(AuditEvent.entity == "subsidy_payment").order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert [(e.action, e.actor, e.before["state"], e.after["state"]) for e in events] == [
        ("subsidy.confirm", "funded1", "pending", "confirmed"),
        ("subsidy.pay", "officer1", "confirmed", "paid"),
    ]
    assert events[1].after["voucher"] == "付-001" and events[1].after["paid_on"] == "2026-06-01"
    # the audit trail reads in Chinese, states included
    assert audit_labels.action_label(events[1].action) == "登记扶持资金拨付"
    assert "状态 已拨付" in audit_labels.record_text(events[1].after)
    assert audit_labels.record_text(events[0].before) == "状态 待确认"
    mine = subsidies.my_subsidy_lines(seeded, actor=ent, enterprise_id=eid)
    assert mine.table[["拨付状态", "拨付日期", "拨付凭证号"]].values.tolist() == [
        ["已拨付", "2026-06-01", "付-001"]
    ]


def test_refusal_needs_a_reason_and_is_final(seeded) -> None:  # noqa: ANN001
    run = run_in_state(seeded, "final")
    eid = _funded(seeded, run)[1]
    with frozen(NOW):
        with pytest.raises(ValidationFailed, match="理由"):
            subsidies.refuse_subsidy(seeded, actor=OFFICER, run_id=run.id, enterprise_id=eid, reason=" ")
        assert seeded.execute(select(SubsidyPayment)).first() is None  # nothing half-written
        subsidies.refuse_subsidy(seeded, actor=OFFICER, run_id=run.id, enterprise_id=eid, reason="企业已注销")
        ent = _enterprise(seeded, eid, "funded2")
        with pytest.raises(Conflict, match="已确认|不予拨付"):
            subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=eid)
    event = seeded.execute(select(AuditEvent).where(AuditEvent.action == "subsidy.refuse")).scalars().one()
    assert (event.reason, event.after["state"]) == ("企业已注销", "refused")
    lines = subsidies.subsidy_lines(seeded, actor=OFFICER, run_id=run.id)
    assert dict(zip(lines.summary["拨付状态"], lines.summary["家数"], strict=True))["不予拨付"] == 1


def test_an_enterprise_confirms_only_its_own_line_and_never_pays(seeded) -> None:  # noqa: ANN001
    run = run_in_state(seeded, "final")
    mine, other = _funded(seeded, run)
    ent = _enterprise(seeded, mine, "funded1")
    with frozen(NOW):
        with pytest.raises(PermissionDenied):
            subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=other)
        with pytest.raises(PermissionDenied):
            subsidies.my_subsidy_lines(seeded, actor=ent, enterprise_id=other)
        subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=mine)
        for call in (
            lambda: _pay(seeded, run, mine, actor=ent, voucher="自己付"),
            lambda: subsidies.refuse_subsidy(
                seeded, actor=ent, run_id=run.id, enterprise_id=other, reason="x"
            ),
            lambda: subsidies.subsidy_lines(seeded, actor=ent, run_id=run.id),
            lambda: subsidies.export_subsidy_lines(seeded, actor=ent, run_id=run.id),
        ):
            with pytest.raises(PermissionDenied):
                call()
        # staff do not confirm on an enterprise's behalf
        with pytest.raises(PermissionDenied):
            subsidies.confirm_subsidy(seeded, actor=OFFICER, run_id=run.id, enterprise_id=other)
    states = dict(seeded.execute(select(SubsidyPayment.enterprise_id, SubsidyPayment.state)).all())
    assert states == {mine: "confirmed"}


def test_only_final_runs_and_funded_enterprises_have_lines(seeded) -> None:  # noqa: ANN001
    notice = run_in_state(seeded, "notice")
    run = run_in_state(seeded, "final")
    unfunded = seeded.execute(
        select(Score.enterprise_id).where(Score.run_id == run.id, Score.subsidy == 0).limit(1)
    ).scalar()
    with frozen(NOW):
        with pytest.raises(ValidationFailed, match="尚未定稿"):
            subsidies.subsidy_lines(seeded, actor=OFFICER, run_id=notice.id)
        with pytest.raises(NotFound):
            subsidies.refuse_subsidy(seeded, actor=OFFICER, run_id=run.id, enterprise_id=unfunded, reason="x")
        ent = _enterprise(seeded, unfunded, "unfunded")
        with pytest.raises(NotFound):
            subsidies.confirm_subsidy(seeded, actor=ent, run_id=run.id, enterprise_id=unfunded)
        # a payment dated before the run was finalised is refused
        eid = _funded(seeded, run)[0]
        subsidies.confirm_subsidy(
            seeded, actor=_enterprise(seeded, eid, "funded1"), run_id=run.id, enterprise_id=eid
        )
        before = (run.finalized_at - timedelta(days=2)).date()
        with pytest.raises(ValidationFailed, match="早于积分批次定稿日期"):
            _pay(seeded, run, eid, paid_on=before, voucher="付-9")
    lines = subsidies.lines_frame(seeded, run_id=run.id)
    expected = (
        seeded.execute(
            select(Score.enterprise_id).where(
                Score.run_id == run.id, Score.subsidy > 0, Score.veto.is_(False)
            )
        )
        .scalars()
        .all()
    )
    assert sorted(lines["enterprise_id"]) == sorted(expected)


def test_the_export_carries_the_state_and_is_sanitised(seeded) -> None:  # noqa: ANN001
    run = run_in_state(seeded, "final")
    eid = _funded(seeded, run)[0]
    with frozen(NOW):
        subsidies.confirm_subsidy(
            seeded, actor=_enterprise(seeded, eid, "funded1"), run_id=run.id, enterprise_id=eid
        )
        _pay(seeded, run, eid, voucher='=HYPERLINK("http://x")')
        data = subsidies.export_subsidy_lines(seeded, actor=OFFICER, run_id=run.id)
        csv_text = subsidies.export_subsidy_lines(seeded, actor=OFFICER, run_id=run.id, fmt="csv").decode(
            "utf-8-sig"
        )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["扶持资金拨付", "拨付汇总"]
    sheet = book["扶持资金拨付"]
    header = [c.value for c in sheet[1]]
    assert {"拨付状态", "拨付日期", "拨付凭证号"} <= set(header)
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    kinds = {c.data_type for row in sheet.iter_rows(min_row=2) for c in row}
    states = [r["拨付状态"] for r in rows]
    assert states.count("已拨付") == 1 and states.count("待确认") == len(rows) - 1
    paid = next(r for r in rows if r["拨付状态"] == "已拨付")
    assert paid["拨付凭证号"] == '=HYPERLINK("http://x")' and "f" not in kinds  # inert text, never a formula
    assert "已拨付" in csv_text and "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text
    # the public-notice workbook of a final run carries the states too
    from services.scenarios import export_lists

    notice_book = openpyxl.load_workbook(
        io.BytesIO(export_lists(seeded, actor=OFFICER, run_id=run.id, part="subsidies"))
    )
    assert notice_book.sheetnames == ["扶持名单", "名额与预算", "扶持资金拨付"]
    assert "已拨付" in [c.value for c in notice_book["扶持资金拨付"]["I"]]


def test_confirming_from_the_instant_list_confirms_the_line(seeded) -> None:  # noqa: ANN001
    from services import policy_calculator
    from services.runs import finalize_run

    notice = run_in_state(seeded, "notice")
    with frozen(NOW):
        finalize_run(
            seeded, actor=Actor(username="admin", role="admin"), run_id=notice.id, reason="测试提前定稿"
        )
        first, second = _funded(seeded, notice)
        ent = _enterprise(seeded, first, "funded1")
        view = policy_calculator.policy_calculator(seeded, actor=ent, enterprise_id=first)
        item = next(i for i in view.items if i.kind == "subsidy" and i.instant)
        policy_calculator.confirm_item(seeded, actor=ent, enterprise_id=first, item_key=item.key)
        # and the other way round: confirmed on 政策与服务, shown as confirmed in the 免申即享 list
        other = _enterprise(seeded, second, "funded2")
        subsidies.confirm_subsidy(seeded, actor=other, run_id=notice.id, enterprise_id=second)
        view = policy_calculator.policy_calculator(seeded, actor=other, enterprise_id=second)
        assert view.confirmed.get(next(i.key for i in view.items if i.kind == "subsidy" and i.instant))
    states = dict(
        seeded.execute(
            select(SubsidyPayment.enterprise_id, SubsidyPayment.state).where(
                SubsidyPayment.run_id == notice.id
            )
        ).all()
    )
    assert states == {first: "confirmed", second: "confirmed"}
    assert seeded.execute(
        select(AuditEvent.action).where(AuditEvent.entity == "subsidy_payment").order_by(AuditEvent.id)
    ).scalars().all() == ["subsidy.confirm", "subsidy.confirm"]
