"""Source profiles: 企查查, 天眼查, patent lists, financing events and government rosters.

A profile (data: ``core/profiles/sources.toml``) turns the file a zone receives into the shape of a
department template — one row per enterprise, its credit code and indicator columns — so that the
existing dry run, commit, undo, provenance and audit (services.imports) do the rest. What happens here:
identity resolution (core.identity) for every row, long-form rows aggregated per enterprise and year,
amounts with units parsed exactly or refused, patent numbers checked. Pure: no database, no Streamlit.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import identity
from core.importing import CODE_HEADER, TemplateColumn, header_keys
from core.spreadsheet import ROW_COLUMN, header_key

PROFILES_FILE = Path(__file__).with_name("profiles") / "sources.toml"
KINDS = ("wide", "list", "patents", "financing")
MIN_SIGNATURE_HITS = 3


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    signature: tuple[str, ...]
    keys: dict[str, tuple[str, ...]]
    raw: dict[str, Any] = field(hash=False, compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@cache
def load_profiles(path: Path = PROFILES_FILE) -> tuple[Profile, ...]:
    """The shipped profiles, in file order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for p in data.get("profiles", []):
        if p.get("kind") not in KINDS:
            raise ValueError(f"来源配置“{p.get('name')}”的类型“{p.get('kind')}”无效")
        out.append(
            Profile(
                name=p["name"],
                kind=p["kind"],
                signature=tuple(p.get("signature", [])),
                keys={k: tuple(v) for k, v in p.get("keys", {}).items()},
                raw=p,
            )
        )
    return tuple(out)


def profile_names() -> list[str]:
    return [p.name for p in load_profiles()]


def get_profile(name: str) -> Profile:
    for p in load_profiles():
        if p.name == name:
            return p
    raise KeyError(f"没有名为“{name}”的数据来源，可选：{'、'.join(profile_names())}")


def recognise(headers: list[str]) -> Profile | None:
    """The profile whose signature the headers match best (at least ``MIN_SIGNATURE_HITS`` names)."""
    have = {header_key(h) for h in headers}
    best, best_hits = None, 0
    for p in load_profiles():
        hits = sum(header_key(s) in have for s in p.signature)
        if hits > best_hits:
            best, best_hits = p, hits
    return best if best_hits >= MIN_SIGNATURE_HITS else None


def all_headers(profile: Profile) -> list[str]:
    """Every header the profile reads (to find the header row)."""
    out = list(profile.signature)
    for spellings in profile.keys.values():
        out += spellings
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------- amounts
_APPROX = re.compile(r"数|近|约|余|多|超|逾|以上|左右|上下|几")
_UNDISCLOSED = ("未披露", "未公开", "不详", "保密", "未知", "--", "-", "—")
_AMOUNT = re.compile(
    r"^(?P<num>\d+(?:\.\d+)?)(?P<scale>亿|万|千|)(?P<cur>元人民币|人民币元|人民币|元|美元|美金)?$"
)
SCALE = {"亿": Decimal(10000), "万": Decimal(1), "千": Decimal("0.1"), "": Decimal("0.0001")}


@dataclass(frozen=True)
class Amount:
    value: Decimal | None  # 万元 (人民币), exact
    status: str  # "ok" / "text" (kept as text, flagged) / "refused"
    message: str = ""


def parse_amount(text: Any, year: int, usd_rates: dict[int, Decimal] | None = None) -> Amount:
    """``"305843.0395万元人民币"`` → 305843.0395 万元; ``"2亿元"`` → 20000; ``"500万美元"`` at the declared
    rate of ``year``; ``"未披露"``/``"数千万"``/``"近亿元"`` stay text (``status="text"``); anything
    else is refused. A bare number has no unit and is refused too (元 or 万元 cannot be guessed)."""
    if text is None or (isinstance(text, float) and text != text):
        return Amount(None, "text", "金额为空")
    t = "".join(unicodedata.normalize("NFKC", str(text)).split()).replace(",", "")
    if not t or t in _UNDISCLOSED:
        return Amount(None, "text", f"金额“{text}”未披露：保留原文，不计入数值")
    m = _AMOUNT.match(t)
    if m is None:
        if _APPROX.search(t) or "披露" in t:
            return Amount(None, "text", f"金额“{text}”是约数：保留原文，不计入数值")
        return Amount(None, "refused", f"无法识别的金额“{text}”：应写明数字和单位（万元、亿元、万美元）")
    if m.group("cur") is None and m.group("scale") == "":
        return Amount(None, "refused", f"金额“{text}”没有单位：请写明元、万元或亿元")
    try:
        value = Decimal(m.group("num")) * SCALE[m.group("scale")]
    except InvalidOperation:
        return Amount(None, "refused", f"无法识别的金额“{text}”")
    if m.group("cur") in ("美元", "美金"):
        rate = (usd_rates or {}).get(year)
        if rate is None:
            return Amount(None, "refused", f"金额“{text}”为美元，但未声明 {year} 年的汇率：不能换算")
        value = value * rate
    return Amount(value, "ok")


# --------------------------------------------------------------------------- patent numbers
PATENT_TYPES = {"1": "发明", "2": "实用新型", "3": "外观设计", "8": "PCT", "9": "PCT"}
_PATENT = re.compile(r"^(?:CN|ZL)?(?P<body>\d{12}|\d{8})\.?(?P<check>[\dX])$")
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def patent_check(body: str) -> str:
    """The check character of an application number's digits (weights 2–9 then 2–5, mod 11, 10 = X)."""
    r = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=False)) % 11
    return "X" if r == 10 else str(r)


@dataclass(frozen=True)
class Patent:
    number: str | None  # normalised "201710601862.3" (the same patent from any file)
    kind: str | None  # 发明 / 实用新型 / 外观设计 / PCT
    problem: str | None  # why the number is refused


def parse_patent(text: Any) -> Patent:
    """Application number → (normalised number, type from the type digit, problem)."""
    raw = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    t = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    m = _PATENT.match(t)
    if m is None:
        return Patent(None, None, f"申请号“{raw}”格式不对：应为 CN/ZL 加 12 位（或 8 位）数字和校验位")
    body, check = m.group("body"), m.group("check")
    digit = body[4] if len(body) == 12 else body[2]
    kind = PATENT_TYPES.get(digit)
    if kind is None:
        return Patent(
            None, None, f"申请号“{raw}”的类型位“{digit}”无效（1 发明、2 实用新型、3 外观设计、8/9 PCT）"
        )
    want = patent_check(body)
    if check != want:
        return Patent(None, kind, f"申请号“{raw}”的校验位应为“{want}”，文件中是“{check}”")
    return Patent(f"{body}.{check}", kind, None)


def _type_label(text: Any) -> str | None:
    t = "".join(unicodedata.normalize("NFKC", str(text or "")).split()).upper()
    if not t or t == "NAN":
        return None
    if "PCT" in t:
        return "PCT"
    for label in ("实用新型", "外观设计", "发明"):
        if label in t:
            return label
    return t


# --------------------------------------------------------------------------- building the template table
@dataclass
class Built:
    """A profile's file as a department-template table plus what the officer must see."""

    table: pd.DataFrame  # ROW_COLUMN, CODE_HEADER, one column per target (the model column's name)
    columns: list[TemplateColumn]  # the model columns the table carries
    matches: pd.DataFrame  # row, credit_code, method, key (every file row, matched or not)
    skipped: list[dict] = field(
        default_factory=list
    )  # {row, reason}: unmatched, pending, other years, refused
    flags: list[dict] = field(default_factory=list)  # report rows {row, column, value, problem, fix}
    notes: list[str] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)  # {row, name, candidates}
    patents: dict[str, list[str]] = field(default_factory=dict)  # credit code → every patent counted
    refused: int = 0


def _column(df: pd.DataFrame, spellings: Any) -> str | None:
    if isinstance(spellings, str):
        spellings = [spellings]
    have = {header_key(c): c for c in df.columns if c != ROW_COLUMN}
    for s in spellings or []:
        if header_key(s) in have:
            return have[header_key(s)]
    return None


def target_column(targets: list[str], columns: list[TemplateColumn]) -> TemplateColumn | None:
    """The first target the model has (by name, alias or code)."""
    for t in targets:
        k = header_key(t)
        for c in columns:
            if k in header_keys(c):
                return c
    return None


def _profile_target(profile: Profile, columns: list[TemplateColumn]) -> TemplateColumn:
    """The model column a one-target profile fills; ValueError when the model lacks it."""
    col = target_column(profile.get("targets", []), columns)
    if col is None:
        raise ValueError(f"当前模型没有“{profile.get('targets', [''])[0]}”这一指标，不能导入{profile.name}")
    return col


def _year_of(values: pd.Series) -> pd.Series:
    """The four-digit year of a date or year cell (2024, "2024-03-01", "2024年", 45123 is not a year)."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.normalize("NFKC")
    return pd.to_numeric(text.str.extract(r"((?:19|20)\d{2})", expand=False), errors="coerce")


def _flag(row: int, column: str, value: Any, problem: str, fix: str) -> dict:
    return {
        "row": int(row),
        "column": column,
        "value": "" if value is None else str(value),
        "problem": problem,
        "fix": fix,
    }


def build(
    profile: Profile,
    table: pd.DataFrame,
    *,
    year: int,
    registry: pd.DataFrame,
    columns: list[TemplateColumn],
    accepted: dict[int, str] | None = None,
    known_patents: dict[str, set[str]] | None = None,
) -> Built:
    """The template table of ``table`` (``apply_header`` output) for ``year``.

    ``registry``: credit_code, name of the registered enterprises; ``columns``: what the active model can
    take (core.importing.profile_columns); ``known_patents``: credit code → patent numbers already counted
    for ``year`` by earlier committed files (one patent counts once per enterprise across files).
    """
    rows = table[ROW_COLUMN] if ROW_COLUMN in table.columns else pd.Series(np.arange(len(table)) + 2)
    rows = rows.reset_index(drop=True)
    table = table.reset_index(drop=True)
    skipped: list[dict] = []
    flags: list[dict] = []
    notes: list[str] = []
    if profile.kind == "patents":
        # one row per applicant: a patent of two applicants counts for each of them
        who = _column(table, profile.keys.get("name"))
        if who is not None:
            split = table[who].astype(object).where(table[who].notna(), "").astype(str).str.split(r"[;；]")
            table = table.assign(**{who: split}).explode(who, ignore_index=True)
            table[who] = table[who].astype(str).str.strip()
            rows = table[ROW_COLUMN].reset_index(drop=True) if ROW_COLUMN in table.columns else rows
    key_cols = {k: _column(table, v) for k, v in profile.keys.items()}
    keys = identity.Keys(**{k: (table[c] if c is not None else None) for k, c in key_cols.items()})
    if not any(c is not None for k, c in key_cols.items() if k != "former_names"):
        heads = "、".join(h for v in profile.keys.values() for h in v)
        raise ValueError(f"文件中没有识别企业的列（{heads}）")
    match = identity.resolve(keys, registry, rows=rows, accepted=accepted)
    for w in match["warning"].dropna().tolist():
        flags.append(_flag(0, "企业识别", "", w, "请核对代码；本行已按其他列识别"))
    flags = [
        dict(f, row=int(r)) for f, r in zip(flags, match.loc[match["warning"].notna(), "row"], strict=True)
    ]
    pending: list[dict] = []
    for r in match[match["method"] == identity.PENDING].itertuples():
        pending.append({"row": int(r.row), "name": str(r.key), "candidates": r.candidates})
        cands = "；".join(f"{c['name']}（{c['credit_code']}，相似度 {c['score']:g}）" for c in r.candidates)
        skipped.append({"row": int(r.row), "reason": f"企业名称相近，待确认：{cands}"})
    for r in match[match["method"] == identity.UNMATCHED].itertuples():
        skipped.append({"row": int(r.row), "reason": "未匹配到系统中登记的企业"})
    ok = match["credit_code"].notna().to_numpy()
    code = match["credit_code"].to_numpy(dtype=object)
    out_cols: list[TemplateColumn] = []
    built_rows: dict[str, dict] = {}  # credit code → template row (first file row stands for the enterprise)
    patents_out: dict[str, list[str]] = {}
    refused = 0

    def row_for(i: int) -> dict:
        c = code[i]
        if c not in built_rows:
            built_rows[c] = {ROW_COLUMN: int(rows.iloc[i]), CODE_HEADER: c}
        return built_rows[c]

    def outside(i: int, why: str) -> None:
        skipped.append({"row": int(rows.iloc[i]), "reason": why})

    kind = profile.kind
    year_col = _column(table, profile.get("year_column")) if profile.get("year_column") else None
    years = _year_of(table[year_col]) if year_col is not None else None
    if kind == "wide":
        mapped = []
        for spec in profile.get("columns", []):
            src = _column(table, spec["header"])
            col = target_column(spec["targets"], columns)
            if src is None:
                continue
            if col is None:
                notes.append(f"列“{src}”：当前模型没有对应指标，未导入")
                continue
            mapped.append((src, col))
            out_cols.append(col)
        for i in np.flatnonzero(ok).tolist():
            if years is not None and years.iloc[i] == years.iloc[i] and int(years.iloc[i]) != year:
                outside(i, f"{year_col}为 {int(years.iloc[i])} 年，不是 {year} 年")
                continue
            if code[i] in built_rows:
                # the existing check reports a second row of the same enterprise as a duplicate
                built_rows[f"{code[i]}#{i}"] = {
                    ROW_COLUMN: int(rows.iloc[i]),
                    CODE_HEADER: code[i],
                    **{col.name: _cell(table[src].iloc[i]) for src, col in mapped},
                }
                continue
            row_for(i).update({col.name: _cell(table[src].iloc[i]) for src, col in mapped})
    elif kind == "list":
        col = _profile_target(profile, columns)
        out_cols.append(col)
        valid = int(profile.get("valid_years", 1))
        for i in np.flatnonzero(ok).tolist():
            y = years.iloc[i] if years is not None else year
            if y != y or not (year - valid < int(y) <= year):
                outside(i, f"{year_col}为 {'' if y != y else int(y)} 年，不在 {year} 年有效期内")
                continue
            row_for(i)[col.name] = profile.get("value", "是")
    elif kind == "patents":
        number_col = _column(table, profile.get("number_column"))
        if number_col is None:
            raise ValueError(f"文件中没有“{profile.get('number_column')[0]}”列")
        type_col = _column(table, profile.get("type_column"))
        date_col = _column(table, profile.get("date_column"))
        pct_col = _column(table, profile.get("pct_column"))
        specs = [(spec, target_column(spec["targets"], columns)) for spec in profile.get("counts", [])]
        for spec, col in specs:
            if col is None:
                notes.append(
                    f"当前模型没有“{spec['targets'][0]}”这一指标，{'、'.join(spec['types'])}专利未计数"
                )
            else:
                out_cols.append(col)
        dates = _year_of(table[date_col]) if date_col is not None else None
        counted: dict[str, dict[str, set[str]]] = {}
        for i in np.flatnonzero(ok).tolist():
            p = parse_patent(table[number_col].iloc[i])
            if p.problem:
                flags.append(
                    _flag(
                        rows.iloc[i],
                        number_col,
                        table[number_col].iloc[i],
                        p.problem,
                        "已拒绝：本行不计数；请核对申请号",
                    )
                )
                outside(i, f"申请号无效：{p.problem}")
                refused += 1
                continue
            assert p.number is not None and p.kind is not None  # parse_patent names both when no problem
            kind_here = p.kind
            if pct_col is not None and str(table[pct_col].iloc[i] or "").strip() not in (
                "",
                "nan",
                "None",
                "-",
            ):
                kind_here = "PCT"
            stated = _type_label(table[type_col].iloc[i]) if type_col is not None else None
            if type_col is not None and stated is not None and stated != kind_here:
                flags.append(
                    _flag(
                        rows.iloc[i],
                        type_col,
                        table[type_col].iloc[i],
                        f"专利类型写“{stated}”，申请号表明是“{kind_here}”",
                        "已按申请号计数",
                    )
                )
            y = dates.iloc[i] if dates is not None else year
            if y != y or int(y) != year:
                outside(i, f"申请日不在 {year} 年")
                continue
            mine = counted.setdefault(code[i], {})
            mine.setdefault(kind_here, set()).add(p.number)
        for c, by_kind in counted.items():
            earlier = (known_patents or {}).get(c, set())
            every = set().union(*by_kind.values()) | set(earlier)
            patents_out[c] = sorted(every)
            for spec, col in specs:
                if col is None:
                    continue
                numbers = set().union(*(by_kind.get(t, set()) for t in spec["types"]))
                numbers |= {n for n in earlier if _kind_of(n) in spec["types"]}
                built_rows.setdefault(c, {ROW_COLUMN: _first_row(match, c), CODE_HEADER: c})[col.name] = len(
                    numbers
                )
        for c in built_rows:
            for _spec, col in specs:
                if col is not None:
                    built_rows[c].setdefault(col.name, 0)
        if known_patents:
            notes.append("同一专利在此前导入的文件中已计入的，不重复计数")
    elif kind == "financing":
        col = _profile_target(profile, columns)
        out_cols.append(col)
        if col.unit != "万元":
            raise ValueError(f"指标“{col.name}”的单位不是万元，不能按融资金额导入")
        date_col = _column(table, profile.get("date_column"))
        amount_col = _column(table, profile.get("amount_column"))
        if amount_col is None:
            raise ValueError("文件中没有“融资金额”列")
        rates = {int(k): Decimal(str(v)) for k, v in profile.get("usd_rates", {}).items()}
        dates = _year_of(table[date_col]) if date_col is not None else None
        sums: dict[str, Decimal] = {}
        texts: dict[str, list[str]] = {}
        for i in np.flatnonzero(ok).tolist():
            y = dates.iloc[i] if dates is not None else year
            if y != y or int(y) != year:
                outside(i, f"融资日期不在 {year} 年")
                continue
            a = parse_amount(table[amount_col].iloc[i], year, rates)
            raw_amount = table[amount_col].iloc[i]
            if a.status == "ok" and a.value is not None:  # an "ok" amount always has its value
                sums[code[i]] = sums.get(code[i], Decimal(0)) + a.value
                continue
            if a.status == "text":
                texts.setdefault(code[i], []).append(str(raw_amount))
                flags.append(
                    _flag(
                        rows.iloc[i],
                        amount_col,
                        raw_amount,
                        a.message,
                        "本企业本年度融资额未写入数值：请核实金额后再导入",
                    )
                )
            else:
                flags.append(_flag(rows.iloc[i], amount_col, raw_amount, a.message, "已拒绝：请改正金额"))
                refused += 1
            outside(i, a.message)
        for c, total in sums.items():
            if c in texts:
                continue  # a sum without the undisclosed deals would be a number made up silently
            built_rows.setdefault(c, {ROW_COLUMN: _first_row(match, c), CODE_HEADER: c})[col.name] = format(
                total.normalize(), "f"
            )
        for c in texts:
            notes.append(f"{c}：融资金额含“{'、'.join(texts[c])}”，保留原文并标记，不写入数值")
    out = pd.DataFrame(
        list(built_rows.values()), columns=[ROW_COLUMN, CODE_HEADER, *(c.name for c in out_cols)]
    )
    out = out.sort_values(ROW_COLUMN, kind="stable").reset_index(drop=True)
    methods = match[["row", "credit_code", "method", "key"]].copy()
    return Built(
        table=out,
        columns=out_cols,
        matches=methods,
        skipped=skipped,
        flags=flags,
        notes=notes,
        pending=pending,
        patents=patents_out,
        refused=refused,
    )


def _cell(value: Any) -> Any:
    """A commercial export's "-" / "--" means "not published": an empty cell, not a refused value."""
    if isinstance(value, str) and value.strip() in _UNDISCLOSED:
        return None
    return value


def _kind_of(number: str) -> str | None:
    body = number.split(".")[0]
    return PATENT_TYPES.get(body[4] if len(body) == 12 else body[2])


def _first_row(match: pd.DataFrame, code: str) -> int:
    hit = match.loc[match["credit_code"] == code, "row"]
    return int(hit.min()) if len(hit) else 0
