"""智能助手 on a real database: an owner's deadline question ("异议截止到几号", "还剩几天") is answered with
the stored run's own 公示 dates and the days left counted on the Beijing day (the clock frozen before the
data is created), and says plainly when nothing is in 公示; an officer's statistics question ("成长期有多少家
企业") is answered with the published run's counts and averages as 首页 shows them — never a policy quote,
never a number the run does not hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlmodel import Session

from core import clock
from core.assistant import number_tokens
from db.models import ScoreRun, User
from demo import seed_demo
from services import assistant as svc
from services import objections
from services.actor import Actor
from services.public import public_overview
from services.runs import finalize_run

DEADLINE_QUESTIONS = [
    "异议截止到几号",
    "公示到什么时候",
    "什么时候可以提异议",
    "还能提异议吗",
    "异议期还剩几天",
    "我们还有几天可以申诉",
]
SEEDED_AT = "2026-12-01 02:00"  # 10:00 on 1 December in Beijing: the demo's notice runs 12-01 … 12-08


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _actor(session: Session, username: str) -> Actor:
    user = session.execute(select(User).where(User.username == username)).scalars().one()
    return Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)


def _seed(session: Session) -> ScoreRun:
    with clock.frozen(utc(SEEDED_AT)):
        seed_demo(session, enterprises=60)
    run = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()
    assert (run.notice_start, run.notice_end) == (date(2026, 12, 1), date(2026, 12, 8))
    return run


def test_an_owner_s_deadline_question_gets_the_run_s_dates_and_the_days_left(session: Session) -> None:
    run = _seed(session)
    owner, officer = _actor(session, "ent1"), _actor(session, "officer1")
    # 17:00 UTC on 5 December is already 6 December in Beijing: 6, 7 and 8 December are left.
    with clock.frozen(utc("2026-12-05 17:00")):
        for asker in (owner, officer):  # staff need not choose an enterprise: the dates are the run's
            for question in DEADLINE_QUESTIONS:
                answer = svc.ask(session, actor=asker, question=question).answer
                assert answer.intent == "notice_dates", (question, answer.text)
                assert "根据《" not in answer.text  # not a quote of the rules
                assert "2026-12-01 至 2026-12-08" in answer.text, answer.text
                assert "截至 2026-12-08 24:00（北京时间）" in answer.text
                assert "还剩 3 天（含今天）" in answer.text
                assert answer.run_id == run.id and f"#{run.id}（公示中）" in answer.sources[0]


def test_the_days_left_end_when_objections_stop_being_accepted(session: Session) -> None:
    """The last minute of the end day in Beijing still counts one day; a minute later the window is over,
    exactly when services.objections stops accepting objections."""
    run = _seed(session)
    owner = _actor(session, "ent2")
    with clock.frozen(utc("2026-12-08 15:59")):
        assert objections.window_open(run)
        text = svc.ask(session, actor=owner, question="异议期还剩几天").answer.text
        assert "还剩 1 天（含今天）" in text
    with clock.frozen(utc("2026-12-08 16:01")):
        assert not objections.window_open(run)
        text = svc.ask(session, actor=owner, question="异议期还剩几天").answer.text
        assert "已结束" in text and "不再受理" in text and "还剩" not in text
        assert "2026-12-01 至 2026-12-08" in text


def test_without_a_run_in_notice_the_answer_says_so(session: Session) -> None:
    run = _seed(session)
    with clock.frozen(utc("2026-12-10 02:00")):
        finalize_run(session, actor=Actor.system(), run_id=run.id)
        session.commit()
        answer = svc.ask(session, actor=_actor(session, "ent1"), question="异议截止到几号").answer
    assert answer.intent == "notice_dates"
    assert answer.text.startswith("目前没有正在公示的积分")
    assert f"{run.year} 年度积分已定稿" in answer.text and "2026-12-01 至 2026-12-08" in answer.text


def test_with_nothing_published_both_answers_say_so(session: Session) -> None:
    officer = Actor(username="officer1", role="officer", user_id=None)
    deadline = svc.ask(session, actor=officer, question="公示到什么时候").answer
    assert deadline.intent == "notice_dates" and deadline.run_id is None
    assert deadline.text.startswith("目前没有正在公示的积分，也没有已发布的积分结果")
    stats = svc.ask(session, actor=officer, question="今年有多少企业上榜").answer
    assert stats.intent == "run_stats" and stats.run_id is None
    assert stats.text.startswith("暂无已发布的积分结果")


def test_statistics_questions_get_the_published_run_s_figures(session: Session) -> None:
    run = _seed(session)
    overview = public_overview(session)
    assert overview is not None and overview.run_id == run.id
    table = overview.by_stage.set_index("阶段")
    # every number 首页 shows for this run, as it shows them (counts, averages to two decimals)
    shown = {str(overview.year), str(overview.evaluated), str(overview.ranked), str(overview.on_lists)}
    for _, row in table.iterrows():
        shown |= {
            str(int(row[c])) for c in ("参评企业", "参与排名", "创新领跑榜", "创新竞跑榜", "创新进取榜")
        }
        if row["平均积分"] == row["平均积分"]:
            shown.add(f"{row['平均积分']:.2f}")
    officer = _actor(session, "officer1")
    with clock.frozen(utc("2026-12-03 02:00")):
        answers = {
            q: svc.ask(session, actor=officer, question=q).answer
            for q in ("今年有多少企业上榜", "成长期有多少家企业", "领跑榜有几家", "平均分多少")
        }
        owner_view = svc.ask(session, actor=_actor(session, "ent3"), question="今年有多少企业上榜").answer
    for question, answer in answers.items():
        assert answer.intent == "run_stats", question
        assert "根据《" not in answer.text, question  # never a policy quote
        assert answer.run_id == run.id and f"#{run.id}" in answer.sources[0]
        stray = {t for t in number_tokens(answer.text) if t not in shown}
        assert not stray, (question, stray, answer.text)
    assert f"上榜企业 {overview.on_lists} 家" in answers["今年有多少企业上榜"].text
    growth = table.loc["成长期"]
    text = answers["成长期有多少家企业"].text
    assert f"成长期：参评 {int(growth['参评企业'])} 家，参与排名 {int(growth['参与排名'])} 家" in text
    assert "种子期：" not in text  # the stage asked about, not every stage
    leaders = answers["领跑榜有几家"].text
    for stage, row in table.iterrows():
        assert f"{stage}：参评 {int(row['参评企业'])} 家" in leaders
        assert f"创新领跑榜 {int(row['创新领跑榜'])} 家" in leaders
    assert "创新竞跑榜" not in leaders
    mean = answers["平均分多少"].text
    for stage, row in table.iterrows():
        if row["参与排名"]:
            assert f"{stage}：平均积分 {row['平均积分']:.2f} 分" in mean
    # published aggregates: an owner asking gets the same figures as the officer
    assert owner_view.text == answers["今年有多少企业上榜"].text
