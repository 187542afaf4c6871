"""Load: enterprises and officers working at once across several servers behind nginx.

    .venv/bin/python benchmarks/bench_load.py --url postgresql://postgres@127.0.0.1:5432/bench_load \
        [--enterprises 25] [--officers 5] [--replicas 2] [--rounds 3] [--seed-size 300] [--max-seconds 900]

Starts ``manage.py serve --replicas N`` (nginx in front, sticky cookies) on free localhost ports against
``--url`` (a database of the benchmark's own: seeded with the demo when empty), then drives Playwright
contexts in Debian's Chromium — bounded in number and in time, localhost only:

* each enterprise session logs in, then per round opens 我的积分 and 数据填报 and saves a draft with a
  value of its own (a write through its server);
* each officer logs in, approves one pending self-report (a write), and per round opens 工作台, 填报审核,
  企业检索 and 榜单与扶持.

Sessions are spread evenly over the servers (the sticky cookie of each browser is chosen). Prints page
times (p50/p95 per page and overall; a login is done when its cookie is in the browser), errors (a step
that failed, a logged-in session shown as logged out, a "page not found" dialog, a server traceback —
target none), lost updates (a saved draft or an approval the database does not hold afterwards — target
none), each server's RSS over time and after the sessions close, the load average, and a targets line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import CHROMIUM, CHROMIUM_ARGS, IDLE, cpu_seconds, pct, rss_mib  # noqa: E402
from deploy.cluster import STICKY_COOKIE, ClusterError  # noqa: E402
from deploy.local import LocalCluster, start_local_cluster, sticky_values  # noqa: E402

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
from ui.auth import COOKIE_NAME  # noqa: E402

PASSWORD = "Bench#Load2026-x7"
QUIET_MS = 800  # a click may bring more than one run (a page switch, a callback's outcome taken over)
STEP_TIMEOUT_MS = 180_000  # a step slower than this counts as an error
REPORT_FIELD = "研发人员数"


# ------------------------------------------------------------------ setup
def _manage(url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "DATABASE_URL": url},
    )


def prepare(url: str, *, enterprises: int, officers: int, seed_size: int) -> dict:
    """Seed (when empty), bench accounts, and for each bench enterprise an editable report of the open year."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from core.self_report_rules import form_specs
    from db.models import Enterprise, Submission, User
    from db.session import make_engine
    from services import self_report
    from services.accounts import create_user
    from services.actor import Actor

    _manage(url, "init-db")
    engine = make_engine(url)
    with Session(engine) as session:
        if not session.execute(select(func.count()).select_from(User)).scalar_one():
            _manage(url, "seed-demo", "--local-demo", "--enterprises", str(seed_size))
    system = Actor.system()
    with Session(engine, expire_on_commit=False) as session:
        taken = set(
            session.execute(select(User.enterprise_id).where(User.enterprise_id.is_not(None))).scalars()
        )
        pending = session.execute(
            select(Submission.enterprise_id, Enterprise.credit_code)
            .join(Enterprise, Enterprise.id == Submission.enterprise_id)
            .where(Submission.state == "submitted")
            .order_by(Submission.enterprise_id)
        ).all()
        pending_ids = {p[0] for p in pending}
        candidates = [
            e
            for e in session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars()
            if e not in taken and e not in pending_ids
        ]
        model = self_report.active_model(session)
        code = next(s.code for s in form_specs(model) if s.kind == "number" and REPORT_FIELD in s.name)
        ent_users: list[dict] = []
        for enterprise_id in candidates:
            if len(ent_users) == enterprises:
                break
            username = f"bench.e{enterprise_id}"
            user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if user is None:
                user, _ = create_user(
                    session,
                    actor=system,
                    username=username,
                    role="enterprise",
                    enterprise_id=enterprise_id,
                    password=PASSWORD,
                )
            user.must_change_password = False
            session.add(user)
            session.commit()
            actor = Actor(username=username, role="enterprise", user_id=user.id, enterprise_id=enterprise_id)
            year = self_report.open_years(session, actor=actor, enterprise_id=enterprise_id)[0]
            draft = self_report.get_or_create_draft(
                session, actor=actor, enterprise_id=enterprise_id, year=year
            )
            if draft.state == "approved":
                try:
                    draft = self_report.request_correction(
                        session,
                        actor=actor,
                        submission_id=draft.id,
                        version=draft.version,
                        reason="负载测试：重新打开填报",
                    )
                except Exception:  # noqa: BLE001 - not correctable (closed year): take another enterprise
                    continue
            if draft.state not in self_report.EDITABLE_STATES:
                continue
            session.commit()
            ent_users.append(
                {"username": username, "enterprise_id": enterprise_id, "submission_id": draft.id}
            )
        off_users = []
        for k in range(officers):
            username = f"bench.o{k + 1}"
            user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if user is None:
                user, _ = create_user(
                    session, actor=system, username=username, role="officer", password=PASSWORD
                )
            user.must_change_password = False
            session.add(user)
            session.commit()
            off_users.append({"username": username, "approve": pending[k] if k < len(pending) else None})
    engine.dispose()
    return {"enterprises": ent_users, "officers": off_users, "code": code}


def start_cluster(url: str, replicas: int, run_dir: Path) -> LocalCluster:
    env = {"DYNAMIC_WORKER": "0", "APP_ENV": "test"}
    env["COOKIE_KEY"] = os.environ.get("COOKIE_KEY") or "bench-load-cookie-key-" + os.urandom(24).hex()
    try:
        return start_local_cluster(url, replicas, run_dir, env=env)
    except ClusterError as exc:
        raise SystemExit(str(exc)) from exc


# ------------------------------------------------------------------ sessions
class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def error(self, who: str, what: str) -> None:
        self.errors.append(f"{who}: {what}")


async def settled(page, start: float) -> float:  # noqa: ANN001
    """Seconds from ``start`` until the app went idle and stayed idle for QUIET_MS."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=STEP_TIMEOUT_MS)
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        if await page.locator(IDLE).count() == 1:
            quiet_since = quiet_since or time.monotonic()
            if (time.monotonic() - quiet_since) * 1000 >= QUIET_MS:
                return quiet_since - start
        else:
            quiet_since = None
        await asyncio.sleep(0.05)
    raise TimeoutError("the page did not settle")


async def open_page(
    page,
    rec: Recorder,
    who: str,
    base_url: str,
    path: str,
    name: str,
    *,  # noqa: ANN001
    logged_in: bool = True,
) -> bool:
    start = time.monotonic()
    try:
        await page.goto(f"{base_url}/{path}", timeout=STEP_TIMEOUT_MS)
        seconds = await settled(page, start)
    except Exception as exc:  # noqa: BLE001 - every failure is counted, the run goes on
        rec.error(who, f"{name}: {type(exc).__name__}")
        return False
    logout = page.get_by_role("button", name="退出登录")
    if logged_in and not await logout.count():
        # The app can look idle for a moment before a page load's first run has drawn anything (on a
        # busy server for many seconds): wait, as long as for any step, until the page shows either the
        # session or the anonymous navigation; only the latter is "shown as not logged in".
        anonymous = page.get_by_role("link", name="登录", exact=True)
        try:
            await logout.or_(anonymous).first.wait_for(timeout=STEP_TIMEOUT_MS)
        except Exception as exc:  # noqa: BLE001
            rec.error(who, f"{name}: {type(exc).__name__}")
            return False
        if not await logout.count():
            rec.error(who, f"{name}: shown as not logged in")
            return False
        seconds = await settled(page, start)
    rec.times[name].append(seconds)
    if await page.locator('[role="dialog"]').count():
        rec.error(who, f"{name}: dialog {(await page.locator('[role=dialog]').first.inner_text())[:60]!r}")
        return False
    return True


async def login(page, rec: Recorder, who: str, base_url: str, username: str) -> bool:  # noqa: ANN001
    if not await open_page(page, rec, who, base_url, "login", "登录页", logged_in=False):
        return False

    async def submit() -> None:
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("button", name="退出登录").wait_for(timeout=STEP_TIMEOUT_MS)
        # Done when the browser holds the login cookie (written by a script in the page once the
        # logged-in page shows): the next page load, a reload or a new tab needs it.
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while not any(c["name"] == COOKIE_NAME for c in await page.context.cookies()):
            if time.monotonic() > deadline:
                raise TimeoutError("the login cookie never reached the browser")
            await asyncio.sleep(0.1)

    return await timed_step(page, rec, who, "登录", submit)


@dataclass
class Crowd:
    """What every session of one benchmark run shares."""

    browser: Any  # Playwright's async Browser
    rec: Recorder
    base_url: str
    rounds: int


@contextlib.asynccontextmanager
async def signed_in(
    crowd: Crowd, sticky: str, who: str, viewport: tuple[int, int], delay: float
) -> AsyncIterator[Any]:
    """After ``delay`` seconds, a page of a new browser context on the server ``sticky`` leads to, logged
    in as ``who``; None when the login failed (counted as an error). The context closes on leaving."""
    await asyncio.sleep(delay)
    width, height = viewport
    context = await crowd.browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    # Every action (a fill, a click) has a step's bound, not Playwright's 30 s: the page can look idle
    # before a page load's first run has drawn the form, and that run takes longer on a busy machine.
    context.set_default_timeout(STEP_TIMEOUT_MS)
    await context.add_cookies([{"name": STICKY_COOKIE, "value": sticky, "url": crowd.base_url}])
    page = await context.new_page()
    try:
        yield page if await login(page, crowd.rec, who, crowd.base_url, who) else None
    finally:
        await context.close()


async def timed_step(page, rec: Recorder, who: str, name: str, action: Callable[[], Awaitable]) -> bool:  # noqa: ANN001
    """Run ``action`` and record the seconds until the page settled under ``name``; a failure is an error."""
    start = time.monotonic()
    try:
        await action()
        rec.times[name].append(await settled(page, start))
        return True
    except Exception as exc:  # noqa: BLE001 - every failure is counted, the run goes on
        first_line = (str(exc).splitlines() or [""])[0][:80]
        rec.error(who, f"{name}: {type(exc).__name__} {first_line}".rstrip())
        return False


async def enterprise_session(crowd: Crowd, sticky: str, user: dict, saved: dict, delay: float = 0.0) -> None:
    rec, base_url, who = crowd.rec, crowd.base_url, user["username"]
    async with signed_in(crowd, sticky, who, (1280, 800), delay) as page:
        if page is None:
            return
        for r in range(crowd.rounds):
            await open_page(page, rec, who, base_url, "my-score", "我的积分")
            if not await open_page(page, rec, who, base_url, "self-report", "数据填报"):
                continue
            value = 100 + (user["enterprise_id"] % 1000) * 10 + r

            async def save(value: int = value) -> None:
                await page.locator(f'input[aria-label*="{REPORT_FIELD}"]').first.fill(str(value))
                await page.get_by_role("button", name="保存草稿").first.click()
                await page.get_by_text("草稿已保存。").first.wait_for(timeout=STEP_TIMEOUT_MS)

            if await timed_step(page, rec, who, "保存草稿", save):
                saved[user["submission_id"]] = value


async def officer_session(crowd: Crowd, sticky: str, user: dict, approved: list, delay: float = 0.0) -> None:
    rec, base_url, who = crowd.rec, crowd.base_url, user["username"]
    async with signed_in(crowd, sticky, who, (1400, 900), delay) as page:
        if page is None:
            return
        if user["approve"] and await open_page(page, rec, who, base_url, "review", "填报审核"):
            enterprise_id, code = user["approve"]

            async def approve() -> None:
                await page.get_by_label("搜索企业（名称或统一社会信用代码）").fill(code)
                await page.keyboard.press("Enter")
                await settled(page, time.monotonic())
                await page.get_by_role("heading", name=re.compile(code)).wait_for(timeout=STEP_TIMEOUT_MS)
                await page.get_by_role("button", name="审核通过").first.click()
                await page.get_by_text(re.compile("已通过：")).first.wait_for(timeout=STEP_TIMEOUT_MS)

            if await timed_step(page, rec, who, "审核通过", approve):
                approved.append(enterprise_id)
        for _ in range(crowd.rounds):
            for path, name in (
                ("", "工作台"),
                ("review", "填报审核"),
                ("search", "企业检索"),
                ("lists-subsidies", "榜单与扶持"),
            ):
                await open_page(page, rec, who, base_url, path, name)


async def drive(
    args: argparse.Namespace, base_url: str, ports: list[int], setup: dict, state_path: Path
) -> dict:
    from playwright.async_api import async_playwright

    rec = Recorder()
    saved: dict[int, int] = {}
    approved: list[int] = []
    sessions = len(setup["enterprises"]) + len(setup["officers"])
    sticky = sticky_values(base_url, ports, (sessions + len(ports) - 1) // len(ports), prefix="load")
    order = [v for group in zip(*sticky.values(), strict=False) for v in group]
    rss: list[tuple[float, list[float | None]]] = []
    started = time.monotonic()
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        while not stop_sampling.is_set():
            pids = [s["pid"] for s in json.loads(state_path.read_text())["servers"]]
            rss.append((time.monotonic() - started, [rss_mib(p) for p in pids]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_sampling.wait(), timeout=2.0)

    sampler = asyncio.create_task(sample())
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        crowd = Crowd(browser, rec, base_url, args.rounds)
        tasks = []
        # People arrive over --ramp-seconds, not in the same instant; then all of them work at once.
        gap = args.ramp_seconds / max(1, sessions - 1)
        for k, user in enumerate(setup["officers"]):
            tasks.append(officer_session(crowd, order[k], user, approved, k * gap))
        for k, user in enumerate(setup["enterprises"], start=len(setup["officers"])):
            tasks.append(enterprise_session(crowd, order[k], user, saved, k * gap))
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.max_seconds)
        except TimeoutError:
            rec.error("benchmark", f"stopped at --max-seconds {args.max_seconds}")
        await browser.close()
    worked = time.monotonic() - started
    await asyncio.sleep(args.settle_seconds)  # sessions closed: what do the servers give back?
    stop_sampling.set()
    await sampler
    pids = [s["pid"] for s in json.loads(state_path.read_text())["servers"]]
    after = [rss_mib(p) for p in pids]
    return {
        "rec": rec,
        "saved": saved,
        "approved": approved,
        "rss": rss,
        "after": after,
        "worked": worked,
        "split": {p: len(v) for p, v in sticky.items()},
    }


def lost_updates(url: str, setup: dict, saved: dict[int, int], approved: list[int]) -> list[str]:
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Submission
    from db.session import make_engine

    lost = []
    engine = make_engine(url)
    with Session(engine) as session:
        for submission_id, value in saved.items():
            items = session.get(Submission, submission_id).items or {}
            if items.get(setup["code"]) not in (value, float(value)):
                lost.append(
                    f"填报 #{submission_id}: saved {value}, database holds {items.get(setup['code'])}"
                )
        for enterprise_id in approved:
            states = set(
                session.execute(
                    select(Submission.state).where(
                        Submission.enterprise_id == enterprise_id, Submission.state == "approved"
                    )
                ).scalars()
            )
            if not states:
                lost.append(f"enterprise {enterprise_id}: approval not in the database")
    engine.dispose()
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="PostgreSQL URL of a database of the benchmark's own")
    parser.add_argument("--enterprises", type=int, default=25)
    parser.add_argument("--officers", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-size", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--settle-seconds", type=float, default=20)
    parser.add_argument("--ramp-seconds", type=float, default=90, help="sessions start evenly over this time")
    args = parser.parse_args()
    if args.enterprises + args.officers > 60:
        raise SystemExit("at most 60 browser sessions")
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is missing (make browser)")

    setup = prepare(args.url, enterprises=args.enterprises, officers=args.officers, seed_size=args.seed_size)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    cluster = start_cluster(args.url, args.replicas, run_dir)
    try:
        state_path = run_dir / "state.json"
        server_pids = [s["pid"] for s in json.loads(state_path.read_text())["servers"]]
        idle = [rss_mib(p) for p in server_pids]
        cpu_before = [cpu_seconds(p) for p in server_pids]
        browser_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = asyncio.run(drive(args, cluster.url, cluster.ports, setup, state_path))
        browser_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_after = [cpu_seconds(p) for p in server_pids]
        load = os.getloadavg()
    finally:
        cluster.stop(timeout=60)
    tracebacks = sum(
        (run_dir / "logs" / f"server-{i + 1}.log").read_text(errors="replace").count("Traceback")
        for i in range(args.replicas)
    )
    rec: Recorder = result["rec"]
    lost = lost_updates(args.url, setup, result["saved"], result["approved"])

    print(
        f"bench_load: {len(setup['enterprises'])} enterprise + {len(setup['officers'])} officer sessions, "
        f"{args.rounds} rounds, {args.replicas} servers behind nginx (sessions spread evenly by their "
        f"sticky cookies, arriving over {args.ramp_seconds:.0f} s), worked {result['worked']:.0f} s"
    )
    everything: list[float] = []
    print(f"{'page':<10} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name, values in sorted(result["rec"].times.items(), key=lambda kv: -len(kv[1])):
        everything += values if name not in ("登录", "保存草稿", "审核通过") else []
        print(
            f"{name:<10} {len(values):>4} {pct(values, 0.5):>7.2f} {pct(values, 0.95):>7.2f} {max(values):>7.2f}"
        )
    print(f"{'pages':<10} {len(everything):>4} {pct(everything, 0.5):>7.2f} {pct(everything, 0.95):>7.2f}")
    print(f"errors: {len(rec.errors)} (+ {tracebacks} server tracebacks)")
    for line in rec.errors[:15]:
        print(f"  {line}")
    print(
        f"lost updates: {len(lost)} of {len(result['saved'])} drafts and {len(result['approved'])} approvals"
    )
    for line in lost[:10]:
        print(f"  {line}")
    print("RSS MiB per server (t s: " + ", ".join(f"server {i + 1}" for i in range(args.replicas)) + ")")
    samples = result["rss"]
    step = max(1, len(samples) // 12)
    print(f"  idle before: {idle}")
    for t, values in samples[::step]:
        print(f"  {t:6.0f}: " + ", ".join("-" if v is None else f"{v:.0f}" for v in values))
    peaks = [max((s[1][i] or 0) for s in samples) for i in range(args.replicas)] if samples else []
    print(
        f"  peak: {[round(p) for p in peaks]}; {args.settle_seconds:.0f} s after the sessions closed: "
        f"{[None if v is None else round(v) for v in result['after']]}"
    )
    server_cpu = [
        None if a is None or b is None else a - b for a, b in zip(cpu_after, cpu_before, strict=True)
    ]
    browser_cpu = (browser_after.ru_utime + browser_after.ru_stime) - (
        browser_before.ru_utime + browser_before.ru_stime
    )
    print(
        f"CPU seconds while working ({result['worked']:.0f} s wall, 2 cores): servers "
        f"{[None if c is None else round(c) for c in server_cpu]}, browsers (Chromium + driver) {browser_cpu:.0f}"
    )
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok = not rec.errors and not tracebacks and not lost
    print(
        f"targets: errors 0 → {'met' if not rec.errors and not tracebacks else 'MISSED'}; "
        f"lost updates 0 → {'met' if not lost else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
