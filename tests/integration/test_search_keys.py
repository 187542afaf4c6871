"""Search keys are stored once per enterprise: on insert, on rename, and by the migration for old rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from core.search import name_keys
from db.models import Enterprise
from db.session import make_engine


def test_insert_and_rename_store_the_keys(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        enterprise = Enterprise(credit_code="91330300MA2AAAAA0X", name="温州长江光电科技有限公司")
        session.add(enterprise)
        session.commit()
        assert "wzcjgdkjyxgs" in enterprise.name_initials.split("|")
        assert enterprise.name_pinyin == name_keys("温州长江光电科技有限公司").pinyin

        enterprise.street = "永中街道"  # not a rename: keys untouched
        session.commit()
        assert enterprise.name_pinyin.startswith("wenzhouzhangjiang")

        enterprise.name = "温州联翔科技有限公司"
        session.commit()
        session.refresh(enterprise)
        assert enterprise.name_initials == "wzlxkjyxgs"
        assert enterprise.name_pinyin == "wenzhoulianxiangkejiyouxiangongsi"


def test_migration_fills_keys_of_existing_enterprises(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from db.schema import MIGRATIONS_DIR

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO enterprise (credit_code, name, name_initials, bank_consent, created_at) "
                "VALUES ('91330300MA2AAAAA0X', '浙江重联阀门股份有限公司', 'zjzlfmgfyxgs', 0, '2026-01-01 00:00:00')"
            )
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        initials, pinyin = connection.execute(text("SELECT name_initials, name_pinyin FROM enterprise")).one()
    engine.dispose()
    assert "zjclfmgfyxgs" in initials.split("|")
    assert "zhejiangchonglianfamengufenyouxiangongsi" in pinyin.split("|")
