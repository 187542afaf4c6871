"""Work a callback finishes after another run has begun, kept in a holder until a run takes it over.

With Streamlit's fast reruns a rerun request (a second click, a widget changed meanwhile) starts a new run
at once, beside the one still running; the old run is stopped at its next ``st.session_state`` access or
``st.*`` call. A callback that writes the session state *after* slow database work can so be stopped
with the work done and its result (a message, a new login) lost, and the new run does not see it.

So such a callback writes nothing to the session state after reading its input: it fills a holder, a
dict kept in the session state and handed to it (:func:`holder`), while :func:`under_way` marks it busy.
Mutating that dict is no session-state access. Whichever run comes next waits for a holder still busy
(:func:`settle`, bounded) and takes over what it holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

WAIT_SECONDS = 30  # a run waits this long at most for work under way
_UNDER_WAY = "under_way"


def holder(key: str) -> dict:
    """The holder kept under ``key`` in the session state (created empty on first use)."""
    return st.session_state.setdefault(key, {})


@contextmanager
def under_way(box: dict) -> Iterator[dict]:
    """Mark ``box`` busy while the work inside runs (no session-state access here)."""
    box[_UNDER_WAY] = True
    try:
        yield box
    finally:
        box.pop(_UNDER_WAY, None)


def settle(box: dict, seconds: float = WAIT_SECONDS) -> dict:
    """Wait (at most ``seconds``) until no work fills ``box``; return it."""
    deadline = time.monotonic() + seconds
    while box.get(_UNDER_WAY) and time.monotonic() < deadline:
        time.sleep(0.05)
    return box
