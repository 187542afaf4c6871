"""Service × role → allowed/denied, and every enterprise-facing service refusing another enterprise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from db.models import Objection, Score, ScoreRun, Submission
from demo import seed_demo
from services import (
    audit,
    bank,
    bank_api,
    bank_portal,
    imports,
    loan_outcomes,
    objections,
    portrait,
    review,
    run_diff,
    runs,
    self_report,
    service_requests,
    subsidies,
)
from services.actor import Actor
from services.errors import PermissionDenied, ServiceError
from tests.seeded import actor_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(session):  # noqa: ANN001, ANN201
    seed_demo(session, enterprises=30)
    ent1, ent2 = actor_of(session, "ent1"), actor_of(session, "ent2")
    notice = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().first()
    return {
        "session": session,
        "ent1": ent1,
        "ent2": ent2,
        "officer": actor_of(session, "officer1"),
        "admin": actor_of(session, "admin"),
        "bank": actor_of(session, "bank1"),
        "notice": notice,
    }


def _own_submission(w: dict, who: Actor) -> int:
    return self_report.get_or_create_draft(w["session"], actor=who, enterprise_id=who.enterprise_id).id


# Who passes: the target's own enterprise ("owner"), another enterprise, an officer, an admin (and a bank,
# denied unless a case says otherwise). The enterprise reads its own data and staff read everyone's:
OWNER_AND_STAFF = {"owner": True, "other": False, "officer": True, "admin": True}
# only the enterprise acts for itself (drafts, submissions, requests):
OWNER_ONLY = {"owner": True, "other": False, "officer": False, "admin": False}
# staff-only use cases: no enterprise user passes, whichever enterprise it names:
STAFF_ONLY = {"owner": False, "other": False, "officer": True, "admin": True}
ADMIN_ONLY = {"owner": False, "other": False, "officer": False, "admin": True}

# Each case: (name, call(world, actor, target_enterprise_id) ) — the target is ent1's enterprise.
Call = Callable[[dict, Actor, int], object]
CASES: list[tuple[str, Call, dict[str, bool]]] = [
    (
        "get_portrait",
        lambda w, a, e: portrait.get_portrait(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
    (
        "get_submission",
        lambda w, a, e: self_report.get_submission(w["session"], actor=a, enterprise_id=e, year=2025),
        OWNER_AND_STAFF,
    ),
    (
        "get_or_create_draft",
        lambda w, a, e: self_report.get_or_create_draft(w["session"], actor=a, enterprise_id=e),
        OWNER_ONLY,
    ),
    (
        "department_context",
        lambda w, a, e: self_report.department_context(w["session"], actor=a, enterprise_id=e, year=2025),
        OWNER_AND_STAFF,
    ),
    (
        "open_years",
        lambda w, a, e: self_report.open_years(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
    (
        "save_draft",
        lambda w, a, e: self_report.save_draft(
            w["session"],
            actor=a,
            submission_id=_own_submission(w, w["ent1"]),
            items={},
            version=self_report.get_or_create_draft(w["session"], actor=w["ent1"], enterprise_id=e).version,
        ),
        OWNER_ONLY,
    ),
    (
        "add_attachment",
        lambda w, a, e: self_report.add_attachment(
            w["session"],
            actor=a,
            submission_id=_own_submission(w, w["ent1"]),
            item_code="T12:x",
            file_name="a.pdf",
            content=PDF,
        ),
        OWNER_ONLY,
    ),
    (
        "list_attachments",
        lambda w, a, e: self_report.list_attachments(
            w["session"], actor=a, submission_id=_own_submission(w, w["ent1"])
        ),
        OWNER_AND_STAFF,
    ),
    (
        "submit",
        lambda w, a, e: self_report.submit(
            w["session"], actor=a, submission_id=_own_submission(w, w["ent1"]), version=0
        ),
        OWNER_ONLY,
    ),
    (
        "request_service",
        lambda w, a, e: service_requests.request_service(
            w["session"], actor=a, enterprise_id=e, service_code="financing"
        ),
        OWNER_ONLY,
    ),
    (
        "list_requests",
        lambda w, a, e: service_requests.list_requests(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
    (
        "policy_view",
        lambda w, a, e: service_requests.policy_view(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
    (
        "simulation_base",
        lambda w, a, e: portrait.simulation_base(
            w["session"],
            actor=a,
            portrait=portrait.get_portrait(w["session"], actor=w["ent1"], enterprise_id=e),
        ),
        OWNER_AND_STAFF,
    ),
    (
        "file_objection",
        lambda w, a, e: objections.file_objection(
            w["session"],
            actor=a,
            run_id=w["notice"].id,
            enterprise_id=e,
            indicator_code=None,
            reason="数据有误",
        ),
        {"owner": True, "other": False},
    ),
    (
        "list_objections",
        lambda w, a, e: objections.list_objections(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
]


def _pending_submission(w: dict) -> Submission:
    return w["session"].execute(select(Submission).where(Submission.state == "submitted")).scalars().first()


def _objection(w: dict) -> int:
    found = w["session"].execute(select(Objection.id)).scalars().first()
    if found is not None:
        return found
    objection = Objection(run_id=w["notice"].id, enterprise_id=w["ent1"].enterprise_id, reason="数据有误")
    w["session"].add(objection)
    w["session"].flush()
    return objection.id


CASES += [
    ("review.list_reviews", lambda w, a, e: review.list_reviews(w["session"], actor=a), STAFF_ONLY),
    (
        "review.approve",
        lambda w, a, e: review.approve(
            w["session"],
            actor=a,
            submission_id=_pending_submission(w).id,
            expected_version=_pending_submission(w).version,
        ),
        STAFF_ONLY,
    ),
    (
        "review.bulk_approve",
        lambda w, a, e: review.bulk_approve(
            w["session"], actor=a, items=[(_pending_submission(w).id, _pending_submission(w).version)]
        ),
        STAFF_ONLY,
    ),
    (
        "imports.template_xlsx",
        lambda w, a, e: imports.template_xlsx(w["session"], actor=a, department="税务"),
        STAFF_ONLY,
    ),
    (
        "imports.dry_run_import",
        lambda w, a, e: imports.dry_run_import(
            w["session"],
            actor=a,
            department="税务",
            year=2025,
            file_name="x.csv",
            data="统一社会信用代码\n".encode(),
        ),
        STAFF_ONLY,
    ),
    ("runs.compute_run", lambda w, a, e: runs.compute_run(w["session"], actor=a, year=2025), STAFF_ONLY),
    (
        "runs.publish_run",
        lambda w, a, e: runs.publish_run(
            w["session"],
            actor=a,
            run_id=w["notice"].id,
            notice_start=w["notice"].notice_start,
            notice_end=w["notice"].notice_end,
        ),
        STAFF_ONLY,
    ),
    (
        "runs.verify_run",
        lambda w, a, e: runs.verify_run(w["session"], actor=a, run_id=w["notice"].id),
        STAFF_ONLY,
    ),
    (
        "run_diff.diff_runs",
        lambda w, a, e: run_diff.diff_runs(w["session"], actor=a, run_a=w["notice"].id, run_b=w["notice"].id),
        STAFF_ONLY,
    ),
    (
        "objections.answer_objection",
        lambda w, a, e: objections.answer_objection(
            w["session"], actor=a, objection_id=_objection(w), action="reject", answer="数据与部门一致"
        ),
        STAFF_ONLY,
    ),
    ("audit.query_events", lambda w, a, e: audit.query_events(w["session"], actor=a), STAFF_ONLY),
    ("audit.export_events", lambda w, a, e: audit.export_events(w["session"], actor=a), STAFF_ONLY),
]


def _final_run(w: dict) -> int:
    return w["session"].execute(select(ScoreRun.id).where(ScoreRun.state == "final")).scalars().first()


# 扶持资金拨付: the enterprise confirms its own line; only staff pay, decline, list and export.
CASES += [
    (
        "subsidies.confirm_subsidy",
        lambda w, a, e: subsidies.confirm_subsidy(
            w["session"], actor=a, run_id=_final_run(w), enterprise_id=e
        ),
        OWNER_ONLY,
    ),
    (
        "subsidies.my_subsidy_lines",
        lambda w, a, e: subsidies.my_subsidy_lines(w["session"], actor=a, enterprise_id=e),
        OWNER_AND_STAFF,
    ),
    (
        "subsidies.record_payment",
        lambda w, a, e: subsidies.record_payment(
            w["session"], actor=a, run_id=_final_run(w), enterprise_id=e, paid_on=None, voucher=None
        ),
        STAFF_ONLY,
    ),
    (
        "subsidies.refuse_subsidy",
        lambda w, a, e: subsidies.refuse_subsidy(
            w["session"], actor=a, run_id=_final_run(w), enterprise_id=e, reason="企业已注销"
        ),
        STAFF_ONLY,
    ),
    ("subsidies.subsidy_lines", lambda w, a, e: subsidies.subsidy_lines(w["session"], actor=a), STAFF_ONLY),
    (
        "subsidies.export_subsidy_lines",
        lambda w, a, e: subsidies.export_subsidy_lines(w["session"], actor=a),
        STAFF_ONLY,
    ),
]

# Partner banks: a bank account reaches the bank services and nothing else.
BANK_ONLY = {"owner": False, "other": False, "officer": False, "admin": False, "bank": True}
CASES += [
    ("bank_portal.bank_view", lambda w, a, e: bank_portal.bank_view(w["session"], actor=a), BANK_ONLY),
    ("bank_portal.final_runs", lambda w, a, e: bank_portal.final_runs(w["session"], actor=a), BANK_ONLY),
    (
        "bank_portal.export_bank_whitelist",
        lambda w, a, e: bank_portal.export_bank_whitelist(w["session"], actor=a),
        BANK_ONLY,
    ),
    (
        "loan_outcomes.record_outcome",
        lambda w, a, e: loan_outcomes.record_outcome(
            w["session"], actor=a, credit_code="x", product="p", decision="授信", decided_on="2020-01-01"
        ),
        BANK_ONLY,
    ),
    (
        "loan_outcomes.import_outcomes_file",
        lambda w, a, e: loan_outcomes.import_outcomes_file(
            w["session"], actor=a, data="统一社会信用代码\n".encode(), filename="x.csv"
        ),
        BANK_ONLY,
    ),
    (
        "loan_outcomes.import_outcomes_json",
        lambda w, a, e: loan_outcomes.import_outcomes_json(w["session"], actor=a, items=[]),
        BANK_ONLY,
    ),
    (
        "loan_outcomes.list_outcomes",
        lambda w, a, e: loan_outcomes.list_outcomes(w["session"], actor=a),
        {**STAFF_ONLY, "bank": True},
    ),
    (
        "loan_outcomes.outcome_summary",
        lambda w, a, e: loan_outcomes.outcome_summary(w["session"], actor=a),
        STAFF_ONLY,
    ),
    (
        "bank.bank_whitelist",
        lambda w, a, e: bank.bank_whitelist(
            w["session"], actor=a, criteria=bank.bank.Criteria("top_n", top_n=3)
        ),
        STAFF_ONLY,
    ),
    (
        "bank.set_bank_consent",
        lambda w, a, e: bank.set_bank_consent(w["session"], actor=a, enterprise_id=e, consent=True),
        OWNER_ONLY,
    ),
    (
        "bank_api.create_token",
        lambda w, a, e: bank_api.create_token(w["session"], actor=a, bank_name="某银行"),
        ADMIN_ONLY,
    ),
    (
        "bank_api.list_tokens",
        lambda w, a, e: bank_api.list_tokens(w["session"], actor=a),
        ADMIN_ONLY,
    ),
]


def test_authorisation_matrix(world: dict) -> None:
    session = world["session"]
    target = world["ent1"].enterprise_id
    callers = {
        "owner": world["ent1"],
        "other": world["ent2"],
        "officer": world["officer"],
        "admin": world["admin"],
        "bank": world["bank"],
    }
    wrong = []
    for name, call, expected in CASES:
        # A bank account is denied every use case that does not say otherwise.
        for who, allowed in {"bank": False, **expected}.items():
            try:
                call(world, callers[who], target)
                outcome = True
            except PermissionDenied:
                outcome = False
            except ServiceError:
                outcome = True  # passed the permission check, refused for another reason (state, version…)
            finally:
                session.rollback()
            if outcome != allowed:
                wrong.append(
                    f"{name} as {who}: {'allowed' if outcome else 'denied'}, expected "
                    f"{'allowed' if allowed else 'denied'}"
                )
    assert not wrong, "\n".join(wrong)


def test_enterprise_cannot_reach_another_enterprise_by_id(world: dict) -> None:
    """Whatever id a page, widget or URL passes, the services answer only for the caller's enterprise."""
    session = world["session"]
    ent2 = world["ent2"]
    others = (
        session.execute(select(Score.enterprise_id).where(Score.enterprise_id != ent2.enterprise_id).limit(5))
        .scalars()
        .all()
    )
    for enterprise_id in others:
        for call in (
            lambda e: portrait.get_portrait(session, actor=ent2, enterprise_id=e),
            lambda e: self_report.get_submission(session, actor=ent2, enterprise_id=e, year=2025),
            lambda e: self_report.get_or_create_draft(session, actor=ent2, enterprise_id=e),
            lambda e: service_requests.request_service(
                session, actor=ent2, enterprise_id=e, service_code="financing"
            ),
            lambda e: service_requests.policy_view(session, actor=ent2, enterprise_id=e),
        ):
            with pytest.raises(PermissionDenied):
                call(enterprise_id)
            session.rollback()
