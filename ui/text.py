"""The one rendering rule for user text: it reaches the screen as the characters typed, never as markup.

User text (names of enterprises and carriers, self-report items, evidence file names, objections, service
requests, reasons, answers …) goes through elements that render no Markdown — ``st.text``, ``st.code``,
dataframe cells, chart data, widget *options* — or, where it must sit inside a Markdown-rendering element
(st.markdown / caption / info / warning / error / success, titles, expander and widget labels, metric
labels, chart titles), through :func:`plain`.

Backslash escapes alone are not enough: Streamlit's Markdown runs transforms over the *text* after
parsing, where the escapes are already gone — GFM turns a bare ``http://…``, ``www.…`` or ``a@b.c`` into
a link, and Streamlit turns ``:material/…:``, ``:smile:`` shortcodes into icons and emoji. :func:`plain`
therefore also puts an invisible WORD JOINER (U+2060) after every ``:`` and ``@`` and inside ``www.``,
which those patterns cannot match across. tests/e2e/test_hostile_text.py proves the rule on every page.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character CommonMark lets a backslash escape, plus what Streamlit adds on top
# (``:emoji:``, ``:color[...]``, ``$math$``, ``~strike~``).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'^%@;,/?])")
WORD_JOINER = "\u2060"
# After escaping: "\:" and "\@" (autolinks, shortcodes, icons) and "www" before "\." (www autolinks).
_TEXT_PATTERNS = re.compile(r"(\\[:@])|(?<=www)(?=\\\.)", re.IGNORECASE)


def plain(text: object) -> str:
    """``text`` with every Markdown meaning removed (newlines become spaces: one line stays one line)."""
    if text is None:
        return ""
    value = " ".join(str(text).split())
    escaped = _SPECIAL.sub(r"\\\1", value)
    return _TEXT_PATTERNS.sub(lambda m: (m.group(1) or "") + WORD_JOINER, escaped)
