"""Unified social credit code: algorithm, messages, normalisation and the vectorised validator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import credit_code as cc

# Published codes of well-known enterprises (business licences / 国家企业信用信息公示系统), plus the
# example printed in GB 32100-2015 explanations.
REAL_CODES = [
    "91350100M000100Y43",  # the standard's worked example
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
]

body17 = st.text(alphabet=cc.CHARSET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert cc.is_valid(code)
    assert cc.explain(code) is None
    assert cc.check_digit(code[:17]) == code[17]


def test_alphabet_and_weights() -> None:
    assert len(cc.CHARSET) == 31
    assert not set(cc.CHARSET) & set("IOZSV")
    # The weights are 3^i mod 31: a single wrong character or swapped neighbours always change the sum.
    assert list(cc.WEIGHTS) == [pow(3, i, 31) for i in range(17)]


def test_check_digit_31_maps_to_zero() -> None:
    # Σ ≡ 0 (mod 31) gives 31 − 0 = 31 → "0".
    assert cc.check_digit("0" * 17) == "0"
    assert cc.is_valid("0" * 18)


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        cc.check_digit("123")
    with pytest.raises(ValueError):
        cc.check_digit("9133030300000000I")


def test_explain_length() -> None:
    assert cc.explain("91330303") == "统一社会信用代码应为18位，实际为8位"
    assert "实际为19位" in cc.explain(cc.make_code("1") + "1")


def test_explain_empty() -> None:
    assert cc.explain("") == "统一社会信用代码为空"
    assert cc.explain(None) == "统一社会信用代码为空"  # type: ignore[arg-type]


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_explain_excluded_letters(letter: str) -> None:
    code = "9133030300000000" + letter + "X"
    message = cc.explain(code)
    assert message is not None
    assert f"第17位“{letter}”" in message
    assert "I、O、Z、S、V" in message
    assert not cc.is_valid(code)


def test_explain_lowercase_and_fullwidth() -> None:
    assert "字母须大写" in cc.explain("91330303MA2abcde0X")
    assert "全角" in cc.explain("９1330303000001234X")


def test_explain_wrong_check_digit_names_expected() -> None:
    good = "914403001922038216"
    bad = good[:17] + "7"
    assert cc.explain(bad) == "统一社会信用代码校验位错误：第18位为“7”，按前17位计算应为“6”"


def test_explain_illegal_check_character_still_names_expected() -> None:
    message = cc.explain("91440300192203821O")
    assert "第18位“O”" in message and "应为“6”" in message


def test_explain_code_saved_as_number() -> None:
    assert "科学计数法" in cc.explain("9.14403001922038e+17")
    assert "科学计数法" in cc.validate_series(pd.Series(["9.14403001922038E+17"])).iloc[0]


def test_explain_combines_problems() -> None:
    message = cc.explain("91 330")
    assert "应为18位，实际为6位" in message and "空格" in message


def test_normalize() -> None:
    assert cc.normalize("  ９１４４０３００１９２２０３８２１６\u3000") == "914403001922038216"
    assert cc.normalize(" 91440300708461136t\n") == "91440300708461136T"
    assert cc.normalize(None) == ""
    s = pd.Series([" 91440300708461136t", None, "９１"])
    assert cc.normalize_series(s).tolist() == ["91440300708461136T", "", "91"]


def test_invisible_characters_copied_from_a_web_page_are_dropped_and_named_when_explained() -> None:
    # A code copied from a web page or a chat carries a zero-width space, a BOM or a word joiner: the
    # message used to point at "第19位“​”", a character nobody can see.
    copied = ["914403001922038216\u200b", "\ufeff91440300708461136t", "9144030019\u2060\u00ad22038216"]
    assert [cc.normalize(c) for c in copied] == [
        "914403001922038216",
        "91440300708461136T",
        "914403001922038216",
    ]
    normalised = cc.normalize_series(pd.Series([*copied, None], dtype="str"))
    assert normalised.tolist() == ["914403001922038216", "91440300708461136T", "914403001922038216", ""]
    assert cc.validate_series(normalised.iloc[:3]).isna().all()
    assert (
        cc.explain("91440300192203821\x076")
        == "统一社会信用代码应为18位，实际为19位；含非法字符：第18位不可见字符（U+0007）"
    )


def test_make_code() -> None:
    code = cc.make_code("42")
    assert code.startswith("91330303000000042") and cc.is_valid(code)
    assert cc.is_valid(cc.make_code("91330000MA27U1BX7"))
    assert cc.make_code("7", prefix="92110000").startswith("92110000")
    with pytest.raises(ValueError):
        cc.make_code("1234567890")


@given(body17)
def test_make_code_from_any_body_is_valid(body: str) -> None:
    assert cc.is_valid(cc.make_code(body))


@given(body17, st.integers(0, 16), st.sampled_from(cc.CHARSET))
def test_any_single_substitution_is_detected(body: str, pos: int, ch: str) -> None:
    code = cc.make_code(body)
    changed = code[:pos] + ch + code[pos + 1 :]
    assert cc.is_valid(changed) == (changed == code)


@given(body17, st.integers(0, 15))
def test_adjacent_transposition_is_detected(body: str, pos: int) -> None:
    code = cc.make_code(body)
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    assert cc.is_valid(swapped) == (swapped == code)


@pytest.mark.slow
@settings(max_examples=50)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20), body17.map(cc.make_code)), max_size=30))
def test_validate_series_agrees_with_explain(codes: list[str | None]) -> None:
    s = pd.Series(codes, dtype=object, index=np.arange(len(codes)) * 3)
    result = cc.validate_series(s)
    assert list(result.index) == list(s.index)
    assert result.tolist() == [cc.explain(c) for c in codes]


def test_validate_series_str_dtype_and_empty() -> None:
    s = pd.Series(["914403001922038216", "914403001922038217", None], dtype="str")
    out = cc.validate_series(s)
    assert out.iloc[0] is None
    assert "应为“6”" in out.iloc[1]
    assert out.iloc[2] == "统一社会信用代码为空"
    assert cc.validate_series(pd.Series([], dtype="str")).empty


def test_validate_series_finds_the_one_bad_code_in_100k() -> None:
    # The time it takes is a benchmark figure (benchmarks/bench_credit_code.py), not a test assertion.
    codes = [cc.make_code(str(i)) for i in range(100_000)]
    codes[17] = codes[17][:17] + ("0" if codes[17][17] != "0" else "1")
    out = cc.validate_series(pd.Series(codes, dtype="str"))
    assert out.notna().sum() == 1 and out.iloc[17] is not None
