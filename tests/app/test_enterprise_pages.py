"""Every enterprise page for every role: the enterprise sees its pages, the guards refuse everybody else."""

from __future__ import annotations

import pytest

from db.session import session_scope
from services.actor import Actor
from tests.app.conftest import actor_of, home, login_as, page_as, through_home
from ui.navigation import ACCOUNT, ENTERPRISE

ENTERPRISE_PAGES = [spec.path for spec in ENTERPRISE]


def _texts(at) -> str:  # noqa: ANN001
    parts = []
    for kind in ("title", "markdown", "caption", "info", "warning", "error", "success", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


@pytest.mark.parametrize("path", ENTERPRISE_PAGES)
def test_enterprise_user_sees_each_page_through_home(app_db: str, path: str) -> None:
    at = through_home("ent1", path)
    assert not at.exception, at.exception
    assert not [e for e in at.error if "仅限" in str(e.value)]
    assert at.title, "the page rendered its title"


@pytest.mark.parametrize("path", ENTERPRISE_PAGES)
@pytest.mark.parametrize("username", ["officer1", "admin"])
def test_staff_are_refused_by_the_enterprise_guard(app_db: str, path: str, username: str) -> None:
    at = page_as(path, actor_of(username)).run()
    assert not at.exception
    assert any("仅限企业用户" in str(e.value) for e in at.error)
    assert not at.title  # stopped before rendering anything


@pytest.mark.parametrize("path", [*ENTERPRISE_PAGES, *(s.path for s in ACCOUNT)])
def test_anonymous_is_refused(app_db: str, path: str) -> None:
    at = page_as(path, None).run()
    assert not at.exception
    assert any("请先登录" in str(w.value) for w in at.warning)


@pytest.mark.parametrize("username", ["ent1", "officer1", "admin"])
def test_account_page_for_every_logged_in_role(app_db: str, username: str) -> None:
    at = login_as(home(), username, actor_of(username).role).run()
    at.switch_page("pages/common/account.py").run()
    assert not at.exception
    assert at.title[0].value == "修改密码"


def test_navigation_per_role(app_db: str) -> None:
    from ui.navigation import sections_for

    assert "enterprise" not in sections_for(None) and "login" in sections_for(None)
    assert sections_for("enterprise")["enterprise"] == ENTERPRISE
    for role in ("officer", "admin"):
        assert "enterprise" not in sections_for(role)
        assert sections_for(role)["account"] == ACCOUNT
    anonymous = home().run()
    assert not anonymous.exception
    assert "actor" not in anonymous.session_state
    enterprise = login_as(home(), "ent1", "enterprise").run()
    assert enterprise.session_state["actor"].enterprise_id == actor_of("ent1").enterprise_id


def test_portrait_shows_the_stored_numbers(app_db: str) -> None:
    from services.portrait import get_portrait

    actor = actor_of("ent1")
    with session_scope() as session:
        portrait = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    at = login_as(home(), "ent1", "enterprise").run()
    at.switch_page("pages/enterprise/portrait.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["总积分"] == f"{portrait.total:,.2f}"
    assert metrics["技术创新"] == f"{portrait.technology:,.2f}"
    assert "指标明细" in _texts(at)


def test_login_form_logs_in_and_wrong_password_counts(fresh_db: str) -> None:
    at = home().run()
    at.switch_page("pages/common/login.py").run()
    at.text_input(key="login_username").input("ent3")
    at.text_input(key="login_password").input("wrong-password-1")
    at.button[0].click().run()
    # The same words as for a user name that does not exist (no "再错 N 次" that would tell them apart).
    assert "用户名或密码错误。" in _texts(at) and "再错" not in _texts(at)
    assert at.session_state["authentication_status"] is not True
    at.text_input(key="login_username").input("ent3")
    at.text_input(key="login_password").input("Demo@2025")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert at.session_state["actor"].role == "enterprise"


def test_lockout_message_after_five_failures(fresh_db: str) -> None:
    at = home().run()
    at.switch_page("pages/common/login.py").run()
    for _ in range(6):
        at.text_input(key="login_username").input("ent4")
        at.text_input(key="login_password").input("nope-nope-1")
        at.button[0].click().run()
    assert "登录失败次数过多" in _texts(at)
    at.text_input(key="login_username").input("ent4")
    at.text_input(key="login_password").input("Demo@2025")
    at.button[0].click().run()
    assert at.session_state["authentication_status"] is not True
    assert "登录失败次数过多" in _texts(at)


def test_one_time_password_forces_a_change(fresh_db: str) -> None:
    from services.accounts import create_user

    with session_scope() as session:
        enterprise_id = actor_of("ent1").enterprise_id
        _, otp = create_user(
            session,
            actor=Actor(username="admin", role="admin"),
            username="newent",
            role="enterprise",
            enterprise_id=enterprise_id,
        )
    at = home().run()
    at.switch_page("pages/common/login.py").run()
    at.text_input(key="login_username").input("newent")
    at.text_input(key="login_password").input(otp)
    at.button[0].click().run()
    assert at.session_state["must_change_password"] is True
    assert at.title[0].value == "修改密码"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/enterprise/portrait.py")  # nothing else is registered
    at.text_input[0].input(otp)
    at.text_input[1].input("NewPass2025")
    at.text_input[2].input("NewPass2025")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["must_change_password"] is False
    at.switch_page("pages/enterprise/portrait.py").run()
    assert at.title[0].value == "我的积分"


def test_self_report_flow_in_the_page(fresh_db: str) -> None:
    at = login_as(home(), "ent1", "enterprise").run()
    at.switch_page("pages/enterprise/self_report.py").run()
    assert not at.exception
    # December: the year under 公示 is the filing year, and ent1's report of it is approved — the form
    # path to correct it reopens it
    assert "正在填报 **2025 年度**" in " ".join(m.value for m in at.markdown)
    assert "已审核通过" in _texts(at) and "定稿前可更正" in _texts(at)
    at.text_area(key="correct_reason").input("漏报一项团体标准")
    next(b for b in at.button if b.label == "申请更正").click().run()
    assert not at.exception, at.exception
    assert "填报已重新打开" in _texts(at)
    at.text_input(key="new_T12_name").input("团体标准：智能阀门通用技术条件")
    at.text_input(key="new_T12_number").input("T/WZ 001-2025")
    at.selectbox(key="new_T12_level").select("团体")
    at.selectbox(key="new_T12_role").select("主导")
    year_box = at.selectbox(key="new_T12_year")
    year_box.select(year_box.options[0])
    next(b for b in at.button if b.label == "添加").click()
    at.run()
    assert "已添加" in _texts(at)
    next(b for b in at.button if b.label == "提交审核").click()
    at.run()
    assert "缺少证明材料" in _texts(at)


def test_portrait_shows_annual_and_dynamic_score_after_an_approval(fresh_db: str) -> None:
    """The self-report flow's end: after the officer approves, the enterprise's next visit shows 动态积分
    with the approved value, while 年度积分 stays the published run's."""
    from sqlalchemy import select, update

    from core import explain
    from db.models import Score, Submission
    from db.queries import latest_run
    from db.session import get_engine
    from services import dynamic, review
    from services.portrait import get_portrait
    from ui import formats

    ent2 = actor_of("ent2")
    with session_scope() as session:
        published = latest_run(session)
        annual_total = session.execute(
            select(Score.total).where(Score.run_id == published.id, Score.enterprise_id == ent2.enterprise_id)
        ).scalar_one()
        sub = session.execute(
            select(Submission).where(
                Submission.enterprise_id == ent2.enterprise_id, Submission.year == published.year
            )
        ).scalar_one()
        portrait = get_portrait(session, actor=ent2, enterprise_id=ent2.enterprise_id)
        before = explain.as_number(next(s.value for s in portrait.states if s.code == "T04")) or 0
        approved = float(before) * 2 + 50
        session.execute(
            update(Submission)
            .where(Submission.id == sub.id)
            .values(items={**(sub.items or {}), "T04": approved})
        )
        session.flush()
        review.approve(
            session, actor=actor_of("officer1"), submission_id=sub.id, expected_version=sub.version
        )
    assert dynamic.refresh_due(get_engine(), owner="apptest", min_interval=0) == [published.year]

    at = through_home("ent2", "pages/enterprise/portrait.py")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    annual = next(v for k, v in metrics.items() if k.startswith(f"年度积分（{published.year} 年度"))
    assert annual == formats.points(annual_total)
    live_label = next(k for k in metrics if k.startswith("动态积分（截至"))
    assert float(metrics[live_label].replace(",", "")) > annual_total
    changes = next(df.value for df in at.dataframe if "分值变化" in df.value.columns)
    row = changes[changes["指标"] == "研发人员数"]
    assert row["现在"].iloc[0] == explain.fmt_value(approved, "人")


def test_password_change_refuses_then_moves_this_browser_to_a_new_session(fresh_db: str) -> None:
    from services.auth import resume_session
    from ui.auth import SESSION_ID_KEY

    at = login_as(home(), "ent2", "enterprise").run()
    at.switch_page("pages/common/account.py").run()
    old_session = at.session_state[SESSION_ID_KEY]
    at.text_input(key="pw_old").input("not-the-password-1")
    at.text_input(key="pw_new").input("NewPass2025x")
    at.text_input(key="pw_confirm").input("NewPass2025x")
    next(b for b in at.button if b.label == "保存新密码").click().run()
    assert not at.exception
    assert at.error, "the refusal is shown"
    assert at.session_state[SESSION_ID_KEY] == old_session

    at.text_input(key="pw_old").input("Demo@2025")
    at.text_input(key="pw_new").input("NewPass2025x")
    at.text_input(key="pw_confirm").input("NewPass2025x")
    next(b for b in at.button if b.label == "保存新密码").click().run()
    assert not at.exception
    assert "密码已修改" in _texts(at)
    new_session = at.session_state[SESSION_ID_KEY]
    assert new_session != old_session
    with session_scope() as session:
        assert resume_session(session, session_id=old_session) is None  # every old session revoked
        assert resume_session(session, session_id=new_session) is not None
    assert at.session_state["authentication_status"] is True
