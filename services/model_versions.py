"""Scoring model versions stored in the database (``ModelVersion.definition`` = ``ScoringModel.to_dict()``)."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, select

from core.scoring_model import ScoringModel, load_model, parse_model
from db.models import ModelVersion, utcnow
from services.actor import Actor
from services.audit import record
from services.errors import NotFound

# Parsed models keyed by (version id, digest of the stored definition): parsing validates the whole model
# (pydantic), the digest keeps the cache right when a draft changes or another database reuses the id.
_MODEL_CACHE: dict[tuple[int, str], ScoringModel] = {}


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
        session.add(version)
        session.flush()
        record(session, actor=actor, action="model.import_default", entity="ModelVersion", entity_id=version.id,
               after={"version": model.version, "state": "published"})
    else:  # the shipped version exists as a draft: publish it
        version.state, version.published_at = "published", now
        session.add(version)
        record(session, actor=actor, action="model.publish", entity="ModelVersion", entity_id=version.id,
               before={"state": "draft"}, after={"state": "published"})
    session.commit()
    return version


def get_model(session: Session, version_id: int) -> ScoringModel:
    """The parsed scoring model of a stored version (cached by id)."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"评价模型版本 {version_id} 不存在。")
    digest = hashlib.sha256(json.dumps(version.definition, sort_keys=True).encode()).hexdigest()
    key = (version_id, digest)
    model = _MODEL_CACHE.get(key)
    if model is None:
        if len(_MODEL_CACHE) > 32:
            _MODEL_CACHE.clear()
        model = _MODEL_CACHE[key] = parse_model(version.definition)
    return model
