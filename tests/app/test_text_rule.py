"""ui.text.plain against the patterns Streamlit's Markdown matches on text *after* unescaping.

The browser proof is tests/e2e/test_hostile_text.py; this checks the same patterns quickly: GFM's
literal autolinks (mdast-util-gfm-autolink-literal) and Streamlit's shortcodes, on the text as the
Markdown parser leaves it once backslash escapes are resolved.
"""

from __future__ import annotations

import re

from ui.text import WORD_JOINER, plain

# The patterns of mdast-util-gfm-autolink-literal and of Streamlit's emoji / icon / colour shortcodes.
URL = re.compile(r"(https?:\/\/|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE)
EMAIL = re.compile(r"([-.+\w]+)@([-\w]+(?:\.[-\w]+)+)")
SHORTCODE = re.compile(r":[\w/+-]+:|:[a-z]+\[")

HOSTILE = (
    "[点此领取补贴](http://evil.example/phish) ![t](https://evil.example/t.png) www.evil.example "
    "mail@evil.example :material/bug_report: :smile: :violet[紫字] $x^2$ <b>粗</b>"
)


def _after_unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def test_plain_leaves_no_autolink_or_shortcode_after_unescaping() -> None:
    text = _after_unescape(plain(HOSTILE))
    assert not URL.search(text) and not EMAIL.search(text) and not SHORTCODE.search(text)
    # What the user reads is what was typed (the word joiner is invisible).
    assert text.replace(WORD_JOINER, "") == HOSTILE


def test_plain_escapes_markdown_syntax_and_keeps_one_line() -> None:
    out = plain("a\n**b** [c](d) `e` $f$")
    assert "\n" not in out
    for token in ("\\*\\*", "\\[c\\]", "\\(d\\)", "\\`", "\\$"):
        assert token in out
    assert plain(None) == ""
