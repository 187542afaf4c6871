"""Background work of the app process: the 动态积分 worker (services.dynamic), one per process and database.

Every replica starts one; the database lease decides which replica recomputes a year. ``DYNAMIC_WORKER=0``
turns it off (tests that swap databases under one process; deployments running ``manage.py
dynamic-worker`` as a process of its own).
"""

from __future__ import annotations

import os

import streamlit as st

from db.session import database_url, get_engine
from services.dynamic import DynamicWorker


@st.cache_resource(show_spinner=False)
def _worker(url: str) -> DynamicWorker:
    return DynamicWorker(lambda: get_engine(url)).start()


def ensure_dynamic_worker() -> None:
    """Start this process's worker for the current database once (later calls are a cache hit)."""
    if os.environ.get("DYNAMIC_WORKER", "1") != "0":
        _worker(database_url())
