"""Hostile text in every user-writable field, every page rendered as every role.

A Markdown/HTML/Streamlit-directive payload is planted in enterprise names, carrier names, self-report
items, evidence file names, objections (and their answers), service requests (and their answers), review
comments, the service catalogue's names, providers and descriptions (服务目录). Then every page of the
anonymous visitor, an enterprise, an officer and the admin is opened; the test fails on any ``<a>`` or
``<img>`` made from that text, any request to another host, any script it ran, and any Streamlit
directive (colour, icon, emoji, math) it turned into formatting.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import ROOT, login, wait_settled
from tests.e2e.test_faults import _server

EVIL = "evil.example"
PAYLOAD = (
    "[点此领取补贴](http://evil.example/phish) ![t](http://evil.example/track.png) "
    "http://evil.example/bare www.evil.example/w mail@evil.example "
    ":violet[紫字] :material/bug_report: :smile: $x^2$ **粗** "
    "<img src=http://evil.example/h.png onerror=window.__pwned=1>"
    "<a href=http://evil.example/a>链</a><script>window.__pwned=1</script>"
)
PDF = b"%PDF-1.4\n%hostile\n"

# Run in the page: what the planted text became. Text nodes are compared with the word joiner removed.
PROBE = """() => {
  const out = [];
  for (const a of document.querySelectorAll('a[href]')) if (a.href.includes('evil')) out.push('link ' + a.href);
  for (const i of document.querySelectorAll('img')) if ((i.src || '').includes('evil')) out.push('img ' + i.src);
  for (const s of document.querySelectorAll('script')) if (s.textContent.includes('__pwned')) out.push('script');
  if (window.__pwned) out.push('script ran');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checks = [['紫字', ':violet[紫字]'], ['x^2', '$x^2$'], ['bug_report', ':material/bug_report:'],
                  ['领取补贴', '[点此领取补贴]'], ['粗', '**粗**']];
  let seen = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent.replace(/\\u2060/g, '');
    for (const [needle, whole] of checks) {
      if (t.includes(needle)) { seen++; if (!t.includes(whole)) out.push('formatted ' + whole + ' in ' + JSON.stringify(t.slice(0, 120))); }
    }
  }
  for (const k of document.querySelectorAll('.katex')) out.push('math ' + k.textContent.slice(0, 40));
  return {problems: out, seen};
}"""


def _manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _plant(path: Path) -> None:
    """Write the payload into every user-writable field of the seeded demo (as the users would have)."""
    import json

    with sqlite3.connect(path) as db:
        db.execute("UPDATE enterprise SET name = ? || ' ' || id", (PAYLOAD,))
        db.execute("UPDATE carrier SET name = ? || ' ' || id", (PAYLOAD,))
        for sid, items in db.execute("SELECT id, items FROM submission").fetchall():
            items = json.loads(items or "{}")
            items["T12"] = [
                {
                    "uid": f"h{sid}",
                    "name": PAYLOAD,
                    "number": PAYLOAD,
                    "level": "团体",
                    "role": "主导",
                    "year": 2025,
                }
            ]
            items["A04"] = [{"uid": f"t{sid}", "name": PAYLOAD, "level": "博士", "role": "核心成员"}]
            db.execute(
                "UPDATE submission SET items = ?, reason = ?, field_comments = ? WHERE id = ?",
                (
                    json.dumps(items, ensure_ascii=False),
                    PAYLOAD,
                    json.dumps({"T04": PAYLOAD}, ensure_ascii=False),
                    sid,
                ),
            )
            ent = db.execute("SELECT enterprise_id FROM submission WHERE id = ?", (sid,)).fetchone()[0]
            db.execute(
                "INSERT INTO attachment (submission_id, enterprise_id, item_code, file_name, content_type, "
                "size, sha256, content, created_by, created_at) VALUES (?, ?, ?, ?, 'application/pdf', ?, "
                "'0', ?, 'ent', '2026-01-05 00:00:00.000000')",
                (sid, ent, f"T12:h{sid}", PAYLOAD + ".pdf", len(PDF), PDF),
            )
        # officers name and describe services in 服务目录; every service stays recommended by stage
        db.execute(
            "UPDATE serviceitem SET name = ? || ' ' || id, provider = ?, description = ?",
            (PAYLOAD, PAYLOAD, PAYLOAD),
        )
        run = db.execute("SELECT max(id) FROM scorerun").fetchone()[0]
        item = db.execute("SELECT id FROM serviceitem ORDER BY id LIMIT 1").fetchone()[0]
        for (ent,) in db.execute("SELECT id FROM enterprise ORDER BY id").fetchall():
            for state, answer in (("open", None), ("rejected", PAYLOAD)):
                db.execute(
                    "INSERT INTO objection (run_id, enterprise_id, indicator_code, reason, state, answer, "
                    "created_by, created_at) VALUES (?, ?, 'T04', ?, ?, ?, 'ent', "
                    "'2026-01-05 00:00:00.000000')",
                    (run, ent, PAYLOAD, state, answer),
                )
            db.execute(
                "INSERT INTO servicerequest (enterprise_id, service_item_id, note, state, answer, created_by, "
                "created_at) VALUES (?, ?, ?, 'open', ?, 'ent', '2026-01-05 00:00:00.000000')",
                (ent, item, PAYLOAD, PAYLOAD),
            )


@pytest.fixture(scope="module")
def hostile_server(browser, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    tmp = tmp_path_factory.mktemp("hostile")
    path = tmp / "hostile.db"
    url = f"sqlite:///{path}"
    _manage(url, "init-db")
    _manage(url, "seed-demo", "--local-demo", "--enterprises", "40")
    _plant(path)
    with _server(url, tmp / "server.log", browser) as base:
        yield base


def _pages(role: str | None) -> list[str]:
    from ui.navigation import sections_for

    return [spec.url_path for specs in sections_for(role).values() for spec in specs]


@pytest.mark.parametrize("who", [None, "ent1", "officer1", "admin"])
def test_hostile_text_never_becomes_markup_on_any_page(
    hostile_server: str, new_page, who: str | None
) -> None:  # noqa: ANN001
    page = new_page(1280, 900)
    foreign: list[str] = []
    where = {"path": "login"}
    page.on(
        "request",
        lambda r: (
            foreign.append(f"{where['path']}: {r.url}")
            if urlparse(r.url).hostname not in ("127.0.0.1", "localhost") and not r.url.startswith("data:")
            else None
        ),
    )
    role = None
    if who:
        login(page, hostile_server, who)
        role = {"ent1": "enterprise", "officer1": "officer", "admin": "admin"}[who]
    problems: dict[str, list[str]] = {}
    seen_total = 0
    for path in _pages(role):
        where["path"] = path
        page.goto(f"{hostile_server}/{path}")
        wait_settled(page)
        page.wait_for_timeout(300)  # charts draw after the script settles
        result = page.evaluate(PROBE)
        seen_total += result["seen"]
        if result["problems"]:
            problems[path] = result["problems"][:5]
    assert not problems, problems
    assert not foreign, foreign[:5]
    assert seen_total > 0  # the planted text was on the pages the role sees
