"""Every page of every role under another zone's model (tests/zone_model.py: other stages, classes, codes,
points, lists, 亩均 flag, pools, departments): no word of the default model anywhere a page shows text —
titles, Markdown, tables, chart specs and data, widget labels, options and placeholders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from google.protobuf.json_format import MessageToJson
from sqlalchemy import select

from db.models import ServiceItem
from db.schema import init_db
from db.session import make_engine, session_scope
from demo import seed_demo
from tests.app.conftest import _database_url, actor_of, page_as, through_home
from tests.zone_model import leaks, zone_departments, zone_model
from ui.navigation import ADMIN, BANK, ENTERPRISE, OFFICER, PUBLIC


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("zone") / "zone.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with session_scope(engine) as session:
        seed_demo(session, enterprises=120, model=zone_model(), local_demo=True)
        # The zone's own agencies provide its services (区财政局, not the shipped 区税务局); the catalogue's
        # stages stay the shipped ones, keyed to the default model's stage codes (服务目录 flags them).
        for item in session.execute(select(ServiceItem)).scalars():
            item.provider = zone_departments(item.provider or "")
        session.commit()
    engine.dispose()
    with _database_url(f"sqlite:///{path}") as url:
        yield url


def shown_texts(at) -> list[str]:  # noqa: ANN001 - streamlit.testing AppTest
    """Every text the page sends to the browser: each element's message, chart specs and data, tables."""
    out: list[str] = []
    stack = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if children:
            stack.extend(children.values() if isinstance(children, dict) else children)
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(MessageToJson(proto, ensure_ascii=False))
            spec = getattr(proto, "spec", None)
            if isinstance(spec, str) and spec:
                out.append(json.dumps(json.loads(spec), ensure_ascii=False))
            for dataset in getattr(proto, "datasets", []) or []:
                out.append(pa.ipc.open_stream(dataset.data.data).read_all().to_pandas().to_string())
        try:
            value = node.value
        except Exception:  # noqa: BLE001 - elements without a value
            value = None
        if isinstance(value, pd.DataFrame):
            out.append(" ".join(map(str, value.columns)) + "\n" + value.astype(str).to_string())
    return out


@pytest.mark.parametrize(
    ("username", "pages"),
    [("ent1", PUBLIC + ENTERPRISE), ("officer1", OFFICER), ("admin", ADMIN), ("bank1", BANK)],
)
def test_no_page_shows_the_default_models_words(zone_db: str, username: str, pages: list) -> None:
    found = {}
    for spec in pages:
        at = through_home(username, spec.path)
        assert not at.exception, (spec.path, at.exception)
        words = sorted({w for text in shown_texts(at) for w in leaks(text)})
        if words:
            found[spec.path] = words
    assert not found, found


def test_the_model_page_gives_every_share_unrounded(zone_db: str) -> None:
    """A 1.5% subsidy share and a 2.5% 亩均 share read as such on 指标体系 (rounded to whole percent they
    read 2% — a wrong number on the public page)."""
    at = through_home("ent1", "pages/public/model.py")
    assert not at.exception
    cells = " ".join(" ".join(df.value.astype(str).to_numpy().ravel()) for df in at.dataframe)
    assert "前 3%" in cells and "前 15%" in cells and "前 1.5%（向上取整），最多 3 家" in cells, cells
    assert "各阶段前 2.5%：亩均论英雄「星城升档」" in [c.value for c in at.caption]


def test_carriers_sum_the_models_own_rd_expense(zone_db: str) -> None:
    """载体评价 under a model built on the national guide: its R&D expense (K01 here) summed per carrier —
    the guide's pools named no R&D indicator, so every carrier's 研发费用合计 was empty."""
    at = through_home("officer1", "pages/officer/carriers.py")
    assert not at.exception
    ranking = next(df.value for df in at.dataframe if "研发费用合计（万元）" in df.value.columns)
    assert ranking["研发费用合计（万元）"].notna().all() and ranking["研发费用合计（万元）"].sum() > 0


def test_the_model_workbench_names_the_models_own_classes(zone_db: str) -> None:
    """评价模型 (admin) heads the bonus and deduction table with the model's class names (附加), not the
    default model's 辅助指标."""
    at = through_home("admin", "pages/admin/models.py")
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert "附加：各指标最高分与总加分上限" in headers, headers
    assert not any("辅助" in h for h in headers), headers


def test_the_big_screens_score_bands_follow_the_models_scale(zone_db: str) -> None:
    """0 … 224 points (200 core + 24 bonus) in 12 bands of 20, the last one holding the top score — not
    23 bands of the default model's 10 points."""
    from services import dashboard

    dashboard.clear_cache()
    with session_scope() as session:
        data = dashboard.dashboard_data(session)
    assert data is not None
    bands = data.distribution.drop_duplicates("分数段")["分数段"].tolist()
    assert bands[0] == "0–20" and bands[-1] == "220–240" and len(bands) == 12, bands


def test_a_model_without_subsidies_is_not_told_its_subsidies_were_handled(tmp_path: Path) -> None:
    """A zone model with no subsidy rules: 资金拨付 says there are none — not 均已办结 (all handled)."""
    from core.model_loading import parse_model
    from tests.zone_model import zone_model_dict

    definition = zone_model_dict()
    definition["subsidies"] = []
    definition["meta"]["version"] = "xc-nosub"
    engine = make_engine(f"sqlite:///{tmp_path / 'nosub.db'}")
    init_db(engine)
    with session_scope(engine) as session:
        seed_demo(session, enterprises=30, model=parse_model(definition), local_demo=True)
    engine.dispose()
    with _database_url(f"sqlite:///{tmp_path / 'nosub.db'}"):
        at = through_home("officer1", "pages/officer/lists.py")
        at.session_state["lists_tab"] = "资金拨付"
        at.run()
        assert not at.exception
        captions = [c.value for c in at.caption]
        assert "本批次没有扶持资金。" in captions and "本批次的扶持资金均已办结。" not in captions, captions


def test_the_service_catalogue_names_the_models_stages_and_flags_the_others(
    zone_db: str, tmp_path: Path
) -> None:
    """服务目录 under a model of 萌芽期 … 领航期, with the shipped catalogue keyed to the default model's
    stage codes: the officer is told how many services match no stage and how to fix them, each such
    stage code is named, the stage picker offers the model's four stages, and after the fix an enterprise
    in 萌芽期 is recommended the service for its stage (before, such items never matched, silently)."""
    copy = tmp_path / "zone.db"
    shutil.copy(zone_db.removeprefix("sqlite:///"), copy)
    with _database_url(f"sqlite:///{copy}"):
        at = through_home("officer1", "pages/officer/catalogue.py")
        assert not at.exception, at.exception
        warnings = [w.value for w in at.warning]
        assert any(w.startswith("有 7 项启用中的服务，其适用阶段不在当前评价模型中") for w in warnings), (
            warnings
        )
        assert any("重新勾选当前模型的适用阶段并保存" in w for w in warnings), warnings
        table = next(df.value for df in at.dataframe if "适用阶段" in df.value.columns).set_index("服务")
        assert table.loc["商业模式头脑风暴", "需处理"] == "阶段“seed”、“startup”不在当前模型中"
        assert table.loc["商业模式头脑风暴", "适用阶段"] == "（无当前模型中的阶段）"
        assert table.loc["研发费用加计扣除政策辅导", "需处理"] == ""

        at.selectbox(key="catalogue_item").select("business_model").run()
        picker = at.multiselect[0]
        assert picker.options == ["萌芽期", "起步期", "加速期", "领航期"]
        assert picker.value == []
        picker.select("bud")
        next(b for b in at.button if b.label == "保存").click().run()
        assert not at.exception, at.exception
        assert "已保存“商业模式头脑风暴”。" in [s.value for s in at.success]
        assert any(w.startswith("有 6 项启用中的服务") for w in (w.value for w in at.warning))
        table = next(df.value for df in at.dataframe if "适用阶段" in df.value.columns).set_index("服务")
        assert (table.loc["商业模式头脑风暴", "适用阶段"], table.loc["商业模式头脑风暴", "需处理"]) == (
            "萌芽期",
            "",
        )

        from services.service_requests import policy_view

        for username in ("ent1", "ent2", "ent3", "ent4", "ent5"):
            ent = actor_of(username)
            with session_scope() as session:
                if policy_view(session, actor=ent, enterprise_id=ent.enterprise_id).stage == "bud":
                    break
        else:
            pytest.fail("no demo enterprise in 萌芽期")
        mine = page_as("pages/enterprise/services.py", ent).run()
        assert not mine.exception, mine.exception
        assert "**商业模式头脑风暴**" in [m.value for m in mine.markdown]
        assert "推荐理由：适合萌芽期企业" in [c.value for c in mine.caption]


def test_the_service_catalogue_refuses_a_form_drawn_before_another_save_and_redraws_it(
    zone_db: str, tmp_path: Path
) -> None:
    """Two tabs (or two officers) on 全球化业务拓展: the other one saves a provider while this form is open;
    this form's 保存 is refused in Chinese with what to do, its description is not written, and the form
    is drawn again from what is stored (the other save's provider). Before, the second save silently wrote
    over the first."""
    from services.service_catalogue import CHANGED_ELSEWHERE, update_service_item

    copy = tmp_path / "zone.db"
    shutil.copy(zone_db.removeprefix("sqlite:///"), copy)
    with _database_url(f"sqlite:///{copy}"):
        at = through_home("officer1", "pages/officer/catalogue.py")
        at.selectbox(key="catalogue_item").select("global").run()
        at.text_area(key="catalogue_description_global_v1").input("本页填写的说明")
        with session_scope() as session:
            update_service_item(
                session, actor=actor_of("officer1"), code="global", version=1, name="全球化业务拓展",
                provider="区商务局", stages=["lead"],
            )  # fmt: skip
        next(b for b in at.button if b.label == "保存").click().run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert CHANGED_ELSEWHERE + "下方表单已载入最新内容。" in errors, errors
        assert not [s.value for s in at.success]
        assert at.text_input(key="catalogue_provider_global_v2").value == "区商务局"
        with session_scope() as session:
            item = session.execute(select(ServiceItem).where(ServiceItem.code == "global")).scalars().one()
            assert (item.provider, item.description, item.version) == ("区商务局", None, 2)


def test_the_service_catalogue_names_what_uses_an_item_and_asks_before_deactivating_it(
    zone_db: str, tmp_path: Path
) -> None:
    """The zone's pool 星城瞪羚后备 offers 高企认定辅导 (hte_guidance): the form says so, and unticking 启用
    then 保存 opens a confirmation naming the pool instead of stopping the service."""
    copy = tmp_path / "zone.db"
    shutil.copy(zone_db.removeprefix("sqlite:///"), copy)
    with _database_url(f"sqlite:///{copy}"):
        at = through_home("officer1", "pages/officer/catalogue.py")
        at.selectbox(key="catalogue_item").select("hte_guidance").run()
        captions = [c.value for c in at.caption]
        assert "被以下内容引用：培育库“星城瞪羚后备”。停用前会请您确认。" in captions, captions
        at.checkbox(key="catalogue_active_hte_guidance_v1").uncheck()
        next(b for b in at.button if b.label == "保存").click().run()
        assert not at.exception, at.exception
        assert at.button(key="confirm_ok").label == "确认停用"
        assert "· 培育库“星城瞪羚后备”" in [t.value for t in at.text]
        assert any("停用后，企业不能再申请该服务" in w.value for w in at.warning)
        with session_scope() as session:  # nothing happened before the answer
            item = (
                session.execute(select(ServiceItem).where(ServiceItem.code == "hte_guidance")).scalars().one()
            )
            assert item.active and item.version == 1
