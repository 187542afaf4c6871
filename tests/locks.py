"""Asking PostgreSQL whether a statement waits for a lock (tests of the reference checks' races)."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text


def waits_for_a_lock(engine: Engine, statement: str, tries: int = 600) -> bool:
    """Whether a backend running ``statement`` comes to wait for a lock, asked of PostgreSQL every 50 ms
    (up to ``tries`` times). Asked rather than inferred from a thread's timed join: under faketime's
    absolute clock a timed wait on a thread never times out (the suite runs at other dates too)."""
    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE :statement"
    )
    with engine.connect() as connection:
        for _ in range(tries):
            if connection.execute(text(waiting), {"statement": statement + "%"}).scalar_one():
                return True
            connection.rollback()  # a fresh snapshot of pg_stat_activity for the next look
            time.sleep(0.05)
    return False
