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


@dataclass(frozen=True)
class Action:
    """One action of a workflow as it is declared: its Chinese label, the states it may be taken in
    mapped to the state each leads to, and whether it needs a reason."""

    code: str
    label: str
    moves: dict[str, str]  # state it is taken in → next state
    reason: bool = False


def declare(name: str, labels: dict[str, str], *actions: Action) -> Workflow:
    """A :class:`Workflow` from its actions: each action is said once, with its label, moves and reason."""
    return Workflow(
        name=name,
        labels=labels,
        transitions={(state, a.code): to for a in actions for state, to in a.moves.items()},
        action_labels={a.code: a.label for a in actions},
        reason_required=frozenset(a.code for a in actions if a.reason),
    )


SUBMISSION = declare(
    "填报",
    {"draft": "草稿", "submitted": "待审核", "returned": "已退回", "approved": "已通过"},
    Action("save", "保存草稿", {"draft": "draft", "returned": "returned"}),
    Action("submit", "提交", {"draft": "submitted", "returned": "submitted"}),
    Action("approve", "审核通过", {"submitted": "approved"}),
    Action("return", "退回", {"submitted": "returned"}, reason=True),
    # Unapproving reopens the report for the enterprise; the approved values stay until replaced.
    Action("unapprove", "撤销通过", {"approved": "returned"}, reason=True),
    # The enterprise reopens its approved report to correct it while the year's reporting window is
    # open (until the year's results are final); the approved values count until the correction is.
    # Its service asks for the reason.
    Action("correct", "申请更正", {"approved": "draft"}),
)

SCORE_RUN = declare(
    "积分计算批次",
    {"draft": "草稿", "notice": "公示中", "final": "已定稿", "superseded": "已被替代"},
    Action("publish", "开始公示", {"draft": "notice"}),
    Action("finalize", "定稿", {"notice": "final"}),
    Action("supersede", "替代", {"draft": "superseded", "notice": "superseded"}),
)

OBJECTION = declare(
    "异议",
    {"open": "待处理", "upheld": "已采纳", "rejected": "已驳回"},
    Action("uphold", "采纳", {"open": "upheld"}, reason=True),
    Action("reject", "驳回", {"open": "rejected"}, reason=True),
)

SERVICE_REQUEST = declare(
    "服务申请",
    {"open": "待受理", "accepted": "已受理", "done": "已完成", "declined": "未受理"},
    Action("take", "受理", {"open": "accepted"}),
    Action("answer", "答复", {"accepted": "accepted"}, reason=True),
    Action("close", "办结", {"accepted": "done"}),
    Action("decline", "不予受理", {"open": "declined", "accepted": "declined"}, reason=True),
)

# A subsidy line of a final run (an enterprise with 扶持金额 > 0): the enterprise confirms it (on 政策与服务
# or from the 免申即享 list), then staff record the payment (date and voucher) or decline it with a reason.
# A line nobody has acted on is 待确认 (it has no row yet). Declining an unconfirmed line is allowed (a firm
# deregistered, or one that never confirms before the budget closes); it asks for the reason all the same.
SUBSIDY = declare(
    "扶持资金",
    {"pending": "待确认", "confirmed": "企业已确认", "paid": "已拨付", "refused": "不予拨付"},
    Action("confirm", "企业确认", {"pending": "confirmed"}),
    Action("pay", "登记拨付", {"confirmed": "paid"}),
    Action("refuse", "不予拨付", {"confirmed": "refused", "pending": "refused"}, reason=True),
)


def transition(workflow: Workflow, state: str, action: str, *, reason: str | None = None) -> str:
    """The next state, or :class:`TransitionError`; actions in ``reason_required`` need a reason."""
    next_state = workflow.next_state(state, action)
    if action in workflow.reason_required and not (reason and reason.strip()):
        raise TransitionError(f"「{workflow.action_labels[action]}」必须填写理由。")
    return next_state


# A scoring-model version is a draft until published (no workflow: publishing is its one step).
MODEL_VERSION_STATES = {"draft": "草稿", "published": "已发布"}
