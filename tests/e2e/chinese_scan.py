"""A page scan for Latin-letter UI text: what a person sees on a page, and in what appears only on
interaction (dropdowns, input hints, date pickers, table and chart toolbars' tooltips, the ⋮ menu, the
range error of a number field).

Every run of Latin letters is a hit unless it is a data value or a product name in :data:`ALLOWED`
(explicit and narrow): a screen that speaks Chinese has no other Latin words.
"""

from __future__ import annotations

import re

# The short path of test ids and roles above an element, which every hit names (JavaScript, shared).
_WHERE = """const where = (el) => {
    const parts = [];
    for (let e = el, k = 0; e && k < 4; e = e.parentElement, k++) {
      const id = e.getAttribute && (e.getAttribute('data-testid') || e.getAttribute('role'));
      if (id) parts.push(id);
    }
    return parts.join('<') || el.tagName.toLowerCase();
  };"""

# Text a person can see: text nodes with a box (not display:none / visibility:hidden / zero size),
# without icon ligatures (":material/lock:" renders the word "lock"); ::before/::after content of the
# chrome CSS; placeholders of empty inputs. Each hit comes with a short path of where it is.
VISIBLE_TEXT = r"""() => {
  const out = [];
  // where
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.fontSize) > 1
           && parseFloat(s.opacity) > 0.05;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || !node.textContent.trim()) continue;
    if (el.closest('[data-testid="stIconMaterial"], [data-testid="stIconEmoji"], [data-testid="stAlertDynamicIcon"], [data-testid="stExpanderIcon"], script, style, noscript')) continue;
    if (el.closest('canvas')) { out.push([node.textContent, 'grid-cell']); continue; }
    if (!shown(el)) continue;
    // an icon drawn from the icon font (":material/check_circle:" inside Markdown) is a picture, not a word
    if (getComputedStyle(el).fontFamily.includes('Material Symbols')) continue;
    // A skip link sits off screen until a keyboard user tabs to it: it is text they see then.
    out.push([node.textContent, where(el)]);
  }
  // Only elements the chrome CSS relabels carry generated text (see ui.widgets.CHROME_CSS).
  for (const el of document.querySelectorAll('[data-testid="InputInstructions"], [data-testid="stTooltipContent"] p, [data-testid="stSkipToContent"], [data-testid="stFileUploaderDropzone"] button *, [data-testid="stSidebarNavViewButton"], [role="listbox"] *, [role="option"], [data-baseweb="popover"] *, [data-testid="stDataFrameColumnMenu"] [role="menuitem"], [data-testid="stDataFrameColumnVisibilityMenu"] label span, .gdg-search-status label')) {
    for (const pseudo of ['::before', '::after']) {
      const c = getComputedStyle(el, pseudo).content;
      if (c && c !== 'none' && c !== 'normal' && c.startsWith('"') && shown(el)) out.push([c.slice(1, -1), 'css']);
    }
  }
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(e => {
    const drawn = getComputedStyle(e, '::placeholder').color !== 'rgba(0, 0, 0, 0)';
    if (!e.value && shown(e) && drawn) out.push([e.placeholder, 'placeholder']);
  });
  return out;
}""".replace("// where", _WHERE)

# The grid puts only the cells in view into its fallback table: scroll each grid to a corner ([1, 0] is
# bottom left) and read the cells then in view.
GRID_CORNERS = """async (corner) => {
  for (const scroller of document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')) {
    scroller.scrollTop = corner[0] ? scroller.scrollHeight : 0;
    scroller.scrollLeft = corner[1] ? scroller.scrollWidth : 0;
  }
  await new Promise(r => setTimeout(r, 250));
  return Array.from(document.querySelectorAll('[data-testid="stDataFrame"] table td, [data-testid="stDataFrame"] table th'))
    .map(td => [td.textContent, 'grid-cell']);
}"""

LATIN = re.compile(r"[A-Za-z]+")

# Data values and product names, nothing else: each pattern is removed from a text before its Latin
# letters are looked for (whole tokens only), with why it may stay.
ALLOWED: list[tuple[re.Pattern[str], str]] = [
    # 统一社会信用代码 (data, e.g. 91330300MA2ABCDE1X)
    (re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUW-Y]{18}(?![0-9A-Za-z])"), "credit code"),
    # an indicator's code in front of its name ("T01 研发费用总额") or alone in a table's code column
    (re.compile(r"(?<![0-9A-Za-z/])[A-Z]\d{2}(?= [\u4e00-\u9fff])"), "indicator code before its name"),
    # 纳税信用 A 级 / D 级: the tax-credit grade is a data value inside the model's indicator names
    (re.compile(r"(?<![A-Za-z])[A-D] ?级"), "tax-credit grade"),
    # PCT (the international patent route) inside an indicator's name: "PCT专利申请量"
    (re.compile(r"PCT(?=专利)"), "PCT patent"),
    # file formats the upload and download labels name (et: WPS 表格), and their size unit
    (re.compile(r"(?<![A-Za-z])(xlsx|xls|et|ods|csv|txt|PDF|JPG|PNG|KB|MB)(?![A-Za-z])"), "file format"),
    # a file's own name as its owner uploaded it ("证明材料.pdf"), shown where evidence is listed
    (re.compile(r"\.(pdf|jpe?g|png|xlsx|xls|csv)(?![A-Za-z])"), "file name extension"),
    # a standard's number as the enterprise reported it (data): "T/WZ 024-2025", "GB/T 1234-2020"
    (re.compile(r"(?<![A-Za-z])(GB|DB|T|Q)(/[A-Z]{1,4})? ?[\d.]+-\d{4}(?!\d)"), "standard number"),
    # checksums (hexadecimal) the audit trail records: the value an auditor compares
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12,}(?![0-9A-Za-z])"), "checksum"),
    # the encodings a spreadsheet is saved in, named as Excel / WPS name them in their save dialogs
    (re.compile(r"(?<![A-Za-z])(UTF-8|GBK)(?![A-Za-z0-9])"), "file encoding"),
    # the example of pinyin initials in 企业检索's search box (an input to type, not a word)
    (re.compile(r"如 wzlx"), "pinyin example"),
    # keyboard keys as printed on the keys, in the Chinese hints under a text area and in the date
    # picker (ui/chrome.py)
    (re.compile(r"Ctrl\+|(?<![A-Za-z])Esc(?= ?键)"), "key name"),
    # the first characters of a bank's API token, recorded so the admin can tell which token called
    (re.compile(r"(?<![A-Za-z])bk_[A-Za-z0-9_-]{4,}"), "token prefix"),
    # demo account names, shown where accounts are listed (data: the name a person logs in with)
    (re.compile(r"(?<![A-Za-z])(admin|officer\d+|ent\d+|bank\d+)(?![A-Za-z])"), "account name"),
]
GRID_ONLY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^[A-Z]\d{2}$"), "an indicator code in a table's code column"),
]


def grid_text(page, corner: list[int]) -> str:  # noqa: ANN001
    """The texts of the cells in view, one a line, once every grid is scrolled to ``corner``."""
    return "\n".join(text for text, _ in page.evaluate(GRID_CORNERS, corner))


def _strip_allowed(text: str, where: str) -> str:
    text = text.strip()
    for pattern, _ in ALLOWED:
        text = pattern.sub(" ", text)
    if where == "grid-cell":
        for pattern, _ in GRID_ONLY:
            text = pattern.sub(" ", text)
    return text


def latin_hits(items: list[list[str]]) -> list[str]:
    """``'text' (where)`` for every text holding Latin letters that are not an allowed value."""
    return [
        f"{text.strip()[:80]!r} ({where})"
        for text, where in items
        if LATIN.search(_strip_allowed(text, where))
    ]


def visible(page) -> list[list[str]]:  # noqa: ANN001
    return page.evaluate(VISIBLE_TEXT)


def scan_static(page) -> list[str]:  # noqa: ANN001
    """What the page shows without being touched, every corner of its tables included."""
    items = visible(page)
    for corner in ([1, 0], [1, 1], [0, 1], [0, 0]):
        items += page.evaluate(GRID_CORNERS, corner)
    return latin_hits(items)


def _settle(page, ms: int = 350) -> None:  # noqa: ANN001
    page.wait_for_timeout(ms)


def _first_visible(locator, limit: int = 3):  # noqa: ANN001, ANN202
    out = []
    for i in range(locator.count()):
        item = locator.nth(i)
        if item.is_visible() and item.is_enabled():
            out.append(item)
        if len(out) >= limit:
            break
    return out


def probe_toolbars(page) -> list[str]:  # noqa: ANN001
    """Hover the first table and the first chart, then each button of its toolbar (their tooltips)."""
    hits: list[str] = []
    for selector in ('[data-testid="stDataFrame"]', '[data-testid="stVegaLiteChart"]'):
        elements = page.locator(selector)
        if not elements.count() or not elements.first.is_visible():
            continue
        elements.first.hover()
        _settle(page)
        hits += latin_hits(visible(page))
        buttons = page.locator('[data-testid="stElementToolbar"] button')
        for i in range(buttons.count()):
            button = buttons.nth(i)
            if not button.is_visible():
                continue
            try:
                button.hover(timeout=1500)
            except Exception:  # noqa: BLE001 - another element's toolbar, hidden under this one
                continue
            _settle(page, 700)
            hits += latin_hits(visible(page))
    page.mouse.move(1, 1)
    return hits


def probe_selects(page) -> list[str]:  # noqa: ANN001
    """Open dropdowns (their lists, "select all"), then type what matches nothing ("no results")."""
    hits: list[str] = []
    for box in _first_visible(
        page.locator('[data-testid="stSelectbox"] input, [data-testid="stMultiSelect"] input')
    ):
        try:
            box.click(timeout=3000)
        except Exception:  # noqa: BLE001 - covered by another element: nothing a person can open either
            continue
        _settle(page)
        hits += latin_hits(visible(page))
        if box.get_attribute("readonly") is None:
            page.keyboard.type("齉齉")
            _settle(page)
            hits += latin_hits(visible(page))
            page.keyboard.press("Control+A")
            page.keyboard.press("Backspace")
        page.keyboard.press("Escape")
        _settle(page, 200)
    return hits


def probe_text_inputs(page) -> list[str]:  # noqa: ANN001
    """Type into a text field and a text area (the hint under it), then put them back."""
    hits: list[str] = []
    for selector in ('[data-testid="stTextInput"] input', '[data-testid="stTextArea"] textarea'):
        for field in _first_visible(page.locator(selector), limit=1):
            before = field.input_value()
            field.click()
            page.keyboard.type("1")
            _settle(page)
            hits += latin_hits(visible(page))
            field.fill(before)
            page.keyboard.press("Tab")
            _settle(page, 600)
    return hits


def probe_dates(page) -> list[str]:  # noqa: ANN001
    """Open the first date picker through its calendar button (month names, quick-select presets)."""
    hits: list[str] = []
    for button in _first_visible(page.locator('[data-testid="stDateInputCalendarButton"]'), limit=1):
        button.click()
        _settle(page, 600)
        hits += latin_hits(visible(page))
        page.keyboard.press("Escape")
        _settle(page, 200)
    return hits


def probe_number(page) -> list[str]:  # noqa: ANN001
    """Type a value far out of any range into the first number field (its error hint), then put it back."""
    hits: list[str] = []
    for field in _first_visible(page.locator('[data-testid="stNumberInput"] input'), limit=1):
        before = field.input_value()
        field.fill("-99999999")
        _settle(page, 600)
        field.hover()
        _settle(page, 600)
        hits += latin_hits(visible(page))
        field.fill(before)
        page.keyboard.press("Escape")
        _settle(page, 200)
    return hits


def probe_menu(page) -> list[str]:  # noqa: ANN001
    """The ⋮ main menu, when there is one."""
    menu = page.locator('[data-testid="stMainMenu"]')
    if not menu.count() or not menu.first.is_visible():
        return []
    menu.first.click()
    _settle(page, 500)
    hits = latin_hits(visible(page))
    page.keyboard.press("Escape")
    _settle(page, 200)
    return hits


def probe_expanders(page) -> list[str]:  # noqa: ANN001
    """Open every closed expander (their content exists only then)."""
    closed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    for _ in range(min(closed.count(), 8)):
        summary = closed.first
        if not summary.is_visible():
            break
        summary.click()
        _settle(page, 250)
    return latin_hits(visible(page))


def probe_skip_link(page) -> list[str]:  # noqa: ANN001
    """The "skip to content" link a keyboard user reaches with the first Tab."""
    if not page.evaluate(
        "() => { const a = document.querySelector('[data-testid=\"stSkipToContent\"]');"
        " if (a) a.focus(); return !!a; }"
    ):
        return []
    _settle(page, 200)
    hits = latin_hits(visible(page))
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    return hits


def scan(page, *, widgets: bool = True, chrome: bool = False) -> list[str]:  # noqa: ANN001
    """The page's hits, each once with the probe that first found it.

    ``widgets``: open its dropdowns, type into its fields, open its date pickers and expanders (what the
    page's own code configures). ``chrome``: also the app-wide chrome — the ⋮ menu, the skip link, the
    tooltips of the first table's and chart's toolbars (one CSS layer for every page: once per role is
    enough).
    """
    hits = {h: "" for h in scan_static(page)}
    probes = []
    if chrome:
        probes += [probe_skip_link, probe_menu, probe_toolbars]
    if widgets:
        probes += [probe_selects, probe_text_inputs, probe_dates, probe_number, probe_expanders]
    for probe in probes:
        for hit in probe(page):
            hits.setdefault(hit, probe.__name__.removeprefix("probe_"))
    return [f"{where}: {hit}" if where else hit for hit, where in hits.items()]


# What a screen reader or a hovering mouse gets besides the visible text: the attributes Streamlit 1.67
# and its libraries (Base Web, Glide Data Grid, Vega) write English into. An element that is not
# rendered (display:none, visibility:hidden, under aria-hidden) is read by nobody and is skipped.
SPOKEN_ATTRIBUTES = r"""() => {
  const names = ['aria-label', 'title', 'alt', 'placeholder', 'aria-placeholder', 'aria-roledescription',
                 'aria-description', 'aria-valuetext'];
  const out = [];
  // where
  for (const el of document.body.querySelectorAll('[' + names.join('],[') + ']')) {
    if (el.closest('[aria-hidden="true"], script, style, noscript')) continue;
    if (!el.getClientRects().length && el.tagName !== 'INPUT') continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') continue;
    for (const name of names) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push([value, where(el) + ' @' + name]);
    }
  }
  return out;
}""".replace("// where", _WHERE)


def spoken(page) -> list[list[str]]:  # noqa: ANN001
    """The texts of :data:`SPOKEN_ATTRIBUTES` on the page, each with where it is and which attribute."""
    return page.evaluate(SPOKEN_ATTRIBUTES)
