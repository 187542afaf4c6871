"""Numbers from text: the one home of number parsing for every table the system reads.

``parse_number_series`` is vectorised (pyarrow string kernels) and tolerant of what people type: text
numbers, ``1,234.5``/``1，234``, full-width ``１２３．４``, spaces, NBSP and invisible characters, a trailing ``%`` (``4.5%`` →
``4.5``: the value contract stores percentages as numbers), an accountant's ``(1,234)`` (−1234) and, for
money, a ``¥`` before the amount. Anything else is *invalid* (flagged, value
NaN) — including ``-``, ``/`` and ``无``: whether those mean "none" is a business decision for the
caller. Commas must be real thousands groups: ``1,5`` is invalid, not 15.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Full-width digits/signs/separators → ASCII, Unicode spaces → space (trimmed later; an inner space
# stays and makes the cell invalid: "1 234" is ambiguous). Applied only to rows with non-ASCII text.
_NUMBER_TABLE: dict[int, int | str | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
# Invisible format characters (zero-width space/joiners, direction marks, word joiner, soft hyphen, BOM)
# come with numbers copied from web pages and chats: dropped, so a cell is never refused for what
# nobody can see. (``core.credit_code`` drops the same set.)
INVISIBLE_CHARS = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_INVISIBLE = (0x00AD, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065))
_NUMBER_TABLE.update({0x3000: " ", 0x00A0: " ", 0x202F: " "})
_NUMBER_TABLE.update({cp: None for cp in _INVISIBLE})
_NUMBER_TABLE.update({cp: " " for cp in range(0x2000, 0x200B)})
_NUMBER_TABLE.update({0x2212: ord("-"), 0xFE63: ord("-")})
_NUMBER_TABLE[0x3002] = ord(".")  # "。" typed as a decimal point by Chinese IMEs
_UNSIGNED_RE = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?: ?%)?"
# A signed number, or an accountant's negative in parentheses: ``(1,234)`` is −1234 (Excel's accounting
# and "(1,234)" number formats, kept as shown by a csv export or a paste); ``38.1 %`` is 38.1.
_NUMBER_RE = rf"[+-]?{_UNSIGNED_RE}|\( ?{_UNSIGNED_RE} ?\)"
# Currency signs before an amount (Excel's ¥ currency and 会计专用 formats, as a csv keeps them): dropped
# only for amounts of money (``currency=True``), translated like the other non-ASCII characters.
_CURRENCY_TABLE = {**_NUMBER_TABLE, 0x00A5: None, 0xFFE5: None}


def parse_number_series(s: pd.Series, *, currency: bool = False) -> tuple[pd.Series, pd.Series]:
    """``(values float64, invalid bool)``: empty → NaN and not invalid; unparseable → NaN and invalid.
    ``currency``: a ¥ before the number is allowed (a column of money)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        values = np.array(s.to_numpy(dtype=np.float64, na_value=np.nan))
        infinite = np.isinf(values)
        values[infinite] = np.nan
        return pd.Series(values, index=s.index), pd.Series(infinite, index=s.index)
    text = s.astype("str")
    non_ascii = text.str.contains(r"[^\x00-\x7f]", regex=True).to_numpy(dtype=bool, na_value=False)
    if non_ascii.any():  # rare: translate in Python only the rows that need it
        text = text.copy()
        table = _CURRENCY_TABLE if currency else _NUMBER_TABLE
        text[non_ascii] = [v.translate(table) for v in text[non_ascii].tolist()]
    # pyarrow kernels straight on the Arrow array: 10× faster than pandas' regex replace/to_numeric.
    arr = pc.utf8_trim_whitespace(pa.array(text.array))
    empty = pc.fill_null(pc.equal(arr, ""), True).to_numpy(zero_copy_only=False)
    ok = pc.fill_null(pc.match_substring_regex(arr, f"^(?:{_NUMBER_RE})$"), False).to_numpy(
        zero_copy_only=False
    )
    cleaned = pc.replace_substring_regex(pc.if_else(pa.array(ok), arr, None), r"[,% ()]", "")
    values = np.array(pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if pc.any(pc.starts_with(arr, "(")).as_py():  # an accountant's negative
        values[pc.fill_null(pc.starts_with(arr, "("), False).to_numpy(zero_copy_only=False) & ok] *= -1
    overflow = np.isinf(values)  # "1e999"
    values[overflow] = np.nan
    invalid = (~empty & ~ok) | overflow
    return pd.Series(values, index=s.index), pd.Series(invalid, index=s.index)
