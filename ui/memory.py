"""What a finished script run leaves behind is given back at the end of the run, cheaply.

Two things kept a server's memory growing with every officer session (~20 MiB a session at 100,000
enterprises, nothing given back after the sessions closed):

* Streamlit 1.67 never forgets a widget's metadata once drawn (``WStates.remove_stale_widgets`` prunes
  the values, not ``widget_metadata``). A widget's ``format_func`` or callback defined in a page keeps
  that page's whole namespace alive (a function's ``__globals__``): each session held the last run of
  every page it had opened — 企业检索's ``SearchResult`` of the whole run among them.
  :func:`forget_undrawn_widgets` drops the metadata of the widgets a completed run did not draw, which
  Streamlit itself treats as stale at the end of the run (missing metadata is stale).
* A page's namespace is a reference cycle (its functions point back at it), freed only by a full
  garbage collection. Streamlit's collection after every run (``runner.postScriptGC``) walked the whole
  heap — a quarter of a million objects, mostly imported code — in 0.15–0.3 s per page load at 100,000,
  so it is off (.streamlit/config.toml) and full collections came rarely. :func:`collect` runs one at the
  end of each run over what the process made since its first run only: the first collection freezes
  (``gc.freeze``) what is alive then — the imported modules, the warm-up's shared caches.

Under AppTest (``global.appTest``) the process is the test suite: no collection and no freeze there (a
full collection of the suite's heap after each of its script runs would cost minutes, a freeze would
keep the suite's own objects forever); tests/app/test_session_memory.py runs them as served."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_frozen = False


def collect() -> int:
    """A full collection of what the process made since its first collection (the first one freezes
    what survives it, never walked again). The number of unreachable objects found."""
    global _frozen
    found = gc.collect()
    with _lock:
        if not _frozen:
            gc.freeze()
            _frozen = True
    return found


def forget_undrawn_widgets() -> int:
    """Drop this session's metadata of widgets the run now ending did not draw (call only at the end of
    a completed full run: a run cut short by a rerun has not drawn all of its widgets). How many."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return 0
    drawn = ctx.shared.widget_ids_this_run.snapshot()
    safe = ctx.session_state
    with safe._lock:  # Streamlit's own lock of this session's state (private: pinned to 1.67's layout)
        metadata = safe._state._new_widget_state.widget_metadata
        undrawn = [widget_id for widget_id in metadata if widget_id not in drawn]
        for widget_id in undrawn:
            del metadata[widget_id]
    return len(undrawn)


def served() -> bool:
    """Whether this process serves the app (False under AppTest: see the module's notes)."""
    from streamlit import config

    return not config.get_option("global.appTest")


@contextlib.contextmanager
def after_run() -> Iterator[None]:
    """Wrap a script run's page. A completed run forgets the widgets it did not draw; every run of a
    served app ends with a collection (a run stopped by ``st.stop`` or a rerun: its own frames go at
    the next one)."""
    try:
        yield
        forget_undrawn_widgets()
    finally:
        if served():
            collect()
