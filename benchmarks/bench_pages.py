"""Officer pages at scale in a real browser: settle time cold (first after a server start) and warm, and
the server's memory after many officer sessions, on PostgreSQL.

    .venv/bin/python benchmarks/bench_pages.py [--n 100000] [--url postgresql://…/bench_pages] [--keep]
                                              [--warm 5] [--sessions 25] [--restart-each]

Builds a database of its own (``--url``, default ``bench_pages_<n>`` on the TEST_DATABASE_URL server, made
when missing; every table in it is dropped) unless ``--keep`` finds it built: ``n`` enterprises with
names, pinyin keys, industry, street, carrier and bank consent (COPY), two years of department values
(benchmarks/bench_run.py's generator), the earlier year's run finalised and the later year's run in 公示
(services.runs, as an officer would) and an officer account. Then starts one server (``serve.py``, warmed
up as deploy/cluster.py's supervisor does after every start: one anonymous run, which also reads what the
officer pages share — services.scenarios.warm_after_start — and ends when that is read), logs an officer in
(Debian's /usr/bin/chromium through Playwright) and opens, through the sidebar as an officer does:

积分榜单 · 企业检索 (a stage filter, then 检索) · 企业画像 (one enterprise) · 同阶段对比 (two enterprises of
one stage) · 展示大屏 · 榜单与扶持 · 培育库

A page's time is from the click to the moment the app went idle and then stayed idle for 0.8 s (the
cookie component's rerun and any other rerun included; tests/e2e/conftest.wait_settled's rule). For
企业检索 the figure is the filtered search (the click on 检索), and opening the page — no filter, every
enterprise of the run listed, what an officer sees first — is printed beside it and judged too; for
企业画像 and 同阶段对比 the first visit picks the enterprises in the page's own picker (the figure is that
pick), later visits find them still chosen (the figure is the sidebar click).

* cold — the first visit of each page after the start (``--restart-each``: a server start before each
  page's first visit, so no page profits from another's reads);
* warm — the median of ``--warm`` further visits of each page in the same session;
* memory — the server's RSS after the start, after the visits, with ``--sessions`` officer sessions open
  (each logged in in its own browser context, each page opened once) and 30 s after they closed.

The load average is printed with every figure (the machine is shared). Targets: every page ≤ 1.5 s cold
and ≤ 0.5 s warm. Last line: ``targets: …``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import CHROMIUM, CHROMIUM_ARGS, IDLE, rss_mib  # noqa: E402
from benchmarks.own_database import empty_database  # noqa: E402
from benchmarks.synthetic import INDUSTRIES, STREETS  # noqa: E402

COLD_TARGET, WARM_TARGET = 1.5, 0.5
QUIET_S = 0.8
STEP_TIMEOUT_S = 120.0
OFFICER = "bench.pages"
PASSWORD = "Bench#Pages2026-q4"
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PAGES = ["积分榜单", "企业检索", "企业画像", "同阶段对比", "展示大屏", "榜单与扶持", "培育库"]


# ------------------------------------------------------------------ the database
def ensure_database(url: str) -> None:
    """Create the database ``url`` names on its server when it does not exist (never drops one)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.session import make_engine

    name = make_url(url).database
    admin = make_engine(ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _copy_enterprises(cursor, n: int, rng: np.random.Generator, now: str) -> None:  # noqa: ANN001
    from benchmarks.synthetic import make_credit_codes, make_names
    from db.models import enterprise_search_keys

    names = make_names(n, rng)
    codes = make_credit_codes(n, rng)
    industry = rng.choice(INDUSTRIES, n)
    street = rng.choice(STREETS, n)
    carrier = np.where(rng.random(n) < 0.3, rng.integers(1, 41, n), 0)
    consent = rng.random(n) < 0.6
    with cursor.copy("COPY carrier (id, name, kind, street) FROM STDIN") as copy:
        for i in range(1, 41):
            copy.write_row((i, f"龙湾创新载体{i:02d}", "孵化器", STREETS[i % len(STREETS)]))
    with cursor.copy(
        "COPY enterprise (id, credit_code, name, name_initials, name_pinyin, industry, street, carrier_id, "
        "bank_consent, created_at) FROM STDIN"
    ) as copy:
        for i in range(n):
            keys = enterprise_search_keys(names[i])  # what creating the enterprises costs
            copy.write_row(
                (
                    i + 1,
                    str(codes[i]),
                    names[i],
                    keys["name_initials"],
                    keys["name_pinyin"],
                    str(industry[i]),
                    str(street[i]),
                    int(carrier[i]) or None,
                    bool(consent[i]),
                    now,
                )
            )
    cursor.execute("SELECT setval(pg_get_serial_sequence('carrier', 'id'), 40)")
    cursor.execute("SELECT setval(pg_get_serial_sequence('enterprise', 'id'), %s)", (n,))


def build(url: str, n: int, year: int) -> None:
    """Empty ``url`` and fill it: ``n`` enterprises, values of ``year - 1`` and ``year``, a final run of
    ``year - 1``, a run of ``year`` in 公示, the officer account."""
    from datetime import date, timedelta

    from sqlmodel import Session

    from benchmarks.bench_run import copy_two_years
    from db.schema import init_db
    from db.session import make_engine
    from services.accounts import create_user
    from services.actor import Actor
    from services.model_versions import ensure_default_model
    from services.runs import compute_run, finalize_run, publish_run

    empty_database(url)
    engine = make_engine(url)
    init_db(engine)
    rng = np.random.default_rng(11)
    now = "2025-01-01 00:00:00.000000"
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        _copy_enterprises(cursor, n, rng, now)
        copy_two_years(cursor, n, year, rng, now)
        raw.driver_connection.commit()
    finally:
        raw.close()
    system = Actor.system()
    with Session(engine, expire_on_commit=False) as session:
        ensure_default_model(session)
        earlier = compute_run(session, actor=system, year=year - 1)
        start = date.today() - timedelta(days=30)
        publish_run(
            session, actor=system, run_id=earlier.id, notice_start=start, notice_end=start + timedelta(7)
        )
        finalize_run(session, actor=system, run_id=earlier.id)
        later = compute_run(session, actor=system, year=year)
        start = date.today()
        publish_run(
            session, actor=system, run_id=later.id, notice_start=start, notice_end=start + timedelta(7)
        )
        user, _ = create_user(session, actor=system, username=OFFICER, role="officer", password=PASSWORD)
        user.must_change_password = False
        session.add(user)
        session.commit()
    engine.dispose()


def built(url: str) -> bool:
    """Whether ``url`` already holds what :func:`build` makes (the officer account is made last)."""
    from sqlalchemy import text

    from db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text("SELECT 1 FROM public.user WHERE username = :u"), {"u": OFFICER}
                ).first()
            )
    except Exception:  # noqa: BLE001 - no such table: not built
        return False
    finally:
        engine.dispose()


def two_of_a_stage(url: str) -> tuple[tuple[str, str], tuple[str, str], str]:
    """Two ranked enterprises of one stage of the run in 公示 ((name, code) each) and the stage's name."""
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Enterprise, Score
    from db.session import make_engine
    from services.model_versions import get_model
    from services.search_data import default_run

    engine = make_engine(url)
    with Session(engine) as session:
        run = default_run(session)
        model = get_model(session, run.model_version_id)
        stage = model.stages[-1].code
        rows = session.execute(
            select(Enterprise.name, Enterprise.credit_code)
            .join(Score, Score.enterprise_id == Enterprise.id)
            .where(Score.run_id == run.id, Score.stage == stage, Score.rank.is_not(None))  # type: ignore[union-attr]
            .order_by(Score.rank)
            .limit(2)
        ).all()
    engine.dispose()
    return (rows[0][0], rows[0][1]), (rows[1][0], rows[1][1]), model.stage_name(stage)


# ------------------------------------------------------------------ the server
@dataclass
class Server:
    base_url: str
    pid: int


@contextlib.contextmanager
def server(url: str, log: Path) -> Iterator[Server]:
    """One ``serve.py`` server on a free port against ``url``, warmed up as the cluster supervisor does."""
    from deploy.cluster import WARM_UP_TIMEOUT, healthy, streamlit_command, warm_up
    from deploy.local import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "COOKIE_KEY": "bench-pages-cookie-key-" + "7" * 40,
        "APP_ENV": "test",
        "DYNAMIC_WORKER": "0",
        "STREAMLIT_LOGGER_LEVEL": "error",
    }
    with open(log, "a") as out:
        process = subprocess.Popen(
            streamlit_command("serve.py", port), cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 120
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        # as the supervisor does: a browser arriving while that run still reads meets Streamlit's spurious
        # "Page not found" dialog
        started = time.monotonic()
        done = warm_up(port)
        print(
            f"server warm-up {'ended' if done else 'DID NOT END'} in {time.monotonic() - started:.0f} s "
            f"(the supervisor waits up to {WARM_UP_TIMEOUT:.0f} s; {load()})",
            flush=True,
        )
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ------------------------------------------------------------------ the browser
def settle(page, start: float) -> float:  # noqa: ANN001 - a Playwright page
    """Seconds from ``start`` until the app went idle and stayed idle for QUIET_S."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    page.wait_for_selector('[data-testid="stApp"]', timeout=STEP_TIMEOUT_S * 1000)
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(IDLE).count() == 1:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= QUIET_S:
                return quiet_since - start
        else:
            quiet_since = None
        page.wait_for_timeout(25)
    raise TimeoutError("the page did not settle")


def timed(page, action: Callable[[], None]) -> float:  # noqa: ANN001
    start = time.monotonic()
    action()
    return settle(page, start)


def login(page, base_url: str) -> None:  # noqa: ANN001
    from ui.auth import COOKIE_NAME

    page.goto(f"{base_url}/login")
    settle(page, time.monotonic())
    page.get_by_label("用户名").fill(OFFICER)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").wait_for()
    deadline = time.monotonic() + 60
    while not any(c["name"] == COOKIE_NAME for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise TimeoutError("the login cookie never reached the browser")
        page.wait_for_timeout(100)
    settle(page, time.monotonic())


def nav(page, title: str) -> float:  # noqa: ANN001
    """Open a page through the sidebar; seconds until it settled (its heading then shown)."""
    from ui.navigation import OFFICER, PUBLIC

    address = next(p.url_path for p in [*OFFICER, *PUBLIC] if p.title == title)
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{address}"]').first
    # the big screen hides the sidebar (CSS): its links are still there to click, as a keyboard user does
    seconds = timed(page, link.click if link.is_visible() else lambda: link.dispatch_event("click"))
    if title != "展示大屏":  # the big screen shows the programme's name, not its own
        page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    return seconds


def pick(page, container, label: str, option: str, typed: str) -> None:  # noqa: ANN001
    """Choose ``option`` in the multiselect labelled ``label`` (typing ``typed`` to filter, then clicking)."""
    box = container.get_by_label(label)
    box.click()
    box.fill(typed)
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


@dataclass
class Facts:
    first: tuple[str, str]
    second: tuple[str, str]
    stage: str


def visit(page, title: str, facts: Facts, *, first: bool) -> tuple[float, float | None]:  # noqa: ANN001
    """Open ``title`` and show what it is for: (the figure, the sidebar click's time when that is not it)."""
    opened = nav(page, title)
    if title == "企业检索":
        form = page.locator('[data-testid="stForm"]').first
        pick(page, form, "发展阶段", facts.stage, facts.stage)
        seconds = timed(page, form.get_by_role("button", name="检索").click)
        page.get_by_text(re.compile(r"符合条件 [\d,]+ 家")).first.wait_for()
        return seconds, opened
    if title in ("企业画像", "同阶段对比") and first:
        wanted = [facts.first] if title == "企业画像" else [facts.first, facts.second]
        figure = None
        for name, code in wanted:
            page.get_by_label("查找企业").fill(code)
            timed(page, lambda: page.keyboard.press("Enter"))
            start = time.monotonic()
            pick(page, page, "已选企业", f"{name}（{code}）", code)
            seconds = settle(page, start)
            figure = seconds if figure is None else figure
        shown = "数据来源与审计" if title == "企业画像" else "逐项对比（得分）"
        page.get_by_role("heading", name=shown).first.wait_for()
        return figure, opened
    return opened, None


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def new_page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.set_default_timeout(STEP_TIMEOUT_S * 1000)
    return context.new_page()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--url", help="PostgreSQL database of the benchmark's own (default bench_pages_<n>)")
    parser.add_argument("--keep", action="store_true", help="reuse the database when it is already built")
    parser.add_argument("--warm", type=int, default=5, help="warm visits per page (median printed)")
    parser.add_argument(
        "--sessions", type=int, default=25, help="officer sessions open for the memory figure"
    )
    parser.add_argument("--restart-each", action="store_true", help="a server start before each cold visit")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page titles")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is missing (make browser)")
    from sqlalchemy.engine import make_url

    url = args.url or make_url(ADMIN_URL).set(database=f"bench_pages_{args.n}").render_as_string(False)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--url must name a PostgreSQL database")
    ensure_database(url)
    if not (args.keep and built(url)):
        t = time.perf_counter()
        build(url, args.n, args.year)
        print(
            f"built {args.n:,} enterprises, a final and a 公示 run in {time.perf_counter() - t:.0f} s ({load()})"
        )
    first, second, stage = two_of_a_stage(url)
    facts = Facts(first, second, stage)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    log = Path(tempfile.mkdtemp(prefix="bench-pages-")) / "server.log"

    from playwright.sync_api import sync_playwright

    cold: dict[str, tuple[float, float | None, str]] = {}
    warm: dict[str, list[float]] = {p: [] for p in pages}
    warm_open: dict[str, list[float]] = {p: [] for p in pages}
    rss: list[tuple[str, float | None, str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack = contextlib.ExitStack()
        srv = stack.enter_context(server(url, log))
        rss.append(("after the start (warmed up)", rss_mib(srv.pid), load()))
        page = new_page(browser)
        login(page, srv.base_url)
        for k, title in enumerate(pages):
            if args.restart_each and k:
                page.context.close()
                stack.close()
                srv = stack.enter_context(server(url, log))
                page = new_page(browser)
                login(page, srv.base_url)
            figure, opened = visit(page, title, facts, first=True)
            cold[title] = (figure, opened, load())
            print(
                f"cold {title}: {figure:.2f} s"
                + ("" if opened is None else f" (opening {opened:.2f} s)")
                + f" ({load()})",
                flush=True,
            )
        rss.append(("after the cold visits", rss_mib(srv.pid), load()))
        if args.restart_each:  # the warm visits need each page's first visit done in this server
            for title in ("企业画像", "同阶段对比"):
                if title in pages:
                    visit(page, title, facts, first=True)
        for _ in range(args.warm):
            for title in pages:
                figure, opened = visit(page, title, facts, first=False)
                print(f"warm {title}: {figure:.2f} s ({load()})", flush=True)
                warm[title].append(figure)
                if opened is not None:
                    warm_open[title].append(opened)
        rss.append((f"after {args.warm} warm rounds", rss_mib(srv.pid), load()))
        others = []
        for _ in range(args.sessions - 1):
            other = new_page(browser)
            login(other, srv.base_url)
            for title in pages:  # each session holds what an officer's would: its enterprises picked
                visit(other, title, facts, first=True)
            nav(other, pages[0])
            others.append(other)
            print(f"session {len(others) + 1}: RSS {rss_mib(srv.pid) or 0:.0f} MiB ({load()})", flush=True)
        rss.append((f"with {args.sessions} officer sessions open", rss_mib(srv.pid), load()))
        for other in others:
            other.context.close()
        page.context.close()
        time.sleep(30)
        rss.append(("30 s after they closed", rss_mib(srv.pid), load()))
        stack.close()
        browser.close()

    print(
        f"\nbench_pages: {args.n:,} enterprises on PostgreSQL, one server{' (restarted before each cold visit)' if args.restart_each else ''}"
    )
    print(f"{'page':<8} {'cold s':>7} {'warm s':>7}  (opening cold/warm)   load at cold")
    missed = []
    for title in pages:
        figure, opened, at = cold[title]
        median = statistics.median(warm[title]) if warm[title] else float("nan")
        extra = ""
        # the warm opening: 企业检索's later visits open it afresh; 企业画像's and 同阶段对比's find their
        # enterprises chosen, so their warm figure already is the opening (none printed here)
        opened_warm = statistics.median(warm_open[title]) if warm_open[title] else None
        if opened is not None:
            extra = f"({opened:.2f}/{'-' if opened_warm is None else f'{opened_warm:.2f}'})"
        print(f"{title:<8} {figure:>7.2f} {median:>7.2f}  {extra:<20} {at}")
        if figure > COLD_TARGET or not median <= WARM_TARGET:
            missed.append(title)
        if opened is not None and (  # a page opened before its filter or pick: the same targets
            opened > COLD_TARGET or (opened_warm is not None and opened_warm > WARM_TARGET)
        ):
            missed.append(f"{title}（打开，无筛选）")
    print("server RSS:")
    for label, mib, at in rss:
        print(f"  {label}: {'-' if mib is None else f'{mib:.0f}'} MiB ({at})")
    tracebacks = log.read_text(errors="replace").count("Traceback")
    print(f"server tracebacks: {tracebacks} (log {log})")
    print(
        f"targets: cold ≤ {COLD_TARGET} s and warm ≤ {WARM_TARGET} s per page at {args.n:,} enterprises: "
        + ("met" if not missed else "MISSED on " + "、".join(missed))
        + f"; {load()}"
    )
    return 0 if not missed and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
