"""Search quality on realistic names: fragments, pinyin initials, full pinyin, polyphonic readings,
typos and credit-code prefixes — among a few thousand generated look-alikes, not in a list of five."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synthetic import make_credit_codes, make_names
from core.search import SearchIndex, name_keys, normalize

REAL = [
    "温州联翔科技有限公司",
    "温州长江光电科技有限公司",
    "浙江重联阀门股份有限公司",
    "瑞安市乐行汽摩配件有限公司",
    "温州高新瑞达阀门有限公司",
    "ABC科技（温州）有限公司",
    "龙湾区朝阳电气有限公司",
    "温州联祥电子有限公司",
]


@pytest.fixture(scope="module")
def corpus() -> tuple[SearchIndex, list[str], list[str]]:
    rng = np.random.default_rng(3)
    names = REAL + [n for n in make_names(3000, rng) if n not in REAL]
    codes = list(make_credit_codes(len(names), rng))
    keys = [name_keys(n) for n in names]
    index = SearchIndex(
        np.arange(1, len(names) + 1) * 10, codes, names, [k.initials for k in keys], [k.pinyin for k in keys]
    )
    return index, names, codes


def found(index: SearchIndex, names: list[str], query: str, limit: int = 20) -> list[str]:
    return [names[h.row] for h in index.search(query, limit=limit)]


def test_name_fragment(corpus) -> None:
    index, names, _ = corpus
    hits = found(index, names, "联翔")
    assert "温州联翔科技有限公司" in hits
    assert all("联翔" in h for h in hits)
    assert index.search("联翔")[0].label == "名称"


def test_exact_name_ranks_first(corpus) -> None:
    index, names, _ = corpus
    assert found(index, names, "温州联翔科技有限公司")[0] == "温州联翔科技有限公司"
    # a name that starts with the query beats one that only contains it
    hits = found(index, names, "温州长江", limit=50)
    assert hits[0] == "温州长江光电科技有限公司"


def test_pinyin_initials(corpus) -> None:
    index, names, _ = corpus
    hits = index.search("wzlx", limit=None)
    shown = [names[h.row] for h in hits]
    assert "温州联翔科技有限公司" in shown
    assert "温州联祥电子有限公司" in shown  # same initials, other characters
    assert {h.label for h in hits} <= {"简拼", "全拼"}
    # initials that start the name rank before initials found inside it
    assert found(index, names, "wzlxkj")[0] == "温州联翔科技有限公司"


def test_full_pinyin_whole_and_partial(corpus) -> None:
    index, names, _ = corpus
    assert found(index, names, "wenzhoulianxiangkeji")[0] == "温州联翔科技有限公司"
    assert "温州联翔科技有限公司" in found(index, names, "lianxiang", limit=None)
    assert "温州联翔科技有限公司" in found(index, names, "LianXiang", limit=None)


@pytest.mark.parametrize("query", ["changjiang", "zhangjiang", "wzcj", "wzzj"])
def test_polyphonic_character_matches_either_reading(corpus, query: str) -> None:
    index, names, _ = corpus
    assert "温州长江光电科技有限公司" in found(index, names, query, limit=None)


@pytest.mark.parametrize("query", ["chonglian", "zhonglian"])
def test_polyphonic_in_second_position(corpus, query: str) -> None:
    index, names, _ = corpus
    assert "浙江重联阀门股份有限公司" in found(index, names, query, limit=None)


def test_stored_keys_keep_both_readings_context_first() -> None:
    keys = name_keys("温州长江光电科技有限公司")
    readings = keys.pinyin.split("|")
    assert readings[0].startswith("wenzhouzhangjiang")  # what pypinyin says in context
    assert any(r.startswith("wenzhouchangjiang") for r in readings)
    assert keys.initials.split("|")[0] == "wzzjgdkjyxgs"
    assert "wzcjgdkjyxgs" in keys.initials.split("|")
    # ordinary characters keep one reading: no noise from rare ones (温 is never "yun" here)
    assert name_keys("温州联翔科技有限公司").pinyin == "wenzhoulianxiangkejiyouxiangongsi"
    assert name_keys("ABC科技（温州）有限公司").initials == "abckjwzyxgs"


@pytest.mark.parametrize("query", ["温州联想科技", "温州联湘科技有限"])
def test_one_wrong_character(corpus, query: str) -> None:
    index, names, _ = corpus
    hits = index.search(query, limit=5)
    assert names[hits[0].row] == "温州联翔科技有限公司"
    assert hits[0].label == "近似"


@pytest.mark.parametrize("query", ["温州联科技", "温州联翔翔科技"])
def test_one_missing_or_extra_character(corpus, query: str) -> None:
    index, names, _ = corpus
    assert names[index.search(query, limit=5)[0].row] == "温州联翔科技有限公司"


def test_two_wrong_characters_in_a_short_query_are_not_a_match(corpus) -> None:
    index, names, _ = corpus
    assert "温州联翔科技有限公司" not in found(index, names, "温州某某科技")


def test_credit_code_prefix_and_whole(corpus) -> None:
    index, names, codes = corpus
    target = codes[0]
    hits = index.search(target[:12], limit=None)
    assert 0 in [h.row for h in hits]
    assert all(codes[h.row].startswith(target[:12]) for h in hits)
    assert hits[0].label == "信用代码"
    assert index.search(target.lower(), limit=1)[0].row == 0


def test_typed_with_blanks_and_full_width(corpus) -> None:
    index, names, _ = corpus
    assert "温州联翔科技有限公司" in found(index, names, " 温州 联翔 ")
    assert "温州联翔科技有限公司" in found(index, names, "ＷＺＬＸ", limit=None)
    assert normalize("（温州）") == "(温州)"
    assert found(index, names, "(温州)")[0] == "ABC科技（温州）有限公司"


def test_within_restricts_to_the_filtered_rows(corpus) -> None:
    index, names, _ = corpus
    everything = index.search("联", limit=None)
    assert len(everything) > 2
    keep = index.mask_of(np.array([10, 80]))  # rows 0 and 7: the two 联 names of REAL
    hits = index.search("联", limit=None, within=keep)
    assert sorted(names[h.row] for h in hits) == ["温州联祥电子有限公司", "温州联翔科技有限公司"]
    # near misses respect the mask too
    assert [
        h.enterprise_id
        for h in index.search("温州联想科技", limit=None, within=index.mask_of(np.array([10])))
    ] == [10]
    assert 10 not in [
        h.enterprise_id
        for h in index.search("温州联想科技", limit=None, within=index.mask_of(np.array([80, 20])))
    ]


def test_nothing_for_nonsense_and_empty(corpus) -> None:
    index, names, _ = corpus
    assert index.search("", limit=10) == []
    assert index.search("   ", limit=10) == []
    assert index.search("qqqxxxzzz", limit=10) == []
    empty = SearchIndex([], [], [], [], [])
    assert empty.search("联翔") == []


def test_common_fragment_finds_every_name(corpus) -> None:
    index, names, _ = corpus
    hits = index.search("有限公司", limit=None)
    assert len(hits) == len(names)
    assert len({h.row for h in hits}) == len(names)
