"""Finding an enterprise by what an officer types: a name fragment, pinyin, a typo, a credit-code prefix.

Two halves:

* :func:`name_keys` turns a name into its stored search keys — pinyin initials and full pinyin, each a
  ``|``-joined list of readings. pypinyin costs ~120 µs a name, so keys are computed once when an
  enterprise is created or renamed and stored (``Enterprise.name_initials`` / ``name_pinyin``), never
  per query. Polyphonic characters keep a second reading: pypinyin reads 长 in 温州长江 as "zhang",
  an officer types "chang"; both ``wzcj`` and ``wzzj`` are stored.
* :class:`SearchIndex` is built from the stored keys (no pypinyin) and answers a query in milliseconds
  over 100,000 names: substring scans run in C over one joined string per key kind, credit-code
  prefixes by binary search, and typo-tolerant matching filters candidates by shared characters
  (numpy) before rapidfuzz ranks the few left and an edit distance on the aligned window decides.

Ranking: exact name or code, then prefixes, then substrings (earlier and shorter first), then pinyin
initials and full pinyin, then near misses (one wrong, missing or extra character; two for long queries).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

KEY_SEPARATOR = "|"
MAX_VARIANTS = 16  # readings kept per name (products of polyphonic characters grow fast)
INITIALS_MAX_LENGTH = 200  # Enterprise.name_initials column
MAX_FUZZY_CANDIDATES = 2000
FUZZY_SHORTLIST = 50

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ALNUM = re.compile(r"[0-9a-z]+")
_SPACES = re.compile(r"[\s\u00b7\u30fb]+")  # blanks and middle dots officers type between words
_CODE_QUERY = re.compile(r"[0-9a-z]*[0-9][0-9a-z]*")

# How a hit was found (shown to officers) and the order kinds rank in.
MATCH_LABELS = {"code": "信用代码", "name": "名称", "initials": "简拼", "pinyin": "全拼", "fuzzy": "近似"}


def normalize(text: str | None) -> str:
    """What matching compares: NFKC (full-width → half-width), lower case, no blanks or middle dots."""
    if not text:
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).lower()


# ------------------------------------------------------------------ stored keys (pypinyin, once per name)
@dataclass(frozen=True)
class NameKeys:
    initials: str  # "wzlxkjyxgs|..." — first reading = pypinyin's reading in context
    pinyin: str  # "wenzhoulianxiangkejiyouxiangongsi|..."


# Characters common in enterprise names whose readings officers genuinely mix up (pypinyin's own
# heteronym lists are full of rare readings — 温 as "yun", 技 as "qi" — that would only add noise).
POLYPHONIC: dict[str, tuple[str, ...]] = {
    "长": ("chang", "zhang"),
    "行": ("xing", "hang"),
    "重": ("zhong", "chong"),
    "乐": ("le", "yue"),
    "朝": ("chao", "zhao"),
    "厦": ("xia", "sha"),
    "传": ("chuan", "zhuan"),
    "藏": ("cang", "zang"),
    "调": ("tiao", "diao"),
    "曾": ("zeng", "ceng"),
    "单": ("dan", "shan"),
    "都": ("du", "dou"),
    "会": ("hui", "kuai"),
    "解": ("jie", "xie"),
    "查": ("cha", "zha"),
    "盛": ("sheng", "cheng"),
    "强": ("qiang", "jiang"),
    "降": ("jiang", "xiang"),
    "便": ("bian", "pian"),
    "省": ("sheng", "xing"),
    "校": ("xiao", "jiao"),
    "还": ("huan", "hai"),
    "角": ("jiao", "jue"),
    "率": ("lv", "shuai"),
    "参": ("can", "shen"),
    "区": ("qu", "ou"),
    "系": ("xi", "ji"),
    "薄": ("bo", "bao"),
    "弹": ("dan", "tan"),
    "柏": ("bai", "bo"),
    "秘": ("mi", "bi"),
    "蔚": ("wei", "yu"),
    "尉": ("wei", "yu"),
    "宿": ("su", "xiu"),
    "仇": ("qiu", "chou"),
    "翟": ("zhai", "di"),
    "缪": ("miao", "mou"),
    "朴": ("pu", "piao"),
    "奇": ("qi", "ji"),
    "中": ("zhong",),
    "和": ("he", "huo"),
    "差": ("cha", "chai"),
    "供": ("gong",),
    "塞": ("sai", "se"),
    "泊": ("bo", "po"),
    "地": ("di", "de"),
    "大": ("da", "dai"),
    "阿": ("a", "e"),
    "广": ("guang",),
    "兴": ("xing",),
    "华": ("hua",),
    "能": ("neng",),
    "茂": ("mao",),
}


@lru_cache(maxsize=20000)
def _char_readings(char: str) -> tuple[str, ...]:
    """Readings of a character: the curated ones for common polyphones, else pypinyin's first."""
    if char in POLYPHONIC:
        return POLYPHONIC[char]
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=False, errors="ignore")
    return tuple(r for r in (readings[0] if readings else []) if r.isascii() and r.isalpha())[:1]


def _positions(name: str) -> list[tuple[list[str], bool]]:
    """Per position — a Chinese character, or a run of Latin letters and digits — its readings (most
    likely first) and whether it is a character (its initial is a letter) or a run (kept as written)."""
    from pypinyin import Style, lazy_pinyin

    text = unicodedata.normalize("NFKC", name).lower()
    positions: list[tuple[list[str], bool]] = []
    last = 0
    for match in _CJK.finditer(text):
        positions += [([run], False) for run in _ALNUM.findall(text[last : match.start()])]
        run = match.group()
        # pypinyin documents a list-returning ``errors`` callback (one entry per character); its stubs say str
        context = lazy_pinyin(run, style=Style.NORMAL, errors=lambda s: [""] * len(s))  # type: ignore[arg-type,return-value]
        if len(context) != len(run):  # pypinyin kept something together: read character by character
            context = [(_char_readings(ch) or ("",))[0] for ch in run]
        for ch, reading in zip(run, context, strict=True):
            options = [reading] if reading.isascii() and reading.isalpha() else []
            # one more reading of a polyphonic character: the most common one that differs
            options += [r for r in _char_readings(ch) if r not in options][: 2 - len(options)]
            if options:
                positions.append((options, True))
        last = match.end()
    positions += [([run], False) for run in _ALNUM.findall(text[last:])]
    return positions


def _variants(positions: list[tuple[list[str], bool]]) -> list[tuple[tuple[str, str], ...]]:
    """Reading combinations as (initial, syllable) per position, context reading first; polyphonic
    positions expand left to right while the product stays within MAX_VARIANTS."""
    chosen: list[list[tuple[str, str]]] = []
    count = 1
    for options, is_char in positions:
        pairs = [(o[0] if is_char else o, o) for o in options]
        if len(pairs) > 1 and count * len(pairs) <= MAX_VARIANTS:
            chosen.append(pairs)
            count *= len(pairs)
        else:
            chosen.append(pairs[:1])
    return list(itertools.product(*chosen))


def name_keys(name: str) -> NameKeys:
    """The stored search keys of a name (pinyin initials and full pinyin, every kept reading)."""
    combos = _variants(_positions(name))
    initials = list(dict.fromkeys("".join(i for i, _ in combo) for combo in combos))
    full = list(dict.fromkeys("".join(s for _, s in combo) for combo in combos))
    kept: list[str] = []
    length = -1
    for variant in initials:
        if length + 1 + len(variant) > INITIALS_MAX_LENGTH:
            break
        kept.append(variant)
        length += 1 + len(variant)
    if not kept and initials:
        kept = [initials[0][:INITIALS_MAX_LENGTH]]
    return NameKeys(initials=KEY_SEPARATOR.join(kept), pinyin=KEY_SEPARATOR.join(full))


# ------------------------------------------------------------------ the index (built from stored keys)
@dataclass(frozen=True)
class Hit:
    row: int  # position in the index
    enterprise_id: int
    kind: str  # a MATCH_LABELS key

    @property
    def label(self) -> str:
        return MATCH_LABELS[self.kind]


_KIND_ORDER = {
    "code_exact": 0,
    "name_exact": 1,
    "code": 2,
    "name_prefix": 3,
    "name": 4,
    "initials_exact": 5,
    "pinyin_exact": 6,
    "initials_prefix": 7,
    "pinyin_prefix": 8,
    "initials": 9,
    "pinyin": 10,
    "fuzzy": 11,
}
_KIND_NAME = {order: kind.split("_")[0] for kind, order in _KIND_ORDER.items()}


SELECTIVE = 4000  # a gram held by fewer rows narrows the search; more, and one C scan is faster
_ASCII_CODE = np.zeros(128, dtype=np.int64)
_ASCII_CODE[ord("a") : ord("z") + 1] = np.arange(1, 27)
_ASCII_CODE[ord("0") : ord("9") + 1] = np.arange(27, 37)


def _unique_sorted(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


class _Postings:
    """Which rows hold each gram: sorted unique (gram, row) pairs cut into one row array per gram."""

    def __init__(self, grams: np.ndarray, rows: np.ndarray, n: int) -> None:
        pairs = _unique_sorted(grams * (n + 1) + rows)
        gram_of_pair = pairs // (n + 1)
        self.rows = pairs % (n + 1)
        self.keys, self.bounds = np.unique(gram_of_pair, return_index=True)
        self.bounds = np.append(self.bounds, len(pairs))

    def rows_of(self, gram: int) -> np.ndarray:
        i = np.searchsorted(self.keys, gram)
        if i == len(self.keys) or self.keys[i] != gram:
            return self.rows[:0]
        return self.rows[self.bounds[i] : self.bounds[i + 1]]


class _Field:
    """One searchable text per row (a name, or ``|``-joined readings): gram postings narrow a query down
    to a few rows, checked in Python; a query made of common grams is one C scan of all fields joined."""

    def __init__(self, fields: list[str], *, ascii_grams: bool) -> None:
        self.fields = fields
        n = len(fields)
        self.text = "\n".join(fields)
        lengths = np.fromiter((len(f) for f in fields), dtype=np.int64, count=n)
        self.starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        self.ascii_grams = ascii_grams
        owners = np.repeat(np.arange(n, dtype=np.int64), lengths + 1)[: len(self.text)]
        points = np.frombuffer(self.text.encode("utf-32-le"), dtype=np.uint32)
        separators = np.flatnonzero((points == ord(KEY_SEPARATOR)) | (points == ord("\n")))
        self.reading_starts = np.concatenate([[0], separators + 1])  # where each reading begins
        self.reading_ends = np.append(separators, len(self.text))  # one past where each reading ends
        if ascii_grams:  # letter and digit trigrams (readings are ASCII)
            codes = _ASCII_CODE[np.minimum(points, 127)]
            if len(codes) >= 3:
                grams = codes[:-2] * 37 * 37 + codes[1:-1] * 37 + codes[2:]
                valid = (codes[:-2] > 0) & (codes[1:-1] > 0) & (codes[2:] > 0)
                self.postings = _Postings(grams[valid], owners[:-2][valid], n)
            else:
                self.postings = _Postings(np.empty(0, np.int64), np.empty(0, np.int64), n)
        else:  # characters
            self.postings = _Postings(points.astype(np.int64), owners, n)

    def _grams(self, q: str) -> list[int]:
        if not self.ascii_grams:
            return sorted({ord(c) for c in q})
        codes = [int(_ASCII_CODE[ord(c)]) if ord(c) < 128 else 0 for c in q]
        return sorted(
            {
                a * 37 * 37 + b * 37 + c
                for a, b, c in zip(codes, codes[1:], codes[2:], strict=False)
                if a and b and c
            }
        )

    def _candidates(self, q: str) -> np.ndarray | None:
        """Rows holding every gram of ``q`` (a superset of the hits), or None when that would not narrow."""
        grams = self._grams(q)
        if not grams:
            return None
        lists = sorted((self.postings.rows_of(g) for g in grams), key=len)
        if len(lists[0]) > SELECTIVE:
            return None
        rows = lists[0]
        for other in lists[1:]:
            if len(rows) < 32:
                break  # few enough to check directly
            rows = np.intersect1d(rows, other, assume_unique=True)
        return rows

    def match(self, q: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows containing ``q``, each with its grade (0 whole reading, 1 start of a reading, 2 inside)
        and the offset in that reading, in row order."""
        candidates = self._candidates(q)
        if candidates is None:
            return self._scan(q)
        rows, grades, offsets = [], [], []
        size = len(q)
        for row in candidates.tolist():
            best = None
            for reading in self.fields[row].split(KEY_SEPARATOR):
                at = reading.find(q)
                if at < 0:
                    continue
                grade = (0 if len(reading) == size else 1) if at == 0 else 2
                if best is None or (grade, at) < best:
                    best = (grade, at)
            if best is not None:
                rows.append(row)
                grades.append(best[0])
                offsets.append(best[1])
        return (
            np.array(rows, dtype=np.int64),
            np.array(grades, dtype=np.int64),
            np.array(offsets, dtype=np.int64),
        )

    def _scan(self, q: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        positions = np.fromiter((m.start() for m in re.finditer(re.escape(q), self.text)), dtype=np.int64)
        if not len(positions):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        owners = np.searchsorted(self.starts, positions, side="right") - 1
        reading = np.searchsorted(self.reading_starts, positions, side="right") - 1
        offsets = positions - self.reading_starts[reading]
        whole = positions + len(q) == self.reading_ends[reading]
        grades = np.where(offsets == 0, np.where(whole, 0, 1), 2)
        order = np.lexsort((offsets, grades, owners))
        owners, grades, offsets = owners[order], grades[order], offsets[order]
        first = np.concatenate([[True], owners[1:] != owners[:-1]])
        return owners[first], grades[first], offsets[first]


def _clean(field: str | None) -> str:
    return (field or "").replace("\n", " ")


def _normalized(name: str | None) -> str:
    text = _clean(name)
    if (
        unicodedata.is_normalized("NFKC", text)
        and not _SPACES.search(text)
        and text.islower() == text.isupper()
    ):
        return text  # nothing to fold (a name without Latin letters, blanks or full-width forms)
    return normalize(text)


class SearchIndex:
    """Every enterprise's name, credit code and stored pinyin keys, ready for :meth:`search`."""

    def __init__(
        self,
        ids: list[int] | np.ndarray,
        codes: list[str],
        names: list[str],
        initials: list[str | None],
        pinyins: list[str | None],
    ) -> None:
        n = len(ids)
        if not (len(codes) == len(names) == len(initials) == len(pinyins) == n):
            raise ValueError("search index columns differ in length")
        self.ids = np.asarray(ids, dtype=np.int64)
        self.names = [_normalized(x) for x in names]  # what matching compares
        self.display_names = [str(x or "") for x in names]  # as stored
        self.codes = [str(c or "").upper() for c in codes]
        self.name_lengths = np.fromiter((len(x) for x in self.names), dtype=np.int64, count=n)
        self._names = _Field(self.names, ascii_grams=False)
        self._initials = _Field([_clean(x).lower() for x in initials], ascii_grams=True)
        self._pinyin = _Field([_clean(x).lower() for x in pinyins], ascii_grams=True)
        codes_array = np.array(self.codes, dtype="U18")
        self._code_order = np.argsort(codes_array, kind="stable")
        self._codes_sorted = codes_array[self._code_order]
        self._id_order = np.argsort(self.ids, kind="stable")

    def __len__(self) -> int:
        return len(self.ids)

    # ---------------------------------------------------------------- matching kinds
    def _code_prefix(self, q: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        code = q.upper()
        lo = np.searchsorted(self._codes_sorted, code, side="left")
        hi = np.searchsorted(self._codes_sorted, code + "\uffff", side="left")
        rows = self._code_order[lo:hi]
        grade = _KIND_ORDER["code_exact"] if len(code) == 18 else _KIND_ORDER["code"]
        return rows, np.full(len(rows), grade, dtype=np.int64), np.zeros(len(rows), dtype=np.int64)

    def _substring(self, field: _Field, q: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows, grades, offsets = field.match(q)
        ladder = np.array([_KIND_ORDER[f"{kind}_exact"], _KIND_ORDER[f"{kind}_prefix"], _KIND_ORDER[kind]])
        return rows, ladder[grades], offsets

    def _fuzzy(
        self, q: str, allowed: np.ndarray | None, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose name holds ``q`` with one edit (two for queries of 8+ characters); (rows, distance)."""
        chars = sorted({ord(c) for c in q})
        held = [self._names.postings.rows_of(c) for c in chars]
        counts = np.bincount(np.concatenate(held), minlength=len(self))[: len(self)] if held else None
        budget = 1 if len(q) < 8 else 2
        empty = np.empty(0, dtype=np.int64)
        if counts is None:
            return empty, empty
        counts[exclude] = 0
        if allowed is not None:
            counts[~allowed] = 0
        candidates = np.flatnonzero(counts >= max(1, len(chars) - budget))
        if len(candidates) > MAX_FUZZY_CANDIDATES:
            top = np.argpartition(-counts[candidates], MAX_FUZZY_CANDIDATES)[:MAX_FUZZY_CANDIDATES]
            candidates = candidates[top]
        if not len(candidates):
            return empty, empty
        choices = [self.names[r] for r in candidates.tolist()]
        shortlist = process.extract(
            q, choices, scorer=fuzz.partial_ratio, limit=FUZZY_SHORTLIST, score_cutoff=50
        )
        found_rows, distances = [], []
        for _, _, i in shortlist:
            distance = _window_distance(q, choices[i], budget)
            if distance <= budget:
                found_rows.append(candidates[i])
                distances.append(distance)
        return np.array(found_rows, dtype=np.int64), np.array(distances, dtype=np.int64)

    # ---------------------------------------------------------------- the query
    def search_rows(
        self, query: str, *, limit: int | None = None, within: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, match kind per row) for ``query``, best first. ``within``: boolean mask over rows to
        search in. Near misses are only looked for while fewer than ``limit`` rows matched exactly."""
        q = normalize(query)
        empty = np.empty(0, dtype=np.int64)
        if not q or not len(self):
            return empty, np.empty(0, dtype=object)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # rows, kind order, positions
        if q.isascii() and q.isalnum():
            if _CODE_QUERY.fullmatch(q) or len(q) >= 2:
                parts.append(self._code_prefix(q))
            if q.isalpha():
                parts.append(self._substring(self._initials, q, "initials"))
                parts.append(self._substring(self._pinyin, q, "pinyin"))
        parts.append(self._substring(self._names, q, "name"))
        rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
        kinds = np.concatenate([p[1] for p in parts]).astype(np.int64)
        positions = np.concatenate([p[2] for p in parts]).astype(np.int64)
        if within is not None and len(rows):
            keep = within[rows]
            rows, kinds, positions = rows[keep], kinds[keep], positions[keep]
        if len(rows):
            order = np.lexsort((self.ids[rows], self.name_lengths[rows], positions, kinds))
            rows, kinds = rows[order], kinds[order]
            # keep each row's best (first in rank order): a row met again later is a worse match
            first = np.zeros(len(rows), dtype=bool)
            first[np.unique(rows, return_index=True)[1]] = True
            rows, kinds = rows[first], kinds[first]
        if (limit is None or len(rows) < limit) and not q.isascii() and len(q) >= 3:
            exclude = np.zeros(len(self), dtype=bool)
            exclude[rows] = True
            near, distances = self._fuzzy(q, within, exclude)
            if len(near):
                near = near[np.lexsort((self.ids[near], self.name_lengths[near], distances))]
                rows = np.concatenate([rows, near])
                kinds = np.concatenate([kinds, np.full(len(near), _KIND_ORDER["fuzzy"])])
        labels = np.array([_KIND_NAME[k] for k in range(len(_KIND_NAME))], dtype=object)[kinds]
        return (rows, labels) if limit is None else (rows[:limit], labels[:limit])

    def search(self, query: str, *, limit: int | None = 20, within: np.ndarray | None = None) -> list[Hit]:
        """Ranked hits for ``query`` (best first); see :meth:`search_rows`."""
        rows, kinds = self.search_rows(query, limit=limit, within=within)
        return [Hit(r, int(self.ids[r]), k) for r, k in zip(rows.tolist(), kinds.tolist(), strict=True)]

    def mask_of(self, enterprise_ids: np.ndarray) -> np.ndarray:
        """A ``within`` mask: True at the rows of ``enterprise_ids`` (ids the index lacks are ignored)."""
        ids = np.asarray(enterprise_ids, dtype=np.int64)
        mask = np.zeros(len(self), dtype=bool)
        if len(self) and len(ids):
            at = np.minimum(np.searchsorted(self.ids[self._id_order], ids), len(self) - 1)
            rows = self._id_order[at]
            mask[rows[self.ids[rows] == ids]] = True
        return mask


def _window_distance(q: str, name: str, budget: int) -> int:
    """Edit distance between ``q`` and the best-matching stretch of ``name`` (semi-global)."""
    alignment = fuzz.partial_ratio_alignment(q, name)
    if alignment is None:
        return budget + 1
    start, end = alignment.dest_start, alignment.dest_end
    best = budget + 1
    for s in range(max(0, start - budget), min(len(name), start + budget) + 1):
        for e in range(max(s, end - budget), min(len(name), end + budget) + 1):
            best = min(best, Levenshtein.distance(q, name[s:e], score_cutoff=best))
            if best == 0:
                return 0
    return best
