"""Report shapes (pure): the offline score output (scoring-model.md §9) and the public-notice list.

Both take the engine's or the database's score frame and return a new DataFrame in the published
column order; the caller writes it with ``core.spreadsheet`` (which sanitises against formula injection).
Stage and list names come from the model, never from code.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.scoring_model import KIND_NAMES, ScoringModel
from core.yesno import YES_NO_TEXT, yes_no_key

AGGREGATES = ("bonus", "deduction", "total")
AFTER_SUBTOTALS = ("veto", "veto_reason", "rank", "percentile", "tier", "subsidy", "mujun")
HEAD_LABELS = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "stage": "所属阶段",
    "bonus": "辅助加分",
    "deduction": "扣分",
    "total": "总积分",
    "veto": "一票否决",
    "veto_reason": "否决原因",
    "rank": "阶段排名",
    "percentile": "阶段百分位",
    "tier": "榜单",
    "subsidy": "扶持资金（万元）",
    "mujun": "亩均论英雄",
}
NOTICE_COLUMNS = ("序号", "企业名称", "统一社会信用代码", "所属阶段", "榜单", "积分")


def head_columns(model: ScoringModel) -> list[str]:
    """The output's head: credit_code, name, stage, one subtotal per core class of the model (technology,
    growth in the default model), bonus, deduction, total, then veto … mujun."""
    return [
        "credit_code",
        "name",
        "stage",
        *(c.code for c in model.classes_of_kind("core")),
        *AGGREGATES,
        *AFTER_SUBTOTALS,
    ]


def stage_label(model: ScoringModel, stage: pd.Series) -> pd.Series:
    """Stage codes → Chinese names (种子期 …); an unknown or empty code stays as it is."""
    names = {s.code: s.name for s in model.stages}
    return stage.astype(object).map(lambda c: names.get(c, "" if c is None or c != c else c))


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").map(str)


def score_output_frame(model: ScoringModel, scored: pd.DataFrame) -> pd.DataFrame:
    """The §9 output of ``core.engine.score``: credit_code … mujun, then ``pts_<code>`` per indicator.

    Subtotals to 2 decimals, ``veto`` as 1/0, ``rank`` empty (``<NA>``) when vetoed, percentile to 2
    decimals (empty when vetoed), subsidy 0 when none, points to 4 decimals. Row order is kept.
    """
    out: dict[str, pd.Series] = {
        "credit_code": _text(scored["credit_code"]),
        "name": _text(scored["name"]),
        "stage": stage_label(model, scored["stage"]),
    }
    for cls in model.classes_of_kind("core"):
        source = cls.code if cls.code in scored.columns else "sub_" + cls.code
        out[cls.code] = pd.to_numeric(scored[source]).round(2)
    for col in AGGREGATES:
        out[col] = pd.to_numeric(scored[col]).round(2)
    veto = scored["veto"].fillna(False).astype(bool)
    out["veto"] = veto.astype(np.int64)
    out["veto_reason"] = _text(scored["veto_reason"])
    rank = pd.array(scored["rank"], dtype="Int64")
    rank[veto.to_numpy()] = pd.NA
    out["rank"] = pd.Series(rank, index=scored.index)
    pct = pd.to_numeric(scored["percentile"]).round(2)
    out["percentile"] = pct.where(~veto)
    out["tier"] = _text(scored["tier"])
    out["subsidy"] = pd.to_numeric(scored["subsidy"]).fillna(0.0)
    out["mujun"] = _text(scored["mujun"])
    for ind in model.indicators:
        col = f"pts_{ind.code}"
        out[col] = pd.to_numeric(scored[col]).round(4) if col in scored.columns else 0.0
    return pd.DataFrame(out, index=scored.index).reset_index(drop=True)


def aggregate_label(model: ScoringModel, kind: str) -> str:
    """The header of the ``bonus`` or ``deduction`` column in the model's words: its one class of that kind
    ("辅助加分"; "附加（加分）" where the class's name does not say it), else "加分" / "扣分"."""
    word = KIND_NAMES[kind]
    classes = model.classes_of_kind(kind)
    if len(classes) != 1:
        return word
    name = classes[0].name
    return name if word in name else f"{name}（{word}）"


def score_output_labels(model: ScoringModel) -> list[str]:
    """Chinese header row for an xlsx output, aligned with :func:`score_output_frame`'s columns."""
    core = {c.code: f"{c.name}得分" for c in model.classes_of_kind("core")}
    core |= {kind: aggregate_label(model, kind) for kind in ("bonus", "deduction")}
    labels = [core.get(c) or HEAD_LABELS[c] for c in head_columns(model)]
    labels += [f"{ind.name}得分" for ind in model.indicators]
    return labels


def notice_list_frame(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """The public-notice list (公示名单): ranked, non-vetoed enterprises on a list tier.

    Input columns: ``credit_code, name, stage`` (code), ``total, rank, tier`` (tier code, "" when none)
    and optionally ``veto``. Order: the model's stage order (种子期 … 成熟期, as the 指标体系 and the
    lists pages show them), then rank within the stage; ``序号`` runs over the whole list. ``榜单`` is
    the list's full name (创新领跑榜 …) from the model.
    """
    tier_names = {t.code: t.name for t in model.tiers}
    stage_pos = {s.code: i for i, s in enumerate(model.stages)}
    df = scores.copy()
    keep = df["tier"].astype(object).isin(list(tier_names)) & df["rank"].notna()
    if "veto" in df.columns:
        keep &= ~df["veto"].fillna(False).astype(bool)
    df = df[keep]
    df = df.assign(
        _stage=df["stage"].map(stage_pos).fillna(len(stage_pos)).astype(int),
        _rank=pd.to_numeric(df["rank"]),
    ).sort_values(["_stage", "_rank", "credit_code"], kind="stable")
    return pd.DataFrame(
        {
            "序号": np.arange(1, len(df) + 1, dtype=np.int64),
            "企业名称": _text(df["name"]).to_numpy(),
            "统一社会信用代码": _text(df["credit_code"]).to_numpy(),
            "所属阶段": stage_label(model, df["stage"]).to_numpy(),
            "榜单": df["tier"].map(tier_names).to_numpy(),
            "积分": pd.to_numeric(df["total"]).round(2).to_numpy(),
        }
    )


def ranked_mask(scores: pd.DataFrame) -> pd.Series:
    """Enterprises that take part in ranking: not vetoed (a vetoed score is kept but never ranked)."""
    if "veto" not in scores.columns:
        return pd.Series(True, index=scores.index)
    return ~scores["veto"].astype(object).fillna(False).astype(bool)


def stage_average(model: ScoringModel, scores: pd.DataFrame) -> pd.Series:
    """The one definition of a stage's average score: the mean total of its ranked (non-vetoed)
    enterprises, rounded to 2 decimals; index = the model's stage codes (NaN for an empty stage).
    The public 首页, the officers' run summary and any report use this."""
    ranked = scores[ranked_mask(scores)]
    means = pd.to_numeric(ranked["total"]).groupby(ranked["stage"]).mean()
    return means.reindex(model.stage_codes).round(2)


def overall_average(scores: pd.DataFrame) -> float:
    """The same definition over every stage (the 合计 row)."""
    totals = pd.to_numeric(scores.loc[ranked_mask(scores), "total"])
    return round(float(totals.mean()), 2) if len(totals) else float("nan")


def stage_summary_frame(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """Per-stage counts and score statistics of a run (the ``manage.py compute`` summary table)."""
    rows = []
    veto = (
        scores["veto"].fillna(False).astype(bool)
        if "veto" in scores.columns
        else pd.Series(False, index=scores.index)
    )
    for st in model.stages:
        m = scores["stage"] == st.code
        totals = pd.to_numeric(scores.loc[m & ~veto, "total"])
        rows.append(
            {
                "阶段": st.name,
                "企业数": int(m.sum()),
                "否决": int((m & veto).sum()),
                "上榜": int((m & scores["tier"].astype(object).isin([t.code for t in model.tiers])).sum()),
                "扶持（万元）": float(pd.to_numeric(scores.loc[m, "subsidy"]).sum()),
                "最高分": round(float(totals.max()), 2) if len(totals) else None,
                "中位数": round(float(totals.median()), 2) if len(totals) else None,
            }
        )
    return pd.DataFrame(rows)


# ====================================================================================== offline input
CODE_ALIASES = ("credit_code", "统一社会信用代码", "信用代码")
NAME_ALIASES = ("name", "企业名称", "名称")
MAX_ERRORS = 20


def _find_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    folded = {str(c).strip().casefold(): c for c in columns}
    for a in aliases:
        if a.casefold() in folded:
            return folded[a.casefold()]
    return None


def parse_score_input(model: ScoringModel, table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Check and parse a value-contract table (``core.spreadsheet.apply_header`` output) for scoring.

    Returns ``(inputs, errors)``: ``inputs`` has ``credit_code, name``, numeric columns as float64 and
    every other indicator column as text (the engine parses items, tiers and flags); ``errors`` are
    Chinese messages naming the spreadsheet row (``__row__``) and the column, e.g.
    ``第 5 行 T01 列：“abc”不是数字``. Only the first problems are listed (with a count of the rest).
    """
    from core import credit_code as cc
    from core.scoring_model import NUMERIC_RULES
    from core.spreadsheet import ROW_COLUMN, parse_number_series

    columns = [c for c in table.columns if c != ROW_COLUMN]
    rows = table[ROW_COLUMN] if ROW_COLUMN in table.columns else pd.Series(np.arange(len(table)) + 2)
    rows = rows.to_numpy()
    errors: list[str] = []
    code_col = _find_column(columns, CODE_ALIASES)
    if code_col is None:
        return pd.DataFrame(), ["输入文件缺少 credit_code（统一社会信用代码）列：请在表头写 credit_code"]
    name_col = _find_column(columns, NAME_ALIASES)
    if len(table) == 0:
        return pd.DataFrame(), ["输入文件没有任何企业数据行"]

    codes = cc.normalize_series(table[code_col])
    problems = cc.validate_series(codes)
    for i in np.flatnonzero(problems.notna().to_numpy()).tolist():
        errors.append(f"第 {rows[i]} 行 credit_code 列：{problems.iloc[i]}")
    dup = codes.duplicated(keep="first") & codes.ne("") & problems.isna()
    if dup.any():
        # position of each code's first occurrence, by hashing (not one scan of all codes per duplicate)
        first_pos = pd.Series(np.arange(len(codes))).groupby(codes.to_numpy()).transform("min").to_numpy()
        for i in np.flatnonzero(dup.to_numpy()).tolist():
            errors.append(
                f"第 {rows[i]} 行 credit_code 列：与第 {rows[first_pos[i]]} 行重复（{codes.iloc[i]}）"
            )

    out: dict[str, object] = {
        "credit_code": codes.astype(object).to_numpy(),
        "name": (
            table[name_col].astype(object).where(table[name_col].notna(), "").to_numpy()
            if name_col
            else np.full(len(table), "", dtype=object)
        ),
    }
    numeric = {i.code for i in model.indicators if i.rule.type in NUMERIC_RULES}
    numeric |= {b.code for b in model.base_fields} | set(model.extra_columns())
    numeric |= {model.previous_prefix + d.of for d in model.derivations if d.kind == "growth" and d.of}
    by_code = {i.code: i for i in model.indicators}
    known = numeric | set(by_code)
    for col in columns:
        key = str(col).strip()
        if key not in known or col in (code_col, name_col):
            continue
        raw = table[col]
        if key in numeric:
            values, invalid = parse_number_series(raw)
            for i in np.flatnonzero(invalid.to_numpy()).tolist():
                errors.append(f"第 {rows[i]} 行 {key} 列：“{raw.iloc[i]}”不是数字")
            out[key] = values.to_numpy(dtype=np.float64)
            continue
        ind = by_code[key]
        text = raw.astype(object).where(raw.notna(), None)
        rule = ind.rule
        if rule.type == "flag" and not getattr(rule, "components", None):
            for i, v in enumerate(text.tolist()):
                if v is not None and str(v).strip() and yes_no_key(v) not in YES_NO_TEXT:
                    errors.append(f"第 {rows[i]} 行 {key} 列：“{v}”应为 是/否 或 1/0")
        elif rule.type == "tier":
            allowed = {c.label for c in rule.categories} | {a for c in rule.categories for a in c.aliases}
            for i, v in enumerate(text.tolist()):
                if v is not None and str(v).strip() and str(v).strip() not in allowed:
                    labels = "、".join(c.label for c in rule.categories)
                    errors.append(f"第 {rows[i]} 行 {key} 列：“{v}”不是有效的等级（应为 {labels} 或留空）")
        elif rule.type == "items" or (rule.type == "flag" and getattr(rule, "components", None)):
            shape = "列表" if rule.type == "items" else "对象"
            cells = np.array(text.to_numpy(), dtype=object)
            for i, v in enumerate(cells):
                if v is None or not str(v).strip():
                    continue
                try:
                    json.loads(str(v))
                except ValueError:
                    shown = str(v) if len(str(v)) <= 30 else str(v)[:30] + "…"
                    errors.append(f"第 {rows[i]} 行 {key} 列：“{shown}”不是有效的 JSON {shape}")
                    cells[i] = None  # reported here; the engine must not report it again
            text = pd.Series(cells, index=text.index, dtype=object)
        out[key] = text.to_numpy()
    if not any(str(c).strip() in by_code for c in columns):
        errors.append(
            f"输入文件中没有任何指标代码列（如 {'、'.join(list(by_code)[:3])}）：表头须使用指标代码"
        )
    frame = pd.DataFrame(out)
    frame.attrs["rows"] = rows
    return frame, errors


def limit_errors(errors: list[str], limit: int = MAX_ERRORS) -> list[str]:
    """The first ``limit`` messages plus a line counting the rest."""
    if len(errors) <= limit:
        return errors
    return [*errors[:limit], f"……另有 {len(errors) - limit} 处问题未列出"]


# ====================================================================================== labels
def indicator_label(model: ScoringModel, code: object) -> str:
    """ "T05 研发人员占比" for an indicator code, the base field's name for a base field, "整体积分" for
    none (an objection to the score as a whole); a ``pts_``/``f_`` column reads "… 得分" / "… 得分率";
    any other text is returned as it is."""
    if code is None or (isinstance(code, float) and code != code) or code == "":
        return "整体积分"
    text = str(code)
    for prefix, suffix in (("pts_", " 得分"), ("f_", " 得分率")):
        if text.startswith(prefix):
            return indicator_label(model, text.removeprefix(prefix)) + suffix
    for ind in model.indicators:
        if ind.code == text:
            return f"{ind.code} {ind.name}"
    for base in model.base_fields:
        if base.code == text:
            return base.name
    if text.startswith(model.previous_prefix):
        return "上年" + indicator_label(model, text.removeprefix(model.previous_prefix))
    if text in ("bonus", "deduction"):
        return aggregate_label(model, text)
    return HEAD_LABELS.get(text, text)


def codes_label(model: ScoringModel, codes: object, sep: str = ",") -> str:
    """A joined list of codes ("T01,G02") as names ("T01 研发费用总额、G02 营业收入增长率"); "" stays ""."""
    if codes is None or (isinstance(codes, float) and codes != codes) or not str(codes).strip():
        return ""
    return "、".join(indicator_label(model, c.strip()) for c in str(codes).split(sep) if c.strip())


STAGE_COLUMNS = ("stage", "stage_a", "stage_b")
TIER_COLUMNS = ("tier", "tier_a", "tier_b")
CODE_COLUMNS = ("code", "indicator_code", "column")
CODES_COLUMNS = ("changed_inputs", "missing")


def label_columns(model: ScoringModel, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for people: stage codes → 种子期…, list codes → 创新领跑榜… (未上榜 when none), indicator
    codes → "T05 研发人员占比", comma-joined codes → names — in whichever of those columns ``frame`` has."""
    out = frame.copy()
    tiers = {t.code: t.name for t in model.tiers}
    for column in out.columns:
        if column in STAGE_COLUMNS:
            out[column] = stage_label(model, out[column])
        elif column in TIER_COLUMNS:
            out[column] = (
                out[column].astype(object).map(lambda t: tiers.get(t, "未上榜" if not t or t != t else t))
            )
        elif column in CODE_COLUMNS:
            out[column] = out[column].astype(object).map(lambda c: indicator_label(model, c))
        elif column in CODES_COLUMNS:
            out[column] = out[column].astype(object).map(lambda c: codes_label(model, c))
    return out
