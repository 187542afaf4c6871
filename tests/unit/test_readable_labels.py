"""Raw codes never reach a screen — the audit trail's one label map (core.audit_labels) and
the model diff's words (core.model_diff)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core import audit_labels, model_diff
from core.model_loading import load_model
from core.workflows import OBJECTION, SERVICE_REQUEST

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "core" / "models"
# the other data files beside the scoring models: pool definitions, self-report forms, the service catalogue
NOT_SCORING_MODELS = ("pools", "self_report", "services")
LATIN = re.compile(r"[A-Za-z]")


def _recorded(name: str) -> set[str]:
    """Every literal the audit calls of the services (and the demo seed) pass as ``name`` (action / entity)."""
    found: set[str] = set()
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "demo").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"\brecord\(|AuditEvent\(", text):
            window = text[call.end() : call.end() + 400]
            match = re.search(rf'(?:\b{name}=|"{name}": )(f?"[^"]+"(?: if \w+ else "[^"]+")?)', window)
            if match and not match.group(1).startswith("f"):
                found.update(re.findall(r'"([A-Za-z_.]+)"', match.group(1)))
        if name == "action":  # helpers that record on a caller's behalf take the action as their first text
            for call in re.finditer(r"(?<!def )\b_(?:audit_decision|record_\w+)(?:\.add)?\(", text):
                literal = re.search(r'(f?)"([^"\n]*)"', text[call.end() : call.end() + 200])
                if literal and not literal.group(1):
                    found.add(literal.group(2))
        if name == "entity":  # a services.audit.Recorder names its entity once
            found.update(re.findall(r'\bRecorder\("([A-Za-z_]+)"', text))
    return found


def test_every_recorded_action_and_object_has_a_chinese_label() -> None:
    actions = _recorded("action")
    actions |= {f"objection.{a}" for a in OBJECTION.action_labels} | {"objection.file"}
    actions |= {f"service_request.{a}" for a in SERVICE_REQUEST.action_labels}
    entities = _recorded("entity")
    assert {"submission.approve", "run.publish", "model.update_draft", "login"} <= actions
    assert {"ScoreRun", "user", "ModelVersion"} <= entities
    assert sorted(actions - set(audit_labels.ACTIONS)) == []
    assert sorted(entities - set(audit_labels.ENTITIES)) == []
    for label in [
        *audit_labels.ACTIONS.values(),
        *audit_labels.ENTITIES.values(),
        *audit_labels.FIELDS.values(),
    ]:
        assert not LATIN.search(label), label


def test_before_and_after_read_as_words_never_json() -> None:
    record = {
        "state": "notice",
        "notice_start": "2026-12-06",
        "superseded": [],
        "blocked_until": datetime(2026, 12, 6, 8, 3, tzinfo=UTC).isoformat(),
        "address": "::ffff:10.0.0.7",
        "active": False,
    }
    text = audit_labels.record_text(record)
    assert (
        text
        == "状态 公示中；公示开始 2026-12-06；被替代的批次 （无）；锁定至 2026-12-06 16:03；登录地址 10.0.0.7；启用 否"
    )
    assert not re.search(r"[{}\[\]\"]|[A-Za-z]", text)
    assert audit_labels.action_label("submission.approve") == "填报审核通过"
    assert audit_labels.entity_label("ScoreRun") == "积分批次"
    assert audit_labels.role_label("officer") == "工作人员"
    # a code this map does not know still reads in Chinese
    assert audit_labels.action_label("something.new") == "其他操作"
    assert audit_labels.record_text({"mystery_field": 1}) == "其他信息 1"


def test_a_model_edit_reads_as_what_changed() -> None:
    before = load_model().to_dict()
    after = copy.deepcopy(before)
    next(i for i in after["indicators"] if i["code"] == "T01")["points"]["seed"] = 8
    after["meta"]["note"] = None
    assert model_diff.change_sentences(before, after) == [
        f"模型信息 · 说明 {before['meta']['note']} → （无）",
        "T01 研发费用总额 · 各阶段分值 · 种子期 6 → 8",
    ]


@pytest.mark.parametrize(
    "model_file",
    sorted(p.name for p in MODELS.glob("*.toml") if not any(k in p.stem for k in NOT_SCORING_MODELS)),
)
def test_every_field_of_a_shipped_model_has_a_chinese_label(model_file: str) -> None:
    definition = load_model(MODELS / model_file).to_dict()
    names = model_diff._names(definition)
    for path in model_diff.flatten(definition):
        label = model_diff.path_label(path, names)
        # an indicator's code before its name is the model's own identifier (as in 指标体系)
        words = re.sub(r"(^| · )[A-Z]+\d+ ", r"\1", label)
        words = re.sub(r"[A-D] ?级|PCT(?=专利)", "", words)  # 纳税信用A级, PCT专利: in indicator names
        assert not LATIN.search(words), (path, label)
        assert "其他设置" not in label, (path, label)


def test_an_assistant_item_reads_by_its_kind_never_its_code() -> None:
    """智能助手 records the item's stable key; the audit page showed "事项 service:financing"."""
    from core.assistant_calc import ServiceOffer, no_run_items

    model = load_model(MODELS / "longwan-2022.toml")
    offers = [ServiceOffer("financing", "投融资对接", None), ServiceOffer("loan", "科技贷", None, "某银行")]
    items = no_run_items(model, offers, "尚无公示")
    assert {i.key.partition(":")[0] for i in items} >= {"subsidy", "list", "service", "bank"}
    for item in items:
        text = audit_labels.record_text(
            {"enterprise_id": 180, "run_id": 2, "item": item.key, "name": item.name}
        )
        assert not LATIN.search(text), text
    assert audit_labels.value_text("service:financing", "item") == "企业服务"
    assert audit_labels.value_text("list:竞跑", "item") == "创新榜单：竞跑"


def test_a_self_report_record_reads_by_indicator_names_and_hides_row_identities() -> None:
    """save_submission / add_attachment records are keyed by indicator code and carry each list row's uid."""
    names = {"T12": "T12 主导制定标准", "T05": "T05 研发人员数"}
    saved = {
        "items": {
            "T05": 2,
            "T12": [
                {
                    "uid": "c36ddec5",
                    "name": "上传通道检查标准",
                    "number": "T/WZ 024-2025",
                    "level": "团体",
                    "role": "主导",
                    "year": 2025,
                }
            ],
        }
    }
    text = audit_labels.record_text(saved, names)
    assert text == (
        "填报内容 T05 研发人员数 2，T12 主导制定标准 名称 上传通道检查标准，编号 T/WZ 024-2025，"
        "级别 团体，角色 主导，年度 2025"
    )
    attached = {
        "submission_id": 475,
        "item_code": "T12:c36ddec5",
        "file_name": "证明材料.pdf",
        "sha256": "5a83",
    }
    assert audit_labels.record_text(attached, names) == (
        "填报编号 475；填报项 T12 主导制定标准；文件名 证明材料.pdf；文件校验码 5a83"
    )
    assert "其他信息" not in text


def test_a_bank_api_call_reads_in_chinese() -> None:
    """Calls through the banks' interface act as "api:<bank>" or an unknown token, on an address."""
    assert audit_labels.actor_label("api:温州银行龙湾支行") == "接口：温州银行龙湾支行"
    assert audit_labels.actor_label("unknown-token") == "未识别的接口令牌"
    assert audit_labels.actor_label("system") == "系统"
    assert audit_labels.actor_label("officer1") == "officer1"
    text = audit_labels.record_text({"path": "/api/v1/whitelist", "status": 401})
    assert text == "接口地址 推荐名单接口；状态 401"
