"""Declarative state machines of the workflows (design.md, "Workflows").

``services/`` asks :func:`transition` for the next state; an action that the current state does not
allow raises :class:`TransitionError` with a Chinese message, so every service enforces the same rules
and the pages only decide which buttons to show (:func:`allowed_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass


class TransitionError(ValueError):
    """The action is not allowed in the current state."""


@dataclass(frozen=True)
class Workflow:
    name: str
    labels: dict[str, str]  # state → Chinese label
    transitions: dict[tuple[str, str], str]  # (state, action) → next state
    action_labels: dict[str, str]
    reason_required: frozenset[str] = frozenset()

    def next_state(self, state: str, action: str) -> str:
        try:
            return self.transitions[(state, action)]
        except KeyError:
            raise TransitionError(
                f"{self.name}当前状态为「{self.labels.get(state, state)}」，不能执行「"
                f"{self.action_labels.get(action, action)}」。"
            ) from None

    def allowed_actions(self, state: str) -> list[str]:
        return [action for (current, action) in self.transitions if current == state]


SUBMISSION = Workflow(
    name="填报",
    labels={"draft": "草稿", "submitted": "待审核", "returned": "已退回", "approved": "已通过"},
    transitions={
        ("draft", "save"): "draft",
        ("draft", "submit"): "submitted",
        ("returned", "save"): "returned",
        ("returned", "submit"): "submitted",
        ("submitted", "approve"): "approved",
        ("submitted", "return"): "returned",
        # Unapproving reopens the report for the enterprise; the approved values stay until replaced.
        ("approved", "unapprove"): "returned",
        # The enterprise reopens its approved report to correct it while the year's reporting window is
        # open (until the year's results are final); the approved values count until the correction is.
        ("approved", "correct"): "draft",
    },
    action_labels={
        "save": "保存草稿",
        "submit": "提交",
        "approve": "审核通过",
        "return": "退回",
        "unapprove": "撤销通过",
        "correct": "申请更正",
    },
    reason_required=frozenset({"return", "unapprove"}),  # "correct": its service asks for the reason
)

SCORE_RUN = Workflow(
    name="积分计算批次",
    labels={"draft": "草稿", "notice": "公示中", "final": "已定稿", "superseded": "已被替代"},
    transitions={
        ("draft", "publish"): "notice",
        ("notice", "finalize"): "final",
        ("draft", "supersede"): "superseded",
        ("notice", "supersede"): "superseded",
    },
    action_labels={"publish": "开始公示", "finalize": "定稿", "supersede": "替代"},
)

OBJECTION = Workflow(
    name="异议",
    labels={"open": "待处理", "upheld": "已采纳", "rejected": "已驳回"},
    transitions={("open", "uphold"): "upheld", ("open", "reject"): "rejected"},
    action_labels={"uphold": "采纳", "reject": "驳回"},
    reason_required=frozenset({"uphold", "reject"}),
)

SERVICE_REQUEST = Workflow(
    name="服务申请",
    labels={"open": "待受理", "accepted": "已受理", "done": "已完成", "declined": "未受理"},
    transitions={
        ("open", "take"): "accepted",
        ("accepted", "answer"): "accepted",
        ("accepted", "close"): "done",
        ("open", "decline"): "declined",
        ("accepted", "decline"): "declined",
    },
    action_labels={"take": "受理", "answer": "答复", "close": "办结", "decline": "不予受理"},
    reason_required=frozenset({"answer", "decline"}),
)

# A subsidy line of a final run (an enterprise with 扶持金额 > 0): the enterprise confirms it (on 政策与服务
# or from the 免申即享 list), then staff record the payment (date and voucher) or decline it with a reason.
# A line nobody has acted on is 待确认 (it has no row yet). Declining an unconfirmed line is allowed (a firm
# deregistered, or one that never confirms before the budget closes); it asks for the reason all the same.
SUBSIDY = Workflow(
    name="扶持资金",
    labels={"pending": "待确认", "confirmed": "企业已确认", "paid": "已拨付", "refused": "不予拨付"},
    transitions={
        ("pending", "confirm"): "confirmed",
        ("confirmed", "pay"): "paid",
        ("confirmed", "refuse"): "refused",
        ("pending", "refuse"): "refused",
    },
    action_labels={"confirm": "企业确认", "pay": "登记拨付", "refuse": "不予拨付"},
    reason_required=frozenset({"refuse"}),
)


def transition(workflow: Workflow, state: str, action: str, *, reason: str | None = None) -> str:
    """The next state, or :class:`TransitionError`; actions in ``reason_required`` need a reason."""
    next_state = workflow.next_state(state, action)
    if action in workflow.reason_required and not (reason and reason.strip()):
        raise TransitionError(f"「{workflow.action_labels[action]}」必须填写理由。")
    return next_state


# A scoring-model version is a draft until published (no workflow: publishing is its one step).
MODEL_VERSION_STATES = {"draft": "草稿", "published": "已发布"}
