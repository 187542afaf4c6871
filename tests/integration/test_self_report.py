"""Self-report use cases: draft, optimistic version, validation, evidence, submit, return and resubmit."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from db.models import AuditEvent, Enterprise, IndicatorValue, ServiceItem, Submission
from services import self_report as sr
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed

PDF = b"%PDF-1.4\n%test\n"
YEAR = 2025


@pytest.fixture
def ctx(session):  # noqa: ANN001, ANN201
    a = Enterprise(credit_code="91330303MA2ABCDE1X", name="甲企业")
    b = Enterprise(credit_code="91330303MA2ABCDF8Y", name="乙企业")
    session.add_all([a, b])
    session.commit()
    session.execute(insert(IndicatorValue), [
        {"enterprise_id": a.id, "year": YEAR, "code": "insured_staff", "value_num": 20.0, "source": "人社",
         "is_current": True},
        {"enterprise_id": a.id, "year": YEAR, "code": "G01", "value_num": 800.0, "source": "税务", "is_current": True},
    ])
    session.execute(insert(ServiceItem), [{"code": "financing", "name": "投融资对接", "active": True}])
    session.commit()
    return {
        "session": session,
        "a": Actor(username="enta", role="enterprise", user_id=1, enterprise_id=a.id),
        "b": Actor(username="entb", role="enterprise", user_id=2, enterprise_id=b.id),
        "officer": Actor(username="officer1", role="officer", user_id=3),
    }


def _draft(ctx) -> Submission:  # noqa: ANN001
    return sr.get_or_create_draft(ctx["session"], actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, year=YEAR)


STANDARD = {"name": "智能阀门团体标准", "number": "T/WZ 001-2025", "level": "团体", "role": "主导", "year": YEAR}
TALENT = {"name": "张博士", "level": "博士", "role": "核心成员"}


def test_draft_save_and_version_conflict(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    assert draft.state == "draft" and draft.version == 1
    assert _draft(ctx).id == draft.id  # the same row for the year
    saved = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={"T04": "5", "T12": [STANDARD]},
                          service_needs=["financing"], version=1)
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
    sr.save_draft(s, actor=ctx["a"], submission_id=draft.id,
                  items={"T04": 25, "T11": 140, "T12": [bad_standard], "A04": [TALENT]}, version=1)
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
    saved = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id,
                          items={"T04": 6, "T11": 45, "T12": [STANDARD], "A04": [TALENT]}, version=1)
    for code in ("T12", "A04"):
        uid = saved.items[code][0]["uid"]
        info = sr.add_attachment(s, actor=ctx["a"], submission_id=draft.id, item_code=f"{code}:{uid}",
                                 file_name="证明.pdf", content=PDF)
        assert info.content_type == "application/pdf"
    with pytest.raises(ValidationFailed, match="不是有效的"):
        sr.add_attachment(s, actor=ctx["a"], submission_id=draft.id, item_code="T12:x", file_name="x.pdf",
                          content=b"GIF89a")
    assert len(sr.list_attachments(s, actor=ctx["officer"], submission_id=draft.id)) == 2
    submitted = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=saved.version)
    assert submitted.state == "submitted" and submitted.submitted_at is not None
    with pytest.raises(Conflict):
        sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, version=submitted.version)
    with pytest.raises(Conflict):
        sr.add_attachment(s, actor=ctx["a"], submission_id=draft.id, item_code=None, file_name="a.pdf", content=PDF)
    # An officer returns it (the review service's job; the state change is what matters here).
    submitted.state, submitted.reason = "returned", "请补充标准文本"
    submitted.version += 1
    s.add(submitted)
    s.commit()
    again = sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={**submitted.items, "T04": 7},
                          version=submitted.version)
    assert again.state == "returned"
    final = sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=again.version)
    assert final.state == "submitted"
    actions = s.execute(select(AuditEvent.action).where(AuditEvent.entity_id == str(draft.id))).scalars().all()
    assert actions.count("submit_submission") == 2


def test_other_enterprises_and_staff_cannot_write(ctx) -> None:  # noqa: ANN001
    s = ctx["session"]
    draft = _draft(ctx)
    for intruder in (ctx["b"], ctx["officer"]):
        with pytest.raises(PermissionDenied):
            sr.save_draft(s, actor=intruder, submission_id=draft.id, items={}, version=1)
        with pytest.raises(PermissionDenied):
            sr.add_attachment(s, actor=intruder, submission_id=draft.id, item_code=None, file_name="a.pdf",
                              content=PDF)
        with pytest.raises(PermissionDenied):
            sr.submit(s, actor=intruder, submission_id=draft.id, version=1)
    with pytest.raises(PermissionDenied):
        sr.get_submission(s, actor=ctx["b"], enterprise_id=ctx["a"].enterprise_id, year=YEAR)
    assert sr.get_submission(s, actor=ctx["officer"], enterprise_id=ctx["a"].enterprise_id, year=YEAR).id == draft.id


def test_department_values_beside_the_form(ctx) -> None:  # noqa: ANN001
    context = sr.department_context(ctx["session"], actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, year=YEAR)
    assert context["insured_staff"] == {"value": 20.0, "source": "人社", "year": YEAR}


def test_service_needs_of_a_submitted_report_reach_service_requests(ctx) -> None:  # noqa: ANN001
    """The 服务需求 chosen in 数据填报 become requests 服务需求处理 lists (issue 22, point 8)."""
    from services.service_requests import list_requests, request_service

    s = ctx["session"]
    draft = _draft(ctx)
    sr.save_draft(s, actor=ctx["a"], submission_id=draft.id, items={}, service_needs=["financing"], version=1)
    assert list_requests(s, actor=ctx["officer"]).empty  # a draft's choice is not yet an ask
    sr.submit(s, actor=ctx["a"], submission_id=draft.id, version=2)
    requests = list_requests(s, actor=ctx["officer"], state="open")
    assert requests[["enterprise_id", "service_code"]].values.tolist() == [[ctx["a"].enterprise_id, "financing"]]
    assert requests["note"].iloc[0] == f"随 {YEAR} 年度数据填报提出"
    # asking again through 申请服务 does not duplicate the open request
    again = request_service(s, actor=ctx["a"], enterprise_id=ctx["a"].enterprise_id, service_code="financing")
    assert again.id == int(requests["id"].iloc[0])
    assert len(list_requests(s, actor=ctx["officer"])) == 1
    actions = s.execute(select(AuditEvent.action).where(AuditEvent.action == "request_service")).scalars().all()
    assert actions == ["request_service"]
