"""The Chinese layer over Streamlit's built-in English texts — the one place for it.

Streamlit speaks English in its own chrome and offers options for only part of it. What it offers is
used where it is set:

* the sidebar's "View N more / View less": ``st.navigation(expanded=True)`` (Home.py) lists every page;
* the ⋮ menu's "Print / Record screen / Made with Streamlit": ``client.toolbarMode = "minimal"``
  (.streamlit/config.toml) — no menu at all;
* the tables' "Download as CSV": ``client.disableDataExport = true`` — it would also bypass the
  formula-injection sanitiser; the pages offer sanitised xlsx/csv downloads (ui.tables.download_table);
* "Choose an option", "Select all", "No results" of select boxes: ``placeholder``, ``select_all=False``
  and ``filter_mode`` through ui.widgets.selectbox / ui.widgets.multiselect;
* a number field's English range-error tooltip: no ``min_value``/``max_value`` on the widget (ui.widgets
  .number_input states the range in Chinese; the services check it with Chinese messages).

For the rest Streamlit has no option, so :data:`CSS` (local, nothing fetched) writes Chinese over it:
the table and chart toolbars' tooltips (:data:`TOOLTIPS`, matched through ``:has()`` by the label of the
button whose tooltip is open), the hint under a text field ("Press Enter to apply"), the empty dropdown ("No results"),
the date picker's "Date range / Past …" quick select (hidden: the field states the range), the
keyboard "Skip to main content" link, and Streamlit's default select-box placeholders ("Choose an
option", not drawn).

Every table also has menus of its own (:func:`_table_menus`): a column's ⋮ menu (sort, autosize, pin,
hide — relabelled by their place in the menu, which Streamlit 1.67 fixes; its "Statistics" and "Format"
submenus are hidden: their dozens of English labels and number formats have no Chinese), the
show/hide-columns list ("Select all"; the hidden index's "(index)" row is not offered) and the table
search ("Type to search"; its English "N results" count is hidden — CSS cannot carry the number over).
A chart's "Show data" is hidden: it shows the chart's drawing data under internal field names (x, y,
order, level), and every chart's numbers are in a table on its page.

CSS cannot reach what a screen reader reads or a mouse shows as the browser's own tooltip: the
``aria-label``, ``title``, ``placeholder`` and ``aria-valuetext`` attributes Streamlit 1.67 writes in
English ("Expand sidebar", "Increment", "Help for 用户名", "Remove 街道", the date field's "month, 日期 start
date" and "12 – December", "Running...", a toast's and a dialog's "Close"). :data:`SCRIPT` rewrites
them in the page: :data:`ATTRIBUTES` (exact texts) and :data:`PATTERNS` (texts around a label of ours),
and :data:`TEXTS` for the few text nodes only a screen reader gets (the calendar's keyboard hint). It
watches the document, so what Streamlit draws later (a dialog, a toast, the status widget, a re-render
that writes the English back) is rewritten as it appears. The CSS above matches a button by either
label, so it holds before and after the rewrite.
"""

from __future__ import annotations

import json

# The English label of a toolbar button (its aria-label, which is also its tooltip) → Chinese.
TOOLTIPS: dict[str, str] = {
    "Show/hide columns": "显示或隐藏列",
    "Download as CSV": "下载表格",
    "Search": "在表格中查找",
    "Fullscreen": "全屏查看",
    "Toggle fullscreen": "全屏查看",
    "Close fullscreen": "退出全屏",
    "Exit fullscreen": "退出全屏",
    "Clear selection": "清除所选",
    "Download as PNG": "下载图片",
    "Download as SVG": "下载图片",
    "Copy Vega-Lite spec": "复制图表定义",
    "Add row": "添加行",
    "Delete row(s)": "删除所选行",
}

# The hint under a text field while it is being edited: its first span (a character counter "3/60"
# follows it when the field has max_chars).
INPUT_HINTS: list[tuple[str, str]] = [
    ("", "按回车键确认"),
    ('[data-testid="stForm"] ', "按回车键提交"),
    ('[data-testid="stTextArea"] ', "按 Ctrl+回车键确认"),
    ('[data-testid="stForm"] [data-testid="stTextArea"] ', "按 Ctrl+回车键提交"),
]

ENGLISH_PLACEHOLDERS = (
    "Choose an option",
    "Choose options",
    "Choose or add an option",
    "Choose or add options",
    "Select...",
    "No options to select",
)
# What Streamlit 1.67 (and Base Web, React Aria inside it) write into aria-label / title / placeholder /
# aria-valuetext, exactly → Chinese. The toolbar labels are also their tooltips (TOOLTIPS above).
ATTRIBUTES: dict[str, str] = {
    **TOOLTIPS,
    "Sidebar": "侧边栏",
    "App pages": "页面导航",
    "Expand sidebar": "展开侧边栏",
    "Collapse sidebar": "收起侧边栏",
    "Link to heading": "本节链接",
    "Show password": "显示密码",
    "Hide password": "隐藏密码",
    "Open": "展开选项",
    "Clear value": "清除所选",
    "Clear all": "全部清除",
    "Select all": "全选",  # the show/hide-columns list of a table
    "Selected values": "已选项",
    "Increment": "增加",
    "Decrement": "减少",
    "file upload": "上传文件",
    "Add files": "添加文件",
    "Choose date": "选择日期",
    "Choose date range": "选择日期范围",
    "Choose date and time": "选择日期和时间",
    "Previous month": "上个月",
    "Next month": "下个月",
    "Clear date": "清除日期",
    "Clear dates": "清除日期",
    "Send message": "发送",
    "Close": "关闭",
    "Notifications": "通知",
    "Running...": "正在运行…",
    "Stop script": "停止运行",
    "Scroll tabs left": "向左滚动标签页",
    "Scroll tabs right": "向右滚动标签页",
    "Dataframe column menu": "列菜单",
    "Previous page": "上一页",
    "Next page": "下一页",
    "Pagination": "分页",
    # a chart's frame (Vega); the marks and axes themselves are not described (ui.charts.show)
    "Vega visualization": "图表",
    "visualization": "图表",
    # the default placeholders of a select box without one of ours: read aloud, still not drawn
    "Choose an option": "请选择",
    "Choose options": "请选择（可多选）",
    "Choose or add an option": "请选择或输入",
    "Choose or add options": "请选择或输入（可多选）",
    "Select...": "请选择",
    "No options to select": "暂无可选项",
}
# Texts around one of our labels: (JavaScript regular expression, replacement with $1 …).
PATTERNS: list[tuple[str, str]] = [
    ("^Help for (.+)$", "“$1”的说明"),
    ("^Remove (.+)$", "移除“$1”"),
    ("^Upload (.+)$", "上传“$1”"),
    ("^Choose date range, (.+)$", "选择日期范围，$1"),
    ("^Choose date, (.+)$", "选择日期，$1"),
    # the date field's parts (React Aria): "year, 公示开始", "日期 start date", "12 – December"
    ("^year, (.+)$", "年，$1"),
    ("^month, (.+)$", "月，$1"),
    ("^day, (.+)$", "日，$1"),
    ("^(.+) start date$", "$1 · 开始日期"),
    ("^(.+) end date$", "$1 · 结束日期"),
    ("^(\\d{1,2}) – [A-Z][a-z]+$", "$1月"),
    ("^Page (\\d+)$", "第 $1 页"),
    # Vega's layer groups (ui.charts.unspoken turns off the descriptions of the marks themselves)
    ("^[a-z]+ mark container$", "图表图形"),
]
# Text nodes a screen reader reads that are not drawn (so CSS cannot relabel what is not there).
TEXTS: dict[str, str] = {
    "Use arrow keys to navigate dates. Enter to select. Escape to close.": "方向键选择日期，回车键确认，Esc 键关闭。",
}
# The calendar's heading, read aloud ("Choose date range, 2026年11月"): patterns for text nodes, kept
# to these (a text node may be user data; these wordings are Streamlit's).
TEXT_PATTERNS: list[tuple[str, str]] = [
    ("^Choose date range, (.+)$", "选择日期范围，$1"),
    ("^Choose date, (.+)$", "选择日期，$1"),
]
_SPOKEN = [
    "aria-label",
    "title",
    "alt",
    "placeholder",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
]

_SCRIPT_BODY = """
(() => {
  if (window.__zhChrome) return;  // once per page: every run draws this element again
  window.__zhChrome = true;
  const exact = %(exact)s, texts = %(texts)s, names = %(names)s;
  const patterns = %(patterns)s.map(([source, to]) => [new RegExp(source), to]);
  const textPatterns = %(text_patterns)s.map(([source, to]) => [new RegExp(source), to]);
  const chinese = (value) => {
    if (Object.prototype.hasOwnProperty.call(exact, value)) return exact[value];
    let out = null;  // patterns compose: "year, 日期 start date" is a year part and a start date
    for (const [re, to] of patterns) if (re.test(out ?? value)) out = (out ?? value).replace(re, to);
    return out;
  };
  const selector = names.map((n) => "[" + n + "]").join(",");
  const fix = (el) => {
    for (const name of names) {
      const value = el.getAttribute(name);
      if (!value) continue;
      // a Material icon inside Markdown ("check_circle icon") sits next to the words it illustrates
      if (name === "aria-label" && /^[a-z0-9_]+ icon$/.test(value)) {
        el.removeAttribute(name);
        el.setAttribute("aria-hidden", "true");
        continue;
      }
      const to = chinese(value);
      if (to === null || to === value) continue;
      el.setAttribute(name, to);
      if (name === "placeholder") el.setAttribute("data-zh-placeholder", "");
    }
  };
  const fixText = (node) => {
    const text = node.data.trim();
    if (texts[text]) node.data = texts[text];
    else for (const [re, to] of textPatterns) if (re.test(text)) node.data = text.replace(re, to);
  };
  const sweep = (root) => {
    if (root.nodeType === 3) return fixText(root);
    if (root.nodeType !== 1) return;
    fix(root);
    root.querySelectorAll(selector).forEach(fix);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) fixText(walker.currentNode);
  };
  sweep(document.body);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") fix(r.target);
      else if (r.type === "characterData") fixText(r.target);
      else r.addedNodes.forEach(sweep);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: names});
})();
"""
SCRIPT = (
    "<script>"
    + _SCRIPT_BODY
    % {
        "exact": json.dumps(ATTRIBUTES, ensure_ascii=False),
        "texts": json.dumps(TEXTS, ensure_ascii=False),
        "names": json.dumps(_SPOKEN),
        "patterns": json.dumps(PATTERNS, ensure_ascii=False),
        "text_patterns": json.dumps(TEXT_PATTERNS, ensure_ascii=False),
    }
    + "</script>"
)

_SMALL = "font-size: 0.75rem;"
_TOOLTIP_SIZE = "font-size: 0.875rem;"


def _labelled(english: str) -> str:
    """``[aria-label=…]`` for Streamlit's English label or the Chinese :data:`SCRIPT` writes over it."""
    chinese = ATTRIBUTES.get(english)
    return (
        f':is([aria-label="{english}"], [aria-label="{chinese}"])' if chinese else f'[aria-label="{english}"]'
    )


def _relabel(selector: str, text: str, size: str) -> str:
    """CSS that hides the element's own text and shows ``text`` instead (no user text ever goes here)."""
    return f'{selector} {{ font-size: 0 !important; }}\n{selector}::after {{ content: "{text}"; {size} }}\n'


_COLUMN_MENU = '[data-testid="stDataFrameColumnMenu"] [role="menu"]'
# A column menu's items by their place (Streamlit 1.67, DataFrame column menu): the two sort items are
# the menu items before its divider (absent for a column that cannot be sorted); autosize, pin/unpin
# and hide are always its last three. Pin and unpin share a place and no attribute tells them apart.
COLUMN_MENU_ITEMS: list[tuple[str, str]] = [
    (f'{_COLUMN_MENU} > [role="menuitem"]:has(+ [role="menuitem"] + :not([role]))', "升序排列"),
    (f'{_COLUMN_MENU} > [role="menuitem"]:has(+ :not([role]))', "降序排列"),
    (f'{_COLUMN_MENU} > [role="menuitem"]:nth-last-child(3)', "自动调整列宽"),
    (f'{_COLUMN_MENU} > [role="menuitem"]:nth-last-child(2)', "固定 / 取消固定此列"),
    (f'{_COLUMN_MENU} > [role="menuitem"]:last-child', "隐藏此列"),
]


def _table_menus() -> list[str]:
    """Rules for the menus inside tables and the chart toolbar (see the module docstring)."""
    rules = [_relabel(selector, text, "font-size: 0.875rem;") for selector, text in COLUMN_MENU_ITEMS]
    hidden = [
        f'{_COLUMN_MENU} > [role="presentation"]',  # "Statistics" and "Format" submenus
        # the column-name copy button: its tooltip is the browser's own ("Copy column name")
        '[data-testid="stDataFrameColumnMenu"] button[aria-label="Copy column name"]',
        '[data-testid="stDataFrameColumnVisibilityMenu"] label:has(> input[aria-label="(index)"])',
        '[data-testid="stDataFrame"] [data-testid="search-result-area"]',
        '[data-testid="stElementToolbar"] [data-testid="stTooltipHoverTarget"]:has(> button[aria-label="Show data"])',
    ]
    rules.append(f"{', '.join(hidden)} {{ display: none !important; }}\n")
    # the column type's icon carries the type's English name as the browser's own tooltip ("text")
    rules.append(f"{_COLUMN_MENU} > :first-child > [title]:first-child {{ pointer-events: none; }}\n")
    rules.append(
        _relabel(
            '[data-testid="stDataFrameColumnVisibilityMenu"] label:has(> input'
            + _labelled("Select all")
            + ") > span:last-child",
            "全选",
            "font-size: 0.875rem;",
        )
    )
    rules.append(_relabel('[data-testid="stDataFrame"] .gdg-search-status label', "输入关键字查找", _SMALL))
    return rules


def _css() -> str:
    rules = _table_menus()
    for english, chinese in TOOLTIPS.items():
        # the open tooltip's trigger carries aria-describedby (hover and keyboard focus alike)
        open_on = (
            f'body:has([data-testid="stTooltipHoverTarget"][aria-describedby] > button{_labelled(english)})'
        )
        rules.append(_relabel(f'{open_on} [data-testid="stTooltipContent"] p', chinese, _TOOLTIP_SIZE))
    for scope, chinese in INPUT_HINTS:
        rules.append(
            _relabel(f'{scope}[data-testid="InputInstructions"] > span:first-child', chinese, _SMALL)
        )
    rules.append(_relabel('[role="listbox"][data-empty="true"] span', "没有匹配的选项", "font-size: 1rem;"))
    # a multiselect's empty list is also what shows once max_selections are chosen ("You can only select …")
    rules.append(
        _relabel(
            '[data-testid="stMultiSelectDropdown"] [role="listbox"][data-empty="true"] span',
            "没有可选的选项（无匹配，或已选满）",
            "font-size: 1rem;",
        )
    )
    rules.append(_relabel('[data-testid="stSkipToContent"]', "跳到正文", "font-size: 1rem;"))
    rules.append(_relabel('[data-testid="stStatusWidget"] button p', "停止", "font-size: 0.875rem;"))
    rules.append('[data-testid="stDateInputQuickSelect"] { display: none !important; }\n')
    # Streamlit's default placeholders of a select box without one of ours (shown while its filter text
    # is empty): not drawn — the label above the box says what to choose.
    defaults = ", ".join(
        [f'input[placeholder="{p}"]::placeholder' for p in ENGLISH_PLACEHOLDERS]
        + ["input[data-zh-placeholder]::placeholder"]  # the same, once SCRIPT has put them in Chinese
    )
    rules.append(f"{defaults} {{ color: transparent !important; }}\n")
    return "<style>\n" + "".join(rules) + "</style>\n"


CSS = _css()
