"""On real stores: the audit log, the model diff and the import diff speak in words.

* a model edit is audited as "T01 研发费用总额 · 各阶段分值 · 种子期 6 → 8", and 审计日志 shows it with its
  action, object and role in Chinese — no JSON, no ``submission.approve`` / ``ScoreRun`` / ``blocked_until``;
* 评价模型's 版本对比 names indicators and stages, never ``indicators[T01].points.seed`` or ``None``;
* a department file with 总成本费用 shows that name in the import diff and its filter, never ``total_cost``.
"""

from __future__ import annotations

import copy
import io
import re

import openpyxl
from sqlalchemy import insert, select
from sqlmodel import Session

from core.credit_code import make_code
from db.models import AuditEvent, Enterprise
from demo import seed_demo
from services import audit, imports, model_versions, model_workbench
from services.actor import Actor

ADMIN = Actor(username="admin", role="admin", user_id=1)
OFFICER = Actor(username="officer1", role="officer", user_id=2)
# Latin letters allowed in an audit row: checksums (hex), indicator codes before a name, user names.
ALLOWED = re.compile(r"[0-9a-f]{12,}|\b[A-Z]\d{2}(?= )|\b(admin|officer\d+|ent\d+)\b|[A-D]级")


def _draft(session: Session):  # noqa: ANN202
    published = model_versions.active_model_version(session)
    return model_versions.register_model(
        session, actor=ADMIN, definition=published.definition, parent_id=published.id
    )


def test_a_model_edit_is_audited_and_shown_in_words(session: Session) -> None:
    seed_demo(session, enterprises=30, with_runs=False)
    model_versions.ensure_default_model(session)
    draft = _draft(session)
    edited = copy.deepcopy(draft.definition)
    by_code = {i["code"]: i for i in edited["indicators"]}
    by_code["T01"]["points"]["seed"] += 2
    by_code["T02"]["points"]["seed"] -= 2
    before_t01 = int(draft.definition["indicators"][0]["points"]["seed"])
    model_versions.update_draft(session, actor=ADMIN, version_id=draft.id, definition=edited)
    event = (
        session.execute(select(AuditEvent).where(AuditEvent.action == "model.update_draft")).scalars().one()
    )
    assert f"T01 研发费用总额 · 各阶段分值 · 种子期 {before_t01} → {before_t01 + 2}" in event.after["changes"]

    # a blocked account and an approval next to it, then the page's frame of the whole log
    audit.record(
        session,
        actor=Actor.system(),
        action="throttle_account",
        entity="user",
        entity_id=3,
        after={"blocked_until": "2026-12-06T08:03:00+00:00", "failures": 5},
    )
    session.commit()
    shown = audit.display_frame(audit.query_events(session, actor=OFFICER))
    row = shown[shown["操作"] == "修改评价模型草稿"].iloc[0]
    assert row["对象"] == "评价模型版本" and row["角色"] == "系统管理员"
    assert f"修改内容 T01 研发费用总额 · 各阶段分值 · 种子期 {before_t01} → {before_t01 + 2}" in row["变更后"]
    blocked = shown[shown["操作"] == "登录失败过多，暂时锁定"].iloc[0]
    assert blocked["变更后"].startswith("锁定至 2026-12-06 16:03")
    for column in ("操作", "对象", "角色", "变更前", "变更后"):
        for text in shown[column].astype(str):
            assert not re.search(r"[{}\[\]\"]|None", text), (column, text)
            assert not re.search(r"[A-Za-z]", ALLOWED.sub("", text)), (column, text)

    diff = model_workbench.diff_versions(session, actor=ADMIN, version_a=draft.parent_id, version_b=draft.id)
    assert "T01 研发费用总额 · 各阶段分值 · 种子期" in set(diff["字段"])
    assert not diff.apply(lambda r: r.astype(str).str.contains(r"None|indicators\[|points\.")).any().any()


def test_a_base_field_is_named_in_the_import_diff(session: Session) -> None:
    codes = [make_code(str(500 + i)) for i in range(3)]
    session.execute(
        insert(Enterprise), [{"credit_code": c, "name": f"温州测试企业{i}"} for i, c in enumerate(codes)]
    )
    session.commit()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(["统一社会信用代码", "企业名称", "总成本费用", "研发费用总额"])
    for i, code in enumerate(codes):
        sheet.append([code, f"温州测试企业{i}", 300 + i, 20 + i])
    buffer = io.BytesIO()
    book.save(buffer)
    report = imports.dry_run_import(
        session, actor=OFFICER, department="税务", year=2025, file_name="税务.xlsx", data=buffer.getvalue()
    )
    session.commit()
    frame = report.diff_frame()
    assert set(frame["指标"]) == {"总成本费用", "研发费用总额"}
    assert "total_cost" not in frame.to_csv()
    assert set(report.diff_codes().values()) == {"总成本费用", "研发费用总额（T01）"}
