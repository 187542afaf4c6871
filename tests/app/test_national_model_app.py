"""The whole app under the national-guide model (SQLite and PostgreSQL): seed a demo under it, import a
统计 file, self-report and approve, compute and publish, then every page of every role in AppTest."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from core.model_loading import load_model
from db.models import Enterprise, ScoreRun, Submission, User
from db.schema import init_db
from db.session import make_engine, session_scope
from demo import seed_demo
from services import imports, review, self_report
from services.actor import Actor
from services.model_versions import current_model
from services.runs import compute_run, publish_run, verify_run
from tests.app.conftest import _database_url, through_home
from tests.conftest import TEST_DATABASE_URL, throwaway_postgres
from ui.navigation import ENTERPRISE, OFFICER, PUBLIC

NATIONAL = load_model(Path(__file__).resolve().parents[2] / "core" / "models" / "national-guide.toml")
OFFICER_ACTOR = Actor(username="officer1", role="officer", user_id=2)
YEAR = 2025


def _statistics_file(codes: list[str]) -> bytes:
    """A 统计 department file: credit code, name, 营业收入 and 利润总额 (Chinese headers, as delivered)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称", "营业收入", "利润总额"])
    for k, (code, name) in enumerate(codes):
        sheet.append([code, name, 25000 + 10 * k, 1200 + k])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _walk_the_workflow(url: str) -> dict:
    engine = make_engine(url)
    init_db(engine)
    facts: dict = {}
    with session_scope(engine) as session:
        seed_demo(session, enterprises=80, model=NATIONAL, local_demo=True)
        assert current_model(session).name == NATIONAL.name
        # import: the 统计 department (a source the default model does not have)
        assert "统计" in imports.department_choices(session)
        firms = session.execute(
            select(Enterprise.credit_code, Enterprise.name).order_by(Enterprise.id).limit(5)
        ).all()
        data = _statistics_file([tuple(f) for f in firms])
        dry = imports.dry_run_import(
            session, actor=OFFICER_ACTOR, department="统计", year=YEAR, file_name="统计局数据.xlsx", data=data
        )
        assert not dry.errors, dry.errors
        imports.commit_import(
            session, actor=OFFICER_ACTOR, data=data, batch_id=dry.batch_id, confirm_duplicate=True
        )
        # self-report: an enterprise fills J08 (高新技术产品收入占比) and an officer approves
        user = session.execute(select(User).where(User.username == "ent1")).scalar_one()
        ent = Actor(
            username=user.username, role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id
        )
        existing = session.execute(
            select(Submission).where(Submission.enterprise_id == user.enterprise_id, Submission.year == YEAR)
        ).scalar_one_or_none()
        if existing is not None and existing.state == "approved":
            facts["self_report"] = "already approved"
        else:
            draft = self_report.get_or_create_draft(
                session, actor=ent, enterprise_id=user.enterprise_id, year=YEAR
            )
            draft = self_report.save_draft(
                session, actor=ent, submission_id=draft.id, items={"J08": 66}, version=draft.version
            )
            submitted = self_report.submit(session, actor=ent, submission_id=draft.id, version=draft.version)
            review.approve(
                session, actor=OFFICER_ACTOR, submission_id=submitted.id, expected_version=submitted.version
            )
        # compute under the active (national) model and publish
        run = compute_run(session, actor=OFFICER_ACTOR, year=YEAR)
        from core import clock

        publish_run(
            session,
            actor=OFFICER_ACTOR,
            run_id=run.id,
            notice_start=clock.today(),
            notice_end=clock.today(),
            replace=True,
        )  # the seeded run of the year is in 公示
        assert verify_run(session, actor=OFFICER_ACTOR, run_id=run.id).identical
        stored = session.get(ScoreRun, run.id)
        facts["run_id"] = stored.id
    engine.dispose()
    return facts


def _pages(role: str) -> list[str]:
    return [s.path for s in PUBLIC] + [s.path for s in (ENTERPRISE if role == "enterprise" else OFFICER)]


def _every_page(url: str) -> None:
    with _database_url(url):
        for username, role in (("ent1", "enterprise"), ("officer1", "officer"), ("admin", "admin")):
            for path in _pages(role):
                at = through_home(username, path)
                assert not at.exception, (path, at.exception)
                shown = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.warning])
                assert "Traceback" not in shown and "None" not in [str(m.value) for m in at.metric], path
                assert at.title, path
        lists = through_home("officer1", "pages/public/lists.py")
        assert [t.label for t in lists.tabs] == ["稳定期", "成长期", "初创期"]
        assert "创新领军企业榜" in " ".join(m.value for m in lists.markdown)
        model_page = through_home("officer1", "pages/public/model.py")
        subheaders = [h.value for h in model_page.subheader]
        assert "技术创新指标" in subheaders and "辅助（加分）" in subheaders
        home = through_home("ent1", "pages/public/home.py")
        text_shown = " ".join(m.value for m in home.markdown)
        assert "初创期、成长期、稳定期" in text_shown and "加分最多 30 分" in text_shown
        portrait = through_home("ent1", "pages/enterprise/portrait.py")
        assert "辅助" in [m.label for m in portrait.metric] and "辅助加分" not in [
            m.label for m in portrait.metric
        ]


def test_whole_app_under_the_national_model_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'national.db'}"
    _walk_the_workflow(url)
    _every_page(url)


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_whole_app_under_the_national_model_postgres() -> None:
    with throwaway_postgres("ip_ng") as url:
        _walk_the_workflow(url)
        _every_page(url)
