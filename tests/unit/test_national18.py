"""The national guide's 18 indicators as a model, and a local model over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.model_loading import load_model
from core.scoring_model import ModelError

MODELS = Path(__file__).resolve().parents[2] / "core" / "models"
GUIDE_18 = [
    "研发费用金额",
    "研发费用增速",
    "研发费用占营业收入比例",
    "科技人员占职工总数比重",
    "与主营业务相关的发明专利申请量",
    "与主营业务相关的PCT专利申请量",
    "企业技术合同成交额",
    "高新技术产品收入",
    "营业收入",
    "营业收入增长率",
    "研究生以上人员占比",
    "研发费用加计扣除所得税减免额",
    "净资产利润率",
    "吸纳应届毕业生人数",
    "近两年承担建设省级及以上研发或创新平台数量",
    "近两年获得省级及以上科技奖励数量",
    "近两年承担省级及以上科技计划项目数量",
    "获得风险投资金额",
]


def test_the_guides_18_by_name_in_its_7_6_5_split():
    m = load_model(MODELS / "national-18.toml")
    assert [i.name for i in m.indicators] == GUIDE_18
    assert [len(m.by_class(c)) for c in ("technology", "growth", "auxiliary")] == [7, 6, 5]
    assert {i.origin for i in m.indicators} == {"national"}
    assert all("系统建议" in i.definition for i in m.indicators)  # the guide gives no weights


def test_local_model_extends_the_national_one():
    m = load_model(MODELS / "national-18-local-example.toml")
    assert [i.name for i in m.indicators][:18] == GUIDE_18
    assert {i.code: i.origin for i in m.indicators[18:]} == {"L01": "local", "L02": "local"}
    assert m.name.endswith("本地指标示例）") and m.stage_indicator == "N09"


def test_a_local_code_may_not_replace_a_national_one(tmp_path: Path):
    (tmp_path / "national-18.toml").write_bytes((MODELS / "national-18.toml").read_bytes())
    (tmp_path / "bad.toml").write_text(
        '[meta]\nparent = "national-18.toml"\nname = "x"\nversion = "1"\n\n'
        '[[indicators]]\ncode = "N01"\nname = "重复"\nclass = "auxiliary"\n'
        'max_points = 1\nrule = { type = "flag" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ModelError, match="重复：N01"):
        load_model(tmp_path / "bad.toml")
