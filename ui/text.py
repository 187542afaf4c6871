"""User text inside Markdown-rendering widgets, shown as the characters typed.

Streamlit renders Markdown in st.markdown, st.caption, st.info/warning/error/success, titles, expander
and widget labels: a file named ``[点此](https://evil.example) ![t](https://x/y.png).pdf`` would become a
link and an image the officer's browser fetches. Prefer st.text / st.code / dataframe cells for user text;
where it must sit inside a sentence, wrap it in :func:`plain`.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character CommonMark lets a backslash escape, plus what Streamlit adds on top
# (``:emoji:``, ``:color[...]``, ``$math$``, ``~strike~``).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'^%@;,/?])")


def plain(text: object) -> str:
    """``text`` with every Markdown meaning removed (newlines become spaces: one line stays one line)."""
    if text is None:
        return ""
    value = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", value)
