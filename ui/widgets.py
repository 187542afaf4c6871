"""Chinese wrappers of the Streamlit widgets whose built-in texts are English.

One place for the defaults every page shares:

* :func:`multiselect` / :func:`selectbox` — Chinese placeholders ("Choose options"), no "Select all"
  (one mis-tap must not request every service), no typing filter on short lists (so no "No results");
* :func:`file_uploader` — the per-widget upload limit matches the label (10 MB, not "50MB per file");
  the uploader's own English button and size line are relabelled by :data:`CHROME_CSS` (Streamlit has
  no parameter for them), which Home.py applies once per run with :func:`apply_chrome`.

Tables are ui.tables.show_table (readable cells, a Chinese sentence for no rows).
"""

from __future__ import annotations

import datetime
import numbers
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from core import evidence
from ui import uploads

FAVICON = Path(__file__).parent / "assets" / "favicon.png"  # served by this server, never fetched
MAX_UPLOAD_MB = evidence.MAX_BYTES // (1024 * 1024)  # evidence and objection files (core.evidence)
SHORT_LIST = 12  # up to this many options the dropdown is tapped, not typed into

# Streamlit's file uploader hard-codes "Upload" and "<n>MB per file • PDF, JPG": hide both (the widget
# label states the types and the limit in Chinese) and write the button's text in Chinese.
CHROME_CSS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-has-shortcut]::after { content: "选择文件"; }
</style>
"""


def apply_chrome() -> None:
    """Relabel the built-in English texts that have no parameter (once per run, from Home.py)."""
    from ui.chrome import CSS, SCRIPT

    st.html(CHROME_CSS + CSS)
    # the attributes CSS cannot reach (ui/chrome.py): in the sidebar, where an element takes no room
    # from the page (the login cookie's script sits there too)
    with st.sidebar:
        st.html(SCRIPT, unsafe_allow_javascript=True)


def _labelled(options: Sequence[Any] | Mapping[Any, str], kwargs: dict[str, Any]) -> list:
    """The choices of ``options``; a mapping's values become the shown labels (unless a page formats)."""
    if isinstance(options, Mapping):
        kwargs.setdefault("format_func", options.get)
    return list(options)


def multiselect(
    label: str,
    options: Sequence[Any] | Mapping[Any, str],
    *,
    placeholder: str | None = None,
    container: Any = None,
    **kwargs: Any,
) -> list:
    """``st.multiselect`` (in ``container``, default the page) with a Chinese placeholder and without
    "Select all". ``options`` may be a mapping: its keys are chosen, its values shown."""
    options = _labelled(options, kwargs)
    if not options:
        placeholder = placeholder or "暂无可选项"
        kwargs["disabled"] = True
    kwargs.setdefault("filter_mode", None if len(options) <= SHORT_LIST else "contains")
    where = container if container is not None else st
    return where.multiselect(
        label, options, placeholder=placeholder or "请选择（可多选）", select_all=False, **kwargs
    )


def selectbox(
    label: str,
    options: Sequence[Any] | Mapping[Any, str],
    *,
    placeholder: str | None = None,
    container: Any = None,
    **kwargs: Any,
) -> Any:
    """``st.selectbox`` (in ``container``) with a Chinese placeholder; short lists are tapped, not filtered
    by typing. ``options`` may be a mapping: its keys are chosen, its values shown."""
    options = _labelled(options, kwargs)
    kwargs.setdefault("filter_mode", None if len(options) <= SHORT_LIST else "contains")
    where = container if container is not None else st
    return where.selectbox(label, options, placeholder=placeholder or "请选择", **kwargs)


def file_uploader(
    label: str,
    *,
    type: Sequence[str] = ("pdf", "jpg", "jpeg", "png"),  # noqa: A002
    **kwargs: Any,
) -> Any:
    """``st.file_uploader`` limited to :data:`MAX_UPLOAD_MB` per file (what the labels promise)."""
    kwargs.setdefault("max_upload_size", MAX_UPLOAD_MB)
    uploads.allow(kwargs["max_upload_size"])  # the server accepts files only where a page shows an uploader
    return st.file_uploader(label, type=list(type), **kwargs)


def number_input(
    label: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    container: Any = None,
    **kwargs: Any,
) -> Any:
    """``st.number_input`` whose range is checked here, in Chinese.

    Streamlit's own ``min_value``/``max_value`` make the browser show an English tooltip ("Number is
    outside the allowed range …") and silently keep the old value. Here the widget has no bounds; a value
    outside them is reported under the field and the nearest allowed value is returned (so the page
    never computes with it).
    """
    where = container if container is not None else st
    value = where.number_input(label, **kwargs)
    if value is None:
        return None
    bounded = value
    if min_value is not None and value < min_value:
        bounded = type(value)(min_value)
    if max_value is not None and value > max_value:
        bounded = type(value)(max_value)
    if bounded != value:
        where.error(f"“{label}”{range_text(min_value, max_value)}，当前为 {value:g}，已按 {bounded:g} 处理。")
    return bounded


def year_input(label: str, *, key: str, container: Any = None) -> int:
    """A year field (2000–2100), starting at the year under evaluation (core.clock)."""
    from core import clock

    return number_input(
        label,
        container=container,
        min_value=2000,
        max_value=2100,
        value=clock.evaluation_year(),
        step=1,
        key=key,
    )


def range_text(min_value: float | None, max_value: float | None) -> str:
    """ "应在 0–100 之间" / "不能小于 0" / "不能大于 100" (empty when unbounded)."""
    if min_value is not None and max_value is not None:
        return f"应在 {min_value:g}–{max_value:g} 之间"
    if min_value is not None:
        return f"不能小于 {min_value:g}"
    if max_value is not None:
        return f"不能大于 {max_value:g}"
    return ""


def day_until_today(label: str, *, key: str, container: Any = None) -> Any:
    """A past day (a decision, a payment): today by default, none after today (Beijing, core.clock)."""
    from core import clock

    where = container if container is not None else st
    return where.date_input(label, value=clock.today(), max_value=clock.today(), format="YYYY-MM-DD", key=key)


def open_tab_only(tabs: Mapping[str, Callable[[], None]], *, key: str) -> None:
    """``st.tabs`` (labels in order) of which only the open tab's body runs and is drawn; a tab click
    reruns the page, which reads from its caches. Drawn all at once, every tab's tables travelled to the
    browser for it to lay out on each visit though one tab is read at a time (积分榜单's five stages held
    20,000 rows at 100,000 enterprises). ``key`` keeps the open tab across reruns.

    What an officer typed or chose in a tab is kept while another tab is open (:func:`_kept_values`):
    Streamlit forgets the value of a widget a run does not draw, so a closed tab's inputs were reset.
    """
    store_key = f"{key}{KEPT_SUFFIX}"
    # The bar's own value is there only if the previous run drew it: a page opened afresh (from another
    # page, or its first run) starts with empty inputs, as Streamlit's widgets outside the tabs do.
    kept: dict[str, Any] = st.session_state.get(store_key, {}) if key in st.session_state else {}
    opened_before, tab_values = kept.get("open"), dict(kept.get("tabs", {}))
    if opened_before in tab_values:
        # This run may bring the last edits in the tab being closed (a field left by the click on another
        # tab): taken now, before the end of the run drops the values of the widgets it did not draw.
        tab_values[opened_before] = {
            widget: st.session_state.get(widget, value) for widget, value in tab_values[opened_before].items()
        }
    for (label, draw), tab in zip(tabs.items(), st.tabs(list(tabs), key=key, on_change="rerun"), strict=True):
        if not tab.open:
            continue
        restored = []
        if label != opened_before:  # the tab was closed on the previous run: its widgets were not drawn
            for widget, value in tab_values.get(label, {}).items():
                if widget not in st.session_state:  # (a value the page set itself wins)
                    st.session_state[widget] = value  # Streamlit's pattern for a widget not always drawn
                    restored.append(widget)
        before = _drawn_widget_ids()
        try:
            with tab:
                draw()
        finally:  # also when the tab ends the run (st.rerun after a save, st.stop)
            drawn = _drawn_widget_ids() - before
            values = _kept_values(drawn)
            for widget in restored:  # not drawn again (the form is gone): no value lingers for later
                if widget not in values and widget in st.session_state:
                    del st.session_state[widget]
            # each tab's values of its last drawing, and which tab that was: no growth with the visits
            st.session_state[store_key] = {"open": label, "tabs": {**tab_values, label: values}}


# st.session_state[<bar key> + KEPT_SUFFIX]: {"open": the tab the last run drew,
#                                             "tabs": {tab label: {widget key: value}}}
KEPT_SUFFIX = "__kept"
# Widget values kept for a closed tab: those a page can set through st.session_state. Not buttons
# (triggers), uploads, table or chart selections (Streamlit refuses them), nor a value that is an
# arbitrary object (it could hold a page's namespace alive, what ui.memory gives back).
_SETTABLE_TYPES = frozenset(
    {
        "bool_value",
        "double_value",
        "int_value",
        "string_value",
        "double_array_value",
        "int_array_value",
        "string_array_value",
    }
)
_PLAIN = (str, numbers.Number, datetime.date, datetime.time, datetime.timedelta, type(None))


def _drawn_widget_ids() -> frozenset[str]:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.shared.widget_ids_this_run.snapshot() if ctx is not None else frozenset()


def _kept_values(widget_ids: frozenset[str]) -> dict[str, Any]:
    """{key: value} of the keyed widgets among ``widget_ids`` whose value can be given back through
    st.session_state when the tab is drawn again (:data:`_SETTABLE_TYPES`, plain values only)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not widget_ids:
        return {}
    state = ctx.session_state._state  # Streamlit's session state (private: pinned to 1.67, as ui.memory)
    values: dict[str, Any] = {}
    for widget in st.session_state:
        widget_id = state.get_widget_id_from_key(widget)
        if widget_id not in widget_ids:
            continue
        metadata = state.get_widget_metadata(widget_id)
        if metadata is None or metadata.value_type not in _SETTABLE_TYPES:
            continue
        value = st.session_state[widget]
        items = value if isinstance(value, list | tuple) else (value,)
        if all(isinstance(item, _PLAIN) for item in items):
            values[str(widget)] = value
    return values
