"""智能助手 on a real database: score answers state the portrait's numbers, an enterprise never gets another
enterprise's data, 免申即享 confirmations are audited and seen by officers, officers improve the answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import clock
from core.assistant import OTHER_ENTERPRISE, _rule_text, number_tokens
from db.models import AssistantQuestion, AuditEvent, Enterprise, ServiceRequest, User
from services import assistant as svc
from services import assistant_curation, policy_calculator
from services.actor import Actor
from services.errors import PermissionDenied, ValidationFailed
from services.portrait import get_portrait
from tests.integration.test_cli import ok, run

SCORE_QUESTIONS = {
    "total_rank": "我的积分是多少，排第几",
    "indicator_why": "为什么我的研发投入强度只得这么点分",
    "next_list": "我离下一个榜单还差多少分",
    "year_change": "我比去年积分涨了还是降了",
    "dynamic_vs_annual": "我的动态积分和年度积分为什么不一样",
    "veto_deduction": "我被扣分了吗",
    "missing_data": "我还缺什么数据",
    "notice_dates": "我的公示什么时候结束",
}


def _actor(session, username: str) -> Actor:  # noqa: ANN001
    user = session.execute(select(User).where(User.username == username)).scalars().one()
    return Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)


def _portrait_numbers(p) -> set[str]:  # noqa: ANN001
    """Every number 我的积分 shows for this portrait (as it formats them), plus the run's model parameters
    for the indicator the answer explains (its bands and caps)."""
    texts = [
        f"{p.total:.2f}",
        f"{p.year}",
        f"{p.run_id}",
        p.model.version,
        f"{p.deduction:.2f}",
        f"{p.missing_count}",
        f"{p.ranked_in_stage}",
    ]
    texts += [f"{v:.2f}" for v in p.subtotals.values()]
    if p.rank is not None:
        texts.append(str(p.rank))
    if p.percentile is not None:
        texts.append(f"{p.percentile:.1f}")
    if p.subsidy:
        texts.append(f"{p.subsidy:g}")
    if p.previous:
        texts += [str(p.previous["year"]), f"{p.previous['total']:.2f}", f"{p.total_change:+.2f}"]
        if p.previous.get("rank"):
            texts.append(str(p.previous["rank"]))
    if p.gap is not None:
        texts += [str(p.gap.rank_needed), f"{p.gap.cutoff_total:.2f}", f"{p.gap.points_needed:.2f}"]
    gains = 0.0
    for move in p.moves:
        gains += move.gain
        texts += [move.action, f"+{move.gain:.2f}"]  # 我的积分: "约 +1.80 分"
    texts.append(f"+{gains:.2f}")
    texts += p.explanations
    for row in p.indicators.itertuples():
        texts += [row.value_text, f"{row.points:.2f}", f"{row.max:g}"]
    texts += [str(p.notice_start), str(p.notice_end)]
    # the 公示 answer: the window closes at 24:00 (Beijing time) of its end day, days left counted from today
    texts += ["24:00", str((p.notice_end - clock.today()).days + 1)]
    ind = p.model.indicator("T02")
    texts.append(_rule_text(ind, p.stage))
    return {t for text in texts for t in number_tokens(str(text))} | {str(i) for i in range(1, 4)}


def test_every_number_in_a_score_answer_is_the_portrait_s(seeded) -> None:  # noqa: ANN001
    """All five demo enterprises, every score intent: the answer names the run and model version and
    states no number the portrait does not show (the list positions 1–3 of 最省力的途径 aside)."""
    for k in range(1, 6):
        actor = _actor(seeded, f"ent{k}")
        p = get_portrait(seeded, actor=actor, enterprise_id=actor.enterprise_id)
        allowed = _portrait_numbers(p)
        for intent, question in SCORE_QUESTIONS.items():
            answer = svc.ask(seeded, actor=actor, question=question).answer
            assert answer.intent == intent, question
            assert answer.run_id == p.run_id and answer.model_version == p.model.version
            assert f"#{p.run_id}" in answer.sources[0] and p.model.version in answer.sources[0]
            stray = set(number_tokens(answer.text)) - allowed
            assert not stray, (f"ent{k}", question, stray, answer.text)
        total = svc.ask(seeded, actor=actor, question="我的总积分").answer.text
        assert f"总积分 {p.total:.2f} 分" in total
        if p.rank is not None:
            assert f"第 {p.rank} 名" in total and f"共 {p.ranked_in_stage} 家" in total


def test_why_not_listed_is_answered_with_the_enterprise_s_rank_and_distance(seeded) -> None:  # noqa: ANN001
    """An owner's "为什么我没上榜" is about their own standing, not a quote of the listing rules: rank and
    the distance to the next list, all from the stored run."""
    answered = 0
    for k in range(1, 6):
        actor = _actor(seeded, f"ent{k}")
        p = get_portrait(seeded, actor=actor, enterprise_id=actor.enterprise_id)
        for question in ("为什么我没上榜", "我们怎么没进榜单", "要多少分才能上榜"):
            answer = svc.ask(seeded, actor=actor, question=question).answer
            assert answer.intent == "next_list", question
            assert answer.run_id == p.run_id
            assert not set(number_tokens(answer.text)) - _portrait_numbers(p), answer.text
            if p.gap is not None and not p.tier:
                answered += 1
                assert f"第 {p.rank} 名" in answer.text and "未上榜" in answer.text
                assert f"还需约 {p.gap.points_needed:.2f} 分" in answer.text
    assert answered, "no demo enterprise below the lists: the test would prove nothing"


def test_a_question_about_money_is_answered_with_the_subsidy_of_the_enterprise_s_stage(seeded) -> None:  # noqa: ANN001
    """ "我能拿到多少补贴" / "能拿多少钱": the own stage's 政策精准扶持 first, eligible or not and why — not
    only a list of services; other calculator questions keep their summary."""
    for k in range(1, 6):
        actor = _actor(seeded, f"ent{k}")
        p = get_portrait(seeded, actor=actor, enterprise_id=actor.enterprise_id)
        items = policy_calculator.policy_calculator(
            seeded, actor=actor, enterprise_id=actor.enterprise_id, portrait=p
        ).items
        own = next(i for i in items if i.key == f"subsidy:{p.stage}")
        for question in ("我能拿到多少补贴", "我们能拿多少钱"):
            answer = svc.ask(seeded, actor=actor, question=question).answer
            assert answer.intent == "calculator", question
            verdict = "符合" if own.outcome == "eligible" else "暂不符合"
            assert answer.text.startswith(f"资金扶持：本企业{verdict}{own.name}。{own.reason}"), answer.text
        other = svc.ask(seeded, actor=actor, question="我符合哪些政策").answer
        assert other.intent == "calculator" and not other.text.startswith("资金扶持")
        loan = next(i for i in items if i.name == "科创指数贷")  # a named product: answered first
        answer = svc.ask(seeded, actor=actor, question="我能申请科创指数贷吗").answer
        assert answer.text.startswith(f"科创指数贷：{loan.outcome_label}。{loan.reason}"), answer.text


def test_a_model_without_a_subsidy_for_the_stage_says_so() -> None:
    text = policy_calculator.calculator_summary([], money_for_stage="growth")
    assert text.startswith("资金扶持：本年度评价模型没有为本企业所在阶段设置政策精准扶持资金。")


def test_another_enterprise_by_name_or_code_gets_no_data_of_it(seeded) -> None:  # noqa: ANN001
    me = _actor(seeded, "ent1")
    other = (
        seeded.execute(
            select(Enterprise)
            .where(Enterprise.id != me.enterprise_id)
            .order_by(Enterprise.id)
            .limit(1)
            .offset(3)
        )
        .scalars()
        .one()
    )
    staff = Actor(username="system", role="system")
    theirs = get_portrait(seeded, actor=staff, enterprise_id=other.id)
    short = svc._name_keys(other.name)[-1]
    for question in (
        f"{other.name}的积分是多少",
        f"{short}排第几名",
        f"统一社会信用代码{other.credit_code}的总分",
        f"{other.credit_code.lower()} 能拿什么补助",
    ):
        result = svc.ask(seeded, actor=me, question=question)
        assert result.answer.intent == OTHER_ENTERPRISE, question
        assert not result.items
        for secret in (other.name, other.credit_code, f"{theirs.total:.2f}"):
            assert secret not in result.answer.text
    with pytest.raises(PermissionDenied):
        svc.ask(seeded, actor=me, question="我的积分是多少", enterprise_id=other.id)
    with pytest.raises(PermissionDenied):
        policy_calculator.policy_calculator(seeded, actor=me, enterprise_id=other.id)
    # the log keeps the questions, but no answer holds the other enterprise's numbers
    logged = seeded.execute(select(AssistantQuestion.answer)).scalars().all()
    assert logged and not any(f"{theirs.total:.2f}" in a for a in logged)
    # the enterprise's own name is fine
    mine = seeded.get(Enterprise, me.enterprise_id)
    assert svc.ask(seeded, actor=me, question=f"{mine.name}的积分是多少").answer.intent == "total_rank"


def test_confirming_an_instant_item_is_audited_and_officers_see_it(seeded) -> None:  # noqa: ANN001
    me = _actor(seeded, "ent1")
    view = policy_calculator.policy_calculator(seeded, actor=me, enterprise_id=me.enterprise_id)
    assert view.run_id is not None and view.items
    instant = [i for i in view.items if i.instant]
    assert instant, [(i.key, i.outcome) for i in view.items]
    item = instant[0]
    row = policy_calculator.confirm_item(seeded, actor=me, enterprise_id=me.enterprise_id, item_key=item.key)
    again = policy_calculator.confirm_item(
        seeded, actor=me, enterprise_id=me.enterprise_id, item_key=item.key
    )
    assert again.id == row.id  # once per enterprise · item · run
    events = (
        seeded.execute(select(AuditEvent).where(AuditEvent.action == "assistant.confirm")).scalars().all()
    )
    assert len(events) == 1 and events[0].actor == "ent1" and events[0].after["item"] == item.key
    if item.kind == "service":  # it reaches 服务需求处理 as a request, too
        assert seeded.execute(
            select(ServiceRequest).where(ServiceRequest.enterprise_id == me.enterprise_id)
        ).first()
    officer = _actor(seeded, "officer1")
    seen = policy_calculator.list_confirmations(seeded, actor=officer)
    assert list(seen["item_name"]) == [item.name] and seen["confirmed_by"].iloc[0] == "ent1"
    assert policy_calculator.policy_calculator(
        seeded, actor=me, enterprise_id=me.enterprise_id
    ).confirmed.get(item.key)
    with pytest.raises(PermissionDenied):
        policy_calculator.list_confirmations(seeded, actor=me)
    with pytest.raises(PermissionDenied):
        policy_calculator.confirm_item(
            seeded, actor=officer, enterprise_id=me.enterprise_id, item_key=item.key
        )
    not_instant = next(i for i in view.items if not i.instant)
    with pytest.raises(ValidationFailed):
        policy_calculator.confirm_item(
            seeded, actor=me, enterprise_id=me.enterprise_id, item_key=not_instant.key
        )


def test_officers_see_unanswered_and_down_voted_questions_and_fix_them(seeded) -> None:  # noqa: ANN001
    me = _actor(seeded, "ent2")
    officer = _actor(seeded, "officer1")
    first = svc.ask(seeded, actor=me, question="青创贷找谁办")
    assert not first.answer.answered and "科技局" in first.answer.text
    svc.ask(seeded, actor=me, question="青创贷找谁办")
    answered = svc.ask(seeded, actor=me, question="公示期多长")
    svc.vote(seeded, actor=me, question_id=answered.question_id, helpful=False)
    with pytest.raises(PermissionDenied):
        assistant_curation.improvement_queue(seeded, actor=me)
    with pytest.raises(Exception, match="不存在"):
        svc.vote(seeded, actor=_actor(seeded, "ent3"), question_id=answered.question_id, helpful=True)
    queue = assistant_curation.improvement_queue(seeded, actor=officer)
    counts = dict(zip(queue["question"], queue["count"], strict=True))
    assert counts == {"青创贷找谁办": 2, "公示期多长": 1}
    assistant_curation.add_answer_clause(
        seeded,
        actor=officer,
        title="创业担保贷款（青创贷）",
        body="创业担保贷款由区人社局受理，贴息按年度计算。",
        question_id=first.question_id,
    )
    assistant_curation.add_synonym(
        seeded, actor=officer, term="青创贷", canonical="创业担保贷款", question_id=first.question_id
    )
    with pytest.raises(PermissionDenied):
        assistant_curation.add_synonym(seeded, actor=me, term="x", canonical="y")
    fixed = svc.ask(seeded, actor=me, question="青创贷找谁办").answer
    assert fixed.answered and "区人社局" in fixed.text and "工作人员补充答复" in fixed.sources[0]
    remaining = assistant_curation.improvement_queue(seeded, actor=officer)
    assert "青创贷找谁办" not in set(remaining["question"])
    actions = set(seeded.execute(select(AuditEvent.action)).scalars())
    assert {"assistant.synonym", "assistant.clause"} <= actions


def test_an_admin_adds_a_policy_text(seeded) -> None:  # noqa: ANN001
    admin = _actor(seeded, "admin")
    officer = _actor(seeded, "officer1")
    text = "# 龙湾区人才新政\n\n## 第一章 安家补贴\n\n### 第一条 博士安家补贴\n\n全职引进的博士给予安家补贴 30 万元。\n"
    with pytest.raises(PermissionDenied):
        assistant_curation.add_document(seeded, actor=officer, filename="人才新政.md", content=text.encode())
    with pytest.raises(ValidationFailed):
        assistant_curation.add_document(seeded, actor=admin, filename="x.exe", content=b"MZ")
    assistant_curation.add_document(
        seeded, actor=admin, filename="人才新政.md", content=text.encode("gb18030")
    )
    answer = svc.ask(seeded, actor=officer, question="博士安家补贴有多少").answer
    assert answer.answered and answer.sources[0].startswith("《龙湾区人才新政》")


def test_staff_choose_the_enterprise_and_are_asked_to(seeded) -> None:  # noqa: ANN001
    officer = _actor(seeded, "officer1")
    plain = svc.ask(seeded, actor=officer, question="我的积分是多少").answer
    assert not plain.answered and "选择一家企业" in plain.text
    ent = _actor(seeded, "ent3")
    chosen = svc.ask(seeded, actor=officer, question="总积分多少", enterprise_id=ent.enterprise_id).answer
    p = get_portrait(seeded, actor=officer, enterprise_id=ent.enterprise_id)
    assert f"{p.total:.2f}" in chosen.text


def test_cli_ask_prints_answer_intent_and_sources(tmp_path) -> None:  # noqa: ANN001
    db = tmp_path / "demo.db"
    ok(run("init-db", db=db))
    ok(run("seed-demo", "--enterprises", "40", db=db))
    out = ok(run("ask", "--as", "ent1", "我的积分是多少", db=db)).stdout
    assert "总积分" in out and "意图：总积分与排名" in out and "积分批次 #" in out
    out = ok(run("ask", "--as", "ent1", "科小入库要什么条件", db=db)).stdout
    assert "意图：政策问答" in out and "依据：《企业发现培育与应用场景》" in out
    result = run("ask", "--as", "nobody", "你好", db=db)
    assert result.returncode == 1 and "不存在" in result.stderr and "Traceback" not in result.stderr
