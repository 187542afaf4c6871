"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

An 18-character code: registration authority (1), entity type (1), administrative division (6),
organisation code (9) and a check character (1). Every character comes from a 31-symbol alphabet —
the digits and the upper-case Latin letters without I, O, Z, S and V (they are too easily mistaken for
1, 0, 2, 5 and U). The check character is ``31 − (Σ value(cᵢ)·wᵢ mod 31)`` over the first 17
characters, with 31 mapped to ``0``.

Design:

* Validation is strict about the exact string: ``is_valid``/``explain``/``validate_series`` do not
  clean up input. Callers that accept user input run ``normalize`` (or ``normalize_series``) first and
  store the normalised form, so that one enterprise never exists under two spellings.
* ``explain`` returns ``None`` for a valid code, otherwise one Chinese sentence naming every problem
  (length, each illegal character with its position, the wrong check character and the expected one):
  officers fix import files from these messages, so they must say exactly what to change.
* ``validate_series`` is vectorised with numpy (a 100k-row import is checked in milliseconds) and falls
  back to ``explain`` only for the rows that fail.
* Only the alphabet and the check character are checked, not the plausibility of the division code:
  that is what the standard makes verifiable, and it cannot reject a genuine code.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
EXCLUDED_LETTERS = "IOZSV"

_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
# Lookup table for the vectorised path: code point -> value, -1 for anything outside the alphabet.
_LUT = np.full(0x10000, -1, dtype=np.int16)
for _ch, _v in _VALUE.items():
    _LUT[ord(_ch)] = _v
_WEIGHTS_ARR = np.array(WEIGHTS, dtype=np.int64)

# Full-width ASCII (U+FF01..U+FF5E) -> half-width, ideographic space -> space.
_FULLWIDTH: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# Invisible format characters (zero-width space and joiners, BOM, word joiner, soft hyphen, direction
# marks) come along when a code is copied from a web page or a chat; they carry nothing, and a message
# pointing at "第19位“​”" cannot be acted on. Removed (the check character still guards the code); the
# same set as core.spreadsheet.numbers.INVISIBLE_CHARS.
_INVISIBLE = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_FULLWIDTH.update(
    {
        cp: None
        for cp in (0x00AD, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065))
    }
)
_WIDE_CHARS = f"[\uff01-\uff5e\u3000{_INVISIBLE}]"

# Default seed body for make_code: 9 = registered by 工商 (market regulation), 1 = enterprise,
# 330303 = 温州市龙湾区 (the pilot district).
_DEMO_PREFIX = "91330303"


def normalize(code: object) -> str:
    """Strip, convert full-width characters to half-width, drop invisible format characters and
    upper-case (``None`` → ``""``)."""
    if code is None or (isinstance(code, float) and code != code):
        return ""
    return str(code).translate(_FULLWIDTH).strip().upper()


def normalize_series(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize`; missing values become ``""``."""
    s = codes.astype("str").fillna("")
    # Only the few cells with a full-width or invisible character go through str.translate (Python per cell).
    wide = s.str.contains(_WIDE_CHARS, regex=True).to_numpy(dtype=bool)
    if wide.any():
        s = s.copy()
        s[wide] = s[wide].str.translate(_FULLWIDTH)
    return s.str.strip().str.upper()


def check_digit(first17: str) -> str:
    """The check character for the first 17 characters; ``ValueError`` if they are not 17 legal ones."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"需要前17位，实际为{len(first17)}位")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"含非法字符“{exc.args[0]}”") from None
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when ``code`` is exactly 18 legal characters with the right check character."""
    if not isinstance(code, str) or len(code) != LENGTH:
        return False
    if any(ch not in _VALUE for ch in code):
        return False
    return check_digit(code[:17]) == code[17]


def _describe_char(ch: str) -> str:
    """Why one character is illegal, phrased so that the reader knows the fix."""
    if ch in EXCLUDED_LETTERS:
        return f"“{ch}”（代码不使用字母 I、O、Z、S、V）"
    if "a" <= ch <= "z":
        return f"“{ch}”（字母须大写）"
    if 0xFF01 <= ord(ch) <= 0xFF5E or ch == "\u3000":
        return f"“{ch}”（全角字符，须为半角）"
    if ch.isspace():
        return "空格"
    if unicodedata.category(ch) in ("Cf", "Cc"):
        return f"不可见字符（U+{ord(ch):04X}）"
    return f"“{ch}”"


def explain(code: str) -> str | None:
    """``None`` when ``code`` is valid, otherwise a Chinese message saying exactly what is wrong."""
    if code is None or (isinstance(code, float) and code != code):
        return "统一社会信用代码为空"
    if not isinstance(code, str):
        code = str(code)
    if code == "":
        return "统一社会信用代码为空"
    if _SCIENTIFIC.fullmatch(code.strip()):
        # An 18-digit code in a "General" Excel column becomes a number: the last digits are lost.
        return (
            "统一社会信用代码被表格存成了数字（科学计数法，后几位已丢失）：请把该列设为“文本”格式后重新填写"
        )
    problems: list[str] = []
    if len(code) != LENGTH:
        problems.append(f"应为18位，实际为{len(code)}位")
    bad = [(i + 1, ch) for i, ch in enumerate(code) if ch not in _VALUE]
    if bad:
        shown = "、".join(f"第{pos}位{_describe_char(ch)}" for pos, ch in bad[:5])
        more = f"等{len(bad)}处" if len(bad) > 5 else ""
        problems.append(f"含非法字符：{shown}{more}")
    if len(code) == LENGTH and all(ch in _VALUE for ch in code[:17]):
        expected = check_digit(code[:17])
        if code[17] != expected:
            problems.append(f"校验位错误：第18位为“{code[17]}”，按前17位计算应为“{expected}”")
    if not problems:
        return None
    return "统一社会信用代码" + "；".join(problems)


def validate_series(codes: pd.Series) -> pd.Series:
    """Explanation per code (``None`` where valid), same index; vectorised for large imports."""
    n = len(codes)
    result = np.full(n, None, dtype=object)
    if n == 0:
        return pd.Series(result, index=codes.index, dtype=object)
    s = codes.astype("str")
    lengths = s.str.len().fillna(-1).to_numpy(dtype=np.int64)
    candidates = np.flatnonzero(lengths == LENGTH)
    ok = np.zeros(n, dtype=bool)
    if len(candidates):
        values = s.to_numpy(dtype=object)[candidates]
        # Fixed-width unicode array viewed as code points: one (k, 18) integer matrix, no Python loop.
        points = np.array(values.tolist(), dtype=f"<U{LENGTH}").view(np.uint32).reshape(-1, LENGTH)
        digits = _LUT[np.minimum(points, 0xFFFF)]
        digits = np.where(points > 0xFFFF, -1, digits)
        legal = (digits >= 0).all(axis=1)
        total = digits[:, :17].astype(np.int64) @ _WEIGHTS_ARR
        expected = (31 - total % 31) % 31
        ok[candidates] = legal & (expected == digits[:, 17])
    raw = codes.to_numpy(dtype=object)
    for i in np.flatnonzero(~ok):
        result[i] = explain(raw[i])
    return pd.Series(result, index=codes.index, dtype=object)


def make_code(seed_digits: str, *, prefix: str = _DEMO_PREFIX) -> str:
    """A valid code built from ``seed_digits`` (for demo data and tests).

    Up to 9 digits become the organisation-code part (zero-padded) behind ``prefix`` (8 characters,
    default ``91330303``: an enterprise registered in 温州市龙湾区); 17 legal characters are used as
    the body as they are. The check character is appended.
    """
    seed = str(seed_digits)
    if len(seed) == LENGTH - 1:
        body = seed
    elif seed.isdigit() and len(seed) <= 9:
        if len(prefix) != 8:
            raise ValueError("prefix 须为8位")
        body = prefix + seed.zfill(9)
    else:
        raise ValueError("seed_digits 须为不超过9位的数字，或17位合法字符")
    return body + check_digit(body)
