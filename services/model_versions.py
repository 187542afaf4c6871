"""Scoring model versions stored in the database (``ModelVersion.definition`` = ``ScoringModel.to_dict()``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from core import model_diff
from core.lru import LRU
from core.model_loading import load_model, parse_model
from core.model_text import dumps_toml
from core.scoring_model import ModelError, ScoringModel
from db.models import ModelVersion, ScoreRun, utcnow
from services.actor import Actor, require_staff
from services.audit import Recorder
from services.errors import Conflict, NotFound, ValidationFailed

_record_model = Recorder("ModelVersion")

# Parsed models keyed by (version id, digest of the stored definition): parsing validates the whole model
# (pydantic), the digest keeps the cache right when a draft changes or another database reuses the id.
_MODEL_CACHE: LRU[ScoringModel] = LRU(32)


@dataclass
class RunView:
    """What every view of one run's scores (检索, 对比, 画像) says of the run: which one, its year and state,
    and the model it was scored under."""

    run_id: int
    year: int
    run_state: str
    model: ScoringModel

    @staticmethod
    def of(run: ScoreRun, model: ScoringModel) -> dict[str, Any]:
        """The fields for a view of ``run`` scored under ``model``."""
        return {"run_id": run.id, "year": run.year, "run_state": run.state, "model": model}


def active_model_version(session: Session) -> ModelVersion:
    """The latest published model version (raises NotFound when there is none)."""
    version = session.exec(
        select(ModelVersion)
        .where(ModelVersion.state == "published")
        .order_by(ModelVersion.published_at.desc(), ModelVersion.id.desc())
    ).first()
    if version is None:
        raise NotFound("尚未发布任何评价模型。")
    return version


def current_model(session: Session) -> ScoringModel:
    """The active published model (parsed once, see :func:`get_model`), else the shipped default."""
    try:
        return get_model(session, active_model_version(session).id)
    except NotFound:
        return load_model()


def _publish(
    session: Session, actor: Actor, version: ModelVersion, now: datetime, *, before: dict, after: dict
) -> None:
    """A stored draft becomes the published (active) version, audited as ``model.publish``."""
    version.state, version.published_at = "published", now
    session.add(version)
    _record_model(session, actor, "model.publish", version.id, before=before, after=after)


def ensure_default_model(session: Session, *, actor: Actor | None = None) -> ModelVersion:
    """The active model version; inserts the shipped TOML model as published when none is (idempotent)."""
    try:
        return active_model_version(session)
    except NotFound:
        pass
    actor = actor or Actor.system()
    model = load_model()
    version = session.exec(select(ModelVersion).where(ModelVersion.version == model.version)).first()
    now = utcnow()
    if version is None:
        version = ModelVersion(
            name=model.name,
            version=model.version,
            state="published",
            definition=model.to_dict(),
            note=model.note,
            created_by=actor.username,
            published_at=now,
        )
        _record_model.add(
            session,
            actor,
            "model.import_default",
            version,
            after={"version": model.version, "state": "published"},
        )
    else:  # the shipped version exists as a draft: publish it
        _publish(session, actor, version, now, before={"state": "draft"}, after={"state": "published"})
    session.commit()
    return version


def _stored_version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"评价模型版本 {version_id} 不存在。")
    return version


def get_model(session: Session, version_id: int) -> ScoringModel:
    """The parsed scoring model of a stored version (cached by id)."""
    version = _stored_version(session, version_id)
    digest = hashlib.sha256(json.dumps(version.definition, sort_keys=True).encode()).hexdigest()
    key = (version_id, digest)
    model = _MODEL_CACHE.get(key)
    return model if model is not None else _MODEL_CACHE.put(key, parse_model(version.definition))


# ------------------------------------------------------------------ registering, publishing, exporting
def list_model_versions(session: Session, *, actor: Actor) -> list[ModelVersion]:
    """Every stored model version, newest first."""
    require_staff(actor)
    return list(
        session.exec(select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc()))
    )


def _unique_version(session: Session, wanted: str) -> str:
    taken = set(session.exec(select(ModelVersion.version)).all())
    if wanted not in taken:
        return wanted
    k = 2
    while f"{wanted}-{k}" in taken:
        k += 1
    return f"{wanted}-{k}"


def register_model(
    session: Session,
    *,
    actor: Actor,
    definition: dict[str, Any],
    name: str | None = None,
    parent_id: int | None = None,
    note: str | None = None,
) -> ModelVersion:
    """Validate a model definition (``ModelError`` → ValidationFailed with the loader's Chinese message)
    and store it as a draft version; a version label already taken gets a ``-2`` … suffix."""
    require_staff(actor)
    try:
        model = parse_model(definition)
    except ModelError as exc:
        raise ValidationFailed(str(exc)) from None
    stored = model.to_dict()
    if name:
        stored["meta"]["name"] = name
    stored["meta"]["version"] = _unique_version(session, model.version)
    model = parse_model(stored)
    version = ModelVersion(
        name=model.name,
        version=model.version,
        state="draft",
        definition=stored,
        parent_id=parent_id,
        note=note or model.note,
        created_by=actor.username,
    )
    _record_model.add(
        session,
        actor,
        "model.import",
        version,
        after={"version": model.version, "name": model.name, "state": "draft", "parent_id": parent_id},
    )
    session.commit()
    return version


def find_model_version(session: Session, spec: str | int) -> ModelVersion:
    """A version by its label (``2022.1``) or its id."""
    found = session.exec(select(ModelVersion).where(ModelVersion.version == str(spec))).first()
    if found is None and str(spec).isdigit():
        found = session.get(ModelVersion, int(spec))
    if found is None:
        raise NotFound(f"找不到评价模型版本“{spec}”。")
    return found


def publish_model_version(session: Session, *, actor: Actor, version_id: int) -> ModelVersion:
    """Publish a draft: it becomes the active model for new runs; existing runs keep the version they used."""
    require_staff(actor)
    version = _stored_version(session, version_id)
    if version.state == "published":
        raise Conflict(f"评价模型版本 {version.version} 已发布。")
    try:
        parse_model(version.definition)
    except ModelError as exc:
        raise ValidationFailed(str(exc)) from None
    previous = None
    with contextlib.suppress(NotFound):  # the first version published
        previous = active_model_version(session).version
    _publish(
        session,
        actor,
        version,
        utcnow(),
        before={"state": "draft", "active": previous},
        after={"state": "published", "version": version.version},
    )
    session.commit()
    return version


def update_draft(
    session: Session, *, actor: Actor, version_id: int, definition: dict[str, Any]
) -> ModelVersion:
    """Replace a draft's definition after validating it (a published version never changes)."""
    require_staff(actor)
    version = _stored_version(session, version_id)
    if version.state != "draft":
        raise Conflict(f"评价模型版本 {version.version} 已发布，不能修改；请从它创建新的草稿。")
    try:
        model = parse_model(definition)
    except ModelError as exc:
        raise ValidationFailed(str(exc)) from None
    stored = model.to_dict()
    stored["meta"]["version"] = version.version  # the label stays the draft's own
    before = version.definition
    version.definition, version.name = stored, model.name
    session.add(version)
    # the audit says what changed ("T01 研发费用总额 · 各阶段分值 · 种子期 6 → 8"), the fingerprints prove it
    _record_model(
        session,
        actor,
        "model.update_draft",
        version.id,
        before={"fingerprint": parse_model(before).fingerprint()},
        after={
            "fingerprint": model.fingerprint(),
            "changes": model_diff.change_sentences(parse_model(before).to_dict(), model.to_dict()),
        },
    )
    session.commit()
    return version


def export_model_toml(session: Session, *, actor: Actor, version_id: int) -> str:
    """The stored definition as TOML text that ``register_model`` / ``load_model`` read back identically."""
    require_staff(actor)
    return dumps_toml(get_model(session, version_id).to_dict())
