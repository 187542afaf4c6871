"""Login timing: an unknown user name must cost what a real one costs (no user enumeration).

    .venv/bin/python benchmarks/bench_login.py [--rounds 8] [--db /tmp/bench_login.db]

Times ``services.auth.authenticate`` with a wrong password for a real account and for names that do
not exist (each attempt a fresh name, so no throttling difference either), on a real SQLite file, and
prints medians, minima and their ratios (the minimum is the cost itself on a busy machine). Target: within 20 % (the old code: 1.8 ms vs 240 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete  # noqa: E402

from benchmarks.own_database import remove_sqlite  # noqa: E402
from db.models import LoginThrottle  # noqa: E402
from db.schema import init_db  # noqa: E402
from db.session import make_engine, session_scope  # noqa: E402
from services import (
    accounts,
    auth,  # noqa: E402
)
from services.actor import Actor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--db", default="/tmp/bench_login.db")
    args = parser.parse_args()
    remove_sqlite(Path(args.db))
    engine = make_engine(f"sqlite:///{args.db}")
    init_db(engine)
    with session_scope(engine) as session:
        accounts.create_user(
            session, actor=Actor.system(), username="officer1", role="officer", password="Real2025pass"
        )
    auth._dummy_hash()  # built once per process, like the first login after a start

    real: list[float] = []
    unknown: list[float] = []
    for k in range(args.rounds):
        for name, bucket in (("officer1", real), (f"nobody{k}", unknown)):
            with session_scope(engine) as session:
                started = time.perf_counter()
                result = auth.authenticate(session, username=name, password="wrong-password-1")
                bucket.append(time.perf_counter() - started)
                assert result.message == auth.BAD_CREDENTIALS
                session.execute(delete(LoginThrottle))  # measure the check, not the throttle
    r, u = statistics.median(real), statistics.median(unknown)
    print(
        f"real user, wrong password : median {r * 1000:7.1f} ms  min {min(real) * 1000:7.1f} ms  (n={len(real)})"
    )
    print(
        f"unknown user              : median {u * 1000:7.1f} ms  min {min(unknown) * 1000:7.1f} ms  (n={len(unknown)})"
    )
    # The minimum is the cost itself; medians also carry whatever else the machine is doing.
    print(
        f"ratio unknown/real        : median {u / r:.2f}  min {min(unknown) / min(real):.2f}  (target 0.80–1.20)"
    )
    print(f"same message for both     : {auth.BAD_CREDENTIALS}")


if __name__ == "__main__":
    main()
