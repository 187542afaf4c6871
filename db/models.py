"""All tables, in one place.

Shapes follow design.md's "Data" section. A few conventions hold everywhere:

* datetimes are timezone-aware UTC (SQLModel stores ``datetime`` fields through ``UTCDateTime``,
  which refuses naive values — use :func:`utcnow`);
* state fields are plain strings whose allowed values live in the ``*_STATES`` tuples below, so that the
  state machines in ``core/`` and the pages read the same names;
* structured payloads (items of a self-report, a score's per-indicator breakdown, a model definition,
  an audit event's before/after) are JSON columns;
* ``IndicatorValue`` keeps history: a new value marks the previous row ``is_current = False``, and a
  partial unique index guarantees one current row per enterprise · year · code.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel

from core import audit_chain, clock
from core.scoring_model import CODE_WIDTHS
from core.search import name_keys


def utcnow() -> datetime:
    """The application clock's now (aware UTC): see core.clock."""
    return clock.now()


ROLES = ("enterprise", "officer", "admin", "bank")
CARRIER_KINDS = ("众创空间", "孵化器", "加速器", "产业园", "小微园")
SUBMISSION_STATES = ("draft", "submitted", "returned", "approved")
RUN_STATES = ("draft", "notice", "final", "superseded")
OBJECTION_STATES = ("open", "upheld", "rejected")
MODEL_STATES = ("draft", "published")
BATCH_STATES = ("dry_run", "committed", "reverted")
SERVICE_REQUEST_STATES = ("open", "accepted", "done", "declined")
SUBSIDY_STATES = ("pending", "confirmed", "paid", "refused")

SELF_REPORT_SOURCE = "自报"


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Carrier(SQLModel, table=True):
    """An innovation carrier: 众创空间 / 孵化器 / 加速器 / 产业园 / 小微园."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    kind: str = Field(max_length=20)
    level: str | None = Field(default=None, max_length=20)  # 国家级 / 省级 / 市级 / 区级
    street: str | None = Field(default=None, max_length=50)


class Enterprise(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(unique=True, index=True, min_length=18, max_length=18)
    name: str = Field(index=True, max_length=200)
    # Search keys (core.search.name_keys), computed when the enterprise is created or renamed — pypinyin
    # costs ~120 µs a name: never per query. Each is a "|"-joined list of readings (polyphonic
    # characters keep both), the first being pypinyin's reading in context.
    name_initials: str | None = Field(default=None, index=True, max_length=200)
    name_pinyin: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    industry: str | None = Field(default=None, max_length=50)
    street: str | None = Field(default=None, max_length=50)
    carrier_id: int | None = Field(default=None, foreign_key="carrier.id", index=True)
    registered_on: date | None = None
    # Consent to be recommended to partner banks (金融推荐 respects it).
    bank_consent: bool = False
    bank_consent_at: datetime | None = None  # last time the enterprise gave or withdrew it
    created_at: datetime = Field(default_factory=utcnow)


_renames = [0]  # enterprises renamed by this process: search indexes built before are stale
NAMES_TOPIC = "enterprise_names"  # ChangeCounter topic: renames by any server process


class ChangeCounter(SQLModel, table=True):
    """How often a topic changed, across every server process (migration 0012): bumped in the changing
    transaction, read by caches another server's write could make stale (services.memo)."""

    topic: str = Field(primary_key=True, max_length=40)
    generation: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


def bump_change_counter(connection: Any, topic: str) -> None:
    """Count one change of ``topic`` in the caller's transaction (an upsert: both stores)."""
    connection.execute(
        text(
            "INSERT INTO changecounter (topic, generation) VALUES (:t, 1) "
            "ON CONFLICT (topic) DO UPDATE SET generation = changecounter.generation + 1"
        ),
        {"t": topic},
    )


def search_keys_generation() -> int:
    """Bumped whenever this process renames an enterprise (services.search rebuilds its index)."""
    return _renames[0]


def enterprise_search_keys(name: str) -> dict[str, str]:
    """The stored search-key columns of a name, for bulk inserts (ORM inserts and renames fill them
    themselves, see :func:`_fill_search_keys`)."""
    keys = name_keys(name)
    return {"name_initials": keys.initials, "name_pinyin": keys.pinyin}


@event.listens_for(Enterprise, "before_insert")
@event.listens_for(Enterprise, "before_update")
def _fill_search_keys(_mapper: Any, _connection: Any, target: Enterprise) -> None:
    state = inspect(target)
    renamed = state.attrs.name.history.has_changes()
    if target.name and (renamed or not target.name_pinyin):
        for column, value in enterprise_search_keys(target.name).items():
            setattr(target, column, value)
        if renamed and state.persistent:
            _renames[0] += 1
            bump_change_counter(_connection, NAMES_TOPIC)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)  # always lower-case
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=100)  # bcrypt
    role: str = Field(max_length=20)  # one of ROLES
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    bank_name: str | None = Field(default=None, max_length=100)  # a bank user's institution (role bank)
    # Superseded by LoginThrottle (kept so older databases need no data move; nothing reads them).
    failed_attempts: int = 0
    locked_until: datetime | None = None
    must_change_password: bool = False
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime | None = None


class ModelVersion(SQLModel, table=True):
    """A scoring model as validated JSON (``ScoringModel.to_dict()``)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    version: str = Field(unique=True, max_length=50)
    parent_id: int | None = Field(default=None, foreign_key="modelversion.id")
    state: str = Field(default="draft", max_length=20)  # MODEL_STATES
    definition: dict = _json(nullable=False)
    note: str | None = None
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None


class ImportBatch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=20)  # 税务 / 经信 / 科技 / 金融 / 市监 / 人社
    year: int
    file_name: str = Field(max_length=255)
    sha256: str = Field(index=True, max_length=64)
    row_count: int = 0
    accepted_count: int = 0
    error_count: int = 0
    flagged_count: int = 0
    errors: list | None = _json()  # [{row, column, value, problem, fix}]
    flags: list | None = _json()  # outliers flagged for follow-up, not rejected
    # Dry-run details: skipped rows, mapping, unit notes, name mismatches, list mode, diff counts, undo.
    details: dict | None = _json()
    status: str = Field(default="dry_run", max_length=20)  # BATCH_STATES
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    committed_at: datetime | None = None


class Submission(SQLModel, table=True):
    """One self-report per enterprise and year; resubmission reuses the row, ``version`` guards races."""

    __table_args__ = (UniqueConstraint("enterprise_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    year: int
    state: str = Field(default="draft", max_length=20, index=True)  # SUBMISSION_STATES
    items: dict | None = _json()  # {code: value or list of dicts}
    service_needs: list | None = _json()  # [ServiceItem.code]
    reason: str | None = None  # of the last return / unapproval
    field_comments: dict | None = _json()  # {code: comment}
    version: int = 1
    submitted_at: datetime | None = None
    reviewer: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """Evidence file (pdf/jpg/png, ≤ 10 MB, type checked by content) of a submission or objection."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    objection_id: int | None = Field(default=None, foreign_key="objection.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    item_code: str | None = Field(default=None, max_length=20)
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=50)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Images only: a small JPEG made once at upload after a full, size-limited decode (core/images.py);
    # pages show it instead of decoding the original. None for PDFs and for images stored before it.
    thumbnail: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class IndicatorValue(SQLModel, table=True):
    """A value of an indicator or base field for one enterprise and year, with its provenance."""

    __table_args__ = (
        Index(
            "uq_indicatorvalue_current",
            "enterprise_id",
            "year",
            "code",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_indicatorvalue_year_code", "year", "code"),
        # every row of an enterprise's year, current or not: provenance, review (migration 0015)
        Index("ix_indicatorvalue_enterprise_year", "enterprise_id", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id")
    year: int
    code: str = Field(max_length=CODE_WIDTHS["field"])
    value_num: float | None = None
    value_text: str | None = None  # tier text, flags as text, JSON text of list-valued items
    source: str = Field(max_length=20)  # department, or 自报
    is_current: bool = True
    flagged: bool = False  # outlier flagged at import, kept for follow-up
    batch_id: int | None = Field(default=None, foreign_key="importbatch.id", index=True)
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class ScoreRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    model_version_id: int = Field(foreign_key="modelversion.id")
    input_fingerprint: str = Field(max_length=64)
    state: str = Field(default="draft", max_length=20, index=True)  # RUN_STATES
    enterprise_count: int = 0
    notice_start: date | None = None
    notice_end: date | None = None
    supersedes_id: int | None = Field(default=None, foreign_key="scorerun.id")
    note: str | None = None
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None
    finalized_at: datetime | None = None


class _Totals(SQLModel):
    """The engine's totals of one enterprise, stored alike by ``Score`` (a run's) and ``DynamicScore``
    (a year's 动态积分). ``technology`` / ``growth`` are None when the model has no such class."""

    technology: float | None = None
    growth: float | None = None
    core: float
    bonus: float
    deduction: float
    total: float
    veto: bool = False


class Score(_Totals, table=True):
    """One enterprise's result in a run; ``breakdown`` holds inputs, fractions, points and sources."""

    __table_args__ = (
        UniqueConstraint("run_id", "enterprise_id"),
        # a run's subsidy lines without walking all its rows (migration 0017)
        Index(
            "ix_score_subsidy",
            "run_id",
            sqlite_where=text("subsidy > 0"),
            postgresql_where=text("subsidy > 0"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="scorerun.id")  # found through the (run_id, enterprise_id) unique index
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    stage: str = Field(max_length=CODE_WIDTHS["stage"])
    # {class code: subtotal} for every scored class of the run's model (core, bonus, deduction kinds).
    # Read it through subtotal(); technology / growth (_Totals) stay filled for models that have those classes.
    subtotals: dict | None = _json()
    veto_reason: str | None = None
    rank: int | None = None
    percentile: float | None = None
    tier: str | None = Field(default=None, max_length=CODE_WIDTHS["tier"])
    subsidy: float = 0.0
    mujun: str | None = Field(default=None, max_length=CODE_WIDTHS["mujun"])
    missing_count: int = 0
    # {code: {"value": raw input, "f": fraction, "pts": points, "source": department}}
    breakdown: dict | None = _json()

    def subtotal(self, class_code: str) -> float | None:
        """The subtotal of one class of the run's model (None when the model has no such class)."""
        return score_subtotal(self.subtotals, class_code)


class RunBreakdown(SQLModel, table=True):
    """A run's per-enterprise breakdowns, packed once per run (core.breakdown.pack): inputs, sources,
    fractions and points of every enterprise, column by column and compressed. Runs computed before it
    keep theirs in ``Score.breakdown``; a run with a RunBreakdown leaves that column empty."""

    run_id: int = Field(
        foreign_key="scorerun.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


def score_subtotal(subtotals: dict | str | None, class_code: str) -> float | None:
    """One class subtotal from a Score's ``subtotals`` (a dict, or JSON text as raw queries return it)."""
    if isinstance(subtotals, str):
        subtotals = json.loads(subtotals)
    value = (subtotals or {}).get(class_code)
    return None if value is None else float(value)


class Objection(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="scorerun.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    indicator_code: str | None = Field(default=None, max_length=20)  # None: the score as a whole
    reason: str
    state: str = Field(default="open", max_length=20)  # OBJECTION_STATES
    answer: str | None = None
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = None
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class SubsidyPayment(SQLModel, table=True):
    """The payment state of one subsidy line of a final run (core.subsidies; core.workflows.SUBSIDY).

    A line with no row is 待确认; the row is written by its first transition. ``amount`` is the run's
    (Score.subsidy), copied when the row is written so the record names the sum that was confirmed or paid.
    """

    __table_args__ = (UniqueConstraint("run_id", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="scorerun.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    state: str = Field(default="pending", max_length=20)  # SUBSIDY_STATES
    amount: float
    confirmed_by: str | None = Field(default=None, max_length=64)
    confirmed_at: datetime | None = None
    paid_on: date | None = None  # Beijing calendar day
    voucher: str | None = Field(default=None, max_length=50)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 不予拨付
    handled_by: str | None = Field(default=None, max_length=64)
    handled_at: datetime | None = None


class ServiceItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=50)
    name: str = Field(max_length=100)
    description: str | None = None
    stages: list | None = _json()  # stage codes it fits; None = all
    provider: str | None = Field(default=None, max_length=100)
    active: bool = True
    version: int = 1  # claimed by each 服务目录 save (services.optimistic): a stale form is refused


class ServiceRequest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    service_item_id: int = Field(foreign_key="serviceitem.id")
    note: str | None = None
    state: str = Field(default="open", max_length=20)  # SERVICE_REQUEST_STATES
    answer: str | None = None
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    handled_by: str | None = Field(default=None, max_length=64)
    handled_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """One login. The cookie carries a random session id; only its sha256 is stored here, so a copy
    of the database cannot be turned into cookies. Logout, password change, deactivation and admin
    action set ``revoked_at``; a revoked or expired record makes its cookie worthless."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=50)
    client_address: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per typed user name (``user:<name>``, existing or not) and per client address
    (``addr:<ip>``): consecutive failures and the time before which further attempts are refused."""

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None


# The events that change data (all but audit_chain.ACCESS_ACTIONS): services.memo.data_version reads
# the newest of them through the partial index ix_auditevent_data_change (migration 0019).
DATA_CHANGE_EVENTS = "action NOT IN (" + ", ".join(f"'{a}'" for a in audit_chain.ACCESS_ACTIONS) + ")"


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained: ``hash`` covers the content and ``prev_hash`` (core/audit_chain.py,
    filled on insert by services/audit.py, the one writer). Database triggers refuse UPDATE, DELETE and, on SQLite, an
        INSERT reusing an existing id (``REPLACE INTO`` would otherwise rewrite a row without a DELETE trigger).
    """

    __table_args__ = (
        Index(
            "ix_auditevent_data_change",
            "id",
            sqlite_where=text(DATA_CHANGE_EVENTS),
            postgresql_where=text(DATA_CHANGE_EVENTS),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=50, index=True)
    entity: str = Field(max_length=50, index=True)
    entity_id: str | None = Field(default=None, max_length=50)
    before: dict | None = _json()
    after: dict | None = _json()
    reason: str | None = None
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The audit chain's anchor: one row (id 1) with the number of events and the newest event's hash.

    Every append updates it in the appending transaction, under a lock on this row, so appends are
    serialised and the anchor always matches the table. ``verify-audit`` compares the chain with it: a
    TRUNCATE or a deleted tail leaves a chain that is intact in itself but shorter than its anchor.
    Triggers (migration 0008) refuse deleting the row, truncating it and lowering ``count``.
    """

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    count: int = 0
    hash: str = Field(default=audit_chain.GENESIS, max_length=64)


class DynamicState(SQLModel, table=True):
    """动态积分 bookkeeping of one year: changes seen, changes computed, the recompute lease.

    ``change_seq`` grows with every approval or committed import of the year (in the same transaction);
    ``computed_seq`` is the number the last recompute read before it read the data. The year is due when
    the first is larger. ``lease_owner``/``lease_until``: the replica recomputing it now (services.dynamic).
    """

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    change_seq: int = 0
    computed_seq: int = 0
    dirty_since: datetime | None = None  # first change not yet computed
    computed_at: datetime | None = None
    input_fingerprint: str | None = Field(default=None, max_length=64)
    model_version_id: int | None = Field(default=None, foreign_key="modelversion.id")
    enterprise_count: int = 0
    seconds: float | None = None
    note: str | None = None
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = None


class DynamicScore(_Totals, table=True):
    """One enterprise's 动态积分 of a year: the year recomputed from current values, between runs.

    Deliberately not a ``ScoreRun``/``Score``: no rank, no list, no subsidy — nothing that picks "the
    latest run" can see it. Only the enterprise's portrait reads it.
    """

    __table_args__ = (UniqueConstraint("year", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    model_version_id: int = Field(foreign_key="modelversion.id")
    stage: str = Field(max_length=CODE_WIDTHS["stage"])
    missing_count: int = 0
    breakdown: dict | None = _json()  # core.breakdown, as in Score
    computed_at: datetime = Field(default_factory=utcnow)


# ------------------------------------------------------------------ 智能助手
class AssistantText(SQLModel, table=True):
    """A policy text an admin added (a Markdown or text file), or an answer clause an officer wrote.

    Searched with the shipped corpus (core/assistant_corpus); ``kind`` is ``document`` or ``clause``.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="document", max_length=20)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class AssistantSynonym(SQLModel, table=True):
    """A synonym an officer added: ``term`` is read as ``canonical`` (over the shipped table)."""

    id: int | None = Field(default=None, primary_key=True)
    term: str = Field(unique=True, max_length=50)
    canonical: str = Field(max_length=100)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class AssistantQuestion(SQLModel, table=True):
    """Every question asked and what was answered: the asker's own data only (never another's)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    role: str = Field(max_length=20)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    question: str = Field(sa_column=Column(Text, nullable=False))
    intent: str = Field(max_length=40)
    answered: bool = True
    confidence: float | None = None
    answer: str = Field(sa_column=Column(Text, nullable=False))
    sources: list | None = _json()
    run_id: int | None = None
    model_version: str | None = Field(default=None, max_length=50)
    vote: int = 0  # +1 helpful, −1 not helpful, 0 none
    resolved: bool = False  # an officer added a synonym or an answer clause for it
    created_at: datetime = Field(default_factory=utcnow, index=True)


class AssistantConfirmation(SQLModel, table=True):
    """An enterprise confirmed a 免申即享 item (one per enterprise · item · run)."""

    __table_args__ = (UniqueConstraint("enterprise_id", "item_key", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    run_id: int = Field(foreign_key="scorerun.id")
    item_key: str = Field(max_length=80)
    item_name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    confirmed_by: str = Field(max_length=64)
    confirmed_at: datetime = Field(default_factory=utcnow)


# ------------------------------------------------------------------ banks
LOAN_DECISIONS = ("credit", "loan", "reject")  # 授信 / 放款 / 拒绝 (core.loans.DECISIONS)
LOAN_SOURCES = ("app", "file", "api")


class LoanOutcome(SQLModel, table=True):
    """What a partner bank did for an enterprise: 授信 (credit line), 放款 (loan made) or 拒绝 (with reason).

    Amounts in 万元, the rate in % a year, the term in months; dates are Beijing calendar dates."""

    id: int | None = Field(default=None, primary_key=True)
    bank_name: str = Field(max_length=100, index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    run_id: int | None = Field(default=None, foreign_key="scorerun.id")  # the whitelist run it answers
    product: str = Field(max_length=100)
    decision: str = Field(max_length=20)  # LOAN_DECISIONS
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    amount: float | None = None
    rate: float | None = None
    term_months: int | None = None
    decided_on: date
    start_on: date | None = None
    end_on: date | None = None
    source: str = Field(default="app", max_length=10)  # LOAN_SOURCES
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, index=True)


class BankToken(SQLModel, table=True):
    """A bank's API token: only its sha256 is stored. ``window_*`` count the calls of the current
    rate-limit window, in the database so several server processes share one limit."""

    id: int | None = Field(default=None, primary_key=True)
    bank_name: str = Field(max_length=100, index=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    hint: str = Field(max_length=12)  # the first characters, to tell tokens apart in lists
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=64)
    last_used_at: datetime | None = None
    window_started_at: datetime | None = None
    window_calls: int = 0
