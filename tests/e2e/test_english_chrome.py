"""Streamlit's own English, everywhere a person or a screen reader meets it, for every role at 1280 and
390 px: visible text, tooltips (``title`` and Streamlit's hover tooltips), placeholders, ``aria-label``
/ ``alt`` texts, the empty dropdown, the file uploader, the date picker (month and day names), the
number field's −/+ buttons, the sidebar's collapse / expand buttons, the status widget while a page
runs, a dialog's and a toast's close buttons, the table and chart toolbars.

One browser and one server; each role walks its pages once at 1280 px and looks at each again at
390 px by resizing the same tab (a reload per size would double the walk). Hits are every run of
Latin letters outside chinese_scan.ALLOWED (data values: credit codes, units, file formats, accounts).
"""

from __future__ import annotations

from tests.e2e import chinese_scan
from tests.e2e.conftest import login, screenshot, wait_settled
from ui.navigation import ADMIN, BANK, ENTERPRISE, OFFICER, PUBLIC, sections_for

USERS = {"enterprise": "ent3", "officer": "officer1", "admin": "admin", "bank": "bank1"}
WIDE, PHONE = (1280, 800), (390, 844)

# Transient elements are gone before a scan could look (the status widget while a page runs, a toast):
# this watcher, installed in every document, records what such an element says a moment after it
# appears — after the app's own Chinese layer has had its turn. Streamlit 1.67 test ids.
WATCH_TRANSIENT = r"""(() => {
  window.__englishSeen = [];
  const transient = '[data-testid="stStatusWidget"], [data-testid="stToast"], [role="dialog"]';
  const names = ['aria-label', 'title', 'alt', 'placeholder'];
  const read = (root) => {
    if (!root.isConnected) return;
    const els = [root, ...root.querySelectorAll('*')];
    for (const el of els) {
      if (!el.getClientRects().length || el.closest('[aria-hidden="true"]')) continue;  // read by no one
      for (const name of names) {
        const v = el.getAttribute && el.getAttribute(name);
        if (v) window.__englishSeen.push([v, (root.getAttribute('data-testid') || 'dialog') + ' @' + name]);
      }
      for (const node of el.childNodes) {
        if (node.nodeType === 3 && node.textContent.trim() && el.getClientRects().length
            && parseFloat(getComputedStyle(el).fontSize) > 1) {
          window.__englishSeen.push([node.textContent, root.getAttribute('data-testid') || 'dialog']);
        }
      }
      for (const pseudo of ['::before', '::after']) {
        const c = getComputedStyle(el, pseudo).content;
        if (c && c.startsWith('"')) window.__englishSeen.push([c.slice(1, -1), 'css']);
      }
    }
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const root = el && el.closest(transient);
      if (root) setTimeout(() => read(root), 150);
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        for (const t of n.matches(transient) ? [n] : n.querySelectorAll(transient)) {
          setTimeout(() => read(t), 150);
        }
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true});
})();"""


def _hits(items: list[list[str]], where: str) -> list[str]:
    return [f"{where}: {hit}" for hit in chinese_scan.latin_hits(items)]


def _everything(page, where: str) -> list[str]:  # noqa: ANN001
    return _hits(chinese_scan.visible(page) + chinese_scan.spoken(page), where)


def _hover_tooltips(page, where: str, seen: set[str]) -> list[str]:  # noqa: ANN001
    """Hover each Streamlit tooltip target not hovered before in this walk (by its trigger's label)."""
    hits: list[str] = []
    targets = page.locator('[data-testid="stTooltipHoverTarget"]:visible')
    for i in range(min(targets.count(), 12)):
        target = targets.nth(i)
        # a toolbar button by its label (each has its own tooltip); any other kind once (our help texts)
        key = target.evaluate(
            "t => { const box = t.parentElement.closest('[data-testid]');"
            " const kind = box ? box.getAttribute('data-testid') : '';"
            " const b = t.querySelector('button[aria-label]');"
            " return kind.startsWith('stElementToolbar') && b ? b.getAttribute('aria-label') : kind; }"
        )
        if key in seen:
            continue
        seen.add(key)
        try:
            target.hover(timeout=1500)
        except Exception:  # noqa: BLE001 - covered by another element: no one can hover it either
            continue
        page.wait_for_timeout(450)
        hits += _hits(chinese_scan.visible(page), f"{where} hover {key}")
    page.mouse.move(1, 1)
    return hits


def _date_picker(page, where: str) -> list[str]:  # noqa: ANN001
    hits: list[str] = []
    buttons = page.locator('[data-testid="stDateInputCalendarButton"]:visible')
    if buttons.count():
        try:
            buttons.first.click(timeout=3000)
        except Exception:  # noqa: BLE001 - covered by another element: no one can open it either
            return hits
        page.wait_for_timeout(500)
        hits += _everything(page, f"{where} date picker")
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)
    return hits


def _transient(page, where: str) -> list[str]:  # noqa: ANN001
    """What :data:`WATCH_TRANSIENT` recorded since this document loaded (a deep link is a new one)."""
    return _hits(page.evaluate("() => (window.__englishSeen || []).splice(0)"), f"{where} transient")


def _dialog(page, where: str) -> list[str]:  # noqa: ANN001
    """积分计算与公示's confirmation dialog (its close button), closed again with 取消."""
    page.get_by_role("button", name="定稿（不可撤销）").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="取消").wait_for()
    hits = _everything(page, f"{where} dialog")
    dialog.get_by_role("button", name="取消").click()
    dialog.wait_for(state="hidden")
    wait_settled(page)
    return hits


def _open(page, path: str) -> None:  # noqa: ANN001
    """Open the page ``path`` as its sidebar link does (the app stays loaded: a deep link reloads it).
    The role's landing page is linked as "/" (Streamlit serves the default page there)."""
    clicked = page.evaluate(
        """(path) => {
          const links = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')];
          const link = links.find((a) => new URL(a.href).pathname.endsWith('/' + path))
                       || links.find((a) => new URL(a.href).pathname === '/' && a.textContent.trim());
          if (!link) return null;
          link.click();  // a script click: the sidebar may be folded away at 390 px
          return new URL(link.href).pathname;
        }""",
        path,
    )
    assert clicked, f"no sidebar link to {path}"
    page.wait_for_timeout(150)
    wait_settled(page, quiet_ms=500)
    assert page.locator('[role="dialog"]').count() == 0


def _sidebar_buttons(page, where: str) -> list[str]:  # noqa: ANN001
    """At 1280 px: unfold the sidebar with its expand button, hover its header (the collapse button
    shows on hover) and that button (its tooltip)."""
    hits: list[str] = []
    expand = page.locator('[data-testid="stExpandSidebarButton"]:visible')
    if expand.count():
        expand.first.hover()
        page.wait_for_timeout(450)
        hits += _everything(page, f"{where} expand button")
        expand.first.click()
        page.wait_for_timeout(400)
    page.locator('[data-testid="stSidebarHeader"]').hover()
    collapse = page.locator('[data-testid="stSidebarCollapseButton"]')
    collapse.wait_for()
    collapse.hover()
    page.wait_for_timeout(450)
    hits += _everything(page, f"{where} collapse button")
    page.mouse.move(640, 400)
    return hits


def _walk(page, role: str, paths: list[str], seen: set[str]) -> list[str]:  # noqa: ANN001
    problems: list[str] = []
    for path in paths:
        page.set_viewport_size({"width": WIDE[0], "height": WIDE[1]})
        problems += _transient(page, role)
        _open(page, path)
        page.wait_for_timeout(200)  # grids and charts finish drawing
        where = f"{role}/{path or 'home'}"
        found = _everything(page, f"{where} 1280")
        if path == paths[0]:
            found += _sidebar_buttons(page, f"{where} 1280")
        found += _hover_tooltips(page, f"{where} 1280", seen)
        found += _date_picker(page, f"{where} 1280")
        if path == "runs":
            found += _dialog(page, f"{where} 1280")
        page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
        page.wait_for_timeout(300)
        found += _everything(page, f"{where} 390")
        if found:
            screenshot(page, f"english-{role}-{path or 'home'}")
        problems += found
    return problems


def _pages(role: str) -> list[str]:
    """The role's pages, each page's code walked once: the public pages (home, model, lists, screen) by
    the enterprise, the officer pages by the officer; every role its own pages and its account page."""
    own = {"enterprise": ENTERPRISE + PUBLIC, "officer": OFFICER, "admin": ADMIN, "bank": BANK}[role]
    specs = [s for specs in sections_for(role).values() for s in specs]
    paths = [s.url_path for s in specs if s in own or s.url_path == "account"]
    return paths if role != "admin" else [*paths, specs[0].url_path]  # and the admin's landing page


def test_no_streamlit_english_for_any_role(app_server: str, new_page) -> None:  # noqa: ANN001
    problems: list[str] = []
    seen: set[str] = set()  # the tooltips hovered (the chrome is one for every role: hovered once)
    for role, username in USERS.items():
        page = new_page(*PHONE)
        page.context.add_init_script(WATCH_TRANSIENT)
        login(page, app_server, username)
        # a fresh 390 px load: the sidebar starts folded (its expand button)
        first = chinese_scan.visible(page) + chinese_scan.spoken(page)
        problems += _hits(first, f"{role}/ 390 first load")
        # the scan reads the attributes it judges: the expand button's label is among what it read
        assert any("stExpandSidebarButton @aria-label" in where for _, where in first), first
        problems += _walk(page, role, _pages(role), seen)
        page.set_viewport_size({"width": WIDE[0], "height": WIDE[1]})
        page.get_by_role("button", name="退出登录").click()
        wait_settled(page)
        page.wait_for_timeout(400)
        problems += _transient(page, f"{role} logout")
    assert not problems, "\n".join(dict.fromkeys(problems))
