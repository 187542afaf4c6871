"""Background work of the app process: the 动态积分 worker (services.dynamic), one per process and database.

Every replica starts one; the database lease decides which replica recomputes a year. ``DYNAMIC_WORKER=0``
turns it off (tests that swap databases under one process; deployments running ``manage.py
dynamic-worker`` as a process of its own).

The workers live in a module-level registry, not in ``st.cache_resource``: any visitor, logged in or not,
can send Streamlit's ``clear_cache`` message, which empties every resource cache — a cached worker was then
forgotten while its thread kept running, and the next run started another (in a load test, 100 messages, 100
threads). A module global survives that message; a worker whose thread died is replaced.
"""

from __future__ import annotations

import threading

from core import settings
from db.session import database_url, get_engine
from services.dynamic import DynamicWorker

_workers: dict[str, DynamicWorker] = {}
_lock = threading.Lock()


def ensure_dynamic_worker() -> None:
    """Start this process's worker for the current database once (later calls find it running)."""
    if not settings.load().dynamic_worker:
        return
    url = database_url()
    with _lock:
        worker = _workers.get(url)
        if worker is None or not worker.thread.is_alive():
            _workers[url] = DynamicWorker(lambda: get_engine(url)).start()
