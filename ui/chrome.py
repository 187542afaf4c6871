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
"""

from __future__ import annotations

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
_SMALL = "font-size: 0.75rem;"
_TOOLTIP_SIZE = "font-size: 0.875rem;"


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
            '[data-testid="stDataFrameColumnVisibilityMenu"] label:has(> input[aria-label="Select all"]) > span:last-child',
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
        open_on = f'body:has([data-testid="stTooltipHoverTarget"][aria-describedby] > button[aria-label="{english}"])'
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
    defaults = ", ".join(f'input[placeholder="{p}"]::placeholder' for p in ENGLISH_PLACEHOLDERS)
    rules.append(f"{defaults} {{ color: transparent !important; }}\n")
    return "<style>\n" + "".join(rules) + "</style>\n"


CSS = _css()
