"""Self-report use cases: draft, optimistic version, validation, evidence, submit, return and resubmit."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from db.models import AuditEvent, Enterprise, ServiceItem, Submission
from db.values import stored_values
from services import self_report as sr
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.values import add_values

PDF = b"%PDF-1.4\n%test\n"
YEAR = 2025


@pytest.fixture
def ctx(session):  # noqa: ANN001, ANN201
    a = Enterprise(credit_code="91330303MA2ABCDE1X", name="甲企业")
    b = Enterprise(credit_code="91330303MA2ABCDF8Y", name="乙企业")
    session.add_all([a, b])
    session.commit()
    add_values(
        session,
        *[
            {
                "enterprise_id": a.id,
                "year": YEAR,
                "code": "insured_staff",
                "value_num": 20.0,
                "source": "人社",
                "is_current": True,
            },
            {
                "enterprise_id": a.id,
                "year": YEAR,
                "code": "G01",
                "value_num": 800.0,
                "source": "税务",
                "is_current": True,
            },
        ],
    )
    session.execute(insert(ServiceItem), [{"code": "financing", "name": "投融资对接", "active": True}])
    session.commit()
    return {
        "session": session,
        "a": Actor(username="enta", role="enterprise", user_id=1, enterprise_id=a.id),
        "b": Actor(username="entb", role="enterprise", user_id=2, enterprise_id=b.id),
        "officer": Actor(username="officer1", role="officer", user_id=3),
    }


def _draft(ctx) -> Submission:  # noqa: ANN001
    return sr.get_or_create_draft(
        ctx["session"], actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, year=YEAR
    )


STANDARD = {
    "name": "智能阀门团体标准",
    "number": "T/WZ 001-2025",
    "level": "团体",
    "role": "主导",
    "year": YEAR,
}
TALENT = {"name": "张博士", "level": "博士", "role": "核心成员"}


def test_draft_save_and_version_conflict(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    assert draft.state == "draft" and draft.version == 1
    assert _draft(ctx).id == draft.id  # the same row for the year
    saved = sr.save_draft(
        s,
        actor=ctx["a"],
        submission_id=draft.id,
        items={"T04": "5", "T12": [STANDARD]},
        service_needs=["financing"],
        version=1,
    )
    assert saved.version == 2 and saved.items["T04"] == 5.0
    uid = saved.items["T12"][0]["uid"]
    assert uid and saved.items["T12"][0]["name"] == STANDARD["name"]
    with pytest.raises(Conflict, match="刷新"):
        sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, version=1)
    with pytest.raises(ValidationFailed, match="未知的服务项目"):
        sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, service_needs=["nope"], version=2)


def test_validation_messages_name_field_and_fix(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    bad_standard = {**STANDARD, "name": "", "year": YEAR - 5}
    sr.save_draft(
        s,
        actor=ctx["a"],
        submission_id=draft.id,
        items={"T04": 25, "T11": 140, "T12": [bad_standard], "A04": [TALENT]},
        version=1,
    )
    with pytest.raises(ValidationFailed) as info:
        sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=2)
    problems = " | ".join(p["problem"] for p in info.value.problems)
    assert "“研发人员数”（25）不能超过部门报送的参保职工人数（20）" in problems
    assert "0–100 之间" in problems
    assert "“标准名称”不能为空" in problems
    assert f"应在 {YEAR - 2}–{YEAR} 年之间" in problems
    assert "缺少证明材料" in problems
    assert s.get(Submission, draft.id).state == "draft"


def test_evidence_submit_return_resubmit(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    saved = sr.save_draft(
        s,
        actor=ctx["a"],
        submission_id=draft.id,
        items={"T04": 6, "T11": 45, "T12": [STANDARD], "A04": [TALENT]},
        version=1,
    )
    for code in ("T12", "A04"):
        uid = saved.items[code][0]["uid"]
        info = sr.add_attachment(
            s,
            actor=ctx["a"],
            submission_id=draft.id,
            item_code=f"{code}:{uid}",
            file_name="证明.pdf",
            content=PDF,
        )
        assert info.content_type == "application/pdf"
    with pytest.raises(ValidationFailed, match="不是有效的"):
        sr.add_attachment(
            s, actor=ctx["a"], submission_id=draft.id, item_code="T12:x", file_name="x.pdf", content=b"GIF89a"
        )
    assert len(sr.list_attachments(s, actor=ctx["officer"], submission_id=draft.id)) == 2
    submitted = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=saved.version)
    assert submitted.state == "submitted" and submitted.submitted_at is not None
    with pytest.raises(Conflict):
        sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, version=submitted.version)
    with pytest.raises(Conflict):
        sr.add_attachment(
            s, actor=ctx["a"], submission_id=draft.id, item_code=None, file_name="a.pdf", content=PDF
        )
    # An officer returns it (the review service's job; the state change is what matters here).
    submitted.state, submitted.reason = "returned", "请补充标准文本"
    submitted.version += 1
    s.add(submitted)
    s.commit()
    again = sr.save_draft(
        s,
        actor=ctx["a"],
        submission_id=draft.id,
        items={**submitted.items, "T04": 7},
        version=submitted.version,
    )
    assert again.state == "returned"
    final = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=again.version)
    assert final.state == "submitted"
    actions = (
        s.execute(select(AuditEvent.action).where(AuditEvent.entity_id == str(draft.id))).scalars().all()
    )
    assert actions.count("submit_submission") == 2


def test_other_enterprises_and_staff_cannot_write(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    for intruder in (ctx["b"], ctx["officer"]):
        with pytest.raises(PermissionDenied):
            sr.save_draft(s, actor=intruder, submission_id=draft.id, items={}, version=1)
        with pytest.raises(PermissionDenied):
            sr.add_attachment(
                s, actor=intruder, submission_id=draft.id, item_code=None, file_name="a.pdf", content=PDF
            )
        with pytest.raises(PermissionDenied):
            sr.submit(s, actor=intruder, submission_id=draft.id, version=1)
    with pytest.raises(PermissionDenied):
        sr.get_submission(s, actor=ctx["b"], enterprise_id=ctx["a"].enterprise_id, year=YEAR)
    assert (
        sr.get_submission(s, actor=ctx["officer"], enterprise_id=ctx["a"].enterprise_id, year=YEAR).id
        == draft.id
    )


def test_department_values_beside_the_form(ctx) -> None:  # noqa: ANN001
    context = sr.department_context(
        ctx["session"], actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, year=YEAR
    )
    assert context["insured_staff"] == {"value": 20.0, "source": "人社", "year": YEAR}


def test_service_needs_of_a_submitted_report_reach_service_requests(ctx) -> None:  # noqa: ANN001
    """The 服务需求 chosen in 数据填报 become requests 服务需求处理 lists."""
    from services.service_requests import list_requests, request_service

    s = ctx["session"]
    draft = _draft(ctx)
    sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, service_needs=["financing"], version=1)
    assert list_requests(s, actor=ctx["officer"]).empty  # a draft's choice is not yet an ask
    sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=2)
    requests = list_requests(s, actor=ctx["officer"], state="open")
    assert requests[["enterprise_id", "service_code"]].values.tolist() == [
        [ctx["a"].enterprise_id, "financing"]
    ]
    assert requests["note"].iloc[0] == f"随 {YEAR} 年度数据填报提出"
    # asking again through 申请服务 does not duplicate the open request
    again = request_service(s, actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, service_code="financing")
    assert again.id == int(requests["id"].iloc[0])
    assert len(list_requests(s, actor=ctx["officer"])) == 1
    actions = (
        s.execute(select(AuditEvent.action).where(AuditEvent.action == "request_service")).scalars().all()
    )
    assert actions == ["request_service"]


def test_a_need_whose_service_was_stopped_since_does_not_block_the_draft(ctx) -> None:  # noqa: ANN001
    """服务目录 stops 投融资对接 after the draft chose it: a save of the draft with its stored needs (the
    page's list items do that) still goes through, and submitting asks for no stopped service. Before,
    every such save was refused with 服务需求中有未知的服务项目：financing."""
    from services.service_requests import list_requests

    s = ctx["session"]
    draft = _draft(ctx)
    sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, service_needs=["financing"], version=1)
    s.execute(update(ServiceItem).where(ServiceItem.code == "financing").values(active=False))
    s.commit()
    saved = sr.save_draft(
        s,
        actor=ctx["a"],
        submission_id=draft.id,
        items={"T04": "5"},
        service_needs=["financing"],
        version=2,
    )
    assert saved.items["T04"] == 5.0
    with pytest.raises(ValidationFailed, match="未知的服务项目"):  # a stopped service is not newly chosen
        other = sr.get_or_create_draft(s, actor=ctx["b"], enterprise_id=ctx["b"].enterprise_id, year=YEAR)
        sr.save_draft(
            s, actor=ctx["b"], submission_id=other.id, items={}, service_needs=["financing"], version=1
        )
    s.rollback()
    assert saved.service_needs == ["financing"]
    sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=3)
    assert list_requests(s, actor=ctx["officer"]).empty


def _published_run(ctx):  # noqa: ANN001, ANN202
    """A run of YEAR computed now and published for 公示 2026-12-01 to 12-07 (by the officer)."""
    from datetime import date

    from services import runs

    officer = ctx["officer"]
    run = runs.compute_run(ctx["session"], actor=officer, year=YEAR)
    return runs.publish_run(
        ctx["session"],
        actor=officer,
        run_id=run.id,
        notice_start=date(2026, 12, 1),
        notice_end=date(2026, 12, 7),
    )


def test_filing_year_is_the_year_under_evaluation_until_it_is_final(ctx) -> None:  # noqa: ANN001
    """December: 2025 is in 公示, so enterprises still file (and correct) 2025; an early 2026 value does not
    move the year; 定稿 of 2025 opens 2026."""
    from datetime import UTC, datetime

    from core import clock
    from services import runs

    s = ctx["session"]
    with clock.frozen(datetime(2026, 12, 6, 2, 0, tzinfo=UTC)):
        assert sr.current_year(s) == YEAR
        add_values(
            s,
            {
                "enterprise_id": ctx["b"].enterprise_id,
                "year": YEAR + 1,
                "code": "G01",
                "value_num": 10.0,
                "source": "自报",
            },
        )
        s.commit()
        assert sr.current_year(s) == YEAR  # one early report of an unfinished year changes nothing
        run = _published_run(ctx)
        assert sr.current_year(s) == YEAR  # 公示 keeps the window open
        assert sr.open_years(s, actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id)[0] == YEAR
    with clock.frozen(datetime(2026, 12, 8, 2, 0, tzinfo=UTC)):
        runs.finalize_run(s, actor=ctx["officer"], run_id=run.id)
        assert sr.current_year(s) == YEAR + 1


def test_an_approved_report_is_corrected_during_publicity(ctx) -> None:  # noqa: ANN001
    """The form path for a value of the year under 公示: reopen (reason), edit, resubmit, approve — the
    correction is what the next run of the year reads; after 定稿 the report can no longer be reopened."""
    from datetime import UTC, date, datetime

    from core import clock
    from services import review, runs

    s = ctx["session"]
    with clock.frozen(datetime(2026, 12, 3, 2, 0, tzinfo=UTC)):
        draft = _draft(ctx)
        saved = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={"T04": 5}, version=1)
        submitted = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=saved.version)
        review.approve(s, actor=ctx["officer"], submission_id=draft.id, expected_version=submitted.version)
        s.commit()
        _published_run(ctx)
    with clock.frozen(datetime(2026, 12, 4, 2, 0, tzinfo=UTC)):  # a day into the 公示
        approved = s.get(Submission, draft.id)
        with pytest.raises(ValidationFailed, match="更正原因"):
            sr.request_correction(
                s, actor=ctx["a"], submission_id=draft.id, version=approved.version, reason=" "
            )
        with pytest.raises(PermissionDenied):
            sr.request_correction(
                s, actor=ctx["b"], submission_id=draft.id, version=approved.version, reason="x"
            )
        reopened = sr.request_correction(
            s, actor=ctx["a"], submission_id=draft.id, version=approved.version, reason="研发人员数漏报 3 人"
        )
        assert reopened.state == "draft" and reopened.items["T04"] == 5
        # until the correction is approved the approved value still counts
        current = stored_values(s, enterprise_id=ctx["a"].enterprise_id, code="T04", current=True)
        assert current["value_num"].tolist() == [5]
        saved = sr.save_draft(
            s, actor=ctx["a"], submission_id=draft.id, items={"T04": 8}, version=reopened.version
        )
        submitted = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=saved.version)
        review.approve(s, actor=ctx["officer"], submission_id=draft.id, expected_version=submitted.version)
        s.commit()
        assert "公示" in sr.counted_in(s, actor=ctx["a"], submission=s.get(Submission, draft.id))
        rerun = runs.compute_run(s, actor=ctx["officer"], year=YEAR)
        from db.queries import scores_frame

        t04 = scores_frame(s, run_id=rerun.id, include_breakdown=True)
        from core.breakdown import decode
        from services.model_versions import get_model

        row = t04.set_index("enterprise_id").loc[ctx["a"].enterprise_id]
        assert decode(get_model(s, rerun.model_version_id), row["breakdown"])["T04"]["value"] == 8
        events = (
            s.execute(select(AuditEvent.reason).where(AuditEvent.action == "submission.correct"))
            .scalars()
            .all()
        )
        assert events == ["研发人员数漏报 3 人"]
    with clock.frozen(datetime(2026, 12, 9, 2, 0, tzinfo=UTC)):
        runs.publish_run(
            s,
            actor=ctx["officer"],
            run_id=rerun.id,
            notice_start=date(2026, 12, 1),
            notice_end=date(2026, 12, 7),
            replace=True,
        )
        runs.finalize_run(s, actor=ctx["officer"], run_id=rerun.id)
        final = s.get(Submission, draft.id)
        with pytest.raises(Conflict, match="已定稿"):
            sr.request_correction(
                s, actor=ctx["a"], submission_id=draft.id, version=final.version, reason="再改"
            )


def test_a_correction_resubmits_approved_rows_without_new_files(ctx) -> None:  # noqa: ANN001
    """Rows approved before (their evidence checked at that approval; reports imported from earlier
    systems carry none) need no new file when the report is corrected; a new row does."""
    from services import review

    s = ctx["session"]
    draft = _draft(ctx)
    saved = sr.save_draft(
        s, actor=ctx["a"], submission_id=draft.id, items={"T04": 6, "T12": [STANDARD]}, version=1
    )
    uid = saved.items["T12"][0]["uid"]
    file = sr.add_attachment(
        s, actor=ctx["a"], submission_id=draft.id, item_code=f"T12:{uid}", file_name="标准.pdf", content=PDF
    )
    submitted = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=saved.version)
    review.approve(s, actor=ctx["officer"], submission_id=draft.id, expected_version=submitted.version)
    s.commit()
    approved = s.get(Submission, draft.id)
    reopened = sr.request_correction(
        s, actor=ctx["a"], submission_id=draft.id, version=approved.version, reason="研发人员数应为 7 人"
    )
    sr.remove_attachment(s, actor=ctx["a"], attachment_id=file.id)  # e.g. a report without its files
    items = {**reopened.items, "T04": 7}
    added = {
        **items,
        "T12": [*reopened.items["T12"], {**STANDARD, "name": "另一项标准", "number": "T/WZ 002-2025"}],
    }
    with_new = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items=added, version=reopened.version)
    with pytest.raises(ValidationFailed, match="第 2 项缺少证明材料"):
        sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=with_new.version)
    back = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items=items, version=with_new.version)
    assert sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=back.version).state == "submitted"
