"""The one readable-label map of the audit trail: actions, objects, roles and the fields of before/after.

The audit rows keep their codes (``submission.approve``, ``ScoreRun``, ``blocked_until``): they are what
the hash chain covers and what filters match. Screens and exports show them through this module:
"审核通过", "积分批次", "锁定至 2026-12-06 16:03". A code missing here still shows in Chinese
("其他操作（…）" is never needed: a unit test checks every action and object the services record).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from core.assistant_calc import KIND_LABELS
from core.clock import display_time
from core.workflows import MODEL_VERSION_STATES, OBJECTION, SCORE_RUN, SERVICE_REQUEST, SUBMISSION, SUBSIDY

ACTIONS: dict[str, str] = {
    "login": "登录",
    "throttle_account": "登录失败过多，暂时锁定",
    "change_password": "修改密码",
    "reset_password": "重置密码",
    "create_user": "创建账户",
    "change_role": "变更角色",
    "deactivate_user": "停用账户",
    "reactivate_user": "启用账户",
    "unlock_user": "解除锁定",
    "end_sessions": "强制下线",
    "create_submission": "新建填报",
    "save_submission": "保存填报草稿",
    "submit_submission": "提交填报",
    "add_attachment": "上传证明材料",
    "remove_attachment": "删除证明材料",
    "submission.approve": "填报审核通过",
    "submission.return": "退回填报",
    "submission.unapprove": "撤销审核通过",
    "submission.correct": "申请更正已通过的填报",
    "value.correct": "更正部门数据",
    "import.dry_run": "导入预检",
    "import.commit": "导入部门数据",
    "import.undo": "撤销导入",
    "run.compute": "计算积分",
    "run.publish": "开始公示",
    "run.finalize": "定稿",
    "run.supersede": "批次被替代",
    "run.verify": "复核批次",
    "dynamic.recompute": "动态积分重算",
    "objection.file": "提出异议",
    "objection.uphold": "采纳异议",
    "objection.reject": "驳回异议",
    "service_request.take": "受理服务申请",
    "service_request.answer": "答复服务申请",
    "service_request.close": "办结服务申请",
    "service_request.decline": "不予受理服务申请",
    "request_service": "申请服务",
    "service_item.update": "修改服务目录项",
    "service_item.add": "新增服务目录项",
    "model.import": "导入评价模型",
    "model.import_default": "导入默认评价模型",
    "model.publish": "发布评价模型",
    "model.update_draft": "修改评价模型草稿",
    "bank_consent.give": "授权银行推荐",
    "bank_consent.withdraw": "撤回银行推荐授权",
    "bank_whitelist.export": "导出银行推荐名单",
    "search.export": "导出检索结果",
    "seed_demo": "生成演示数据",
    "objection.merge": "合并重复异议",
    "assistant.confirm": "智能助手：确认免申即享",
    "assistant.synonym": "智能助手：添加同义词",
    "assistant.clause": "智能助手：添加政策条款",
    "assistant.document": "智能助手：上传政策文件",
    "subsidy.confirm": "企业确认扶持资金",
    "subsidy.pay": "登记扶持资金拨付",
    "subsidy.refuse": "扶持资金不予拨付",
    "database.backup": "备份数据库",
    "database.restore": "从备份恢复数据库",
    "bank_portal.export": "合作银行下载推荐名单",
    "loan_outcome.app": "合作银行录入贷款结果",
    "loan_outcome.file": "合作银行导入贷款结果文件",
    "loan_outcome.api": "合作银行经接口报送贷款结果",
    "bank_token.create": "创建银行接口令牌",
    "bank_token.revoke": "撤销银行接口令牌",
    "bank_api.whitelist": "银行接口：查询推荐名单",
    "bank_api.outcomes": "银行接口：报送贷款结果",
    "bank_api.refused": "银行接口：拒绝调用",
}
ENTITIES: dict[str, str] = {
    "user": "账户",
    "submission": "填报",
    "Submission": "填报",
    "attachment": "证明材料",
    "ImportBatch": "导入批次",
    "ScoreRun": "积分批次",
    "Objection": "异议",
    "ModelVersion": "评价模型版本",
    "Enterprise": "企业",
    "service_request": "服务申请",
    "ServiceRequest": "服务申请",
    "ServiceItem": "服务目录项",
    "DynamicState": "动态积分",
    "database": "数据库",
    "assistant_confirmation": "免申即享确认",
    "assistant_synonym": "智能助手同义词",
    "assistant_text": "政策文本",
    "subsidy_payment": "扶持资金拨付",
    "LoanOutcome": "贷款结果",
    "BankToken": "银行接口令牌",
}
ROLES: dict[str, str] = {
    "enterprise": "企业用户",
    "officer": "工作人员",
    "admin": "系统管理员",
    "bank": "合作银行",
    "system": "系统",
}
# Fields of the before/after records.
FIELDS: dict[str, str] = {
    "active": "启用",
    "address": "登录地址",
    "answer": "答复",
    "attachment": "证明材料",
    "attachments": "证明材料",
    "bank": "银行",
    "bank_consent": "银行推荐授权",
    "bank_consent_at": "授权时间",
    "blocked_until": "锁定至",
    "bulk": "批量",
    "code": "代码",
    "columns": "列",
    "committed": "已写入",
    "count": "数量",
    "credit_code": "统一社会信用代码",
    "credit_codes": "统一社会信用代码",
    "criteria": "筛选条件",
    "current_values": "现有数值",
    "department": "部门",
    "differing_enterprises": "结果不同的企业",
    "draft": "草稿",
    "dry_run": "预检",
    "enterprise": "企业",
    "enterprise_count": "企业数",
    "enterprise_id": "企业编号",
    "enterprises": "企业数",
    "errors": "错误数",
    "field_comments": "逐项意见",
    "file": "文件",
    "file_name": "文件名",
    "fingerprint": "校验码",
    "fingerprint_matches": "校验码一致",
    "flags": "待核实数",
    "format": "格式",
    "handled_by": "经办人",
    "header": "表头",
    "identical": "复核一致",
    "indicator_code": "指标",
    "input_fingerprint": "数据校验码",
    "item_code": "填报项",
    "items": "填报内容",
    "left_alone": "保留未改",
    "mode": "方式",
    "model_version_id": "模型版本编号",
    "name": "名称",
    "note": "说明",
    "notice": "公示",
    "notice_end": "公示结束",
    "notice_start": "公示开始",
    "open": "待处理",
    "owner": "所属企业",
    "parent_id": "来源版本编号",
    "published": "已发布",
    "records": "记录数",
    "replaced_by": "替代为",
    "replaced_values": "被替换的数值",
    "restored": "恢复数",
    "reverted": "撤销数",
    "role": "角色",
    "rows": "行数",
    "run_id": "积分批次",
    "seconds": "用时（秒）",
    "service": "服务",
    "service_needs": "服务需求",
    "service_request": "服务申请",
    "sessions_revoked": "下线会话数",
    "size": "大小",
    "skipped": "跳过数",
    "state": "状态",
    "status": "状态",
    "submission_id": "填报编号",
    "superseded": "被替代的批次",
    "superseded_by": "替代批次",
    "through_seq": "截至序号",
    "unmapped": "未识别的列",
    "username": "用户名",
    "values": "数值",
    "values_written": "写入数值",
    "version": "版本",
    "year": "年度",
    "changes": "修改内容",
    "reason": "理由",
    "total": "总积分",
    "tier": "榜单",
    "stage": "阶段",
    "rank": "排名",
    "query": "检索条件",
    "seed": "随机种子",
    "item": "事项",
    "term": "词语",
    "canonical": "标准说法",
    "title": "标题",
    "filename": "文件名",
    "bytes": "大小（字节）",
    "sha256": "文件校验码",
    "store": "数据库类型",
    "amount": "金额（万元）",
    "paid_on": "拨付日期",
    "voucher": "拨付凭证号",
    "number": "编号",
    "level": "级别",
    "duplicates": "已报送过（未重复写入）",
    "hint": "令牌开头",
    "path": "接口地址",
    "decision": "决定",
    "provider": "提供单位",
    "stages": "适用阶段",
}
# Keys a record keeps for the system alone: a self-report list row's identity.
INTERNAL_FIELDS = {"uid"}
# State codes of the workflows, read as their Chinese labels wherever a field holds one.
STATES: dict[str, str] = {
    **SUBMISSION.labels,
    **SCORE_RUN.labels,
    **SERVICE_REQUEST.labels,
    **OBJECTION.labels,
    **SUBSIDY.labels,
    **MODEL_VERSION_STATES,
    "open": "待处理",
}
# 授信 / 放款 / 拒绝 of a bank's loan outcome (core.loans.DECISIONS; kept here so this module stays a leaf)
DECISIONS: dict[str, str] = {"credit": "授信", "loan": "放款", "reject": "拒绝"}
CODED_FIELDS = {"state": STATES, "status": STATES, "draft": STATES, "role": ROLES, "decision": DECISIONS}
# 智能助手 items are recorded by their stable key ("service:financing", "subsidy:growth"); the record's
# ``name`` carries the readable name, so a key reads as its kind (and a Chinese code, e.g. a list's).
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


_WORKFLOWS = {
    "objection": ("异议", OBJECTION),
    "service_request": ("服务申请", SERVICE_REQUEST),
    "submission": ("填报", SUBMISSION),
    "run": ("积分批次", SCORE_RUN),
    "subsidy": ("扶持资金", SUBSIDY),
}


def action_label(action: str | None) -> str:
    """The action in words; a workflow step this map does not list yet reads by its workflow's own label."""
    if not action:
        return ""
    if action in ACTIONS:
        return ACTIONS[action]
    prefix, _, step = action.partition(".")
    if prefix in _WORKFLOWS and step in _WORKFLOWS[prefix][1].action_labels:
        name, workflow = _WORKFLOWS[prefix]
        return f"{workflow.action_labels[step]}{name}"
    return "其他操作"


def entity_label(entity: str | None) -> str:
    if not entity:
        return ""
    return ENTITIES.get(entity, "其他对象")


def role_label(role: str | None) -> str:
    return ROLES.get(role or "", "") if role else ""


# Who acted when nobody logged in: the system, a bank's system through its API token, a caller whose
# token matched none.
ACTORS: dict[str, str] = {"system": "系统", "unknown-token": "未识别的接口令牌"}
API_ACTOR_PREFIX = "api:"
# The banks' interface (api/routes.py), by what each address does.
API_PATHS: dict[str, str] = {"/api/v1/whitelist": "推荐名单接口", "/api/v1/outcomes": "贷款结果报送接口"}


def actor_label(actor: str | None) -> str:
    """The acting account as people read it: 系统, 接口：温州银行龙湾支行, or the user name."""
    if not actor:
        return ""
    if actor.startswith(API_ACTOR_PREFIX):
        return f"接口：{actor.removeprefix(API_ACTOR_PREFIX)}"
    return ACTORS.get(actor, actor)


def field_label(key: str, names: dict[str, str] | None = None) -> str:
    """A field's label; a key that is itself a code (a report's items are keyed by indicator) reads by
    its name in ``names``."""
    return FIELDS.get(key) or (names or {}).get(key) or "其他信息"


def _fields_text(record: dict, names: dict[str, str] | None, sep: str) -> str:
    return sep.join(
        f"{field_label(str(k), names)} {value_text(v, str(k), names)}"
        for k, v in record.items()
        if k not in INTERNAL_FIELDS
    )


def value_text(value: Any, key: str | None = None, names: dict[str, str] | None = None) -> str:
    """A recorded value in words: 是/否, （无）, Beijing times, the state or role label of a state or role
    field (``key``), lists and records joined."""
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, datetime | date):
        return display_time(value) or str(value)
    if isinstance(value, list | tuple):
        return "、".join(value_text(v, key, names) for v in value) if value else "（无）"
    if isinstance(value, dict):
        return _fields_text(value, names, "，") or "（无）"
    text = str(value)
    if key == "address":  # an IPv4 client seen through an IPv6 socket: the address people know
        return text.removeprefix("::ffff:")
    if _ISO_TIME.match(text):
        try:
            return display_time(datetime.fromisoformat(text)) or text
        except ValueError:
            return text
    if key == "path" and text in API_PATHS:
        return API_PATHS[text]
    if key == "item_code" and ":" in text:  # an evidence file's item: "T12:<row uid>" → the indicator
        code = text.partition(":")[0]
        return (names or {}).get(code, code)
    if key == "item" and ":" in text:
        kind, _, code = text.partition(":")
        kind_text = KIND_LABELS.get(kind, "其他事项")
        return kind_text if code.isascii() else f"{kind_text}：{code}"
    coded = CODED_FIELDS.get(key or "", {})
    if text in coded:
        return coded[text]
    return (names or {}).get(text, text)


def record_text(record: dict | None, names: dict[str, str] | None = None) -> str:
    """A before/after record as "状态 公示中；公示开始 2026-12-06" (never JSON); ``names``: codes the
    records hold (service items, model classes, indicators) → their names."""
    if not record:
        return ""
    return _fields_text(record, names, "；")
